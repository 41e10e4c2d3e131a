//! [`Greenlet`]: explicit, symmetric switching between coroutines, with
//! greenlet's rules.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::hub::{self, Hub};
use crate::interrupt::{describe_payload, Killed};
use crate::park::{deliver_interrupt, suspend};
use crate::task::{
    pack, reason_of, seq_of, state_of, CoroYielder, GreenletLinks, Header, Kind, NewTask, Reason, Suspend, TaskRef,
    PARKED, QUEUED, RUNNING,
};

/// The error [`Greenlet::throw`] raises by default, and the one a greenlet
/// is killed with: greenlet's `GreenletExit`. A greenlet that dies of it is
/// not reported as a failure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GreenletExit;

impl fmt::Display for GreenletExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("greenlet exited")
    }
}

impl std::error::Error for GreenletExit {}

type Transfer = Result<Box<dyn Any>, Box<dyn Any + Send>>;

/// A coroutine that runs only when switched into. Cloning a `Greenlet`
/// clones the handle, not the coroutine.
///
/// A greenlet runs only when something switches into it. `g.switch(v)`
/// suspends the caller and resumes `g`, which receives `v`: as the argument
/// of its function if it has not started yet, or as the return value of the
/// `switch` call it is suspended in. The rules are greenlet's:
///
/// * When a greenlet's function returns, its return value is switched into
///   its **parent** (the greenlet that created it, unless changed).
/// * If the function panics, the panic propagates to the parent: the
///   parent's `switch` call resumes unwinding with it
///   ([`try_switch`](Greenlet::try_switch) returns it as an `Err`).
/// * Switching into a dead greenlet switches into its parent instead.
/// * [`throw`](Greenlet::throw) raises an error inside a greenlet at its
///   suspended `switch`; thrown into a greenlet that never started, it kills
///   it without running it.
///
/// Greenlets are coroutines on the calling thread's hub, so they may also
/// block in verde calls (`sleep`, sockets...) like any coroutine. A greenlet
/// still suspended in `switch` when its thread exits is unwound then, so
/// code after that `switch` never runs but destructors do.
///
/// # Dropping the last handle
///
/// As in greenlet, a started greenlet that nothing refers to any more is
/// killed: when the last `Greenlet` handle to it is dropped (parent links
/// of other greenlets count as references too), [`GreenletExit`] is
/// thrown into it at the `switch` it is suspended in, with the dropping
/// greenlet as its parent for the while, so it unwinds (running its
/// destructors) and control comes back to the dropper. Its value is
/// discarded; a panic other than `GreenletExit` is logged. A greenlet that
/// catches `GreenletExit` and switches away instead of finishing is left
/// suspended until its thread exits (greenlet's "GreenletExit did not
/// kill"). A greenlet that loses its last handle while running, or while
/// blocked in a verde call, is killed the same way once it next switches
/// away. A greenlet that was never started is discarded without running
/// (its closure is dropped).
///
/// A handle the greenlet holds itself counts too, including the temporary
/// that `Greenlet::getcurrent()` returns: Rust keeps a temporary until the
/// end of its statement, so a greenlet suspended in
/// `Greenlet::getcurrent().parent().unwrap().switch(v)` keeps itself alive.
/// Bind the parent first (`let parent = ...; parent.switch(v)`).
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use verde_runtime::Greenlet;
///
/// struct Noisy(Rc<Cell<bool>>);
/// impl Drop for Noisy {
///     fn drop(&mut self) {
///         self.0.set(true);
///     }
/// }
///
/// let dropped = Rc::new(Cell::new(false));
/// let d = dropped.clone();
/// let g = Greenlet::new(move |()| {
///     let _noisy = Noisy(d);
///     let parent = Greenlet::<()>::getcurrent().parent().unwrap();
///     parent.switch(());
///     unreachable!("killed while suspended");
/// });
/// g.switch(());
/// drop(g);
/// assert!(dropped.get());
/// ```
///
/// All greenlets that switch values between each other share one value type
/// `V` (`()` by default).
///
/// greenlet's classic example prints 12, 56, 34, and never 78:
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use verde_runtime::Greenlet;
///
/// let out = Rc::new(RefCell::new(Vec::new()));
/// let gr2_slot: Rc<RefCell<Option<Greenlet>>> = Rc::default();
/// let (o, s) = (out.clone(), gr2_slot.clone());
/// let gr1 = Greenlet::new(move |()| {
///     o.borrow_mut().push(12);
///     s.borrow().as_ref().unwrap().switch(());
///     o.borrow_mut().push(34);
/// });
/// let (o, g1) = (out.clone(), gr1.clone());
/// let gr2 = Greenlet::new(move |()| {
///     o.borrow_mut().push(56);
///     g1.switch(());
///     o.borrow_mut().push(78);
/// });
/// *gr2_slot.borrow_mut() = Some(gr2);
/// gr1.switch(());
/// assert_eq!(*out.borrow(), [12, 56, 34]);
/// ```
pub struct Greenlet<V = ()> {
    task: TaskRef,
    _marker: Marker<V>,
}

/// Ties a greenlet to its value type and keeps it `!Send`: it belongs to
/// its thread's hub.
type Marker<V> = PhantomData<(fn(V) -> V, *const ())>;

impl<V> Clone for Greenlet<V> {
    fn clone(&self) -> Self {
        handle(self.task.clone())
    }
}

impl<V> Drop for Greenlet<V> {
    fn drop(&mut self) {
        release(&self.task);
    }
}

impl<V> PartialEq for Greenlet<V> {
    fn eq(&self, other: &Self) -> bool {
        self.task.as_ptr() == other.task.as_ptr()
    }
}

impl<V: 'static> fmt::Debug for Greenlet<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Greenlet")
            .field("id", &self.task.id)
            .field("started", &self.started())
            .field("dead", &self.dead())
            .finish()
    }
}

fn with_links<R>(task: &Header, f: impl FnOnce(&mut GreenletLinks) -> R) -> R {
    // SAFETY: greenlet links are only touched on the owner hub's thread
    // (greenlets are !Send), and `f` never switches or calls back into
    // another `with_links`, so this is the only live reference.
    f(unsafe { &mut *task.greenlet.get() })
}

fn parent_of(task: &Header) -> Option<TaskRef> {
    with_links(task, |l| l.parent.clone())
}

/// A new handle to `task`, counted as a reference to it.
fn handle<V>(task: TaskRef) -> Greenlet<V> {
    retain(&task);
    Greenlet { task, _marker: PhantomData }
}

/// Counts one more reference to `task`, if it is a greenlet made by
/// [`Greenlet::new`].
fn retain(task: &Header) {
    with_links(task, |l| {
        if let Some(n) = &mut l.refs {
            *n += 1;
        }
    });
}

/// Drops one reference to `task`; the last one disposes of it.
fn release(task: &TaskRef) {
    let last = with_links(task, |l| match &mut l.refs {
        Some(n) => {
            *n -= 1;
            *n == 0
        }
        None => false,
    });
    if last {
        dispose(task);
    }
}

/// Makes `parent` the parent of `task`, counting the new link; returns the
/// old one, still counted.
fn replace_parent(task: &Header, parent: TaskRef) -> Option<TaskRef> {
    retain(&parent);
    with_links(task, |l| l.parent.replace(parent))
}

thread_local! {
    /// Greenlets that lost their last reference while running and have
    /// since switched away or finished. The next greenlet resumed on this
    /// thread disposes of them, as greenlet releases the greenlet it
    /// switched from once the switch is done.
    static ORPHANS: Cell<Vec<TaskRef>> = const { Cell::new(Vec::new()) };
}

/// Queues the running greenlet `task` for disposal by the next greenlet
/// resumed, if nothing refers to it.
fn orphan_if_unreferenced(task: &Header) {
    if with_links(task, |l| l.refs == Some(0)) {
        let task = TaskRef::from_header(task);
        let _ = ORPHANS.try_with(|o| {
            let mut v = o.take();
            v.push(task);
            o.set(v);
        });
    }
}

/// Disposes of the greenlets queued by [`orphan_if_unreferenced`].
fn dispose_orphans() {
    let Ok(orphans) = ORPHANS.try_with(Cell::take) else { return };
    for task in orphans {
        if with_links(&task, |l| l.refs == Some(0)) {
            dispose(&task);
        }
    }
}

/// What greenlet does when a greenlet's last reference goes: kills it if it
/// is suspended in a switch, then releases its parent link. A greenlet
/// that is running (or blocked in a verde call) is left to
/// [`orphan_if_unreferenced`].
fn dispose(task: &TaskRef) {
    let Some(hub) = hub::try_current().filter(|h| Arc::ptr_eq(&h.shared, &task.hub)) else {
        // Its thread's hub is gone (or this is not its thread): it was, or
        // will be, unwound with that hub.
        return;
    };
    if std::ptr::eq(task.as_ptr(), hub.current_task()) {
        return;
    }
    if !task.is_complete() {
        // Only a greenlet still on the hub's live list has a coroutine to
        // switch into (teardown forgets the ones that refused to die).
        if task.live_index.get() == usize::MAX || !claimable(task) {
            return;
        }
        if !kill_unreferenced(hub, task) {
            return;
        }
    }
    if let Some(parent) = with_links(task, |l| l.parent.take()) {
        release(&parent);
    }
}

/// Throws [`GreenletExit`] into the unreferenced, suspended greenlet
/// `task`, with the running task as its parent for the while (greenlet's
/// `throw_GreenletExit_during_dealloc`). Returns whether it is now dead and
/// still unreferenced.
fn kill_unreferenced(hub: &Hub, task: &TaskRef) -> bool {
    // Resurrected for the duration, so that handles made and dropped inside
    // do not dispose of it again.
    with_links(task, |l| l.refs = Some(1));
    let me = hub.current_task_ref();
    let old_parent = replace_parent(task, me.clone());
    // The dropper's own kill or Timeout must not unwind out of here (a
    // `drop`); it stays pending until its next blocking call.
    let deferred = me.defer_interrupts.replace(true);
    let outcome = crate::unwinding::catch(|| switch_into(task, Err(Box::new(GreenletExit)), false));
    me.defer_interrupts.set(deferred);
    let error = match outcome {
        Ok(Ok(_value)) => None,
        Ok(Err(e)) => (!e.is::<GreenletExit>() && !e.is::<Killed>()).then_some(e),
        Err(e) => Some(e),
    };
    if let Some(e) = error {
        log::error!(
            target: "verde",
            "killing unreferenced greenlet (id {}) raised an error, ignored: {}",
            task.id,
            describe_payload(&*e)
        );
    }
    let temporary = with_links(task, |l| std::mem::replace(&mut l.parent, old_parent));
    if let Some(t) = temporary {
        release(&t);
    }
    let left = with_links(task, |l| {
        let n = l.refs.as_mut().expect("a greenlet made by Greenlet::new");
        *n -= 1;
        *n
    });
    if left > 0 {
        return false;
    }
    if !task.is_complete() {
        log::warn!(target: "verde", "GreenletExit did not kill greenlet (id {}); leaking it until its thread exits", task.id);
        // Leaked, as greenlet does: this reference is never released.
        with_links(task, |l| l.refs = Some(1));
        return false;
    }
    true
}

impl<V: 'static> Greenlet<V> {
    /// Creates a greenlet that will run `f` when first switched into. Its
    /// parent is the calling coroutine (or the thread's main context).
    ///
    /// # Panics
    ///
    /// Panics if no stack can be allocated.
    pub fn new<F>(f: F) -> Greenlet<V>
    where
        F: FnOnce(V) -> V + 'static,
    {
        let hub = hub::current();
        let stack_size = hub.shared.stack_size;
        let stack =
            hub.with_stacks(|p| p.acquire(stack_size)).unwrap_or_else(|e| panic!("failed to create greenlet: {e}"));
        let task = TaskRef::new::<()>(NewTask {
            hub: Arc::clone(&hub.shared),
            name: None,
            kind: Kind::Coroutine,
            stack_size,
            initial_state: pack(0, 0, PARKED),
        });
        task.guard.set(stack.guard_range());
        task.asan.set_stack(&stack);
        with_links(&task, |l| l.refs = Some(1));
        replace_parent(&task, hub.current_task_ref());
        let raw: *const Header = task.as_ptr();
        let coro = crate::task::Coro::with_stack(stack, move |y: &CoroYielder, ()| {
            // SAFETY: the hub's live list keeps the task alive while its
            // coroutine runs.
            unsafe { greenlet_body::<V, F>(&*raw, y, f) }
        });
        // SAFETY: the task was just created on this thread.
        unsafe { *task.coro.get() = Some(coro) };
        hub.add_live(task.clone());
        Greenlet { task, _marker: PhantomData }
    }

    /// The running greenlet: the current coroutine, or the thread's main
    /// context.
    pub fn getcurrent() -> Greenlet<V> {
        handle(hub::current().current_task_ref())
    }

    /// Switches into this greenlet, passing `value`; returns the value the
    /// caller is later switched back with. An error that reaches this
    /// greenlet as its parent (a child's panic) resumes unwinding here.
    pub fn switch(&self, value: V) -> V {
        self.try_switch(value).unwrap_or_else(|e| crate::unwinding::resume(e))
    }

    /// Like [`switch`](Self::switch), returning an error that reaches the
    /// caller as `Err` instead of unwinding.
    pub fn try_switch(&self, value: V) -> Result<V, Box<dyn Any + Send>> {
        switch_into(&self.task, Ok(Box::new(value)), true).map(downcast::<V>)
    }

    /// Raises `error` inside this greenlet, at the `switch` it is suspended
    /// in, and switches into it. Returns what the caller is switched back
    /// with: `Err` holding the error if the greenlet let it propagate (to
    /// the caller as its parent), `Ok` if it handled it and switched back.
    ///
    /// ```
    /// use verde_runtime::{Greenlet, GreenletExit};
    ///
    /// let g = Greenlet::new(|()| {
    ///     let parent = Greenlet::<()>::getcurrent().parent().unwrap();
    ///     parent.switch(());
    /// });
    /// g.switch(());
    /// let err = g.throw(GreenletExit).unwrap_err();
    /// assert!(err.is::<GreenletExit>());
    /// assert!(g.dead());
    /// ```
    pub fn throw<E: Any + Send>(&self, error: E) -> Result<V, Box<dyn Any + Send>> {
        switch_into(&self.task, Err(Box::new(error)), true).map(downcast::<V>)
    }

    /// The greenlet its value goes to when it finishes.
    pub fn parent(&self) -> Option<Greenlet<V>> {
        parent_of(&self.task).map(handle)
    }

    /// Changes the parent.
    ///
    /// # Panics
    ///
    /// Panics if that would make a cycle of parents (greenlet's
    /// `ValueError: cyclic parent chain`), or if this is the thread's main
    /// greenlet, which never finishes and so has no parent (greenlet's
    /// `AttributeError`).
    pub fn set_parent(&self, parent: &Greenlet<V>) {
        assert!(self.task.kind != Kind::Main, "cannot set the parent of a main greenlet");
        let mut p = Some(parent.task.clone());
        while let Some(t) = p {
            assert!(t.as_ptr() != self.task.as_ptr(), "set_parent would create a cycle of parents");
            p = parent_of(&t);
        }
        if let Some(old) = replace_parent(&self.task, parent.task.clone()) {
            release(&old);
        }
    }

    /// Whether the greenlet has been switched into at least once.
    pub fn started(&self) -> bool {
        self.task.kind == Kind::Main || seq_of(self.task.state.load(Ordering::Acquire)) > 0 || self.dead()
    }

    /// Whether the greenlet's function has finished.
    pub fn dead(&self) -> bool {
        self.task.is_complete()
    }
}

fn downcast<V: 'static>(value: Box<dyn Any>) -> V {
    *value.downcast::<V>().unwrap_or_else(|_| panic!("a greenlet was switched a value of another type than its own"))
}

/// Switches the running task into `target` with `transfer`, returning what
/// the running task is later switched back with. With `may_orphan`, a
/// running greenlet nothing refers to any more is disposed of once it has
/// switched away (false for the switch that disposes of another one).
fn switch_into(target: &TaskRef, transfer: Transfer, may_orphan: bool) -> Transfer {
    let hub = hub::current();
    let me = hub.current_task_ref();
    let mut target = target.clone();
    while target.is_complete() {
        target = parent_of(&target).expect("a dead greenlet always has a parent");
    }
    if target.as_ptr() == me.as_ptr() {
        return transfer;
    }
    claim(&target).unwrap_or_else(|e| panic!("{e}"));
    with_links(&target, |l| l.transfer = Some(transfer));
    if may_orphan {
        orphan_if_unreferenced(&me);
    }
    park_in_switch(hub, &me, target)
}

/// Whether `target` is suspended in a switch (or not yet started) and so
/// can be switched into.
fn claimable(target: &Header) -> bool {
    claimable_in(target, target.state.load(Ordering::Acquire))
}

/// [`claimable`], for state word `word`.
fn claimable_in(target: &Header, word: u64) -> bool {
    let unstarted = target.kind == Kind::Coroutine && seq_of(word) == 0;
    state_of(word) == PARKED && (unstarted || with_links(target, |l| l.in_switch))
}

/// Takes `target` out of its switch (or unstarted) park so it can be run
/// directly.
fn claim(target: &TaskRef) -> Result<(), &'static str> {
    let word = target.state.load(Ordering::Acquire);
    if !claimable_in(target, word) {
        return Err("cannot switch into a greenlet that is running or blocked in a verde call; \
                    only greenlets suspended in switch() (or not yet started) can be switched into");
    }
    let seq = seq_of(word);
    target
        .state
        .compare_exchange(word, pack(seq, Reason::Woken as u64, QUEUED), Ordering::AcqRel, Ordering::Acquire)
        .map(drop)
        .map_err(|_| "greenlet was woken by someone else while being switched into")
}

/// Suspends `me` inside a switch until something switches back into it.
fn park_in_switch(hub: &Hub, me: &TaskRef, target: TaskRef) -> Transfer {
    let seq = me.seq();
    with_links(me, |l| l.in_switch = true);
    me.state.store(pack(seq, 0, PARKED), Ordering::Release);
    match me.kind {
        Kind::Coroutine => {
            hub.set_switch_target(target);
            suspend(me, Suspend::Switch);
        }
        Kind::Main => {
            if hub.main_switch_to(target).is_err() {
                with_links(me, |l| l.in_switch = false);
                me.state.store(pack(seq + 1, 0, RUNNING), Ordering::Release);
                panic!("{}", crate::deadlock::MESSAGE);
            }
        }
    }
    with_links(me, |l| l.in_switch = false);
    let word = me.state.load(Ordering::Acquire);
    me.state.store(pack(seq + 1, 0, RUNNING), Ordering::Release);
    let interrupted = reason_of(word) == Reason::Interrupted;
    let transfer = with_links(me, |l| l.transfer.take()).filter(|_| !interrupted);
    dispose_orphans();
    if interrupted {
        deliver_interrupt(me);
    }
    transfer.unwrap_or_else(|| Ok(Box::new(())))
}

/// The body of a greenlet's coroutine.
///
/// # Safety
///
/// `task` must be the greenlet's own task.
unsafe fn greenlet_body<V: 'static, F: FnOnce(V) -> V>(task: &Header, y: &CoroYielder, f: F) {
    let _stack_done = task.asan.entered();
    task.yielder.set(y);
    task.state.store(pack(1, 0, RUNNING), Ordering::Release);
    let input = with_links(task, |l| l.transfer.take()).unwrap_or_else(|| Ok(Box::new(())));
    dispose_orphans();
    let outcome: Transfer = match input {
        Ok(v) => {
            let v = downcast::<V>(v);
            // Coroutine-locals are dropped when `f` ends, inside the greenlet.
            crate::unwinding::catch(|| crate::local::run_scoped(task, || f(v))).map(|r| Box::new(r) as Box<dyn Any>)
        }
        Err(e) => Err(e),
    };
    // SAFETY: greenlet tasks are created with result type ().
    unsafe { Header::write_result::<()>(task, Ok(())) };
    orphan_if_unreferenced(task);
    if matches!(&outcome, Err(e) if e.is::<Killed>()) {
        // Killed (thread exit, or an explicit kill): nobody is waiting for
        // this greenlet's value.
        return;
    }
    let hub = hub::current();
    let mut parent = parent_of(task);
    while let Some(p) = parent.as_ref().filter(|p| p.is_complete()) {
        parent = parent_of(p);
    }
    match parent.filter(|p| claim(p).is_ok()) {
        Some(p) => {
            with_links(&p, |l| l.transfer = Some(outcome));
            hub.set_switch_target(p);
        }
        None => {
            if let Err(e) = outcome {
                crate::failure::report_unjoined(task, &*e);
            }
        }
    }
}
