//! Greenlet switching rules.

use std::cell::RefCell;
use std::rc::Rc;

use verde_runtime::{Greenlet, GreenletExit};

#[test]
fn classic_test1_test2() {
    let out = Rc::new(RefCell::new(Vec::new()));
    let slot: Rc<RefCell<Option<Greenlet>>> = Rc::default();
    let (o, s) = (out.clone(), slot.clone());
    let gr1 = Greenlet::new(move |()| {
        o.borrow_mut().push(12);
        s.borrow().as_ref().unwrap().switch(());
        o.borrow_mut().push(34);
    });
    let (o, g1) = (out.clone(), gr1.clone());
    let gr2 = Greenlet::new(move |()| {
        o.borrow_mut().push(56);
        g1.switch(());
        o.borrow_mut().push(78);
    });
    *slot.borrow_mut() = Some(gr2.clone());
    gr1.switch(());
    assert_eq!(*out.borrow(), [12, 56, 34]);
    assert!(gr1.dead());
    assert!(gr2.started() && !gr2.dead());
}

#[test]
fn values_pass_both_ways_and_the_return_goes_to_the_parent() {
    let g = Greenlet::new(|x: i32| {
        let main = Greenlet::<i32>::getcurrent().parent().unwrap();
        let y = main.switch(x + 1);
        y * 10
    });
    assert!(!g.started());
    assert_eq!(g.switch(1), 2);
    assert!(g.started() && !g.dead());
    assert_eq!(g.switch(5), 50);
    assert!(g.dead());
}

#[test]
fn a_panic_propagates_to_the_parent() {
    let g: Greenlet<()> = Greenlet::new(|()| panic!("child failed"));
    let err = g.try_switch(()).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"child failed"));
    assert!(g.dead());

    let g2: Greenlet<()> = Greenlet::new(|()| panic!("again"));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g2.switch(())));
    assert!(caught.is_err());
}

#[test]
fn switching_to_a_dead_greenlet_goes_to_its_parent() {
    let g = Greenlet::new(|x: u32| x);
    assert_eq!(g.switch(3), 3);
    assert!(g.dead());
    // g's parent is the main context itself: switching to it just returns.
    assert_eq!(g.switch(9), 9);
}

#[test]
fn dead_greenlet_forwards_to_a_waiting_parent() {
    let received = Rc::new(RefCell::new(Vec::new()));
    let r = received.clone();
    // P waits in switch() for values, recording them, until it sees 2.
    let p = Greenlet::new(move |_start: i32| {
        let main = Greenlet::<i32>::getcurrent().parent().unwrap();
        loop {
            let v = main.switch(0);
            r.borrow_mut().push(v);
            if v == 2 {
                return -1;
            }
        }
    });
    assert_eq!(p.switch(0), 0);
    // C's parent is P; C returns its argument, which goes to P.
    let c = Greenlet::new(|x: i32| x);
    c.set_parent(&p);
    assert_eq!(c.switch(1), 0);
    assert!(c.dead());
    // C is dead: switching to it goes to its parent P.
    assert_eq!(c.switch(2), -1);
    assert!(p.dead());
    assert_eq!(*received.borrow(), [1, 2]);
}

#[test]
fn throw_raises_inside_the_greenlet() {
    let g = Greenlet::new(|()| {
        let main = Greenlet::<()>::getcurrent().parent().unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| main.switch(())));
        assert!(caught.unwrap_err().is::<&'static str>());
    });
    g.switch(());
    assert!(g.throw("stop").is_ok());
    assert!(g.dead());
}

#[test]
fn throw_into_unstarted_kills_it_without_running() {
    let ran = Rc::new(RefCell::new(false));
    let r = ran.clone();
    let g = Greenlet::new(move |()| *r.borrow_mut() = true);
    let err = g.throw(GreenletExit).unwrap_err();
    assert!(err.is::<GreenletExit>());
    assert!(g.dead());
    assert!(!*ran.borrow());
}

#[test]
fn greenlets_can_block_in_verde_calls() {
    let g = Greenlet::new(|ms: u64| {
        verde_runtime::sleep(std::time::Duration::from_millis(ms));
        ms * 2
    });
    assert_eq!(g.switch(5), 10);
}

#[test]
fn greenlets_inside_a_coroutine() {
    let h = verde_runtime::spawn_local(|| {
        let g = Greenlet::new(|x: i32| x + 100);
        g.switch(1)
    });
    assert_eq!(h.join().unwrap(), 101);
}

// Ports of greenlet's test_greenlet.py.

/// Switches back to the running greenlet's parent (greenlet's
/// `getcurrent().parent.switch()`).
///
/// The parent is bound first so that the temporary handle `getcurrent()`
/// returns is gone during the switch: held there, it would keep the
/// greenlet alive.
fn resume_parent() {
    let parent = Greenlet::<()>::getcurrent().parent().unwrap();
    parent.switch(());
}

#[test]
fn simple_switch_back_and_forth() {
    let lst = Rc::new(RefCell::new(Vec::new()));
    let l = lst.clone();
    let g = Greenlet::new(move |()| {
        l.borrow_mut().push(1);
        resume_parent();
        l.borrow_mut().push(3);
    });
    lst.borrow_mut().push(0);
    g.switch(());
    lst.borrow_mut().push(2);
    g.switch(());
    lst.borrow_mut().push(4);
    assert_eq!(*lst.borrow(), [0, 1, 2, 3, 4]);
}

#[test]
fn two_children_run_independently() {
    let lst = Rc::new(RefCell::new(Vec::new()));
    let f = |l: Rc<RefCell<Vec<i32>>>| {
        move |()| {
            l.borrow_mut().push(1);
            resume_parent();
            l.borrow_mut().extend([1, 1]);
        }
    };
    let g = Greenlet::new(f(lst.clone()));
    let h = Greenlet::new(f(lst.clone()));
    g.switch(());
    assert_eq!(lst.borrow().len(), 1);
    h.switch(());
    assert_eq!(lst.borrow().len(), 2);
    h.switch(());
    assert_eq!(lst.borrow().len(), 4);
    assert!(h.dead());
    g.switch(());
    assert_eq!(lst.borrow().len(), 6);
    assert!(g.dead());
}

#[test]
fn two_recursive_children() {
    let lst = Rc::new(RefCell::new(Vec::new()));
    let l = lst.clone();
    let outer = Greenlet::new(move |()| {
        l.borrow_mut().push('a');
        let l2 = l.clone();
        let inner = Greenlet::new(move |()| {
            l2.borrow_mut().push('b');
            resume_parent();
        });
        // inner's parent is outer: its switch back lands here.
        assert!(inner.parent().unwrap() == Greenlet::getcurrent());
        inner.switch(());
        l.borrow_mut().push('c');
    });
    outer.switch(());
    assert_eq!(*lst.borrow(), ['a', 'b', 'c']);
    assert!(outer.dead());
}

#[test]
fn greenlets_on_many_threads() {
    let threads: Vec<_> = (0..10)
        .map(|_| {
            std::thread::spawn(|| {
                let g = Greenlet::new(|x: u32| {
                    let main = Greenlet::<u32>::getcurrent().parent().unwrap();
                    main.switch(x + 1) + 1
                });
                assert_eq!(g.switch(1), 2);
                assert_eq!(g.switch(10), 11);
                g.dead()
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap());
    }
}

/// greenlet's `fmain`: suspends in its parent, records what it is resumed
/// with, then fails.
fn fmain(seen: Rc<RefCell<Vec<String>>>) -> impl FnOnce(()) {
    move |()| {
        let parent = Greenlet::<()>::getcurrent().parent().unwrap();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parent.switch(()))) {
            Ok(()) => std::panic::panic_any("SomeError"),
            Err(e) => {
                seen.borrow_mut().push(verde_runtime::describe_payload(&*e));
                std::panic::resume_unwind(e);
            }
        }
    }
}

#[test]
fn an_error_goes_to_the_reassigned_parent_then_up() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let g1 = Greenlet::new(fmain(seen.clone()));
    let g2 = Greenlet::new(fmain(seen.clone()));
    g1.switch(());
    g2.switch(());
    g2.set_parent(&g1);
    assert!(seen.borrow().is_empty());
    // g2 fails; its error is raised in g1 (its parent), which records it
    // and fails in turn, up to us.
    let err = g2.try_switch(()).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"SomeError"));
    assert_eq!(*seen.borrow(), ["SomeError"]);
    assert!(g1.dead() && g2.dead());
    // Both dead: switching to g2 goes up to us.
    g2.switch(());
    assert_eq!(*seen.borrow(), ["SomeError"]);
}

#[test]
fn a_thrown_error_is_seen_inside_and_comes_back_when_uncaught() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let g1 = Greenlet::new(fmain(seen.clone()));
    g1.switch(());
    let err = g1.throw("KeyError").unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"KeyError"));
    assert_eq!(*seen.borrow(), ["KeyError"]);
}

#[test]
fn throw_into_a_dead_greenlet_raises_in_its_parent() {
    let g = Greenlet::new(|()| ());
    g.switch(());
    assert!(g.dead());
    // Its parent is the caller: the error comes straight back.
    let err = g.throw("late").unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"late"));
}

#[test]
fn falling_off_the_end_starts_an_unstarted_parent_with_the_value() {
    let parent = Greenlet::new(|x: (i32, i32)| (x.0, 24));
    let child = Greenlet::new(|_: (i32, i32)| (42, 0));
    child.set_parent(&parent);
    assert_eq!(child.switch((0, 0)), (42, 24));
    assert!(child.dead() && parent.dead());
}

#[test]
fn switching_to_a_dead_greenlet_reparented_to_an_unstarted_one_starts_it() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    let parent_never_started = Greenlet::new(move |()| s.borrow_mut().push(24));
    let s = seen.clone();
    let child = Greenlet::new(move |()| s.borrow_mut().push(42));
    child.switch(());
    assert_eq!(*seen.borrow(), [42]);
    child.set_parent(&parent_never_started);
    // The same as switching to the parent.
    child.switch(());
    assert_eq!(*seen.borrow(), [42, 24]);
    assert!(parent_never_started.dead());
}

#[test]
fn the_main_greenlet_has_no_parent() {
    let main = Greenlet::<()>::getcurrent();
    assert!(main.parent().is_none());
    assert!(main.started() && !main.dead());
    let g = Greenlet::new(|()| ());
    assert!(g.parent().unwrap() == main);
}

#[test]
#[should_panic(expected = "cycle")]
fn a_trivial_parent_cycle_is_rejected() {
    let g = Greenlet::new(|()| ());
    g.set_parent(&g.clone());
}

#[test]
#[should_panic(expected = "cycle")]
fn a_deeper_parent_cycle_is_rejected() {
    let g1 = Greenlet::new(|()| ());
    let g2 = Greenlet::new(|()| ());
    let g3 = Greenlet::new(|()| ());
    g1.set_parent(&g2);
    g2.set_parent(&g3);
    g3.set_parent(&g1);
}

#[test]
fn a_rejected_parent_change_leaves_the_parent_as_it_was() {
    let g1 = Greenlet::new(|()| ());
    let g2 = Greenlet::new(|()| ());
    g1.set_parent(&g2);
    let (a, b) = (g1.clone(), g2.clone());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| b.set_parent(&a)));
    assert!(r.is_err());
    assert!(g2.parent().unwrap() == Greenlet::getcurrent());
    assert!(g1.parent().unwrap() == g2);
}

#[test]
#[should_panic(expected = "cannot set the parent of a main greenlet")]
fn the_main_greenlet_parent_cannot_be_set() {
    // Rejected as such, not as the cycle it would also be.
    let g = Greenlet::new(|()| ());
    Greenlet::<()>::getcurrent().set_parent(&g);
}

#[test]
fn greenlet_exit_ends_a_greenlet_and_comes_back_as_an_error_not_a_failure() {
    let g = Greenlet::new(|()| {
        resume_parent();
        unreachable!("GreenletExit unwinds the switch");
    });
    g.switch(());
    let err = g.throw(GreenletExit).unwrap_err();
    assert!(err.is::<GreenletExit>());
    assert!(g.dead());
    // And a greenlet may catch it and return normally.
    let g = Greenlet::new(|()| {
        let parent = Greenlet::<()>::getcurrent().parent().unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parent.switch(())));
        assert!(r.unwrap_err().is::<GreenletExit>());
    });
    g.switch(());
    assert!(g.throw(GreenletExit).is_ok());
    assert!(g.dead());
}

// Dropping the last reference to a greenlet kills it (greenlet's
// `green_dealloc`).

/// Sets its flag when dropped.
struct DropFlag(Rc<RefCell<Vec<&'static str>>>, &'static str);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.borrow_mut().push(self.1);
    }
}

#[test]
fn dropping_the_last_handle_of_a_suspended_greenlet_unwinds_it() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let g = Greenlet::new(move |()| {
        let _guard = DropFlag(l.clone(), "destructor");
        resume_parent();
        l.borrow_mut().push("after switch");
    });
    g.switch(());
    assert!(log.borrow().is_empty());
    drop(g);
    // The dropper got control back, after the greenlet's destructors ran
    // and without the code after its switch running.
    assert_eq!(*log.borrow(), ["destructor"]);
}

#[test]
fn dropping_one_of_two_clones_does_nothing() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let g = Greenlet::new(move |()| {
        let _guard = DropFlag(l.clone(), "destructor");
        resume_parent();
        l.borrow_mut().push("resumed");
    });
    g.switch(());
    let other = g.clone();
    drop(g);
    assert!(log.borrow().is_empty());
    assert!(other.started() && !other.dead());
    other.switch(());
    assert_eq!(*log.borrow(), ["resumed", "destructor"]);
    assert!(other.dead());
}

#[test]
fn dealloc_raises_greenlet_exit_in_each_greenlet() {
    // greenlet's test_dealloc.
    let seen = Rc::new(RefCell::new(Vec::new()));
    let g1 = Greenlet::new(fmain(seen.clone()));
    let g2 = Greenlet::new(fmain(seen.clone()));
    g1.switch(());
    g2.switch(());
    assert!(seen.borrow().is_empty());
    drop(g1);
    assert_eq!(seen.borrow().len(), 1);
    drop(g2);
    assert_eq!(seen.borrow().len(), 2);
    let exit = verde_runtime::describe_payload(&GreenletExit);
    assert!(seen.borrow().iter().all(|s| *s == exit), "{:?}", seen.borrow());
}

#[test]
fn dealloc_of_a_greenlet_that_raises_another_error_returns_normally() {
    // greenlet's test_dealloc_catches_GreenletExit_throws_other: the error
    // is reported, not raised in the dropper.
    let g = Greenlet::new(|()| {
        let parent = Greenlet::<()>::getcurrent().parent().unwrap();
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parent.switch(()))).is_err() {
            std::panic::panic_any("SomeError");
        }
    });
    g.switch(());
    drop(g);
}

#[test]
fn the_killed_greenlet_runs_with_the_dropper_as_parent_which_is_restored() {
    // greenlet's test_parent_restored_on_kill: the killed greenlet sees the
    // dropper as its parent, resurrects itself, and switches to another
    // greenlet, which returns to the dropper.
    let main = Greenlet::<()>::getcurrent();
    let hub = Greenlet::new(|()| ());
    let result: Rc<RefCell<Vec<Greenlet>>> = Rc::default();
    let (r, h) = (result.clone(), hub.clone());
    let worker = Greenlet::new(move |()| {
        let main = Greenlet::<()>::getcurrent().parent().unwrap();
        let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| main.switch(())));
        assert!(killed.unwrap_err().is::<GreenletExit>());
        r.borrow_mut().push(Greenlet::getcurrent().parent().unwrap());
        r.borrow_mut().push(Greenlet::getcurrent());
        h.switch(());
    });
    worker.set_parent(&hub);
    worker.switch(());
    drop(worker);
    let result = std::mem::take(&mut *result.borrow_mut());
    assert_eq!(result.len(), 2);
    assert!(result[0] == main, "the dropper was the parent during the kill");
    assert!(result[1].parent().unwrap() == hub, "the parent is restored");
    assert!(hub.dead());
    // Resurrected: still suspended in its switch to `hub`.
    assert!(result[1].started() && !result[1].dead());
}

#[test]
fn a_greenlet_that_keeps_switching_while_being_killed_is_left_suspended() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let g = Greenlet::new(move |()| {
        let _guard = DropFlag(l.clone(), "destructor");
        loop {
            let parent = Greenlet::<()>::getcurrent().parent().unwrap();
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parent.switch(()))) {
                Ok(()) => l.borrow_mut().push("switched back"),
                Err(e) if e.is::<GreenletExit>() => l.borrow_mut().push("swallowed GreenletExit"),
                Err(e) => std::panic::resume_unwind(e),
            }
        }
    });
    g.switch(());
    g.switch(());
    drop(g);
    // It swallowed the GreenletExit and switched back to the dropper: it
    // is not dead, so it stays suspended (greenlet's "GreenletExit did not
    // kill") and nothing else is thrown into it.
    assert_eq!(*log.borrow(), ["switched back", "swallowed GreenletExit"]);
}

#[test]
fn an_unstarted_greenlet_dropped_never_runs_and_its_closure_is_dropped() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let guard = DropFlag(log.clone(), "closure dropped");
    let l = log.clone();
    let g = Greenlet::new(move |()| {
        let _keep = &guard;
        l.borrow_mut().push("ran");
    });
    drop(g);
    assert_eq!(*log.borrow(), ["closure dropped"]);
}

#[test]
fn a_parent_link_keeps_a_suspended_greenlet_alive() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let parent = Greenlet::new(move |()| {
        let _guard = DropFlag(l.clone(), "parent destructor");
        resume_parent();
        l.borrow_mut().push("parent resumed");
    });
    parent.switch(());
    let l = log.clone();
    let child = Greenlet::new(move |()| l.borrow_mut().push("child ran"));
    child.set_parent(&parent);
    let c = child.clone();
    drop(parent);
    assert!(log.borrow().is_empty(), "the child's parent link still refers to it");
    // The child finishes into its parent, which finishes into its own
    // parent: us.
    c.switch(());
    assert_eq!(*log.borrow(), ["child ran", "parent resumed", "parent destructor"]);

    // Dropping the last handle of a child releases its parent link: the
    // parent is killed then.
    log.borrow_mut().clear();
    let l = log.clone();
    let parent = Greenlet::new(move |()| {
        let _guard = DropFlag(l.clone(), "parent destructor");
        resume_parent();
        l.borrow_mut().push("parent resumed");
    });
    parent.switch(());
    let child = Greenlet::new(|()| ());
    child.set_parent(&parent);
    drop(parent);
    assert!(log.borrow().is_empty());
    drop(child);
    assert_eq!(*log.borrow(), ["parent destructor"]);
    drop(c);
}

#[test]
fn a_greenlet_that_loses_its_last_handle_while_blocked_is_killed_once_it_switches_away() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let t_slot: Rc<RefCell<Option<Greenlet>>> = Rc::default();
    let join_slot: Rc<RefCell<Option<verde_runtime::JoinHandle<()>>>> = Rc::default();
    let (l, ts, js) = (log.clone(), t_slot.clone(), join_slot.clone());
    let g = Greenlet::new(move |()| {
        let _guard = DropFlag(l.clone(), "destructor");
        // A coroutine switches our parent (the test) back out of its
        // switch into us while we are blocked, so it can drop its handle.
        let main = Greenlet::<()>::getcurrent().parent().unwrap();
        let (l2, ts2) = (l.clone(), ts.clone());
        *js.borrow_mut() = Some(verde_runtime::spawn_local(move || {
            *ts2.borrow_mut() = Some(Greenlet::getcurrent());
            main.switch(());
            l2.borrow_mut().push("coroutine resumed");
        }));
        verde_runtime::sleep(std::time::Duration::from_millis(1));
        let t_greenlet = ts.borrow_mut().take().unwrap();
        t_greenlet.switch(());
        l.borrow_mut().push("after switch");
    });
    g.switch(());
    drop(g);
    assert!(log.borrow().is_empty(), "blocked in a verde call: not killed yet");
    // Once it wakes up and switches into the coroutine, it is killed there,
    // and the coroutine goes on.
    let t = join_slot.borrow_mut().take().unwrap();
    t.join().unwrap();
    assert_eq!(*log.borrow(), ["destructor", "coroutine resumed"]);
}

#[test]
fn dropping_from_a_coroutine_kills_the_greenlet_and_returns_to_it() {
    let h = verde_runtime::spawn_local(|| {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        let g = Greenlet::new(move |()| {
            let _guard = DropFlag(l.clone(), "destructor");
            resume_parent();
            l.borrow_mut().push("after switch");
        });
        g.switch(());
        drop(g);
        log.borrow_mut().push("dropper resumed");
        Rc::try_unwrap(log).unwrap().into_inner()
    });
    assert_eq!(h.join().unwrap(), ["destructor", "dropper resumed"]);
}
