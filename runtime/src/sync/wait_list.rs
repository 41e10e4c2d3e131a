//! FIFO wait lists: how every verde primitive queues the coroutines and
//! threads blocked on it.
//!
//! A primitive keeps its state behind a short-lived [`StateMutex`]
//! (never held across a park) and puts one [`WaitList`] per kind of waiter
//! in that state. A waiter calls [`wait`], which links a node living on the
//! waiter's own stack (a parked coroutine's stack does not move, so no
//! allocation is needed), parks, and unlinks it again.
//!
//! Whoever makes the awaited event true calls [`WaitList::notify_front`]:
//! it unlinks the oldest node, may hand it a value (a lock, a permit, an
//! item), marks it notified and returns its [`Waker`], which the caller
//! wakes once it has released the mutex. What a waiter was handed is
//! recorded in its node, not in the wake-up: a waiter whose park already
//! ended (timed out, interrupted, woken spuriously) still finds its grant
//! when it re-checks its node, so nothing handed out is ever lost, and the
//! `bool` from [`Waker::wake`] needs no special handling here.
//!
//! # Leaving early
//!
//! A waiter leaves without being served when its deadline passes, and
//! unwinds when a kill or a [`Timeout`](crate::Timeout) is delivered at its
//! park. Both run the primitive's `on_exit` hook under the mutex:
//!
//! * [`Exit::Left`]: the node was still queued and has been unlinked. A
//!   primitive whose admission depends on the head of its queue (a fair
//!   rwlock) re-examines it here.
//! * [`Exit::Abandoned`]: the waiter had already been handed something and
//!   unwound before using it. The hook passes it on (to the next waiter or
//!   back into the primitive), so a kill never loses a lock, a permit or an
//!   item.
//!
//! Values a hook gives back are dropped after the mutex is released, since
//! user destructors may use the very primitive being operated on.

use std::cell::{Cell, UnsafeCell};
use std::marker::PhantomPinned;
use std::pin::pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use super::state_mutex::{lock, StateGuard, StateMutex};
use crate::park::{self, Unparked, Waker};

/// The node is not in a list (before linking, or after leaving).
const IDLE: u8 = 0;
/// The node is queued; only the holder of the list's mutex touches it.
const LINKED: u8 = 1;
/// A notifier unlinked the node; from now on only its owner touches it.
const NOTIFIED: u8 = 2;

/// Wakes the waiters a notify returned, once the mutex is released.
pub(crate) fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

/// Wakes the waiter a notify or release returned, if any, once the mutex
/// is released.
#[inline]
pub(crate) fn wake_one(waker: Option<Waker>) {
    if let Some(w) = waker {
        w.wake();
    }
}

/// One blocked waiter, on the waiter's stack.
struct WaitNode<T> {
    state: AtomicU8,
    prev: Cell<Option<NonNull<WaitNode<T>>>>,
    next: Cell<Option<NonNull<WaitNode<T>>>>,
    waker: UnsafeCell<Option<Waker>>,
    payload: UnsafeCell<Option<T>>,
    _pinned: PhantomPinned,
}

/// A FIFO of blocked waiters, each carrying an optional payload of type `T`
/// (an item a putter offers, the item a getter receives, the kind of access
/// a rwlock waiter wants...).
///
/// A `WaitList` lives inside the state a [`StateMutex`] protects, and
/// every method runs with that mutex held.
pub(crate) struct WaitList<T> {
    head: Option<NonNull<WaitNode<T>>>,
    tail: Option<NonNull<WaitNode<T>>>,
    len: usize,
}

// SAFETY: the list only holds pointers to nodes that are accessed while the
// mutex owning the list is held (or, once notified, by their owner alone),
// so moving the list to another thread moves no unsynchronised access. The
// payloads cross threads, hence `T: Send`.
unsafe impl<T: Send> Send for WaitList<T> {}

impl<T> Default for WaitList<T> {
    fn default() -> Self {
        WaitList::new()
    }
}

impl<T> WaitList<T> {
    /// An empty list.
    pub const fn new() -> Self {
        WaitList { head: None, tail: None, len: 0 }
    }

    /// Whether nobody waits.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// How many wait.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The payload of the oldest waiter.
    pub fn front(&self) -> Option<&Option<T>> {
        // SAFETY: a linked node stays valid until its owner unlinks it, which
        // needs the mutex the caller holds for as long as `&self` lives; the
        // payload of a linked node is only touched under that mutex.
        self.head.map(|n| unsafe { &*n.as_ref().payload.get() })
    }

    /// Unlinks the oldest waiter, lets `serve` update its payload (take the
    /// item it offers, hand it one...), marks it notified, and returns its
    /// waker, or `None` if nobody waits. Wake the waker after releasing the
    /// mutex.
    pub fn notify_front(&mut self, serve: impl FnOnce(&mut Option<T>)) -> Option<Waker> {
        let node = self.head?;
        // SAFETY: `node` is linked, so it is valid and, with the mutex held
        // (`&mut self`), ours to touch; so is its successor. After the
        // Release store of NOTIFIED its owner may return and free it at
        // once, so nothing touches the node after that store. The links of
        // a notified node are never read again (its owner neither unlinks
        // nor relinks it), so they are left as they are.
        unsafe {
            let n = node.as_ref();
            let next = n.next.get();
            self.head = next;
            match next {
                Some(x) => x.as_ref().prev.set(None),
                None => self.tail = None,
            }
            self.len -= 1;
            serve(&mut *n.payload.get());
            let waker = (*n.waker.get()).take();
            n.state.store(NOTIFIED, Ordering::Release);
            waker
        }
    }

    /// Notifies every waiter, in FIFO order, applying `serve` to each
    /// payload. Returns their wakers, to wake after releasing the mutex.
    pub fn notify_all(&mut self, mut serve: impl FnMut(&mut Option<T>)) -> Vec<Waker> {
        let mut wakers = Vec::with_capacity(self.len);
        while let Some(w) = self.notify_front(&mut serve) {
            wakers.push(w);
        }
        wakers
    }

    /// Appends a node.
    ///
    /// # Safety
    ///
    /// `node` must be valid, not linked, and stay valid (not moved or freed)
    /// until it is unlinked again; the list's mutex must be held.
    unsafe fn push_back(&mut self, node: NonNull<WaitNode<T>>) {
        // SAFETY: the caller guarantees `node` is valid; the tail, if any, is
        // linked and so valid, and the mutex is held.
        unsafe {
            let n = node.as_ref();
            n.prev.set(self.tail);
            n.next.set(None);
            match self.tail {
                Some(t) => t.as_ref().next.set(Some(node)),
                None => self.head = Some(node),
            }
            n.state.store(LINKED, Ordering::Relaxed);
        }
        self.tail = Some(node);
        self.len += 1;
    }

    /// Removes a linked node and marks it idle.
    ///
    /// # Safety
    ///
    /// `node` must be linked in this list, and its mutex held.
    unsafe fn unlink(&mut self, node: NonNull<WaitNode<T>>) {
        // SAFETY: `node` and its neighbours are linked, hence valid, and the
        // mutex is held.
        unsafe {
            let n = node.as_ref();
            let (prev, next) = (n.prev.get(), n.next.get());
            match prev {
                Some(p) => p.as_ref().next.set(next),
                None => self.head = next,
            }
            match next {
                Some(x) => x.as_ref().prev.set(prev),
                None => self.tail = prev,
            }
            n.prev.set(None);
            n.next.set(None);
            n.state.store(IDLE, Ordering::Relaxed);
        }
        self.len -= 1;
    }
}

/// Why a waiter left without being served normally; see the module docs.
pub(crate) enum Exit<T> {
    /// It was still queued (deadline passed, or unwinding) and has been
    /// unlinked.
    Left,
    /// It unwound after being notified, holding this payload.
    Abandoned(Option<T>),
}

/// How [`wait`] ended.
pub(crate) enum Woke<T> {
    /// A notifier served the waiter; here is its payload.
    Notified(Option<T>),
    /// The deadline passed first; the waiter left the list with its payload.
    TimedOut(Option<T>),
}

/// A primitive's wait list: the mutex guarding its state, where the list
/// sits in that state, and what to do when a waiter leaves early.
pub(crate) struct WaitSite<'a, S, T, L, E>
where
    L: Fn(&mut S) -> &mut WaitList<T>,
    E: FnMut(&mut S, Exit<T>) -> Option<T>,
{
    /// The mutex guarding the primitive's state.
    pub lock: &'a StateMutex<S>,
    /// Finds the list in the state (a function or closure, not a pointer to
    /// one, so that the lookup inlines).
    pub list: L,
    /// Runs under the mutex when a waiter leaves early; may return a value to
    /// drop once the mutex is released.
    pub on_exit: E,
}

impl<S, T, L, E> WaitSite<'_, S, T, L, E>
where
    L: Fn(&mut S) -> &mut WaitList<T>,
    E: FnMut(&mut S, Exit<T>) -> Option<T>,
{
    /// Queues the caller with `payload` and parks until a notifier serves it
    /// or `deadline` passes.
    ///
    /// `guard` must be the caller's lock of `self.lock`, taken when it found
    /// it has to wait; it is released before parking. `before_park` runs
    /// after that, once (a condvar releases the user's mutex there); it must
    /// not park.
    ///
    /// Unwinding out of the park (kill, `Timeout`) unlinks the node or,
    /// if it was already served, hands what it got to `on_exit`.
    #[inline(always)]
    pub fn wait(
        mut self,
        mut guard: StateGuard<'_, S>,
        payload: Option<T>,
        deadline: Option<Instant>,
        before_park: impl FnOnce(),
    ) -> Woke<T> {
        let node = pin!(WaitNode {
            state: AtomicU8::new(IDLE),
            prev: Cell::new(None),
            next: Cell::new(None),
            waker: UnsafeCell::new(Some(park::waker())),
            payload: UnsafeCell::new(payload),
            _pinned: PhantomPinned,
        });
        let node: &WaitNode<T> = node.into_ref().get_ref();
        let ptr = NonNull::from(node);
        // SAFETY: the node is pinned in this frame, and `Linked` below
        // unlinks it (or takes it over once notified) before the frame ends,
        // on every path including unwinding. The mutex is held.
        unsafe { (self.list)(&mut guard).push_back(ptr) };
        drop(guard);
        let linked = Linked { site: &mut self, node: ptr };
        before_park();
        loop {
            let parked = match deadline {
                Some(d) => park::park_until(d),
                None => park::park(),
            };
            if node.state.load(Ordering::Acquire) == NOTIFIED {
                // Served: nothing to undo.
                std::mem::forget(linked);
                // SAFETY: a notified node belongs to its owner alone.
                return Woke::Notified(unsafe { (*node.payload.get()).take() });
            }
            let mut guard = lock(linked.site.lock);
            if node.state.load(Ordering::Acquire) == NOTIFIED {
                std::mem::forget(linked);
                drop(guard);
                // SAFETY: as above.
                return Woke::Notified(unsafe { (*node.payload.get()).take() });
            }
            let expired = parked == Unparked::TimedOut || deadline.is_some_and(|d| Instant::now() >= d);
            if expired {
                // Disarmed before the node is unlinked, so that nothing
                // after (a panicking `on_exit`) can unlink it twice.
                let mut linked = std::mem::ManuallyDrop::new(linked);
                let site = &mut *linked.site;
                // SAFETY: the node is linked and the mutex is held.
                unsafe { (site.list)(&mut guard).unlink(ptr) };
                let leftover = (site.on_exit)(&mut guard, Exit::Left);
                drop(guard);
                drop(leftover);
                // SAFETY: the node is unlinked and ours alone.
                return Woke::TimedOut(unsafe { (*node.payload.get()).take() });
            }
            // Woken without being served (a withdrawn interrupt): wait again
            // with a waker for the next park.
            // SAFETY: the node is linked and the mutex is held.
            unsafe { *node.waker.get() = Some(park::waker()) };
        }
    }
}

/// Owns a node's membership while its waiter parks; if the waiter unwinds,
/// `drop` unlinks the node or passes on what it was handed. Every normal
/// way out of [`WaitSite::wait`] settles the node itself and disarms this
/// guard (`mem::forget` or `ManuallyDrop`; it owns nothing but borrows, so
/// nothing leaks), which keeps the served path free of any test.
struct Linked<'s, 'a, S, T, L, E>
where
    L: Fn(&mut S) -> &mut WaitList<T>,
    E: FnMut(&mut S, Exit<T>) -> Option<T>,
{
    site: &'s mut WaitSite<'a, S, T, L, E>,
    node: NonNull<WaitNode<T>>,
}

impl<S, T, L, E> Drop for Linked<'_, '_, S, T, L, E>
where
    L: Fn(&mut S) -> &mut WaitList<T>,
    E: FnMut(&mut S, Exit<T>) -> Option<T>,
{
    /// The unwinding waiter's way out; see [`Linked`].
    #[cold]
    #[inline(never)]
    fn drop(&mut self) {
        let mut guard = lock(self.site.lock);
        // SAFETY: the node lives in the frame of `WaitSite::wait`, which is
        // still on the stack (this guard is one of its locals). With the
        // mutex held we may touch it whether it is linked or notified.
        let node = unsafe { self.node.as_ref() };
        let leftovers = if node.state.load(Ordering::Acquire) == NOTIFIED {
            // SAFETY: notified, so the node is ours alone.
            let payload = unsafe { (*node.payload.get()).take() };
            ((self.site.on_exit)(&mut guard, Exit::Abandoned(payload)), None)
        } else {
            // SAFETY: linked, and the mutex is held.
            unsafe { (self.site.list)(&mut guard).unlink(self.node) };
            // SAFETY: unlinked now, so ours alone.
            let payload = unsafe { (*node.payload.get()).take() };
            ((self.site.on_exit)(&mut guard, Exit::Left), payload)
        };
        drop(guard);
        drop(leftovers);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[derive(Default)]
    struct State {
        list: WaitList<u32>,
        given_back: Vec<u32>,
    }

    /// Finds the test state's list.
    type ListOf = fn(&mut State) -> &mut WaitList<u32>;
    /// Keeps what an abandoning waiter gives back.
    type OnExit = fn(&mut State, Exit<u32>) -> Option<u32>;

    fn site(state: &StateMutex<State>) -> WaitSite<'_, State, u32, ListOf, OnExit> {
        WaitSite {
            lock: state,
            list: |s| &mut s.list,
            on_exit: |s, exit| {
                if let Exit::Abandoned(Some(v)) = exit {
                    s.given_back.push(v);
                }
                None
            },
        }
    }

    #[test]
    fn notify_front_serves_waiters_in_fifo_order_with_their_payloads() {
        let state = Arc::new(StateMutex::new(State::default()));
        let order = Arc::new(StateMutex::new(Vec::new()));
        let hs: Vec<_> = (0..3)
            .map(|i| {
                let (state, order) = (state.clone(), order.clone());
                crate::spawn(move || {
                    let g = lock(&state);
                    match site(&state).wait(g, Some(i), None, || {}) {
                        Woke::Notified(p) => lock(&order).push((i, p)),
                        Woke::TimedOut(_) => unreachable!(),
                    }
                })
            })
            .collect();
        crate::yield_now();
        assert_eq!(lock(&state).list.len(), 3);
        for _ in 0..3 {
            let w = lock(&state).list.notify_front(|p| *p = p.map(|v| v + 100));
            assert!(w.expect("a waiter").wake());
        }
        crate::joinall(hs);
        assert_eq!(*lock(&order), [(0, Some(100)), (1, Some(101)), (2, Some(102))]);
    }

    #[test]
    fn waiters_that_leave_around_a_notified_head_keep_the_list_whole() {
        let state = Arc::new(StateMutex::new(State::default()));
        let served = Arc::new(StateMutex::new(Vec::new()));
        let waiter = |i: u32| {
            let (state, served) = (state.clone(), served.clone());
            crate::spawn(move || {
                let g = lock(&state);
                if let Woke::Notified(p) = site(&state).wait(g, Some(i), None, || {}) {
                    lock(&served).push(p);
                }
            })
        };
        let hs: Vec<_> = (0..4).map(waiter).collect();
        crate::yield_now();
        wake_one(lock(&state).list.notify_front(|_| {}));
        // The new head leaves, then the tail.
        hs[1].kill();
        hs[3].kill();
        assert_eq!(lock(&state).list.len(), 1);
        wake_one(lock(&state).list.notify_front(|_| {}));
        {
            let s = lock(&state);
            assert!(s.list.is_empty() && s.list.tail.is_none());
        }
        // Emptied that way, the list links and serves a newcomer.
        let last = waiter(4);
        crate::yield_now();
        wake_one(lock(&state).list.notify_front(|_| {}));
        crate::joinall(hs.into_iter().chain([last]));
        assert_eq!(*lock(&served), [Some(0), Some(2), Some(4)]);
    }

    #[test]
    fn a_deadline_unlinks_and_returns_the_payload() {
        let state = StateMutex::new(State::default());
        let g = lock(&state);
        let deadline = park::deadline_after(Duration::from_millis(5));
        assert!(matches!(site(&state).wait(g, Some(7), Some(deadline), || {}), Woke::TimedOut(Some(7))));
        assert!(lock(&state).list.is_empty());
    }

    #[test]
    fn an_unwinding_waiter_unlinks_or_gives_back_what_it_was_handed() {
        let state = Arc::new(StateMutex::new(State::default()));
        let s = state.clone();
        let queued = crate::spawn(move || {
            let g = lock(&s);
            site(&s).wait(g, None, None, || {});
        });
        crate::yield_now();
        queued.kill();
        assert!(lock(&state).list.is_empty());

        let s = state.clone();
        let served = crate::spawn(move || {
            let g = lock(&s);
            site(&s).wait(g, None, None, || {});
        });
        crate::yield_now();
        served.kill_nowait();
        let w = lock(&state).list.notify_front(|p| *p = Some(9));
        drop(w);
        served.kill();
        assert_eq!(lock(&state).given_back, [9]);
    }
}
