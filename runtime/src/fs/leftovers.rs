//! [`Leftovers`]: what a [`File`](super::File)'s operations leave behind
//! when their callers go away, and the rules that hand it back.

use std::fs::File as StdFile;
use std::io::{self, Seek, SeekFrom};

use super::MAX_CHUNK;

/// What a [`File`](super::File) keeps between operations.
#[derive(Default)]
pub(super) struct Leftovers {
    /// Bytes a read fetched after its caller went away; `read_ahead[read_pos..]`
    /// are the ones not returned yet.
    read_ahead: Vec<u8>,
    read_pos: usize,
    /// The error of a change whose caller went away, for the next change or
    /// flush to return.
    deferred_error: Option<io::Error>,
    /// A buffer kept between round trips to the pool.
    spare: Vec<u8>,
}

impl Leftovers {
    /// The buffer to use for the next round trip.
    pub(super) fn take_buffer(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.spare)
    }

    /// Keeps `buf` for the next round trip if it is the largest yet, and no
    /// larger than a read or a write's (at most [`MAX_CHUNK`], which
    /// amortised growth may double): a whole file's read-ahead is not kept.
    pub(super) fn keep_buffer(&mut self, buf: Vec<u8>) {
        if buf.capacity() > self.spare.capacity() && buf.capacity() <= 2 * MAX_CHUNK {
            self.spare = buf;
        }
    }

    /// How many read-ahead bytes wait to be returned.
    pub(super) fn read_ahead_len(&self) -> usize {
        self.read_ahead.len() - self.read_pos
    }

    /// Copies read-ahead bytes into `dst`; `None` if there are none.
    pub(super) fn read_buffered(&mut self, dst: &mut [u8]) -> Option<usize> {
        let ahead = &self.read_ahead[self.read_pos..];
        if ahead.is_empty() {
            return None;
        }
        let n = ahead.len().min(dst.len());
        dst[..n].copy_from_slice(&ahead[..n]);
        self.read_pos += n;
        if self.read_ahead_len() == 0 {
            self.discard_read_ahead();
        }
        Some(n)
    }

    /// Appends all the read-ahead bytes to `buf`; how many. If `buf` cannot
    /// grow (`OutOfMemory`), they stay for the next read.
    pub(super) fn take_read_ahead(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let n = self.read_ahead_len();
        if n == 0 {
            return Ok(0);
        }
        if buf.is_empty() && self.read_pos == 0 {
            std::mem::swap(buf, &mut self.read_ahead);
        } else {
            buf.try_reserve(n)?;
            buf.extend_from_slice(&self.read_ahead[self.read_pos..]);
        }
        self.discard_read_ahead();
        Ok(n)
    }

    /// Adds `bytes` after the read-ahead bytes not returned yet.
    pub(super) fn append_read_ahead(&mut self, bytes: Vec<u8>) {
        if bytes.is_empty() {
            self.keep_buffer(bytes);
        } else if self.read_ahead_len() == 0 {
            self.discard_read_ahead();
            self.read_ahead = bytes;
        } else {
            self.read_ahead.extend_from_slice(&bytes);
            let mut spare = bytes;
            spare.clear();
            self.keep_buffer(spare);
        }
    }

    /// Forgets the read-ahead bytes (the position moved back over them, or
    /// elsewhere).
    pub(super) fn discard_read_ahead(&mut self) {
        let mut buf = std::mem::take(&mut self.read_ahead);
        self.read_pos = 0;
        buf.clear();
        self.keep_buffer(buf);
    }

    /// The error a change whose caller went away left, if any; taking it
    /// clears it.
    pub(super) fn take_deferred_error(&mut self) -> io::Result<()> {
        self.deferred_error.take().map_or(Ok(()), Err)
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        if let Some(e) = &self.deferred_error {
            log::error!("verde::fs::File dropped before reporting the error of a change whose caller went away: {e}");
        }
    }
}

/// The outcome of a read on the pool: its buffer and how many bytes it got.
pub(super) type ReadOutcome = (Vec<u8>, io::Result<usize>);

/// A read whose caller went away: its bytes become the read-ahead that the
/// next read returns first. Its error, having changed nothing, goes with
/// its caller.
pub(super) fn orphan_read((mut buf, result): ReadOutcome, leftovers: &mut Leftovers) {
    match result {
        Ok(n) => {
            buf.truncate(n);
            leftovers.append_read_ahead(buf);
        }
        Err(_) => leftovers.keep_buffer(buf),
    }
}

/// The outcome of a `read_to_end` on the pool: every byte it read (up to
/// its error, if it had one) and its result.
pub(super) type ReadToEndOutcome = (Vec<u8>, io::Result<usize>);

/// A `read_to_end` whose caller went away: every byte it read, even before
/// an error, follows the read-ahead bytes the caller had not taken yet.
/// Its error goes with its caller.
pub(super) fn orphan_read_to_end((bytes, _): ReadToEndOutcome, leftovers: &mut Leftovers) {
    leftovers.append_read_ahead(bytes);
}

/// A positional read whose caller went away: nothing to keep but its
/// buffer.
pub(super) fn orphan_positional_read((buf, _): ReadOutcome, leftovers: &mut Leftovers) {
    leftovers.keep_buffer(buf);
}

/// A query whose caller went away: it changed nothing.
pub(super) fn orphan_query<T>(_: T, _: &mut Leftovers) {}

/// A change whose caller went away: its error waits for the next change.
pub(super) fn orphan_change<T>(result: io::Result<T>, leftovers: &mut Leftovers) {
    if let Err(e) = result {
        leftovers.deferred_error.get_or_insert(e);
    }
}

/// The outcome of a write on the pool.
pub(super) struct WriteOutcome {
    pub(super) buf: Vec<u8>,
    /// Whether the read-ahead was given back first (see [`give_back`]).
    pub(super) gave_back: bool,
    pub(super) result: io::Result<usize>,
}

impl WriteOutcome {
    /// Applies the write to the leftovers; its result.
    pub(super) fn settle(self, leftovers: &mut Leftovers) -> io::Result<usize> {
        leftovers.keep_buffer(self.buf);
        if self.gave_back {
            leftovers.discard_read_ahead();
        }
        self.result
    }
}

/// A write whose caller went away.
pub(super) fn orphan_write(outcome: WriteOutcome, leftovers: &mut Leftovers) {
    let result = outcome.settle(leftovers);
    orphan_change(result, leftovers);
}

/// Applies a seek to the leftovers (the read-ahead is stale once the
/// position moved); its result.
pub(super) fn settle_seek(result: io::Result<u64>, leftovers: &mut Leftovers) -> io::Result<u64> {
    if result.is_ok() {
        leftovers.discard_read_ahead();
    }
    result
}

/// A seek whose caller went away.
pub(super) fn orphan_seek(result: io::Result<u64>, leftovers: &mut Leftovers) {
    // The position moved (or not) all the same; nobody wants to know where.
    let _ = settle_seek(result, leftovers);
}

/// Moves the position back over `ahead` read-ahead bytes, so that the next
/// write lands where the caller's reads left off. `Ok(true)` if it did (or
/// there were none), `Ok(false)` if the file cannot seek (a FIFO, a
/// terminal: the bytes stay for the next read).
pub(super) fn give_back(file: &StdFile, ahead: usize) -> io::Result<bool> {
    if ahead == 0 {
        return Ok(true);
    }
    // A buffer's length, at most `isize::MAX`, so it fits.
    match (&*file).seek(SeekFrom::Current(-(ahead as i64))) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotSeekable => Ok(false),
        Err(e) => Err(e),
    }
}
