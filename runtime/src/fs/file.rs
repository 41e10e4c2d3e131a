//! [`File`]: std's `File`, whose blocking calls run on the blocking pool.

use std::fmt;
use std::fs::{File as StdFile, FileTimes, Metadata, Permissions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::SystemTime;

use super::leftovers::{give_back, orphan_change, orphan_query, Leftovers};
use super::readiness::has_readiness;
use super::serial::{Serial, Turn};
use super::OpenOptions;

/// An open file: [`std::fs::File`]'s API, whose calls park the calling
/// coroutine while a [`blocking`](crate::blocking) pool thread makes the
/// system call, so the other coroutines of its hub keep running (gevent's
/// `FileObjectThread`). From a thread's main context the calls park the
/// same way while its hub has coroutines; on a thread with none each
/// call is std's, made on the calling thread.
///
/// ```
/// use std::io::{Read, Seek, SeekFrom, Write};
/// use verde_runtime::fs::File;
///
/// let path = std::env::temp_dir().join(format!("verde-fs-file-doc-{}", std::process::id()));
/// let h = verde_runtime::spawn(move || {
///     let mut f = File::options().read(true).write(true).create(true).truncate(true).open(&path)?;
///     f.write_all(b"hello, file")?;
///     f.seek(SeekFrom::Start(7))?;
///     let mut tail = String::new();
///     f.read_to_string(&mut tail)?;
///     std::fs::remove_file(&path)?;
///     Ok::<_, std::io::Error>(tail)
/// });
/// assert_eq!(h.join().unwrap()?, "file");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # One operation at a time
///
/// The operations on one `File`, through `&File` too and from any number
/// of coroutines and threads, run one at a time in the order they were
/// called (a FIFO): each waits, parked, for the one before to end. A
/// [`try_clone`](Self::try_clone) is a `File` of its own, whose operations
/// do not wait for this one's. One read or write moves at most
/// [`MAX_CHUNK`](super::MAX_CHUNK) bytes (std's `Read` and `Write` allow
/// short counts; `read_exact` and `write_all` loop), but `read_to_end` and
/// `read_to_string` read the whole rest of the file in one pool round trip,
/// into a buffer sized from its metadata as std's. On a FIFO, a terminal
/// or a socket, a read or write first parks on the hub's epoll until it
/// will not block, holding no pool thread, and a write moves at most
/// `PIPE_BUF` (4096) bytes; `read_to_end` reads a chunk per wake-up. A
/// read into an empty buffer returns `Ok(0)` at once.
///
/// # When the caller goes away
///
/// A kill or a [`Timeout`](crate::Timeout) unwinds a coroutine parked in a
/// call, but the system call it started runs to its end on its pool
/// thread. Nothing it did is lost:
///
/// * **The next operation waits for it** to end, so operations stay in
///   order and the file position is where they put it.
/// * **A read** keeps the bytes it read (a `read_to_end`, every byte up to
///   the end), and the next `read` (or `read_to_end`...) returns them
///   first. If a write or a seek comes before, the position first moves
///   back over the bytes nobody got (a `SeekFrom::Current` counts from
///   where the caller's reads left off), and they are dropped, to be read
///   again; on a file that cannot seek (a FIFO, a terminal) they stay for
///   the next read. A read that failed changed nothing, and its error goes
///   with its caller (a `read_to_end`'s bytes before its error stay).
/// * **A change** (`write`, `write_at`, `set_len`, `set_permissions`,
///   `set_times`, `set_modified`, `sync_all`, `sync_data`) took effect as
///   far as it got. If it failed, its error is *deferred*: the next change
///   or `flush` on this `File` returns it instead of doing anything, once. So `write_all` then
///   `flush()` (or `sync_all()`) reports every failed write, abandoned or
///   not. A deferred error still there when the `File` drops is logged
///   (`log` crate), as std drops the errors of `close`.
/// * **A query** (`metadata`, `read_at`) changed nothing; its outcome is
///   dropped. A seek moved the position, as it would have.
/// * **A lock** (`lock`, `lock_shared`) acquired after its caller went
///   away is released at once: a killed locker never leaves the file locked
///   by nobody.
pub struct File {
    serial: Serial<StdFile, Leftovers>,
    /// A FIFO, a terminal or a socket: see `readiness`.
    pub(super) readiness: bool,
}

impl File {
    /// Opens a file for reading, as [`std::fs::File::open`].
    ///
    /// ```
    /// use verde_runtime::fs::File;
    ///
    /// let err = File::open("/no/such/file").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn open<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new().read(true).open(path)
    }

    /// Opens a file for writing, creating it or truncating it, as
    /// [`std::fs::File::create`].
    ///
    /// ```
    /// use std::io::Write;
    /// use verde_runtime::fs::File;
    ///
    /// let path = std::env::temp_dir().join(format!("verde-fs-create-doc-{}", std::process::id()));
    /// File::create(&path)?.write_all(b"x")?;
    /// assert_eq!(verde_runtime::fs::read(&path)?, b"x");
    /// verde_runtime::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new().write(true).create(true).truncate(true).open(path)
    }

    /// Creates a file for reading and writing, failing with
    /// `AlreadyExists` if it exists, as [`std::fs::File::create_new`].
    ///
    /// ```
    /// use verde_runtime::fs::File;
    ///
    /// let path = std::env::temp_dir().join(format!("verde-fs-create-new-doc-{}", std::process::id()));
    /// File::create_new(&path)?;
    /// assert_eq!(File::create_new(&path).unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
    /// verde_runtime::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create_new<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new().read(true).write(true).create_new(true).open(path)
    }

    /// A new [`OpenOptions`], as [`std::fs::File::options`].
    ///
    /// ```
    /// let opts = verde_runtime::fs::File::options();
    /// # let _ = opts;
    /// ```
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Flushes data and metadata to the disk (`fsync`), as
    /// [`std::fs::File::sync_all`]. Returns a deferred error first (see
    /// [When the caller goes away](#when-the-caller-goes-away)).
    ///
    /// ```
    /// let f = verde_runtime::fs::File::open("/dev/null")?;
    /// # let _ =
    /// f.sync_all();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sync_all(&self) -> io::Result<()> {
        self.change(|file| file.sync_all())
    }

    /// Flushes data to the disk (`fdatasync`), as
    /// [`std::fs::File::sync_data`]. Returns a deferred error first.
    ///
    /// ```
    /// let f = verde_runtime::fs::File::open("/dev/null")?;
    /// # let _ =
    /// f.sync_data();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sync_data(&self) -> io::Result<()> {
        self.change(|file| file.sync_data())
    }

    /// Truncates or extends the file to `size` bytes, as
    /// [`std::fs::File::set_len`]. Returns a deferred error first.
    ///
    /// ```
    /// use verde_runtime::fs::File;
    ///
    /// let path = std::env::temp_dir().join(format!("verde-fs-set-len-doc-{}", std::process::id()));
    /// let f = File::create(&path)?;
    /// f.set_len(10)?;
    /// assert_eq!(f.metadata()?.len(), 10);
    /// verde_runtime::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_len(&self, size: u64) -> io::Result<()> {
        self.change(move |file| file.set_len(size))
    }

    /// The file's metadata (`fstat`), as [`std::fs::File::metadata`].
    ///
    /// ```
    /// use std::os::unix::fs::FileTypeExt;
    ///
    /// let f = verde_runtime::fs::File::open("/dev/null")?;
    /// assert!(f.metadata()?.file_type().is_char_device());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metadata(&self) -> io::Result<Metadata> {
        self.serial.turn().run(|file| file.metadata(), orphan_query)
    }

    /// A new `File` for the same open file (a `dup`), sharing its position,
    /// as [`std::fs::File::try_clone`]. The two do not wait for each
    /// other's operations; read-ahead bytes (see [When the caller goes
    /// away](#when-the-caller-goes-away)) stay with this one.
    ///
    /// ```
    /// let f = verde_runtime::fs::File::open("/dev/null")?;
    /// let g = f.try_clone()?;
    /// # let _ = g;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<File> {
        let readiness = self.readiness;
        self.serial.resource().try_clone().map(|file| File::with_readiness(file, readiness))
    }

    /// Changes the file's permissions (`fchmod`), as
    /// [`std::fs::File::set_permissions`]. Returns a deferred error first.
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    /// use verde_runtime::fs::{File, Permissions};
    ///
    /// let path = std::env::temp_dir().join(format!("verde-fs-file-perm-doc-{}", std::process::id()));
    /// let f = File::create(&path)?;
    /// f.set_permissions(Permissions::from_mode(0o600))?;
    /// assert_eq!(f.metadata()?.permissions().mode() & 0o777, 0o600);
    /// verde_runtime::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        self.change(move |file| file.set_permissions(perm))
    }

    /// Changes the file's access and modification times (`futimens`), as
    /// [`std::fs::File::set_times`]: the times `times` leaves unset stay as
    /// they are. Returns a deferred error first.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use verde_runtime::fs::{File, FileTimes};
    ///
    /// let path = std::env::temp_dir().join(format!("verde-fs-set-times-doc-{}", std::process::id()));
    /// let f = File::create(&path)?;
    /// let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    /// f.set_times(FileTimes::new().set_accessed(then).set_modified(then))?;
    /// assert_eq!(f.metadata()?.modified()?, then);
    /// verde_runtime::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_times(&self, times: FileTimes) -> io::Result<()> {
        self.change(move |file| file.set_times(times))
    }

    /// Changes the file's modification time, as
    /// [`std::fs::File::set_modified`] (`set_times` with only that time).
    /// Returns a deferred error first.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use verde_runtime::fs::File;
    ///
    /// let path = std::env::temp_dir().join(format!("verde-fs-set-modified-doc-{}", std::process::id()));
    /// let f = File::create(&path)?;
    /// let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    /// f.set_modified(then)?;
    /// assert_eq!(f.metadata()?.modified()?, then);
    /// verde_runtime::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_modified(&self, time: SystemTime) -> io::Result<()> {
        self.change(move |file| file.set_modified(time))
    }

    /// The std `File`, once the operations in flight have ended.
    ///
    /// Read-ahead bytes (see [When the caller goes
    /// away](#when-the-caller-goes-away)) are given back first: the
    /// position moves back over them, so the std `File` reads them again;
    /// on a file that cannot seek they are lost. A deferred error still
    /// there is logged, not returned.
    ///
    /// ```
    /// let f = verde_runtime::fs::File::open("/dev/null")?;
    /// let std_file: std::fs::File = f.into_std();
    /// # let _ = std_file;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> StdFile {
        {
            let mut turn = self.serial.turn();
            let ahead = turn.leftovers.read_ahead_len();
            if ahead > 0 {
                // A caller that goes away here drops this `File`, and its
                // read-ahead with it.
                let gave_back = turn.run(move |file| give_back(file, ahead), orphan_query);
                if !matches!(gave_back, Ok(true)) {
                    log::warn!("verde::fs::File::into_std: {ahead} read-ahead bytes could not be given back");
                }
                turn.leftovers.discard_read_ahead();
            }
        }
        self.serial.into_resource()
    }

    /// Wraps `file`, which [`has_readiness`] said `readiness` of.
    pub(super) fn with_readiness(file: StdFile, readiness: bool) -> File {
        File { serial: Serial::new(file), readiness }
    }

    /// Takes the turn, returning a deferred error if there is one.
    pub(super) fn turn_for_change(&self) -> io::Result<Turn<'_, StdFile, Leftovers>> {
        let mut turn = self.serial.turn();
        turn.leftovers.take_deferred_error()?;
        Ok(turn)
    }

    /// Takes the turn, for a read, a write or a seek.
    pub(super) fn turn(&self) -> Turn<'_, StdFile, Leftovers> {
        self.serial.turn()
    }

    /// Runs a change that needs no buffer: a deferred error first, then
    /// `op` on the pool.
    fn change<T, F>(&self, op: F) -> io::Result<T>
    where
        F: FnOnce(&StdFile) -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.turn_for_change()?.run(op, orphan_change)
    }
}

impl fmt::Debug for File {
    /// Formats as std's `File` does (the fd, the path, the access mode).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.serial.resource().fmt(f)
    }
}

/// Wraps a std `File`.
///
/// ```
/// let f = verde_runtime::fs::File::from(std::fs::File::open("/dev/null")?);
/// # let _ = f;
/// # Ok::<(), std::io::Error>(())
/// ```
impl From<StdFile> for File {
    fn from(file: StdFile) -> File {
        let readiness = has_readiness(&file);
        File::with_readiness(file, readiness)
    }
}

/// Takes ownership of a file descriptor, as std's `File` does.
impl From<OwnedFd> for File {
    fn from(fd: OwnedFd) -> File {
        File::from(StdFile::from(fd))
    }
}

/// Gives the file descriptor back, as [`File::into_std`] does.
impl From<File> for OwnedFd {
    fn from(file: File) -> OwnedFd {
        file.into_std().into()
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.serial.resource().as_raw_fd()
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.serial.resource().as_fd()
    }
}

impl FromRawFd for File {
    /// # Safety
    ///
    /// `fd` must be an open file descriptor that the new `File` owns, as
    /// for [`std::fs::File::from_raw_fd`].
    unsafe fn from_raw_fd(fd: RawFd) -> File {
        // SAFETY: the caller's promise, passed on to std.
        File::from(unsafe { StdFile::from_raw_fd(fd) })
    }
}

impl IntoRawFd for File {
    /// Gives the file descriptor up, as [`File::into_std`] does.
    fn into_raw_fd(self) -> RawFd {
        self.into_std().into_raw_fd()
    }
}
