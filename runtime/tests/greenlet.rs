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
