//! [`StateMutex`]: the short internal mutex that guards the state of
//! verde's primitives, each coroutine's joiners and links, the fds'
//! readiness slots and the hubs' queues of wake-ups from other threads.
//!
//! These critical sections are a few loads and stores that never wait, so
//! a thread-blocking mutex is right for them even inside a coroutine: a
//! holder never parks, and contention lasts as long as another thread's
//! few instructions.

use std::panic::{RefUnwindSafe, UnwindSafe};

/// A short internal mutex: `parking_lot`'s, which keeps no poison flag.
///
/// Its critical sections are a few loads and stores that never wait. User
/// code runs inside one only rarely (a [`PriorityQueue`] item's `Ord`; the
/// result of a finished, unjoined coroutine, dropped with the last waker
/// that referred to it), and a panic from it leaves std's collections, and
/// so the state, valid; values a primitive hands back are dropped after
/// the mutex is released (see the `wait_list` module docs). A poison flag
/// would carry no meaning here (verde ignored std's), and std's `Mutex`
/// spends about a tenth of a channel hand-off checking and updating one.
///
/// [`PriorityQueue`]: crate::queue::PriorityQueue
pub(crate) struct StateMutex<S>(parking_lot::Mutex<S>);

impl<S> StateMutex<S> {
    /// A mutex holding `state`.
    pub(crate) const fn new(state: S) -> Self {
        StateMutex(parking_lot::Mutex::new(state))
    }
}

/// Unwind safe, as std's `Mutex` is: std's because its poison flag reports
/// a panic that unwound through a holder, this one because a panic that
/// unwinds through a holder leaves the state valid (see the type's docs).
/// The primitives built on it keep std's auto traits (`sync_std_parity`
/// checks them).
impl<S> UnwindSafe for StateMutex<S> {}
impl<S> RefUnwindSafe for StateMutex<S> {}

/// A held [`StateMutex`].
pub(crate) type StateGuard<'a, S> = parking_lot::MutexGuard<'a, S>;

/// Locks one of verde's internal state mutexes.
#[inline]
pub(crate) fn lock<S>(mutex: &StateMutex<S>) -> StateGuard<'_, S> {
    mutex.0.lock()
}
