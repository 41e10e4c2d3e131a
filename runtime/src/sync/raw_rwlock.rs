//! The lock under [`RwLock`](super::RwLock): a reader count and a writer
//! bit in one atomic word, and one FIFO queue for both kinds of waiters.
//!
//! ```text
//!  usize::BITS-1 ........ 2 |    1    |   0
//!        readers            | WAITING | WRITER
//! ```
//!
//! Uncontended read and write locks are one compare-and-swap; releases are
//! one atomic operation. Once anyone waits (WAITING), new readers queue too,
//! so a waiting writer is not starved by a stream of readers. Releases hand
//! the lock to the head of the queue: a writer alone, or the whole run of
//! readers at the head at once.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::state_mutex::{lock, StateMutex};
use super::wait_list::{wake_all, Exit, WaitList, WaitSite};
use crate::park::Waker;

const WRITER: usize = 1;
const WAITING: usize = 2;
const READER: usize = 4;
const READERS: usize = !(WRITER | WAITING);

/// The access a queued waiter wants.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

pub(crate) struct RawRwLock {
    state: AtomicUsize,
    waiters: StateMutex<WaitList<Access>>,
}

impl RawRwLock {
    pub const fn new() -> Self {
        RawRwLock { state: AtomicUsize::new(0), waiters: StateMutex::new(WaitList::new()) }
    }

    /// Takes a read lock if no writer holds or waits for the lock.
    #[inline]
    pub fn try_read(&self) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        while s & (WRITER | WAITING) == 0 {
            let next = s.checked_add(READER).expect("too many readers");
            match self.state.compare_exchange_weak(s, next, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
        false
    }

    /// Takes the write lock if nobody holds or waits for the lock.
    #[inline]
    pub fn try_write(&self) -> bool {
        self.state.compare_exchange(0, WRITER, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    /// Takes a read lock, queueing behind earlier waiters.
    #[inline]
    pub fn read(&self) {
        if !self.try_read() {
            self.wait(Access::Read);
        }
    }

    /// Takes the write lock, queueing behind earlier waiters.
    #[inline]
    pub fn write(&self) {
        if !self.try_write() {
            self.wait(Access::Write);
        }
    }

    /// Releases a read lock.
    #[inline]
    pub fn read_unlock(&self) {
        let prev = self.state.fetch_sub(READER, Ordering::Release);
        if prev & READERS == READER && prev & WAITING != 0 {
            self.admit_waiters();
        }
    }

    /// Releases the write lock.
    #[inline]
    pub fn write_unlock(&self) {
        if self.state.compare_exchange(WRITER, 0, Ordering::Release, Ordering::Relaxed).is_err() {
            self.state.fetch_and(!WRITER, Ordering::Release);
            self.admit_waiters();
        }
    }

    /// Turns the write lock the caller holds into a read lock, with no
    /// moment where the lock is free. Queued readers at the head come in
    /// too; a queued writer keeps waiting for the readers.
    pub fn downgrade(&self) {
        // WRITER (and maybe WAITING) becomes one READER (and the same
        // WAITING): the writer was the only holder, so there were no readers.
        let prev = self.state.fetch_add(READER - WRITER, Ordering::Release);
        debug_assert!(prev & WRITER != 0 && prev & READERS == 0, "downgrade without the write lock");
        if prev & WAITING != 0 {
            self.admit_waiters();
        }
    }

    #[cold]
    #[inline(never)]
    fn wait(&self, access: Access) {
        let waiters = lock(&self.waiters);
        // Under the queue's mutex: take the lock if it is free for us, or
        // announce a waiter so that releases take the slow path.
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let free = match access {
                Access::Read => s & (WRITER | WAITING) == 0,
                Access::Write => s == 0,
            };
            let next = match (free, access) {
                (true, Access::Read) => s + READER,
                (true, Access::Write) => WRITER,
                (false, _) if s & WAITING != 0 => break,
                (false, _) => s | WAITING,
            };
            match self.state.compare_exchange_weak(s, next, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) if free => return,
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        let site = WaitSite {
            lock: &self.waiters,
            list: |list| list,
            on_exit: |list: &mut WaitList<Access>, exit| {
                match exit {
                    // The head may have changed: readers behind a departed
                    // writer may be able to go now.
                    Exit::Left => wake_all(self.admit(list)),
                    // Granted, then unwound: release what was granted.
                    Exit::Abandoned(granted) => {
                        match granted {
                            Some(Access::Read) => self.state.fetch_sub(READER, Ordering::Release),
                            _ => self.state.fetch_and(!WRITER, Ordering::Release),
                        };
                        wake_all(self.admit(list));
                    }
                }
                None
            },
        };
        // A served waiter has been granted its access by `admit`.
        site.wait(waiters, Some(access), None, || {});
    }

    /// The slow path of a release that left the lock with no holder while
    /// someone waits.
    #[cold]
    #[inline(never)]
    fn admit_waiters(&self) {
        let wakers = self.admit(&mut lock(&self.waiters));
        wake_all(wakers);
    }

    /// Grants the lock to the head of the queue as far as the current
    /// holders allow: one writer if nobody holds it, or every reader at the
    /// head if no writer holds it. Keeps WAITING in step with the queue.
    /// Runs under the queue's mutex.
    fn admit(&self, list: &mut WaitList<Access>) -> Vec<Waker> {
        let mut wakers = Vec::new();
        // With WAITING set, only releases change the state concurrently, and
        // they only remove holders: a grant decided here stays valid.
        while let Some(&Some(access)) = list.front() {
            let s = self.state.load(Ordering::Acquire);
            let grant = match access {
                Access::Write if s & (WRITER | READERS) == 0 => WRITER,
                Access::Read if s & WRITER == 0 => READER,
                _ => break,
            };
            self.state.fetch_add(grant, Ordering::Acquire);
            wakers.extend(list.notify_front(|_| {}));
            if access == Access::Write {
                break;
            }
        }
        if list.is_empty() {
            self.state.fetch_and(!WAITING, Ordering::Release);
        }
        wakers
    }
}
