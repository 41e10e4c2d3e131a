//! Advisory whole-file locks on a [`File`] (std's `lock` family, `flock`
//! on Linux): a coroutine waiting for a lock parks while a pool thread
//! waits in the kernel.
//!
//! `try_lock`, `try_lock_shared` and `unlock` are one `flock` call that
//! never waits for another holder (`LOCK_NB`, `LOCK_UN`), so they run on
//! the calling thread: a pool round trip would cost more than the call.
//! They still take the file's turn first, parking if an operation is in
//! flight, so they come after the operations called before them: the
//! release of an abandoned lock cannot undo a lock taken after it.

use std::fs::{File as StdFile, TryLockError};
use std::io;

use super::leftovers::Leftovers;
use super::File;

impl File {
    /// Waits for an exclusive lock on the file, as
    /// [`std::fs::File::lock`]: no other handle (another open of the file,
    /// another process) holds a lock of either kind once it returns.
    ///
    /// From a coroutine the wait happens on the blocking pool and the
    /// caller parks, so its hub keeps running; the wait **holds one pool
    /// thread** until the lock comes. This `File`'s later operations wait
    /// behind it, as every operation waits for the one before.
    ///
    /// A kill or a [`Timeout`](crate::Timeout) unwinds the caller, but the
    /// pool thread still gets the lock in the end; it then releases it at
    /// once, so the file is never left locked by nobody. As with std, a
    /// handle (or a [`try_clone`](Self::try_clone) of it) that already
    /// holds a lock gets platform-defined behaviour.
    ///
    /// ```
    /// use verde_runtime::fs::File;
    ///
    /// let path = std::env::temp_dir().join(format!("verde-fs-lock-doc-{}", std::process::id()));
    /// let h = verde_runtime::spawn(move || {
    ///     let f = File::create(&path)?;
    ///     f.lock()?;
    ///     // Another open of the file must wait.
    ///     let other = File::open(&path)?;
    ///     assert!(other.try_lock_shared().is_err());
    ///     f.unlock()?;
    ///     other.try_lock_shared().map_err(std::io::Error::from)?;
    ///     verde_runtime::fs::remove_file(&path)
    /// });
    /// h.join().unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn lock(&self) -> io::Result<()> {
        self.turn().run_undoing(|file| file.lock(), orphan_lock)
    }

    /// Waits for a shared lock on the file, as
    /// [`std::fs::File::lock_shared`]: other handles may hold shared locks
    /// too, none an exclusive one. It waits as [`lock`](Self::lock) does
    /// (parked, holding one pool thread), and a caller that goes away
    /// leaves no lock behind.
    ///
    /// ```
    /// use verde_runtime::fs::File;
    ///
    /// let path = std::env::temp_dir().join(format!("verde-fs-lock-shared-doc-{}", std::process::id()));
    /// let (a, b) = (File::create(&path)?, File::open(&path)?);
    /// a.lock_shared()?;
    /// b.lock_shared()?;
    /// verde_runtime::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn lock_shared(&self) -> io::Result<()> {
        self.turn().run_undoing(|file| file.lock_shared(), orphan_lock)
    }

    /// Takes an exclusive lock on the file if no other handle holds a lock,
    /// as [`std::fs::File::try_lock`]; [`TryLockError::WouldBlock`]
    /// otherwise.
    ///
    /// ```
    /// use std::fs::TryLockError;
    /// use verde_runtime::fs::File;
    ///
    /// let path = std::env::temp_dir().join(format!("verde-fs-try-lock-doc-{}", std::process::id()));
    /// let (a, b) = (File::create(&path)?, File::open(&path)?);
    /// a.try_lock().map_err(std::io::Error::from)?;
    /// assert!(matches!(b.try_lock(), Err(TryLockError::WouldBlock)));
    /// verde_runtime::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_lock(&self) -> Result<(), TryLockError> {
        // Inline under the turn: see the module's docs.
        self.turn().resource().try_lock()
    }

    /// Takes a shared lock on the file if no other handle holds an
    /// exclusive one, as [`std::fs::File::try_lock_shared`];
    /// [`TryLockError::WouldBlock`] otherwise.
    ///
    /// ```
    /// use verde_runtime::fs::File;
    ///
    /// let path = std::env::temp_dir().join(format!("verde-fs-try-lock-shared-doc-{}", std::process::id()));
    /// let (a, b) = (File::create(&path)?, File::open(&path)?);
    /// a.try_lock_shared().map_err(std::io::Error::from)?;
    /// b.try_lock_shared().map_err(std::io::Error::from)?;
    /// verde_runtime::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_lock_shared(&self) -> Result<(), TryLockError> {
        self.turn().resource().try_lock_shared()
    }

    /// Releases this handle's lock, as [`std::fs::File::unlock`]. Closing
    /// the file (with its clones) releases it too.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("verde-fs-unlock-doc-{}", std::process::id()));
    /// let f = verde_runtime::fs::File::create(&path)?;
    /// f.lock()?;
    /// f.unlock()?;
    /// verde_runtime::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unlock(&self) -> io::Result<()> {
        self.turn().resource().unlock()
    }
}

/// A lock whose caller went away: it was acquired for nobody, so it is
/// released at once rather than held until the file closes.
fn orphan_lock(result: io::Result<()>, file: &StdFile, _: &mut Leftovers) {
    if result.is_ok() {
        if let Err(e) = file.unlock() {
            log::error!("verde::fs::File: cannot release a lock whose caller went away: {e}");
        }
    }
}
