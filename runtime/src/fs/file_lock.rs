//! Advisory whole-file locks on a [`File`] (std's `lock` family, `flock`
//! on Linux), waited for without tying up the blocking pool.
//!
//! `try_lock`, `try_lock_shared` and `unlock` are one `flock` call that
//! never waits for another holder (`LOCK_NB`, `LOCK_UN`), so they run on
//! the calling thread: a pool round trip would cost more than the call.
//! They still take the file's turn first, parking if an operation is in
//! flight, so they come after the operations called before them: the
//! release of an abandoned lock cannot undo a lock taken after it.
//!
//! # Waiting for a lock
//!
//! `lock` and `lock_shared` first try without waiting, on the calling
//! thread; an uncontended lock costs one system call. A lock that is held
//! elsewhere has to be waited for, and the kernel offers no way to wait
//! for a `flock` release without blocking a thread:
//!
//! * While fewer than a quarter of the blocking pool's threads wait for
//!   locks, the wait blocks one of them (the caller parks). It ends the
//!   moment the lock is released.
//! * Past that share, the caller polls instead: it sleeps, tries again
//!   without waiting, and doubles the sleep from [`FIRST_POLL`] up to
//!   [`LONGEST_POLL`]. No thread is held, so thousands of coroutines
//!   waiting for locks can never take every pool thread and stall the
//!   rest of the process's blocking work, such as the lock holder's own
//!   writes, which would be a deadlock. A polling waiter may get the lock
//!   up to one sleep after its release.

use std::fs::{File as StdFile, TryLockError};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::leftovers::Leftovers;
use super::offload::use_pool;
use super::File;

impl File {
    /// Waits for an exclusive lock on the file, as
    /// [`std::fs::File::lock`]: no other handle (another open of the file,
    /// another process) holds a lock of either kind once it returns.
    ///
    /// From a coroutine the caller parks while it waits, so its hub keeps
    /// running. It first tries without waiting. A held lock is then waited
    /// for on a blocking-pool thread, which gets it the moment it is
    /// released, as long as lock waits hold fewer than a quarter of the
    /// pool's threads; past that share the caller polls, sleeping 1 ms and
    /// doubling up to 50 ms between tries, so that waits for locks never
    /// take every pool thread away from other blocking work (the lock
    /// holder's own writes among it). This `File`'s later operations wait
    /// behind it, as every operation waits for the one before.
    ///
    /// A kill or a [`Timeout`](crate::Timeout) unwinds the caller. A pool
    /// thread waiting for it still gets the lock in the end; it then
    /// releases it at once, so the file is never left locked by nobody. As with std, a
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
        self.wait_for_lock(Kind::Exclusive)
    }

    /// Waits for a shared lock on the file, as
    /// [`std::fs::File::lock_shared`]: other handles may hold shared locks
    /// too, none an exclusive one. It waits as [`lock`](Self::lock) does
    /// (parked, on a pool thread or polling), and a caller that goes away
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
        self.wait_for_lock(Kind::Shared)
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

    /// `lock` or `lock_shared`: a try on the calling thread, then a wait on
    /// the pool or by polling (see the module docs). On a thread whose
    /// hub has no coroutines, std's blocking call, as everywhere in `fs`.
    fn wait_for_lock(&self, kind: Kind) -> io::Result<()> {
        let mut turn = self.turn();
        if !use_pool() {
            return kind.wait(turn.resource());
        }
        match kind.try_now(turn.resource()) {
            Err(TryLockError::WouldBlock) => {}
            other => return other.map_err(io::Error::from),
        }
        if let Some(seat) = PoolSeat::take() {
            return turn.run_undoing(
                move |file| {
                    let locked = kind.wait(file);
                    drop(seat);
                    locked
                },
                orphan_lock,
            );
        }
        let mut pause = FIRST_POLL;
        loop {
            crate::park::sleep(pause);
            match kind.try_now(turn.resource()) {
                Err(TryLockError::WouldBlock) => pause = (pause * 2).min(LONGEST_POLL),
                other => return other.map_err(io::Error::from),
            }
        }
    }
}

/// The first sleep of a lock wait that polls.
const FIRST_POLL: Duration = Duration::from_millis(1);

/// The longest sleep of a lock wait that polls: how late, at worst, a
/// polling waiter notices a release.
const LONGEST_POLL: Duration = Duration::from_millis(50);

/// Which lock a wait is for.
#[derive(Clone, Copy)]
enum Kind {
    Exclusive,
    Shared,
}

impl Kind {
    /// std's blocking call.
    fn wait(self, file: &StdFile) -> io::Result<()> {
        match self {
            Kind::Exclusive => file.lock(),
            Kind::Shared => file.lock_shared(),
        }
    }

    /// std's call that never waits.
    fn try_now(self, file: &StdFile) -> Result<(), TryLockError> {
        match self {
            Kind::Exclusive => file.try_lock(),
            Kind::Shared => file.try_lock_shared(),
        }
    }
}

/// Pool threads blocked in a lock wait, across the process.
static POOL_SEATS_TAKEN: AtomicUsize = AtomicUsize::new(0);

/// The right of one lock wait to block a pool thread; released when the
/// wait ends, on the pool thread.
struct PoolSeat(());

impl PoolSeat {
    /// A seat, if lock waits hold fewer than a quarter of the pool's
    /// threads.
    fn take() -> Option<PoolSeat> {
        let seats = (crate::blocking::max_threads() / 4).max(1);
        POOL_SEATS_TAKEN
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |taken| (taken < seats).then_some(taken + 1))
            .ok()
            .map(|_| PoolSeat(()))
    }
}

impl Drop for PoolSeat {
    fn drop(&mut self) {
        POOL_SEATS_TAKEN.fetch_sub(1, Ordering::Relaxed);
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
