//! [`Waker`]: the handle a blocking primitive stores to wake its waiter.

use std::fmt;

use crate::task::{Header, Reason, TaskRef};

/// Wakes one particular park of one coroutine or thread.
///
/// Get one with [`park::waker`](crate::park::waker) before parking, store it
/// where the event will find it, then [`park`](crate::park::park). A waker is
/// `Send` and `Sync`: it may be woken from any hub or plain thread.
///
/// A waker is bound to a single park. Waking it after that park ended (the
/// waiter timed out, was interrupted, or was already woken) does nothing and
/// returns `false`, so a wait list can hand its resource to the next waiter
/// instead of losing it.
///
/// ```
/// use verde_runtime::park;
///
/// let waker = park::waker();
/// let h = verde_runtime::spawn(move || assert!(waker.wake()));
/// park::park();
/// h.join().unwrap();
/// ```
#[derive(Clone)]
pub struct Waker {
    task: TaskRef,
    seq: u64,
}

impl Waker {
    pub(crate) fn new(task: TaskRef, seq: u64) -> Self {
        Waker { task, seq }
    }

    /// Wakes the waiter. Returns `true` if this call woke it, `false` if its
    /// park had already ended or been woken.
    #[inline]
    pub fn wake(self) -> bool {
        Header::wake(self.task, self.seq, Reason::Woken)
    }

    /// Like [`wake`](Self::wake), without consuming the waker.
    #[inline]
    pub fn wake_by_ref(&self) -> bool {
        Header::wake_by_ref(&self.task, self.seq, Reason::Woken)
    }

    /// Whether both wakers wake the same park of the same waiter.
    pub fn will_wake(&self, other: &Waker) -> bool {
        self.task.as_ptr() == other.task.as_ptr() && self.seq == other.seq
    }

    /// Whether both wakers belong to the same coroutine (or thread),
    /// whatever park they were made for.
    pub fn is_same_waiter(&self, other: &Waker) -> bool {
        self.task.as_ptr() == other.task.as_ptr()
    }

    /// Whether this waker belongs to a coroutine on the calling thread's hub
    /// (or to the calling thread itself).
    pub fn is_local(&self) -> bool {
        crate::hub::is_current_hub(&self.task.hub)
    }
}

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waker").field("task", &self.task.id).field("seq", &self.seq).finish()
    }
}
