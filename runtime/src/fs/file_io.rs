//! `Read`, `Write`, `Seek` and `FileExt` for [`File`]: through an owned
//! buffer on the blocking pool (see `offload::use_pool`), straight into the
//! caller's slice on a thread with no coroutines.

use std::fs::File as StdFile;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use super::leftovers::{
    give_back, orphan_positional_read, orphan_read, orphan_read_to_end, orphan_seek, orphan_write, settle_seek,
    Leftovers, ReadOutcome, ReadToEndOutcome, WriteOutcome,
};
use super::offload::use_pool;
use super::readiness;
use super::serial::Turn;
use super::{File, MAX_CHUNK};

/// Reads into `dst` with `read`: from a coroutine, at most [`MAX_CHUNK`]
/// bytes into an owned buffer on the pool, then copied into `dst`.
fn read_into(
    turn: &mut Turn<'_, StdFile, Leftovers>,
    dst: &mut [u8],
    read: impl FnOnce(&StdFile, &mut [u8]) -> io::Result<usize> + Send + 'static,
    orphan: fn(ReadOutcome, &mut Leftovers),
) -> io::Result<usize> {
    if !use_pool() {
        return read(turn.resource(), dst);
    }
    let len = dst.len().min(MAX_CHUNK);
    let mut buf = turn.leftovers.take_buffer();
    let (buf, result) = turn.run(
        move |file| {
            buf.resize(len, 0);
            let result = read(file, &mut buf);
            (buf, result)
        },
        orphan,
    );
    if let Ok(n) = result {
        dst[..n].copy_from_slice(&buf[..n]);
    }
    turn.leftovers.keep_buffer(buf);
    result
}

/// Appends the rest of the file to `buf`, read-ahead bytes first: from a
/// coroutine, std's `read_to_end` (sized from the file's metadata) fills an
/// owned buffer in one pool round trip; otherwise std's reads straight into
/// `buf`. As std's, bytes read before an error stay in `buf`.
fn read_rest(turn: &mut Turn<'_, StdFile, Leftovers>, buf: &mut Vec<u8>, readiness: bool) -> io::Result<usize> {
    if !use_pool() {
        let ahead = turn.leftovers.take_read_ahead(buf)?;
        let mut file = turn.resource();
        return file.read_to_end(buf).map(|n| ahead + n);
    }
    if readiness {
        return read_rest_when_readable(turn, buf);
    }
    // The read-ahead stays where it is until the rest comes: a caller that
    // goes away meanwhile loses neither.
    let (rest, result): ReadToEndOutcome = turn.run(
        |mut file| {
            let mut rest = Vec::new();
            let result = file.read_to_end(&mut rest);
            (rest, result)
        },
        orphan_read_to_end,
    );
    turn.leftovers.append_read_ahead(rest);
    let n = turn.leftovers.take_read_ahead(buf)?;
    result.map(|_| n)
}

/// [`read_rest`] from a coroutine, for a file with readiness (a FIFO, a
/// terminal): a chunk at a time, each waited for on the hub's epoll and
/// read on the pool, so no pool thread waits for the writer. Every chunk
/// joins the read-ahead, which goes to `buf` at the end (or at an error,
/// as std keeps what it read): a caller that goes away loses nothing.
fn read_rest_when_readable(turn: &mut Turn<'_, StdFile, Leftovers>, buf: &mut Vec<u8>) -> io::Result<usize> {
    loop {
        readiness::until_readable(turn.resource());
        let mut chunk = turn.leftovers.take_buffer();
        let (chunk, result): ReadToEndOutcome = turn.run(
            move |mut file| {
                chunk.resize(MAX_CHUNK, 0);
                let result = file.read(&mut chunk);
                chunk.truncate(*result.as_ref().unwrap_or(&0));
                (chunk, result)
            },
            orphan_read_to_end,
        );
        turn.leftovers.append_read_ahead(chunk);
        match result {
            Ok(0) => return turn.leftovers.take_read_ahead(buf),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                turn.leftovers.take_read_ahead(buf)?;
                return Err(e);
            }
        }
    }
}

/// Appends `bytes`, the outcome of a read that returned `result`, to `buf`
/// if they are UTF-8, as std's `read_to_string`: otherwise `buf` is
/// unchanged, and the result is the read's error, or `InvalidData`. If
/// `buf` cannot grow (`OutOfMemory`), the bytes stay for the next read.
fn append_utf8(
    turn: &mut Turn<'_, StdFile, Leftovers>,
    buf: &mut String,
    bytes: Vec<u8>,
    result: io::Result<usize>,
) -> io::Result<usize> {
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => {
            return result
                .and_then(|_| Err(io::Error::new(io::ErrorKind::InvalidData, "stream did not contain valid UTF-8")))
        }
    };
    if buf.is_empty() {
        *buf = text;
    } else if let Err(e) = buf.try_reserve(text.len()) {
        turn.leftovers.append_read_ahead(text.into_bytes());
        return Err(e.into());
    } else {
        buf.push_str(&text);
    }
    result
}

/// Writes from `src` with `write`, which also tells whether it gave the
/// read-ahead back: from a coroutine, at most [`MAX_CHUNK`] bytes copied
/// into an owned buffer and written on the pool.
fn write_from(
    turn: &mut Turn<'_, StdFile, Leftovers>,
    src: &[u8],
    write: impl FnOnce(&StdFile, &[u8]) -> (bool, io::Result<usize>) + Send + 'static,
) -> io::Result<usize> {
    if src.is_empty() {
        return Ok(0);
    }
    if !use_pool() {
        let (gave_back, result) = write(turn.resource(), src);
        return WriteOutcome { buf: Vec::new(), gave_back, result }.settle(&mut turn.leftovers);
    }
    let len = src.len().min(MAX_CHUNK);
    let mut buf = turn.leftovers.take_buffer();
    buf.clear();
    buf.extend_from_slice(&src[..len]);
    let outcome = turn.run(
        move |file| {
            let (gave_back, result) = write(file, &buf);
            WriteOutcome { buf, gave_back, result }
        },
        orphan_write,
    );
    outcome.settle(&mut turn.leftovers)
}

/// Reads at the file position: read-ahead bytes first (see [`File`]'s
/// [When the caller goes away](File#when-the-caller-goes-away)).
impl Read for &File {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        if dst.is_empty() {
            return Ok(0);
        }
        let mut turn = self.turn();
        if let Some(n) = turn.leftovers.read_buffered(dst) {
            return Ok(n);
        }
        if self.readiness && use_pool() {
            readiness::until_readable(turn.resource());
        }
        read_into(&mut turn, dst, |mut file, buf| file.read(buf), orphan_read)
    }

    /// Reads to the end of the file, read-ahead bytes first, as std's: from
    /// a coroutine, in one pool round trip into a buffer of the file's
    /// size, then appended to `buf` (from a FIFO or a terminal, a chunk
    /// per wake-up of the hub's epoll). A caller that goes away loses nothing:
    /// the next read returns what this one read.
    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        read_rest(&mut self.turn(), buf, self.readiness)
    }

    /// As `read_to_end`, then std's UTF-8 check over every byte appended:
    /// on invalid UTF-8, `InvalidData` and `buf` unchanged.
    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        let mut turn = self.turn();
        if !use_pool() && turn.leftovers.read_ahead_len() == 0 {
            let mut file = turn.resource();
            return file.read_to_string(buf);
        }
        let mut bytes = Vec::new();
        let result = read_rest(&mut turn, &mut bytes, self.readiness);
        append_utf8(&mut turn, buf, bytes, result)
    }
}

/// Writes at the file position. Returns a deferred error first (see
/// [`File`]'s [When the caller goes away](File#when-the-caller-goes-away)),
/// and `flush` returns it too: otherwise it has nothing to do, as std's.
impl Write for &File {
    fn write(&mut self, mut src: &[u8]) -> io::Result<usize> {
        let mut turn = self.turn_for_change()?;
        if self.readiness && use_pool() && !src.is_empty() {
            src = &src[..src.len().min(readiness::PIPE_BUF)];
            readiness::until_writable(turn.resource());
        }
        let ahead = turn.leftovers.read_ahead_len();
        write_from(&mut turn, src, move |mut file, buf| match give_back(file, ahead) {
            Ok(gave_back) => (gave_back, file.write(buf)),
            Err(e) => (false, Err(e)),
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        self.turn_for_change().map(drop)
    }
}

/// Moves the file position; `SeekFrom::Current` counts from where the
/// caller's reads left off, read-ahead bytes included.
impl Seek for &File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let mut turn = self.turn();
        // A buffer's length, at most `isize::MAX`, so it fits.
        let ahead = turn.leftovers.read_ahead_len() as i64;
        let pos = match pos {
            SeekFrom::Current(n) => SeekFrom::Current(n.checked_sub(ahead).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "invalid seek to a negative or overflowing position")
            })?),
            other => other,
        };
        let result = turn.run(move |mut file| file.seek(pos), orphan_seek);
        settle_seek(result, &mut turn.leftovers)
    }
}

/// As `Read for &File`.
impl Read for File {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        (&*self).read(dst)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        (&*self).read_to_end(buf)
    }

    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        (&*self).read_to_string(buf)
    }
}

/// As `Write for &File`.
impl Write for File {
    fn write(&mut self, src: &[u8]) -> io::Result<usize> {
        (&*self).write(src)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

/// As `Seek for &File`.
impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&*self).seek(pos)
    }
}

/// std's positional I/O (`pread`, `pwrite`), which leaves the file
/// position alone. Use it with `use std::os::unix::fs::FileExt`, as with
/// std's `File`.
///
/// ```
/// use std::os::unix::fs::FileExt;
/// use verde_runtime::fs::File;
///
/// let path = std::env::temp_dir().join(format!("verde-fs-file-ext-doc-{}", std::process::id()));
/// let f = File::create_new(&path)?;
/// f.write_all_at(b"0123456789", 0)?;
/// let mut buf = [0; 3];
/// f.read_exact_at(&mut buf, 4)?;
/// assert_eq!(&buf, b"456");
/// verde_runtime::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl FileExt for File {
    fn read_at(&self, dst: &mut [u8], offset: u64) -> io::Result<usize> {
        if dst.is_empty() {
            return Ok(0);
        }
        let mut turn = self.turn();
        read_into(&mut turn, dst, move |file, buf| file.read_at(buf, offset), orphan_positional_read)
    }

    /// Returns a deferred error first (see [`File`]'s [When the caller goes
    /// away](File#when-the-caller-goes-away)).
    fn write_at(&self, src: &[u8], offset: u64) -> io::Result<usize> {
        let mut turn = self.turn_for_change()?;
        write_from(&mut turn, src, move |file, buf| (false, file.write_at(buf, offset)))
    }
}
