//! `std::thread::panicking()` per coroutine: the panic of a coroutine
//! parked in a destructor on its way out is its own. It must not poison
//! the locks that other coroutines (or the thread's main context) of its
//! hub release normally, a lock its holder panics with must still be
//! poisoned, and a kill or a `Timeout` that reaches the unwinding coroutine
//! inside that destructor must wait instead of aborting the process.
//!
//! Scenarios that would abort the process if they went wrong, or that
//! replace the process's panic hook, run in a child process of their own
//! (see [`in_child`]); the others share this binary's process, and none of
//! them touches the panic hook.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::sync::{mpsc, Mutex, RwLock};

/// Set in a child process to the name of the one test it runs.
const CHILD: &str = "VERDE_COROUTINE_PANICKING_CHILD";

/// Runs `body` in a child process that runs only the test `test` (the
/// calling one), and checks that it passed: an abort there fails this test
/// instead of taking the whole binary down, and a hook the body installs
/// stays in that process.
fn in_child(test: &str, body: impl FnOnce()) {
    if std::env::var(CHILD).as_deref() == Ok(test) {
        body();
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child running {test} failed ({}):\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("1 passed"), "the child did not run {test}:\n{stdout}");
}

/// The text of a panic payload.
fn text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("")
}

/// A destructor that parks on the way out of an unwinding coroutine: it
/// says it is inside, waits for a release, then records that it finished.
struct ParksOnDrop {
    inside: mpsc::Sender<()>,
    release: mpsc::Receiver<()>,
    finished: Arc<AtomicBool>,
    how: Park,
}

/// How a [`ParksOnDrop`] waits for its release.
#[derive(Clone, Copy)]
enum Park {
    /// `recv`: the plain park.
    Recv,
    /// `recv_timeout` with a long deadline: a park with a timer.
    RecvTimeout,
    /// Short `sleep`s until the release has come.
    Sleeps,
}

impl Drop for ParksOnDrop {
    /// Panics nowhere while unwinding, which would abort the whole test
    /// binary: a test that fails with the coroutine parked here drops the
    /// [`Control`], and the destructor returns without finishing.
    fn drop(&mut self) {
        assert!(std::thread::panicking(), "dropped by the unwinding");
        let _ = self.inside.send(());
        let released = match self.how {
            Park::Recv => self.release.recv().is_ok(),
            Park::RecvTimeout => self.release.recv_timeout(Duration::from_secs(3600)).is_ok(),
            Park::Sleeps => loop {
                match self.release.try_recv() {
                    Ok(()) => break true,
                    Err(mpsc::TryRecvError::Disconnected) => break false,
                    Err(mpsc::TryRecvError::Empty) => verde::sleep(Duration::from_millis(1)),
                }
            },
        };
        self.finished.store(released, Ordering::SeqCst);
    }
}

/// What a test needs to drive a [`ParksOnDrop`] from outside.
struct Control {
    inside: mpsc::Receiver<()>,
    release: mpsc::Sender<()>,
    finished: Arc<AtomicBool>,
}

impl Control {
    /// Waits until the destructor is parked inside.
    fn wait_inside(&self) {
        self.inside.recv().unwrap();
    }

    /// Lets the destructor finish.
    fn release(&self) {
        self.release.send(()).unwrap();
    }

    fn finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }
}

fn parks_on_drop(how: Park) -> (ParksOnDrop, Control) {
    let (inside_tx, inside) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let finished = Arc::new(AtomicBool::new(false));
    let guard = ParksOnDrop { inside: inside_tx, release: release_rx, finished: finished.clone(), how };
    (guard, Control { inside, release, finished })
}

/// Spawns a coroutine that panics with "boom" and parks in a destructor
/// on its way out, and waits until it is parked there.
fn unwinding_coroutine(how: Park) -> (verde::JoinHandle<()>, Control) {
    let (bye, control) = parks_on_drop(how);
    let h = verde::spawn(move || {
        let _bye = bye;
        panic!("boom");
    });
    control.wait_inside();
    (h, control)
}

/// Checks that `h` ended with the panic "boom" and its destructor ran to
/// its end.
fn assert_ended_with_boom<T: std::fmt::Debug>(h: verde::JoinHandle<T>, control: &Control) {
    let payload = h.join().unwrap_err();
    assert_eq!(text(&*payload), "boom", "the coroutine ends with its own panic");
    assert!(control.finished(), "the destructor ran to its end");
}

/// Yields a few times: enough for a coroutine woken on this hub to run.
fn let_others_run() {
    for _ in 0..3 {
        verde::yield_now();
    }
}

/// Locks and releases every lock normally, each in a scope of its own.
fn use_normally(m: &Mutex<u32>, rw: &RwLock<u32>) {
    *m.lock().unwrap() += 1;
    *rw.write().unwrap() += 1;
    let _read = rw.read().unwrap();
}

#[test]
fn a_guard_released_normally_while_another_coroutine_unwinds_does_not_poison() {
    let m = Arc::new(Mutex::new(0));
    let rw = Arc::new(RwLock::new(0));

    // Guards taken before the other coroutine starts unwinding, released
    // while it is parked mid-unwind: std's per-thread rule would poison
    // the locks here. By the thread's main context...
    let (main_m, main_rw) = (Arc::new(Mutex::new(0)), Arc::new(RwLock::new(0)));
    let held_by_main = (main_m.lock().unwrap(), main_rw.write().unwrap());
    // ...and by another coroutine of the same hub.
    let (m2, rw2) = (m.clone(), rw.clone());
    let (go, go_rx) = mpsc::channel();
    let y = verde::spawn(move || {
        let held = (m2.lock().unwrap(), rw2.write().unwrap());
        go_rx.recv().unwrap();
        drop(held);
    });
    verde::yield_now();

    let (x, control) = unwinding_coroutine(Park::Recv);
    assert!(std::thread::panicking(), "the thread counts the parked coroutine's unwinding");
    drop(held_by_main);
    assert!(!main_m.is_poisoned() && !main_rw.is_poisoned());
    go.send(()).unwrap();
    y.join().unwrap();
    assert!(!m.is_poisoned() && !rw.is_poisoned());

    // Guards taken meanwhile, by the main context and by a coroutine, with
    // a park (and the unwinding coroutine resumed) while one is held.
    use_normally(&m, &rw);
    let (m2, rw2) = (m.clone(), rw.clone());
    verde::spawn(move || {
        let held = (m2.lock().unwrap(), rw2.write().unwrap());
        verde::yield_now();
        drop(held);
        use_normally(&m2, &rw2);
    })
    .join()
    .unwrap();
    assert!(!m.is_poisoned() && !rw.is_poisoned());

    control.release();
    assert_ended_with_boom(x, &control);
    assert_eq!((*m.lock().unwrap(), *rw.read().unwrap()), (2, 2));
}

#[test]
fn a_guard_held_across_its_holders_panic_poisons() {
    let held = Arc::new(Mutex::new(0));
    let held_rw = Arc::new(RwLock::new(0));
    let (bye, control) = parks_on_drop(Park::Recv);
    let (h, hr) = (held.clone(), held_rw.clone());
    let x = verde::spawn(move || {
        let _g = h.lock().unwrap();
        let _w = hr.write().unwrap();
        // Dropped first: parks while the guards are still held.
        let _bye = bye;
        panic!("boom");
    });
    control.wait_inside();
    assert!(!held.is_poisoned(), "not yet: the guard is still held");

    // A coroutine that takes a lock while the other one unwinds, then
    // panics with it, poisons it (its own panic, begun after the lock).
    let taken_meanwhile = Arc::new(Mutex::new(0));
    let t = taken_meanwhile.clone();
    let y = verde::spawn(move || {
        let _g = t.lock().unwrap();
        panic!("y");
    });
    assert_eq!(text(&*y.join().unwrap_err()), "y");
    assert!(taken_meanwhile.is_poisoned());

    control.release();
    assert_ended_with_boom(x, &control);
    assert!(held.is_poisoned() && held_rw.is_poisoned());
}

#[test]
fn a_guard_taken_inside_the_unwinding_coroutines_destructor_does_not_poison() {
    // As with std: the guard was taken while its holder was unwinding
    // already, so releasing it does not poison.
    struct LocksOnDrop(Arc<Mutex<u32>>, Option<ParksOnDrop>);
    impl Drop for LocksOnDrop {
        fn drop(&mut self) {
            let mut g = self.0.lock().unwrap();
            drop(self.1.take());
            *g += 1;
        }
    }
    let m = Arc::new(Mutex::new(0));
    let (bye, control) = parks_on_drop(Park::Recv);
    let m2 = m.clone();
    let x = verde::spawn(move || {
        let _locks = LocksOnDrop(m2, Some(bye));
        panic!("boom");
    });
    control.wait_inside();
    control.release();
    assert_ended_with_boom(x, &control);
    assert!(!m.is_poisoned());
    assert_eq!(*m.lock().unwrap(), 1);
}

#[test]
fn a_coroutine_unwinding_from_its_own_panic_can_kill_another_and_wait() {
    // The killed coroutine is not the one unwinding: its kill is delivered
    // at once, even though the thread is panicking.
    struct KillsOnDrop(Option<verde::JoinHandle<()>>);
    impl Drop for KillsOnDrop {
        fn drop(&mut self) {
            let h = self.0.take().unwrap();
            h.kill();
            assert!(h.join().unwrap_err().is::<verde::Killed>());
        }
    }
    let victim = verde::spawn(|| verde::sleep(Duration::from_secs(3600)));
    verde::yield_now();
    let x = verde::spawn(move || {
        let _kills = KillsOnDrop(Some(victim));
        panic!("boom");
    });
    assert_eq!(text(&*x.join().unwrap_err()), "boom");
}

#[test]
fn a_panic_caught_inside_a_coroutine_leaves_nothing_behind() {
    let m = Arc::new(Mutex::new(0));
    let rw = Arc::new(RwLock::new(0));
    let (m2, rw2) = (m.clone(), rw.clone());
    let (caught_tx, caught) = mpsc::channel();
    // Catches a panic, uses the locks normally, parks, and is killed.
    let x = verde::spawn(move || {
        let r = panic::catch_unwind(|| panic!("caught"));
        assert_eq!(text(&*r.unwrap_err()), "caught");
        use_normally(&m2, &rw2);
        verde::yield_now();
        use_normally(&m2, &rw2);
        caught_tx.send(()).unwrap();
        verde::sleep(Duration::from_secs(3600));
    });
    // Catches a panic and parks straight away, and is killed.
    let y = verde::spawn(move || {
        let r = panic::catch_unwind(|| panic!("caught"));
        assert!(r.is_err());
        verde::sleep(Duration::from_secs(3600));
    });
    caught.recv().unwrap();
    let_others_run();
    assert!(!m.is_poisoned() && !rw.is_poisoned());
    x.kill();
    y.kill();
    assert!(x.join().unwrap_err().is::<verde::Killed>());
    assert!(y.join().unwrap_err().is::<verde::Killed>());
    assert!(!m.is_poisoned() && !rw.is_poisoned());
    assert_eq!(*m.lock().unwrap(), 2);
}

#[test]
fn an_unwind_verde_cannot_attribute_still_poisons() {
    // `std::panic::resume_unwind` does not run the panic hook. With no
    // other unwinding to explain the thread's panic count, the holder is
    // taken to be unwinding, as std's per-thread rule has it.
    let m = Arc::new(Mutex::new(0));
    let m2 = m.clone();
    let x = verde::spawn(move || {
        let _g = m2.lock().unwrap();
        panic::resume_unwind(Box::new("rethrown"));
    });
    assert_eq!(text(&*x.join().unwrap_err()), "rethrown");
    assert!(m.is_poisoned());
}

#[test]
fn a_rethrow_with_verde_resume_unwind_poisons_while_another_coroutine_unwinds() {
    let (x, control) = unwinding_coroutine(Park::Recv);
    // The payload comes from a join, or from `verde::catch_unwind` (after
    // std's, the coroutine would still be taken for unwinding: see
    // `a_panic_caught_with_verde_catch_unwind_...`).
    for joined in [true, false] {
        let m = Arc::new(Mutex::new(0));
        let m2 = m.clone();
        let y = verde::spawn(move || {
            let payload = if joined {
                verde::spawn(|| panic!("first")).join().unwrap_err()
            } else {
                verde::catch_unwind(|| panic!("first")).unwrap_err()
            };
            let _g = m2.lock().unwrap();
            verde::resume_unwind(payload);
        });
        assert_eq!(text(&*y.join().unwrap_err()), "first");
        assert!(m.is_poisoned(), "joined: {joined}");
    }
    control.release();
    assert_ended_with_boom(x, &control);
}

#[test]
fn a_plain_thread_poisons_as_std_does() {
    // Without a hub, and on a thread whose main context drives coroutines,
    // a verde lock poisons exactly when a std one does.
    for with_hub in [false, true] {
        std::thread::spawn(move || {
            if with_hub {
                verde::spawn(verde::yield_now).join().unwrap();
            }
            assert_eq!(poisonings::<std::sync::Mutex<u32>>(), poisonings::<Mutex<u32>>(), "with a hub: {with_hub}");
        })
        .join()
        .unwrap();
    }
}

/// The two locks std and verde share the API of, for [`poisonings`].
trait Lock: Default + Send + Sync + 'static {
    type Guard<'a>;
    fn lock(&self) -> Self::Guard<'_>;
    fn is_poisoned(&self) -> bool;
    fn clear_poison(&self);
}

impl Lock for std::sync::Mutex<u32> {
    type Guard<'a> = std::sync::MutexGuard<'a, u32>;
    fn lock(&self) -> Self::Guard<'_> {
        std::sync::Mutex::lock(self).unwrap_or_else(|e| e.into_inner())
    }
    fn is_poisoned(&self) -> bool {
        std::sync::Mutex::is_poisoned(self)
    }
    fn clear_poison(&self) {
        std::sync::Mutex::clear_poison(self)
    }
}

impl Lock for Mutex<u32> {
    type Guard<'a> = verde::sync::MutexGuard<'a, u32>;
    fn lock(&self) -> Self::Guard<'_> {
        Mutex::lock(self).unwrap_or_else(|e| e.into_inner())
    }
    fn is_poisoned(&self) -> bool {
        Mutex::is_poisoned(self)
    }
    fn clear_poison(&self) {
        Mutex::clear_poison(self)
    }
}

/// Which of a series of ways to end a critical section poison `L`, run in
/// the calling thread's main context.
fn poisonings<L: Lock>() -> Vec<bool> {
    let mut seen = Vec::new();
    let m = L::default();
    let mut observe = |m: &L| {
        seen.push(m.is_poisoned());
        m.clear_poison();
    };
    // A panic with the guard held.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        let _g = m.lock();
        panic!("held");
    }));
    observe(&m);
    // A rethrow with the guard held (no panic hook runs).
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        let _g = m.lock();
        panic::resume_unwind(Box::new("rethrown"));
    }));
    observe(&m);
    // A guard taken and released inside a destructor during unwinding.
    struct LocksOnDrop<'a, L: Lock>(&'a L);
    impl<L: Lock> Drop for LocksOnDrop<'_, L> {
        fn drop(&mut self) {
            drop(self.0.lock());
        }
    }
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        let _l = LocksOnDrop(&m);
        panic!("unwinding");
    }));
    observe(&m);
    // A guard taken inside such a destructor, then a nested panic caught
    // there with the guard held.
    struct PanicsHoldingOnDrop<'a, L: Lock>(&'a L);
    impl<L: Lock> Drop for PanicsHoldingOnDrop<'_, L> {
        fn drop(&mut self) {
            let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                let _g = self.0.lock();
                panic!("nested");
            }));
        }
    }
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        let _p = PanicsHoldingOnDrop(&m);
        panic!("outer");
    }));
    observe(&m);
    // A guard taken after a caught panic and released normally.
    let _ = panic::catch_unwind(|| panic!("caught"));
    drop(m.lock());
    observe(&m);
    seen
}

#[test]
fn a_kill_reaching_a_coroutine_unwinding_from_its_own_panic_waits() {
    in_child("a_kill_reaching_a_coroutine_unwinding_from_its_own_panic_waits", || {
        for how in [Park::Recv, Park::RecvTimeout, Park::Sleeps] {
            let (x, control) = unwinding_coroutine(how);
            x.kill_nowait();
            let_others_run();
            assert!(!x.is_finished(), "the kill waits for the destructor");
            control.release();
            // A blocking kill returns once the coroutine has ended.
            x.kill();
            assert_ended_with_boom(x, &control);
        }
    });
}

#[test]
fn a_timeout_reaching_a_coroutine_unwinding_from_its_own_panic_waits() {
    in_child("a_timeout_reaching_a_coroutine_unwinding_from_its_own_panic_waits", || {
        // A Timeout the coroutine armed before it panicked, and one around
        // the panicking code.
        for around in [false, true] {
            let (bye, control) = parks_on_drop(Park::Recv);
            let x = verde::spawn(move || {
                let body = move || {
                    let _bye = bye;
                    panic!("boom");
                };
                if around {
                    let _ = verde::with_timeout(Duration::from_millis(1), body);
                } else {
                    let _t = verde::Timeout::start(Duration::from_millis(1));
                    body();
                }
            });
            control.wait_inside();
            // The Timeout's deadline is earlier than this sleep's: the hub
            // has fired it by the time the sleep ends.
            verde::sleep(Duration::from_millis(20));
            let_others_run();
            assert!(!x.is_finished(), "the Timeout waits for the destructor");
            control.release();
            assert_ended_with_boom(x, &control);
        }
    });
}

#[test]
fn a_kill_reaching_a_coroutine_unwinding_from_a_verde_rethrow_waits() {
    in_child("a_kill_reaching_a_coroutine_unwinding_from_a_verde_rethrow_waits", || {
        let (bye, control) = parks_on_drop(Park::Recv);
        let x = verde::spawn(move || {
            let payload = panic::catch_unwind(|| panic!("boom")).unwrap_err();
            let _bye = bye;
            verde::resume_unwind(payload);
        });
        control.wait_inside();
        x.kill_nowait();
        let_others_run();
        assert!(!x.is_finished());
        control.release();
        assert_ended_with_boom(x, &control);
    });
}

#[test]
fn a_replaced_panic_hook_never_loses_a_poisoning() {
    in_child("a_replaced_panic_hook_never_loses_a_poisoning", || {
        // A coroutine panics under verde's hook and parks in a destructor.
        let (x, control) = unwinding_coroutine(Park::Recv);
        // Another thread (this one is panicking, as far as std knows)
        // replaces the hook without calling verde's.
        std::thread::spawn(|| panic::set_hook(Box::new(|info| eprintln!("{info}")))).join().unwrap();
        // A panic verde's hook does not see, with a guard held: it
        // poisons, though the thread's panic count could be the other
        // coroutine's alone.
        let m = Arc::new(Mutex::new(0));
        let m2 = m.clone();
        let y = verde::spawn(move || {
            let _g = m2.lock().unwrap();
            panic!("unseen");
        });
        assert!(y.join().is_err());
        assert!(m.is_poisoned(), "a poisoning is never lost");
        control.release();
        assert_ended_with_boom(x, &control);
    });
}

#[test]
fn a_panic_caught_with_verde_catch_unwind_while_another_coroutine_unwinds_is_over() {
    let (x, control) = unwinding_coroutine(Park::Recv);
    let released = Arc::new(Mutex::new(0));
    let held = Arc::new(Mutex::new(0));
    let (r, h) = (released.clone(), held.clone());
    let y = verde::spawn(move || {
        assert!(verde::catch_unwind(|| panic!("caught")).is_err());
        // Not unwinding any more: a guard released normally does not
        // poison, and one held across a new panic does.
        drop(r.lock().unwrap());
        let _g = h.lock().unwrap();
        panic!("y");
    });
    assert_eq!(text(&*y.join().unwrap_err()), "y");
    assert!(!released.is_poisoned());
    assert!(held.is_poisoned());
    control.release();
    assert_ended_with_boom(x, &control);
}

#[test]
fn a_coroutine_that_caught_its_unwinding_while_another_unwinds_is_killable() {
    // Its kill is delivered at once: were it deferred until the other
    // coroutine's unwinding is over, the join below could never return.
    let (x, control) = unwinding_coroutine(Park::Recv);
    let (never_tx, never) = mpsc::channel::<()>();
    let (ready_tx, ready) = mpsc::channel();
    let y = verde::spawn(move || {
        let timed_out = verde::with_timeout(Duration::from_millis(1), || never.recv());
        assert!(timed_out.is_err());
        assert!(verde::catch_unwind(|| panic!("caught")).is_err());
        ready_tx.send(()).unwrap();
        let _ = never.recv();
    });
    ready.recv().unwrap();
    y.kill();
    assert!(y.join().unwrap_err().is::<verde::Killed>());
    drop(never_tx);
    control.release();
    assert_ended_with_boom(x, &control);
}
