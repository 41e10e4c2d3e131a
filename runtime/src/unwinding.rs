//! Which coroutine is unwinding: `std::thread::panicking()` per coroutine.
//!
//! std counts panics per OS thread: `thread::panicking()` is true from the
//! moment a panic (or a `resume_unwind`) starts until a `catch_unwind`
//! catches it. Coroutines share their hub's thread, so a coroutine parked
//! in a destructor in the middle of its unwinding makes the thread
//! "panicking" for every other coroutine of the hub, and for the thread's
//! main context. Two things need the answer per coroutine:
//!
//! * poisoning (`sync::poison`): a guard poisons its lock when *its
//!   holder* started unwinding while holding it, as std's does per thread;
//! * interrupt delivery (`park::deliver_interrupt`): a kill or a
//!   `Timeout` must not start a second unwind inside a destructor that an
//!   unwinding runs, which aborts the process.
//!
//! # The model
//!
//! std exposes no per-thread panic count, only whether it is zero. So
//! verde records, per task (coroutine, or the thread's main context), that
//! it *started* unwinding, and takes the record back where it sees the
//! unwinding end:
//!
//! * **Marks.** A task is marked when it starts unwinding: from verde's
//!   panic hook, installed with the first task ([`ensure_hook`]), which
//!   chains to the hook it replaces; and from every unwind verde starts
//!   itself ([`resume`]): kills and `Timeout`s, rethrows of a payload it
//!   caught (`Timeout::run`, pools, `blocking`, `block_on`, greenlet
//!   switches), a queue's `ShutDown`, and [`resume_unwind`](crate::resume_unwind),
//!   offered to user code for its own rethrows. A mark is the thread's
//!   *epoch* at the time, kept in the task's `Header::unwinding` (in a
//!   thread-local for the main context, which may unwind before its hub
//!   exists).
//! * **Catches.** Every `catch_unwind` verde runs ([`catch`]: a
//!   coroutine's body, `Timeout::run`, links, pool members, `blocking`
//!   jobs), and [`catch_unwind`](crate::catch_unwind) offered to user code,
//!   puts the task's mark back to what it was when the call began: when it
//!   returns, every unwind that started inside it is over, and the task is
//!   unwinding exactly if it was before.
//! * **Epochs.** When verde sees `thread::panicking()` false (taking a
//!   lock, delivering an interrupt), no task of the thread is unwinding:
//!   the thread's epoch moves on and every mark of the old one lapses. This
//!   is what clears the mark of a task whose panic a plain
//!   `std::panic::catch_unwind` caught.
//! * **Reading.** A task is *marked* if its mark is of the current epoch
//!   and the thread is panicking.
//!
//! Every unwind that verde saw start is marked until it is surely over
//! (the epoch cannot move while it runs, and a catch restores what was
//! there before it). A marked task that is not unwinding is one whose
//! panic a plain `std::panic::catch_unwind` caught, verde having not seen
//! the thread's count at zero since: while another task of the thread was
//! unwinding, or with no lock taken and no interrupt delivered on the
//! thread before the next unwinding began.
//!
//! # What each user makes of it
//!
//! **Poisoning** ([`unwinding_at_lock`], [`unwinding_at_release`]) asks
//! about the running task, as it takes a lock (a guard taken while
//! unwinding, in a destructor, does not poison) and as it releases it. If
//! the thread is not panicking, it is not. If it is marked, it is. If it
//! is not, the count is either some other marked task's, or an unwind
//! verde did not see start (`std::panic::resume_unwind`, a panic while
//! verde's hook is not the process's). With no marked task on the thread
//! the count is unexplained and the answer is yes, std's per-thread rule,
//! so such an unwind still poisons when it is the only one. With one, the
//! count is taken to be the other task's. And if verde's hook was dropped
//! (`set_hook` without chaining, or `take_hook` and a drop), or is not
//! installed yet, any panic may be unseen: the answer at release is then
//! yes whenever the thread is panicking, std's rule, so that no poisoning
//! is lost to it.
//!
//! With verde's hook in place, the errors left all need two tasks of one
//! thread unwinding at once:
//!
//! * a task still marked after a plain `std::panic::catch_unwind` is taken
//!   to be unwinding: a guard it releases normally poisons, and a guard it
//!   takes does not poison on release, as if taken inside a destructor;
//! * an unwind verde did not see start, while another task of the thread
//!   is marked, is taken to be that task's: a guard it drops does not
//!   poison. A hook installed after verde's that filters panics (it calls
//!   the previous hook for some only) makes the others unseen. No observation can tell it from a normal release: std offers
//!   only `thread::panicking()`, true in both cases.
//!
//! [`catch_unwind`](crate::catch_unwind) and
//! [`resume_unwind`](crate::resume_unwind) close both for user code.
//!
//! **Interrupt delivery** ([`unwinding`]) defers a kill or a `Timeout` for
//! a marked task only. Deferring for an unexplained count too would make
//! an innocent coroutine unkillable while another one unwinds, and that
//! one may be waiting for the kill to land (a `Pool` dropped during
//! unwinding kills its members and waits). So a task unwinding from an
//! unwind verde did not see start, parked in a destructor, is still
//! unwound again by an interrupt there, and the process aborts. A task
//! still marked after a plain `std::panic::catch_unwind` keeps new
//! interrupts pending until the thread's unwinding is over (it gets them
//! at its first park after that).
//!
//! # Cost
//!
//! Nothing on the switch paths (`hub::run_task`, `park::park`,
//! `yield_now`): interrupt delivery asks only once an interrupt is
//! pending. Taking a lock, which called `thread::panicking()` already,
//! also reads a thread-local count when the thread is not panicking;
//! releasing one costs what it did. A coroutine's body saves and restores
//! its mark around its `catch_unwind`. The rest runs only while the thread
//! is panicking.

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo, UnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread;

use crate::hub;
use crate::task::{Header, Kind};

/// Per-thread bookkeeping.
struct State {
    /// The current epoch: marks of an earlier one have lapsed. Starts at 1,
    /// so that 0, a new task's mark, is never a live one.
    epoch: Cell<u64>,
    /// How many tasks of this thread hold a mark of the current epoch.
    marked: Cell<usize>,
    /// The main context's mark.
    main: Cell<u64>,
}

thread_local! {
    /// A const-initialised value with no destructor: readable from the
    /// panic hook at any time, thread exit included.
    static STATE: State = const { State { epoch: Cell::new(1), marked: Cell::new(0), main: Cell::new(0) } };
}

/// No hook installed yet.
const HOOK_NONE: u8 = 0;
/// A thread is installing it.
const HOOK_INSTALLING: u8 = 1;
/// Installed, and not dropped since.
const HOOK_INSTALLED: u8 = 2;
/// Dropped: the process's hook no longer calls it.
const HOOK_GONE: u8 = 3;

/// Where verde's panic hook stands.
static HOOK: AtomicU8 = AtomicU8::new(HOOK_NONE);

/// Installs verde's panic hook if it is not yet: called whenever a task is
/// created, so that it is in place before the first coroutine runs.
#[inline]
pub(crate) fn ensure_hook() {
    if HOOK.load(Ordering::Relaxed) == HOOK_NONE {
        install_hook();
    }
}

#[cold]
#[inline(never)]
fn install_hook() {
    // `take_hook` and `set_hook` panic on a panicking thread: try again
    // with a later task.
    if thread::panicking() {
        return;
    }
    if HOOK.compare_exchange(HOOK_NONE, HOOK_INSTALLING, Ordering::AcqRel, Ordering::Relaxed).is_err() {
        return;
    }
    let hook = Hook { previous: panic::take_hook() };
    panic::set_hook(Box::new(move |info| hook.call(info)));
    // Unless another thread replaced it in the meantime (then `Hook::drop`
    // said so already).
    let _ = HOOK.compare_exchange(HOOK_INSTALLING, HOOK_INSTALLED, Ordering::AcqRel, Ordering::Relaxed);
}

/// verde's panic hook: marks the task that panics, then calls the hook it
/// replaced.
struct Hook {
    previous: Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>,
}

impl Hook {
    fn call(&self, info: &PanicHookInfo<'_>) {
        mark_running();
        (self.previous)(info);
    }
}

impl Drop for Hook {
    /// The process's hook no longer reaches this one: from now on, panics
    /// may start unseen, and poisoning falls back to std's per-thread rule.
    fn drop(&mut self) {
        HOOK.store(HOOK_GONE, Ordering::Release);
        log::debug!(
            target: "verde",
            "verde's panic hook was replaced without being chained: locks poison per thread from now on"
        );
    }
}

/// Where `task`'s mark is kept: `None` (or a main task) is the thread's
/// main context.
fn slot<'a>(s: &'a State, task: Option<&'a Header>) -> &'a Cell<u64> {
    match task {
        Some(t) if t.kind == Kind::Coroutine => &t.unwinding,
        _ => &s.main,
    }
}

/// Sets the mark in `slot` to `mark`, keeping `State::marked` in step.
fn set_mark(s: &State, slot: &Cell<u64>, mark: u64) {
    let epoch = s.epoch.get();
    let old = slot.replace(mark);
    match (old == epoch, mark == epoch) {
        (false, true) => s.marked.set(s.marked.get() + 1),
        (true, false) => s.marked.set(s.marked.get() - 1),
        _ => {}
    }
}

/// Marks the running task (coroutine or main context) as unwinding.
fn mark_running() {
    STATE.with(|s| set_mark(s, slot(s, hub::running_coroutine()), s.epoch.get()));
}

/// Called where the thread is seen not panicking: every mark lapses.
#[inline]
fn forget_all() {
    STATE.with(|s| {
        if s.marked.get() != 0 {
            s.marked.set(0);
            s.epoch.set(s.epoch.get() + 1);
        }
    });
}

/// Whether the running task (coroutine or main context) is unwinding as it
/// takes a lock, for poisoning: see the module docs. When the thread is
/// not panicking, every mark lapses.
#[inline]
pub(crate) fn unwinding_at_lock() -> bool {
    if thread::panicking() {
        holder_unwinding(false)
    } else {
        forget_all();
        false
    }
}

/// Whether the running task is unwinding as it releases a lock, for
/// poisoning: see the module docs. True whenever it is.
#[inline]
pub(crate) fn unwinding_at_release() -> bool {
    thread::panicking() && holder_unwinding(true)
}

/// Whether the running task is unwinding, the thread being panicking.
#[cold]
#[inline(never)]
fn holder_unwinding(releasing: bool) -> bool {
    if releasing && HOOK.load(Ordering::Acquire) != HOOK_INSTALLED {
        return true;
    }
    STATE.with(|s| slot(s, hub::running_coroutine()).get() == s.epoch.get() || s.marked.get() == 0)
}

/// Whether `task`, the running task, is known to be unwinding, for
/// interrupt delivery: see the module docs.
#[cold]
#[inline(never)]
pub(crate) fn unwinding(task: &Header) -> bool {
    if !thread::panicking() {
        forget_all();
        return false;
    }
    STATE.with(|s| slot(s, Some(task)).get() == s.epoch.get())
}

/// Unwinds the running task with `payload`, as verde's own unwinds do:
/// marks it first, since `std::panic::resume_unwind` does not run the
/// panic hook.
pub(crate) fn resume(payload: Box<dyn Any + Send>) -> ! {
    mark_running();
    panic::resume_unwind(payload)
}

/// `std::panic::catch_unwind`, as verde's own catches do: the running
/// task's mark is what it was before, once `f` is over.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> thread::Result<R> {
    let task = hub::running_coroutine();
    let before = STATE.with(|s| slot(s, task).get());
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    STATE.with(|s| {
        let slot = slot(s, task);
        if slot.get() != before {
            set_mark(s, slot, before);
        }
    });
    result
}

/// [`std::panic::catch_unwind`] that tells verde the unwinding it catches
/// is over: use it to contain panics inside a coroutine.
///
/// `std::thread::panicking()` is per OS thread, and verde cannot see where
/// std's `catch_unwind` ends an unwinding, so it tracks which coroutine is
/// unwinding itself (see [`resume_unwind`]). A panic caught with std's
/// `catch_unwind` while another coroutine of the same hub is parked in the
/// middle of its own unwinding (in a destructor that receives, sleeps,
/// locks) leaves the catching coroutine taken for unwinding until that
/// other unwinding is over: a verde [`Mutex`](crate::sync::Mutex) or
/// [`RwLock`](crate::sync::RwLock) guard it releases normally poisons, one
/// it takes meanwhile does not poison on a later panic, and a kill or a
/// [`Timeout`](crate::Timeout) waits. With this function the coroutine is
/// unwinding again exactly if it was before the call. Anywhere else it is
/// std's function.
///
/// Like std's, it catches kills and `Timeout`s too: resume them (with
/// [`resume_unwind`]) unless stopping them is the point.
///
/// ```
/// let h = verde_runtime::spawn(|| {
///     let caught = verde_runtime::catch_unwind(|| panic!("contained"));
///     assert!(caught.is_err());
///     7
/// });
/// assert_eq!(h.join().unwrap(), 7);
/// ```
pub fn catch_unwind<F: FnOnce() -> R + UnwindSafe, R>(f: F) -> thread::Result<R> {
    catch(f)
}

/// [`std::panic::resume_unwind`] that tells verde the running coroutine is
/// unwinding: use it to rethrow a panic payload (caught with
/// `catch_unwind`, or from a join) inside a coroutine.
///
/// std's `resume_unwind` does not run the panic hook, which is where verde
/// learns that a coroutine starts unwinding, as opposed to another
/// coroutine of the same thread (`std::thread::panicking()` is per thread).
/// While another coroutine of the hub is parked in the middle of its own
/// unwinding, an unwind verde did not see start cannot be told apart from
/// that one: a verde [`Mutex`](crate::sync::Mutex) or
/// [`RwLock`](crate::sync::RwLock) guard dropped by it does not poison,
/// and a kill or [`Timeout`](crate::Timeout) reaching a destructor that
/// parks during it aborts the process. Rethrown with this function, the
/// unwind is the coroutine's own: the guard poisons, and the kill waits
/// until the unwinding is over. Anywhere else it is std's function.
///
/// ```
/// let h = verde_runtime::spawn(|| {
///     let payload = verde_runtime::catch_unwind(|| panic!("boom")).unwrap_err();
///     // ... clean up ...
///     verde_runtime::resume_unwind(payload);
/// });
/// let payload = h.join().unwrap_err();
/// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
/// ```
pub fn resume_unwind(payload: Box<dyn Any + Send>) -> ! {
    resume(payload)
}
