//! `Read`, `Write`, `Seek` and `FileExt` for [`File`]: through an owned
//! buffer on the blocking pool (see `offload::use_pool`), straight into the
//! caller's slice on a thread with no coroutines.

use std::fs::File as StdFile;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use super::leftovers::{
    give_back, orphan_positional_read, orphan_read, orphan_seek, orphan_write, settle_seek, Leftovers, ReadOutcome,
    WriteOutcome,
};
use super::offload::use_pool;
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
        read_into(&mut turn, dst, |mut file, buf| file.read(buf), orphan_read)
    }
}

/// Writes at the file position. Returns a deferred error first (see
/// [`File`]'s [When the caller goes away](File#when-the-caller-goes-away)),
/// and `flush` returns it too: otherwise it has nothing to do, as std's.
impl Write for &File {
    fn write(&mut self, src: &[u8]) -> io::Result<usize> {
        let mut turn = self.turn_for_change()?;
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
        // At most one read's worth (`MAX_CHUNK`), so it fits.
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
