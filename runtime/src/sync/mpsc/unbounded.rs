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
//! # The phase and the flags
//!
//! `phase` says who may touch `slot` and `handed`:
//!
//! * `IDLE`: nobody waits; `slot` and `handed` are empty. Only the receive
//!   side moves on from here, to `WAITING`.
//! * `WAITING`: a receive's waker is in `slot`. A sender claims it with a
//!   compare-and-swap to `HANDING`; the receive side takes it back with one
//!   to `IDLE` (under the mutex, or right after registering, see below),
//!   and so does the last sender's drop, under the mutex.
//! * `HANDING`: the party that claimed it owns `slot` and `handed`: a
//!   sender stores its message in `handed`, takes the waker, publishes
//!   `HANDED` (release) and then wakes the receive.
//! * `HANDED`: `handed` holds the oldest message (senders that come now
//!   buffer theirs behind it); the receive takes it and returns to `IDLE`.
//!
//! Whoever owns the phase moves it with a plain store: the claiming sender
//! from `HANDING`, the receive side from `HANDED`. Only the moves that can
//! race (a claim, a take-back) are compare-and-swaps, so a hand-off costs
//! one read-modify-write on each side: the registration's store, which must
//! be sequentially consistent, and the sender's claim.
//!
//! `flags`, a separate word that only code holding the mutex writes, holds:
//!
//! * `BUFFERED`: the buffer holds messages. Set before a push, and cleared
//!   by the pop that empties it.
//! * `DISCONNECTED`: every sender is gone.
//!
//! The receive side touches `slot` and `handed` only in `IDLE` (or after
//! taking `WAITING` back, which makes it `IDLE`) and in `HANDED`. Receives
//! do not run concurrently: `Receiver` is `!Sync`, so all its receives run
//! on one thread at a time, interleaved only at their parks. Senders touch
//! them only in `HANDING`, which one of them claimed, and the last
//! sender's drop only after taking `WAITING` back.
//!
//! # No lost wake-up, no message overtaken
//!
//! A receive registers without the mutex: it stores its waker, stores
//! `WAITING`, and then reads `flags` (both sequentially consistent). A
//! sender that finds no receive waiting sets `BUFFERED` under the mutex
//! and then reads `phase` (both sequentially consistent) before it pushes
//! its message; the last sender's drop sets `DISCONNECTED` the same way.
//! Of two such store-then-load pairs, at least one load sees the other
//! side's store:
//!
//! * The receive sees the flag: it takes its registration back (`WAITING`
//!   to `IDLE`) and looks under the mutex instead, where it finds the
//!   message or the end. If the take-back fails, whoever claimed the
//!   registration wakes it.
//! * The sender (or the drop) sees `WAITING`: it claims the registration
//!   itself, hands its message over (the buffer is empty, since it is the
//!   one that set the flag) or wakes the receive to see the end.
//!
//! A sender that claims a registration without the mutex reads `flags`
//! after its claim (sequentially consistent too). If `BUFFERED` is set, the
//! registration raced with a buffering send that came first, and handing
//! this message over would let it overtake the buffered ones: the sender
//! gives the phase back as `IDLE`, wakes the receive, and sends through the
//! mutex like any other sender.
//!
//! The claim's acquire pairs with the registration's release, so the
//! sender reads the receive's waker; `HANDED`'s release pairs with the
//! receive's acquire, so the receive reads the message; the mutex orders
//! the buffer. A wake that comes before the receive has parked is not lost
//! either: a waker is bound to the park it was made for, which then
//! returns at once.
//!
//! A sender between its claim and `HANDED` is a few instructions from
//! done and never takes the mutex meanwhile; a receive that must take over
//! the slot then (its park ended otherwise: deadline, kill) yields the
//! thread until it is.
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

/// Values of `phase`.
const IDLE: u8 = 0;
const WAITING: u8 = 1;
const HANDING: u8 = 2;
const HANDED: u8 = 3;
/// Bits of `flags`.
const BUFFERED: u8 = 0b01;
const DISCONNECTED: u8 = 0b10;

pub(super) struct Chan<T> {
    /// Who owns `slot` and `handed` (see the module docs).
    phase: AtomicU8,
    /// `BUFFERED` and `DISCONNECTED`, written only under the mutex.
    flags: AtomicU8,
    /// The registered receive's waker (`WAITING`).
    slot: UnsafeCell<Option<Waker>>,
    /// The message handed to the registered receive (`HANDED`).
    handed: UnsafeCell<Option<T>>,
    shared: StateMutex<Shared<T>>,
    senders: AtomicUsize,
}

// SAFETY: `slot` and `handed` are touched only by whoever `phase` gives them
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
            phase: AtomicU8::new(IDLE),
            flags: AtomicU8::new(0),
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
        if self.phase.load(Ordering::Relaxed) == WAITING
            && self.phase.compare_exchange(WAITING, HANDING, Ordering::SeqCst, Ordering::Relaxed).is_ok()
        {
            if self.flags.load(Ordering::SeqCst) & BUFFERED == 0 {
                self.hand(msg);
                return Ok(());
            }
            return self.give_back_claim(msg);
        }
        self.send_locked(msg)
    }

    /// A sender claimed a registration that raced with a buffering send
    /// (see the module docs): gives the phase back as `IDLE`, wakes the
    /// receive to look under the mutex, and sends behind the buffered
    /// messages.
    #[cold]
    #[inline(never)]
    fn give_back_claim(&self, msg: T) -> Result<(), SendError<T>> {
        // SAFETY: `HANDING`, claimed by this sender, gives it `slot`.
        let waker = unsafe { (*self.slot.get()).take() };
        self.phase.store(IDLE, Ordering::Release);
        wake_one(waker);
        self.send_locked(msg)
    }

    fn send_locked(&self, msg: T) -> Result<(), SendError<T>> {
        let mut shared = lock(&self.shared);
        if shared.closed {
            return Err(SendError(msg));
        }
        let flags = self.flags.load(Ordering::Relaxed);
        if flags & BUFFERED == 0 {
            // The buffer is empty: a registered receive gets the message.
            if self.claim_registration() {
                drop(shared);
                self.hand(msg);
                return Ok(());
            }
            // Flag first, then look again: a receive registering meanwhile
            // either sees the flag or is seen here (the module docs).
            self.flags.store(flags | BUFFERED, Ordering::SeqCst);
            if self.claim_registration() {
                self.flags.store(flags, Ordering::Relaxed);
                drop(shared);
                self.hand(msg);
                return Ok(());
            }
        }
        shared.buffer.push_back(msg);
        Ok(())
    }

    /// Moves a registration to `HANDING` for the caller, if there is one.
    #[inline(always)]
    fn claim_registration(&self) -> bool {
        self.phase.load(Ordering::SeqCst) == WAITING
            && self.phase.compare_exchange(WAITING, HANDING, Ordering::SeqCst, Ordering::Relaxed).is_ok()
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
        // Only the claiming sender moves the phase out of `HANDING`.
        self.phase.store(HANDED, Ordering::Release);
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
        // Only the receive side moves the phase out of `HANDED`.
        self.phase.store(IDLE, Ordering::Release);
        msg.expect("HANDED holds a message")
    }

    /// Registers the calling receive without the mutex, if nothing is
    /// buffered or handed, nobody is registered and a sender is left.
    /// Returns whether the receive should park: registered, or its
    /// registration claimed by someone who will wake it.
    #[inline(always)]
    fn try_register(&self) -> bool {
        if self.phase.load(Ordering::Relaxed) != IDLE || self.flags.load(Ordering::Relaxed) != 0 {
            return false;
        }
        // SAFETY: `IDLE`: `slot` is the receive side's, and empty. Only the
        // receive side (this thread) leaves `IDLE`, so nobody else can claim
        // `slot` before the store below.
        unsafe { *self.slot.get() = Some(park::waker()) };
        self.phase.store(WAITING, Ordering::SeqCst);
        if self.flags.load(Ordering::SeqCst) == 0 {
            return true;
        }
        self.take_back_registration()
    }

    /// A message was buffered, or the last sender left, while the calling
    /// receive registered: takes the registration back, unless a sender or
    /// the last sender's drop claimed it already (then it wakes this
    /// receive, which should park). Returns whether to park.
    #[cold]
    #[inline(never)]
    fn take_back_registration(&self) -> bool {
        if self.phase.compare_exchange(WAITING, IDLE, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return true;
        }
        // SAFETY: taken back from `WAITING`, so `IDLE`: the receive side's.
        drop(unsafe { (*self.slot.get()).take() });
        false
    }

    /// Takes over `slot` and `handed`, whatever the phase, leaving it `IDLE`.
    /// Receive side (or the receiver's drop), under the mutex.
    fn claim(&self) -> Claim<T> {
        loop {
            match self.phase.load(Ordering::Acquire) {
                IDLE => return Claim::Idle(None),
                HANDED => return Claim::Handed(self.take_handed()),
                WAITING => {
                    if self.phase.compare_exchange(WAITING, IDLE, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                        // SAFETY: taken back from `WAITING`: senders touch
                        // `slot` only in `HANDING`, the last sender's drop
                        // needs the mutex this receive side holds, and the
                        // receive side runs on this thread alone.
                        return Claim::Idle(unsafe { (*self.slot.get()).take() });
                    }
                }
                // `HANDING`: a sender is a few instructions from `HANDED`
                // (or `IDLE`), without the mutex.
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
        // No flag is set: the buffer was empty while `WAITING` (a sender
        // that buffers sets the flag and then claims any registration, under
        // this mutex), and the last sender's drop needs the mutex too. With
        // no flag to race with, a plain release store registers.
        self.phase.store(WAITING, Ordering::Release);
        None
    }

    /// Pops the oldest buffered message, under the mutex.
    fn pop(&self, shared: &mut Shared<T>) -> Option<T> {
        let msg = shared.buffer.pop_front()?;
        if shared.buffer.is_empty() {
            let flags = self.flags.load(Ordering::Relaxed);
            self.flags.store(flags & !BUFFERED, Ordering::Relaxed);
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
            if self.phase.load(Ordering::Acquire) == HANDED {
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
            if self.phase.load(Ordering::Acquire) == HANDED {
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
        } else if self.flags.load(Ordering::Relaxed) & DISCONNECTED != 0 {
            Err(RecvTimeoutError::Disconnected)
        } else if expired {
            Err(RecvTimeoutError::Timeout)
        } else {
            let me = park::waker();
            let to_wake = registered.and_then(|old| waiting.displace(old, &me));
            // SAFETY: the phase is `IDLE` (claimed above): `slot` is ours.
            unsafe { *self.slot.get() = Some(me) };
            // Nothing is buffered and a sender is left, so no flag is set,
            // and none can be while this mutex is held: a plain release
            // store registers.
            self.phase.store(WAITING, Ordering::Release);
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
        // Flag first, then look: a receive registering meanwhile either sees
        // the flag or is seen here (the module docs). No send is under way
        // any more, so only the receive side changes the phase meanwhile.
        let flags = self.flags.load(Ordering::Relaxed);
        self.flags.store(flags | DISCONNECTED, Ordering::SeqCst);
        let waker = if self.phase.load(Ordering::SeqCst) == WAITING
            && self.phase.compare_exchange(WAITING, IDLE, Ordering::Acquire, Ordering::Relaxed).is_ok()
        {
            // SAFETY: taken back from `WAITING` under the mutex: no sender
            // is left to claim it, and the receive side touches `slot` only
            // under the mutex or while the phase is exactly `IDLE` with no
            // flag set, which `DISCONNECTED` now rules out.
            unsafe { (*self.slot.get()).take() }
        } else {
            None
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
                let flags = chan.flags.load(Ordering::Relaxed);
                chan.flags.store(flags | BUFFERED, Ordering::Relaxed);
                shared.buffer.push_front(msg);
                None
            }
            Claim::Idle(registered) => registered.and_then(|w| chan.restore_unless_own(w)),
        };
        drop(shared);
        drop(own);
    }
}
