//! A main context that waits for something nothing can ever do is told so
//! (the would-block-forever panic, gevent's LoopExit) at once, even though
//! an earlier timed park left its park timer armed an hour away: an entry
//! that waits for nothing must not count as a timer that could wake main.
//!
//! The check needs a process with no thread but the main context's own
//! (with another thread alive, verde cannot tell that nobody will wake
//! main, and rightly waits). libtest runs each test on a thread of its
//! own, so the test re-runs this binary with [`SCENARIO`] set, and the
//! child runs the scenario from the process's initialisers
//! (`.init_array`), before libtest's `main` starts any thread, and exits.
//! The parent gives it a minute: without the fix the child would wait an
//! hour for the stale entry.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use verde::park::{self, Unparked};
use verde_runtime as verde;

/// Set in the child's environment: run the scenario instead of the tests.
const SCENARIO: &str = "VERDE_PARK_TIMER_LOOP_EXIT_SCENARIO";

/// What the child prints once the park failed as it should.
const REPORTED: &str = "would-block-forever reported";

// SAFETY: `.init_array` holds plain `extern "C" fn()` pointers that the C
// runtime calls once each, on the main thread, before `main`; this is one,
// and what it calls needs nothing that only `main` sets up (it reads the
// environment, which libc has set by then, and otherwise uses verde and
// std as any thread does).
#[unsafe(link_section = ".init_array")]
#[used]
static RUN_SCENARIO_IN_THE_CHILD: extern "C" fn() = run_scenario_if_asked;

extern "C" fn run_scenario_if_asked() {
    if std::env::var_os(SCENARIO).is_none() {
        return;
    }
    // A timed park woken long before its deadline: main's park timer stays
    // armed an hour away, waiting for nothing.
    let waker = park::waker();
    let waking = verde::spawn(move || assert!(waker.wake()));
    assert_eq!(park::park_until(Instant::now() + Duration::from_secs(3600)), Unparked::Woken);
    waking.join().unwrap();
    // Nothing will ever wake this park.
    let payload = std::panic::catch_unwind(park::park).expect_err("an untimed park with nothing to wake it fails");
    let message = verde::describe_payload(&*payload);
    assert!(message.contains("would block forever"), "unexpected panic: {message}");
    println!("{REPORTED}");
    std::process::exit(0);
}

#[test]
fn would_block_forever_is_reported_while_a_stale_park_timer_is_armed() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(SCENARIO, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let give_up = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= give_up {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the main context waited for its stale park timer instead of being told it would block forever");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}, stderr: {stderr}", out.status);
    assert!(stdout.contains(REPORTED), "stdout: {stdout}, stderr: {stderr}");
}
