//! The [`channel`](super::channel) flavour: an unbounded FIFO with a
//! hand-off slot for the one receiver.
//!
//! A send never waits and there is one [`Receiver`](super::Receiver), so
//! the general engine ([`Exchange`](crate::sync::exchange::Exchange), with
//! its wait lists) is more than this flavour needs. Here a receive that
//! finds nothing registers its waker in `slot`, and a send that finds it
//! registered puts its message in `handed` and wakes it. Neither takes the
//! mutex, which only guards the buffer of messages sent while no receive
//! waits.
//!
//! # The state word
//!
//! `state` holds a phase, which says who may touch `slot` and `handed`:
//!
//! * `IDLE`: nobody waits; `slot` and `handed` are empty. Only a receive
//!   moves on from here, to `WAITING`, and only from `IDLE` with no flag
//!   set.
//! * `WAITING`: a receive's waker is in `slot`; no flag is set, so the
//!   buffer is empty. A sender claims it with a compare-and-swap to
//!   `HANDING`; a receive, or the last sender's drop, takes it back with one
//!   to `IDLE`, under the mutex.
//! * `HANDING`: the sender that claimed it owns `slot` and `handed`: it
//!   stores its message in `handed`, takes the waker, publishes `HANDED`
//!   (release) and then wakes the receive.
//! * `HANDED`: `handed` holds the oldest message (senders that come now
//!   buffer theirs behind it); a receive takes it and returns to `IDLE`.
//!
//! and two flags:
//!
//! * `BUFFERED`: the buffer holds messages. Set before a push, and cleared
//!   after the pop that empties it, under the mutex.
//! * `DISCONNECTED`: every sender is gone.
//!
//! The receive side touches `slot` and `handed` only in `IDLE` (or after
//! taking `WAITING` back, which makes it `IDLE`) and in `HANDED`. Receives
//! do not run concurrently: `Receiver` is `!Sync`, so all its receives run
//! on one thread at a time, interleaved only at their parks. Senders touch
//! them only in `HANDING`, which one of them claimed, and the last
//! sender's drop only after taking `WAITING` back.
//!
//! # No lost wake-up
//!
//! All changes of `state` fall in one order, and none is lost: those that
//! may race are read-modify-writes, and the receive side stores `WAITING`
//! plainly only under the mutex, from exactly `IDLE`, where nobody else
//! changes it. A receive
//! registers by moving `state` from exactly `IDLE` to `WAITING`; a sender
//! buffers its message only after moving it from a phase other than
//! `WAITING` to one with `BUFFERED` set (or finding that flag set), under
//! the mutex. If the sender's move comes first, the registration fails
//! (`BUFFERED` stays set until the receive side has emptied the buffer),
//! and the receive takes the mutex and finds the message. If the
//! registration comes first, the sender finds `WAITING` and hands its
//! message off, or finds a later phase: `HANDING` or `HANDED`, from an
//! earlier send that wakes the receive itself, or `IDLE` after that one's
//! message was taken (by the receive, which is then running). A receive
//! takes its registration back only under the mutex, which the buffering
//! sender holds. The last sender's drop sets `DISCONNECTED` the same way,
//! taking a registration back and waking it.
//!
//! The claim's acquire pairs with the registration's release, so the
//! sender reads the receive's waker; `HANDED`'s release pairs with the
//! receive's acquire, so the receive reads the message; the mutex orders
//! the buffer. A wake that comes before the receive has parked is not lost
//! either: a waker is bound to the park it was made for, which then
//! returns at once.
//!
//! A sender between its claim and `HANDED` is a few instructions from
//! done; a receive that must take over the slot then (its park ended
//! otherwise: deadline, kill) yields the thread until it is.
//!
//! # Nothing lost
//!
//! A message handed to a receive that unwinds instead of returning it
//! (kill, [`Timeout`](crate::Timeout)) goes back to the front of the
//! buffer. A receive whose deadline passes takes a message handed to it
//! meanwhile rather than reporting the timeout.
//!
//! # Receives sharing the receiver
//!
//! Coroutines of one hub can share the `Receiver` (an `Rc<Receiver>`), so
//! several receives may wait at once. The slot holds one waker: a receive
//! that registers while another is registered takes that one's waker out
//! and wakes it when it leaves, however it leaves; the displaced receive
//! then looks again. A receive holds at most one displaced waker: if it
//! must displace another while it holds one, it wakes the one it held. So
//! every waiting receive is in the slot or held by a waiting receive that
//! will wake it. Which of them a message goes to is not specified (with
//! one `Receiver` per thread, as std allows, it cannot matter).

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::panic::RefUnwindSafe;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Instant;

use super::{RecvTimeoutError, SendError, TryRecvError};
use crate::park::{self, Unparked, Waker};
use crate::sync::state_mutex::{lock, StateMutex};
use crate::sync::wait_list::wake_one;

/// The phase bits of `state`.
const PHASE: u8 = 0b11;
const IDLE: u8 = 0b00;
const WAITING: u8 = 0b01;
const HANDING: u8 = 0b10;
/// `HANDING | 0b01`, so that a sender's `fetch_or` publishes it without
/// clearing the flags.
const HANDED: u8 = 0b11;
const BUFFERED: u8 = 0b100;
const DISCONNECTED: u8 = 0b1000;

pub(super) struct Chan<T> {
    /// See the module docs.
    state: AtomicU8,
    /// The registered receive's waker (`WAITING`).
    slot: UnsafeCell<Option<Waker>>,
    /// The message handed to the registered receive (`HANDED`).
    handed: UnsafeCell<Option<T>>,
    shared: StateMutex<Shared<T>>,
    senders: AtomicUsize,
}

// SAFETY: `slot` and `handed` are touched only by whoever `state` gives them
// to (see the module docs), with acquire/release on every hand-over between
// threads. The messages and wakers in them cross threads, hence `T: Send`
// (`Waker` is `Send`).
unsafe impl<T: Send> Sync for Chan<T> {}

/// As the mutex-guarded state of a bounded channel is, and as std's
/// channels are: a send or receive that unwinds leaves the channel
/// consistent, with no message lost.
impl<T> RefUnwindSafe for Chan<T> {}

/// What the mutex guards.
struct Shared<T> {
    /// Messages sent while no receive was registered, oldest first (behind
    /// `handed`, if any).
    buffer: VecDeque<T>,
    /// The receiver is gone.
    closed: bool,
}

/// What a receive finds when it takes over `slot` and `handed`.
enum Claim<T> {
    /// A message was handed off; it is the oldest.
    Handed(T),
    /// The phase is `IDLE` now; this is the waker that was registered, if
    /// any.
    Idle(Option<Waker>),
}

impl<T> Chan<T> {
    /// A channel with one sender (the one about to be created).
    pub fn new() -> Self {
        Chan {
            state: AtomicU8::new(IDLE),
            slot: UnsafeCell::new(None),
            handed: UnsafeCell::new(None),
            shared: StateMutex::new(Shared { buffer: VecDeque::new(), closed: false }),
            senders: AtomicUsize::new(1),
        }
    }

    /// Sends; never waits.
    #[inline(always)]
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        // A receive is registered: hand it the message, no mutex needed (and
        // no `closed` check: the receiver is alive while a receive waits).
        if self.state.load(Ordering::Relaxed) == WAITING
            && self.state.compare_exchange(WAITING, HANDING, Ordering::Acquire, Ordering::Relaxed).is_ok()
        {
            self.hand(msg);
            return Ok(());
        }
        self.send_locked(msg)
    }

    fn send_locked(&self, msg: T) -> Result<(), SendError<T>> {
        let mut shared = lock(&self.shared);
        if shared.closed {
            return Err(SendError(msg));
        }
        let mut state = self.state.load(Ordering::Relaxed);
        // Until the flag is set: with the mutex held, nobody clears it.
        while state & BUFFERED == 0 {
            let claimed = if state == WAITING {
                self.state.compare_exchange(WAITING, HANDING, Ordering::Acquire, Ordering::Relaxed)
            } else {
                self.state.compare_exchange(state, state | BUFFERED, Ordering::Relaxed, Ordering::Relaxed)
            };
            match claimed {
                Ok(WAITING) => {
                    drop(shared);
                    self.hand(msg);
                    return Ok(());
                }
                Ok(_) => break,
                Err(now) => state = now,
            }
        }
        shared.buffer.push_back(msg);
        Ok(())
    }

    /// Completes a hand-off: the caller has just claimed `WAITING`.
    #[inline(always)]
    fn hand(&self, msg: T) {
        // SAFETY: `HANDING` gives `slot` and `handed` to the claiming sender
        // until it publishes `HANDED`; the claim's acquire saw the waker the
        // receive stored before publishing `WAITING`, and `handed` was
        // emptied before that too.
        let waker = unsafe {
            *self.handed.get() = Some(msg);
            (*self.slot.get()).take()
        };
        // `HANDING` to `HANDED`, keeping a `BUFFERED` set meanwhile.
        self.state.fetch_or(HANDED, Ordering::Release);
        wake_one(waker);
    }

    /// Takes the handed message and returns to `IDLE`. The phase must be
    /// `HANDED`, observed with acquire by the calling receive.
    #[inline(always)]
    fn take_handed(&self) -> T {
        // SAFETY: `HANDED` gives `handed` to the receive side, whose receives
        // do not run concurrently; the acquire that observed `HANDED` saw
        // the sender's store. No sender touches `handed` again before a
        // receive publishes `WAITING`, after this.
        let msg = unsafe { (*self.handed.get()).take() };
        self.state.fetch_and(!PHASE, Ordering::Relaxed);
        msg.expect("HANDED holds a message")
    }

    /// Registers the calling receive without the mutex, if nothing is
    /// buffered or handed, nobody is registered and a sender is left.
    #[inline(always)]
    fn try_register(&self) -> bool {
        if self.state.load(Ordering::Relaxed) != IDLE {
            return false;
        }
        // SAFETY: `IDLE`: `slot` is the receive side's, and empty. Only the
        // receive side (this thread) leaves `IDLE` for `WAITING`, so nobody
        // else can claim `slot` before the swap below.
        unsafe { *self.slot.get() = Some(park::waker()) };
        if self.state.compare_exchange(IDLE, WAITING, Ordering::Release, Ordering::Relaxed).is_ok() {
            return true;
        }
        // A sender buffered a message, or the last one left, meanwhile.
        // SAFETY: not `WAITING`, so still the receive side's.
        drop(unsafe { (*self.slot.get()).take() });
        false
    }

    /// Takes over `slot` and `handed`, whatever the phase, leaving it `IDLE`.
    /// Receive side (or the receiver's drop), under the mutex.
    fn claim(&self) -> Claim<T> {
        loop {
            match self.state.load(Ordering::Acquire) & PHASE {
                IDLE => return Claim::Idle(None),
                HANDED => return Claim::Handed(self.take_handed()),
                WAITING => {
                    if self.state.compare_exchange(WAITING, IDLE, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                        // SAFETY: taken back from `WAITING`: senders touch
                        // `slot` only in `HANDING`, the last sender's drop
                        // needs the mutex this receive side holds, and the
                        // receive side runs on this thread alone.
                        return Claim::Idle(unsafe { (*self.slot.get()).take() });
                    }
                }
                // `HANDING`: a sender is a few instructions from `HANDED`.
                _ => std::thread::yield_now(),
            }
        }
    }

    /// Registers `waker` again, unless it is the calling task's own
    /// registration, which is returned to drop once the mutex is released.
    /// The caller claimed `WAITING` (that registration) under the mutex it
    /// still holds, and has buffered nothing since.
    #[cold]
    fn restore_unless_own(&self, waker: Waker) -> Option<Waker> {
        if waker.is_same_waiter(&park::waker()) {
            return Some(waker);
        }
        // SAFETY: the phase is `IDLE`, so `slot` is the receive side's.
        unsafe { *self.slot.get() = Some(waker) };
        // No flag can be set: the buffer was empty while `WAITING`, and the
        // last sender's drop needs the mutex.
        self.state.store(WAITING, Ordering::Release);
        None
    }

    /// Pops the oldest buffered message, under the mutex.
    fn pop(&self, shared: &mut Shared<T>) -> Option<T> {
        let msg = shared.buffer.pop_front()?;
        if shared.buffer.is_empty() {
            self.state.fetch_and(!BUFFERED, Ordering::Relaxed);
        }
        Some(msg)
    }

    /// Receives, waiting until `deadline`.
    // The common case is inlined into the caller on purpose, as
    // `exchange::get` (see there): the park then switches in the caller's
    // own frame.
    #[inline(always)]
    pub fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let mut expired = false;
        if self.try_register() {
            let parked = self.park(deadline);
            if self.state.load(Ordering::Acquire) & PHASE == HANDED {
                return Ok(self.take_handed());
            }
            expired = parked == Unparked::TimedOut || deadline.is_some_and(|d| Instant::now() >= d);
        }
        self.recv_slow(deadline, expired)
    }

    /// The rest of [`recv`](Self::recv): a message is buffered, a receive
    /// is registered already, the end has come, or a park ended with
    /// nothing handed.
    fn recv_slow(&self, deadline: Option<Instant>, mut expired: bool) -> Result<T, RecvTimeoutError> {
        let mut waiting = Waiting { displaced: None };
        loop {
            if let Some(result) = self.recv_locked(&mut waiting, expired) {
                return result;
            }
            let parked = self.park(deadline);
            if self.state.load(Ordering::Acquire) & PHASE == HANDED {
                return Ok(self.take_handed());
            }
            // Woken otherwise (the last sender's drop, another receive
            // leaving, the deadline, an early end): look again.
            expired = parked == Unparked::TimedOut || deadline.is_some_and(|d| Instant::now() >= d);
        }
    }

    /// Parks a registered receive until `deadline`.
    #[inline(always)]
    fn park(&self, deadline: Option<Instant>) -> Unparked {
        let unregister = Unregister { chan: self };
        let parked = match deadline {
            Some(d) => park::park_until(d),
            None => park::park(),
        };
        std::mem::forget(unregister);
        parked
    }

    /// A receive's look under the mutex: a message, the end, or (unless
    /// `expired`) a registration, for which it returns `None`.
    fn recv_locked(&self, waiting: &mut Waiting, expired: bool) -> Option<Result<T, RecvTimeoutError>> {
        let mut shared = lock(&self.shared);
        let registered = match self.claim() {
            Claim::Handed(msg) => return Some(Ok(msg)),
            Claim::Idle(registered) => registered,
        };
        let result = if let Some(msg) = self.pop(&mut shared) {
            Ok(msg)
        } else if self.state.load(Ordering::Relaxed) & DISCONNECTED != 0 {
            Err(RecvTimeoutError::Disconnected)
        } else if expired {
            Err(RecvTimeoutError::Timeout)
        } else {
            let me = park::waker();
            let to_wake = registered.and_then(|old| waiting.displace(old, &me));
            // SAFETY: the phase is `IDLE` (claimed above): `slot` is ours.
            unsafe { *self.slot.get() = Some(me) };
            // Nothing is buffered and a sender is left, so no flag is set.
            self.state.store(WAITING, Ordering::Release);
            drop(shared);
            wake_one(to_wake);
            return None;
        };
        let own = registered.and_then(|w| self.restore_unless_own(w));
        drop(shared);
        drop(own);
        Some(result)
    }

    /// A receive's look under the mutex that never registers: with
    /// `expired`, [`recv_locked`](Self::recv_locked) reports "nothing" as a
    /// timeout.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.recv_locked(&mut Waiting { displaced: None }, true) {
            Some(Ok(msg)) => Ok(msg),
            Some(Err(RecvTimeoutError::Disconnected)) => Err(TryRecvError::Disconnected),
            Some(Err(RecvTimeoutError::Timeout)) => Err(TryRecvError::Empty),
            None => unreachable!("an expired look never registers"),
        }
    }

    pub fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    /// The last sender's drop sets `DISCONNECTED` and wakes the registered
    /// receive, which sees the end once the buffer is empty.
    pub fn drop_sender(&self) {
        if self.senders.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let shared = lock(&self.shared);
        // No send is under way any more: only the receive side changes the
        // state meanwhile.
        let mut state = self.state.load(Ordering::Relaxed);
        let waker = loop {
            if state == WAITING {
                match self.state.compare_exchange(WAITING, DISCONNECTED, Ordering::Acquire, Ordering::Relaxed) {
                    // SAFETY: taken back from `WAITING` under the mutex:
                    // no sender is left to claim it, and the receive side
                    // touches `slot` only under the mutex or after seeing
                    // exactly `IDLE`, which `DISCONNECTED` rules out.
                    Ok(_) => break unsafe { (*self.slot.get()).take() },
                    Err(now) => state = now,
                }
            } else {
                match self.state.compare_exchange(state, state | DISCONNECTED, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => break None,
                    Err(now) => state = now,
                }
            }
        };
        drop(shared);
        wake_one(waker);
    }

    /// The receiver's drop fails every send from now on; the messages left
    /// are dropped, outside the mutex.
    pub fn drop_receiver(&self) {
        let mut shared = lock(&self.shared);
        shared.closed = true;
        let buffer = std::mem::take(&mut shared.buffer);
        // No receive is under way: this finds `IDLE`, or a message handed
        // to none.
        let leftover = self.claim();
        drop(shared);
        drop(leftover);
        drop(buffer);
    }
}

/// A receive that waits: the waker of the receive it displaced from the
/// slot, woken when it leaves, however it leaves (see the module docs).
struct Waiting {
    displaced: Option<Waker>,
}

impl Waiting {
    /// Keeps `old`, the registration this receive (`me`) is replacing, if it
    /// is another receive's. Returns a waker to wake once the mutex is
    /// released: the one displaced before, or `old` if it is this receive's
    /// own from an earlier park (stale, so waking it does nothing).
    fn displace(&mut self, old: Waker, me: &Waker) -> Option<Waker> {
        if old.is_same_waiter(me) {
            Some(old)
        } else {
            self.displaced.replace(old)
        }
    }
}

impl Drop for Waiting {
    #[inline(always)]
    fn drop(&mut self) {
        wake_one(self.displaced.take());
    }
}

/// Armed while a receive is parked: if it unwinds out of the park (kill,
/// `Timeout`), takes its registration back, or gives a message handed to
/// it back to the front of the buffer. The normal path forgets it.
struct Unregister<'a, T> {
    chan: &'a Chan<T>,
}

impl<T> Drop for Unregister<'_, T> {
    fn drop(&mut self) {
        let chan = self.chan;
        let mut shared = lock(&chan.shared);
        let own = match chan.claim() {
            Claim::Handed(msg) => {
                chan.state.fetch_or(BUFFERED, Ordering::Relaxed);
                shared.buffer.push_front(msg);
                None
            }
            Claim::Idle(registered) => registered.and_then(|w| chan.restore_unless_own(w)),
        };
        drop(shared);
        drop(own);
    }
}
