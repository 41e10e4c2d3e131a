//! `verde::signal`: waiting for Unix signals from coroutines and threads,
//! and gevent's `signal_handler`.
//!
//! Tests run on parallel threads of one process and signals are
//! process-wide, so each test uses real-time signals of its own
//! (`SIGRTMIN() + n`), and sends one only while something catches it.
//! What must change the fate of the process (SIGTERM's default action)
//! runs in a child process.

use std::cell::Cell;
use std::io::ErrorKind;
use std::process::Command;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::signal::{signal_handler, Signals};

fn rt(n: i32) -> i32 {
    libc::SIGRTMIN() + n
}

/// Sends `signal` to the whole process, as `kill -s` from outside would.
fn send(signal: i32) {
    // SAFETY: kill(2) on our own pid with a signal the test catches.
    assert_eq!(unsafe { libc::kill(libc::getpid(), signal) }, 0);
}

/// The current disposition of `signal`: its `sa_sigaction`.
fn disposition(signal: i32) -> usize {
    // SAFETY: querying an action into a valid out-pointer.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(signal, std::ptr::null(), &mut current), 0);
        current.sa_sigaction
    }
}

#[test]
fn a_waiting_coroutine_parks_only_itself() {
    let signals = Signals::new([rt(0)]).unwrap();
    let turns = Arc::new(AtomicUsize::new(0));
    let waiter = verde::spawn(move || signals.wait().unwrap());
    let t = Arc::clone(&turns);
    let busy = verde::spawn(move || {
        for _ in 0..50 {
            t.fetch_add(1, Ordering::SeqCst);
            verde::yield_now();
        }
    });
    busy.join().unwrap();
    assert!(!waiter.is_finished(), "nothing was sent yet");
    send(rt(0));
    assert_eq!(waiter.join().unwrap(), rt(0));
    assert_eq!(turns.load(Ordering::SeqCst), 50);
}

#[test]
fn repeated_deliveries_before_a_wait_count_once_and_lower_numbers_come_first() {
    let signals = Signals::new([rt(2), rt(1)]).unwrap();
    assert_eq!(signals.signals(), [rt(2), rt(1)]);
    // raise(3) runs the handler on this thread before it returns, so all
    // three have come before the first wait.
    // SAFETY: raising signals this process catches.
    unsafe {
        libc::raise(rt(2));
        libc::raise(rt(2));
        libc::raise(rt(1));
    }
    assert_eq!(signals.wait().unwrap(), rt(1));
    assert_eq!(signals.try_wait(), Some(rt(2)));
    assert_eq!(signals.try_wait(), None);
    assert_eq!(signals.wait_timeout(Duration::from_millis(30)).unwrap(), None);
}

#[test]
fn every_signals_that_wants_a_signal_gets_it() {
    let a = Signals::new([rt(5)]).unwrap();
    let b = Signals::new([rt(5), rt(6)]).unwrap();
    send(rt(5));
    assert_eq!(a.wait().unwrap(), rt(5));
    assert_eq!(b.wait().unwrap(), rt(5));
}

#[test]
fn wait_timeout_gives_none_when_nothing_comes() {
    let signals = Signals::new([rt(7)]).unwrap();
    let waiter = verde::spawn(move || signals.wait_timeout(Duration::from_millis(30)).unwrap());
    assert_eq!(waiter.join().unwrap(), None);
}

#[test]
fn a_timeout_or_a_kill_interrupts_a_wait() {
    let signals = Arc::new(Signals::new([rt(8)]).unwrap());
    let s = Arc::clone(&signals);
    let timed = verde::spawn(move || verde::with_timeout(Duration::from_millis(20), || s.wait().unwrap()));
    assert!(timed.join().unwrap().is_err(), "the Timeout ended the wait");

    let dropped = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&signals);
    let d = Arc::clone(&dropped);
    let waiter = verde::spawn(move || {
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let _flag = Flag(d);
        s.wait().unwrap()
    });
    verde::yield_now();
    waiter.kill();
    assert!(dropped.load(Ordering::SeqCst), "the killed waiter's destructors ran");
    // The signal is still caught, and the next wait gets it.
    send(rt(8));
    assert_eq!(signals.wait().unwrap(), rt(8));
}

#[test]
fn a_plain_thread_blocks_until_the_signal_comes() {
    let signals = Signals::new([rt(9)]).unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&started);
    let waiter = std::thread::spawn(move || {
        s.store(true, Ordering::SeqCst);
        signals.wait().unwrap()
    });
    while !started.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    send(rt(9));
    assert_eq!(waiter.join().unwrap(), rt(9));
}

#[test]
fn a_coroutine_on_another_hub_gets_the_signal() {
    let runtime = verde::Runtime::builder().workers(2).build().unwrap();
    let signals = Signals::new([rt(10)]).unwrap();
    let waiter = runtime.spawn(move || signals.wait().unwrap());
    send(rt(10));
    assert_eq!(waiter.join().unwrap(), rt(10));
}

#[test]
fn signals_that_cannot_be_caught_or_belong_to_faults_are_refused() {
    for signal in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, 0, 65, 32] {
        let e = Signals::new([signal]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "signal {signal}: {e}");
        assert!(e.to_string().contains("cannot handle"), "{e}");
    }
    let e = Signals::new([libc::SIGKILL]).unwrap_err();
    assert!(e.to_string().contains("SIGKILL"), "the message names the signal: {e}");
    assert_eq!(Signals::new([]).unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[test]
fn the_previous_disposition_comes_back_after_the_last_drop() {
    let signal = rt(11);
    assert_eq!(disposition(signal), libc::SIG_DFL);
    let a = Signals::new([signal]).unwrap();
    let b = Signals::new([signal]).unwrap();
    assert_ne!(disposition(signal), libc::SIG_DFL);
    drop(a);
    assert_ne!(disposition(signal), libc::SIG_DFL, "b still wants it");
    drop(b);
    assert_eq!(disposition(signal), libc::SIG_DFL);
}

static PREVIOUS_RAN: AtomicUsize = AtomicUsize::new(0);

extern "C" fn previous_handler(_: libc::c_int) {
    PREVIOUS_RAN.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn a_previous_handler_still_runs_and_comes_back() {
    let signal = rt(12);
    // SAFETY: installing a one-argument handler that only touches an
    // atomic.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = previous_handler as *const () as usize;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(libc::sigaction(signal, &action, std::ptr::null_mut()), 0);
    }
    let signals = Signals::new([signal]).unwrap();
    // SAFETY: raising a signal this process catches.
    unsafe { libc::raise(signal) };
    assert_eq!(signals.try_wait(), Some(signal));
    assert_eq!(PREVIOUS_RAN.load(Ordering::SeqCst), 1, "the handler verde replaced ran too");
    drop(signals);
    assert_eq!(disposition(signal), previous_handler as *const () as usize);
}

#[test]
fn signal_handler_runs_the_function_in_a_new_coroutine_each_time() {
    let runs = Rc::new(Cell::new(0));
    let names = Rc::new(std::cell::RefCell::new(Vec::new()));
    let (r, n) = (Rc::clone(&runs), Rc::clone(&names));
    let handler = signal_handler(rt(13), move || {
        n.borrow_mut().push(verde::current().is_main());
        r.set(r.get() + 1);
    })
    .unwrap();
    assert_eq!(handler.signal(), rt(13));
    for expected in 1..=3 {
        // SAFETY: raising a signal this process catches.
        unsafe { libc::raise(rt(13)) };
        while runs.get() < expected {
            verde::sleep(Duration::from_millis(1));
        }
    }
    assert_eq!(*names.borrow(), [false, false, false], "each ran in a coroutine");
    handler.cancel();
    assert_eq!(disposition(rt(13)), libc::SIG_DFL, "cancel gave the signal back");
}

#[test]
fn a_dropped_signal_handler_keeps_handling() {
    let runs = Rc::new(Cell::new(0));
    let r = Rc::clone(&runs);
    let handler = signal_handler(rt(14), move || r.set(r.get() + 1)).unwrap();
    let signal = handler.signal();
    drop(handler);
    // SAFETY: raising a signal this process still catches.
    unsafe { libc::raise(signal) };
    while runs.get() == 0 {
        verde::sleep(Duration::from_millis(1));
    }
}

/// In a child process: SIGTERM is caught while a `Signals` wants it, and
/// ends the process again once it is dropped.
#[test]
fn sigterm_ends_the_process_again_after_the_drop() {
    if std::env::var_os("VERDE_SIGNAL_CHILD").is_some() {
        let signals = Signals::new([libc::SIGTERM]).unwrap();
        send(libc::SIGTERM);
        assert_eq!(signals.wait().unwrap(), libc::SIGTERM);
        println!("caught");
        drop(signals);
        send(libc::SIGTERM);
        std::thread::sleep(Duration::from_secs(10));
        println!("survived");
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sigterm_ends_the_process_again_after_the_drop", "--nocapture", "--test-threads=1"])
        .env("VERDE_SIGNAL_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    use std::os::unix::process::ExitStatusExt;
    assert!(stdout.contains("caught"), "{stdout}");
    assert!(!stdout.contains("survived"), "{stdout}");
    assert_eq!(output.status.signal(), Some(libc::SIGTERM), "{:?}", output.status);
}
