//! Scenarios that need a process of their own: a main context that would
//! block forever (also with a stale park timer armed), a stack overflow
//! (which aborts), teardown at exit, 100,000 live coroutines, and
//! `wait_idle` ending at a loop exit.
//!
//! This test target has no libtest harness, so each scenario runs on the
//! process's real main thread with no other threads around. The parent
//! re-runs this binary once per scenario and checks its output and status.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use verde_runtime as verde;

fn main() {
    if let Some(scenario) = std::env::args().nth(1).filter(|a| !a.starts_with('-')) {
        run_scenario(&scenario);
        return;
    }
    type Check = (&'static str, fn(Output));
    let checks: &[Check] = &[
        ("block_forever_join", check_block_forever),
        ("block_forever_park", check_block_forever),
        ("block_forever_stale_park_timer", check_block_forever),
        ("stack_overflow", check_stack_overflow),
        ("teardown_at_exit", check_teardown),
        ("hundred_thousand", check_hundred_thousand),
        ("unjoined_panic_logged", check_unjoined_panic),
        ("wait_idle_loop_exit", check_wait_idle_loop_exit),
    ];
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    for (name, check) in checks {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        check(run_child(name));
        println!("scenario {name} ... ok");
    }
}

/// How long a scenario may take before it counts as hung.
const SCENARIO_LIMIT: Duration = Duration::from_secs(120);

/// Runs scenario `name` in a child process and collects its output; a
/// child still running after [`SCENARIO_LIMIT`] is killed and the test
/// fails, so that a scenario that regresses into waiting does not hang.
fn run_child(name: &str) -> Output {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg(name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read both pipes meanwhile, so that a chatty child never blocks.
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    let give_up = Instant::now() + SCENARIO_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= give_up {
            let _ = child.kill();
            let _ = child.wait();
            panic!("scenario {name} still running after {SCENARIO_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() }
}

/// Reads `pipe` to its end on a thread of its own.
fn read_all(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn run_scenario(name: &str) {
    match name {
        "block_forever_join" => {
            let h = verde::spawn(verde::park::park);
            let _ = h.join();
        }
        "block_forever_park" => {
            verde::park::park();
        }
        "block_forever_stale_park_timer" => {
            // A timed park woken long before its deadline leaves main's park
            // timer armed an hour away, waiting for nothing: it must not
            // count as a timer that could wake the untimed park after it.
            let waker = verde::park::waker();
            let waking = verde::spawn(move || assert!(waker.wake()));
            let deadline = Instant::now() + Duration::from_secs(3600);
            assert_eq!(verde::park::park_until(deadline), verde::park::Unparked::Woken);
            waking.join().unwrap();
            verde::park::park();
        }
        "stack_overflow" => {
            fn recurse(n: u64) -> u64 {
                if n == u64::MAX {
                    return 0;
                }
                let buf = std::hint::black_box([n as u8; 1024]);
                buf[0] as u64 + recurse(n + 1)
            }
            let h =
                verde::Builder::new().name("deep-recursion".into()).stack_size(64 * 1024).spawn(|| recurse(0)).unwrap();
            let _ = h.join();
        }
        "teardown_at_exit" => {
            struct Announce;
            impl Drop for Announce {
                fn drop(&mut self) {
                    println!("destructor ran");
                }
            }
            let h = verde::spawn(|| {
                let _a = Announce;
                verde::sleep(Duration::from_secs(3600));
                println!("must not print");
            });
            verde::yield_now();
            drop(h);
            let t = std::thread::spawn(|| {
                drop(verde::spawn(|| {
                    let _a = Announce;
                    verde::sleep(Duration::from_secs(3600));
                }));
                verde::yield_now();
            });
            t.join().unwrap();
        }
        "hundred_thousand" => {
            const N: usize = 100_000;
            let woken = Arc::new(AtomicUsize::new(0));
            let slots: Arc<std::sync::Mutex<Vec<verde::Waker>>> = Arc::default();
            let hs: Vec<_> = (0..N)
                .map(|_| {
                    let (w, s) = (woken.clone(), slots.clone());
                    verde::spawn(move || {
                        s.lock().unwrap().push(verde::park::waker());
                        verde::park::park();
                        w.fetch_add(1, Ordering::Relaxed);
                    })
                })
                .collect();
            while slots.lock().unwrap().len() < N {
                verde::yield_now();
            }
            let maps = std::fs::read_to_string("/proc/self/maps").unwrap().lines().count();
            println!("live {N} maps {maps}");
            for w in std::mem::take(&mut *slots.lock().unwrap()) {
                w.wake();
            }
            for h in hs {
                h.join().unwrap();
            }
            println!("woken {}", woken.load(Ordering::Relaxed));
        }
        "unjoined_panic_logged" => {
            struct Stderr;
            impl log::Log for Stderr {
                fn enabled(&self, _: &log::Metadata) -> bool {
                    true
                }
                fn log(&self, r: &log::Record) {
                    eprintln!("LOG {} {}", r.level(), r.args());
                }
                fn flush(&self) {}
            }
            log::set_logger(&Stderr).unwrap();
            log::set_max_level(log::LevelFilter::Trace);
            drop(verde::Builder::new().name("doomed".into()).spawn(|| panic!("nobody joins me")).unwrap());
            let joined = verde::Builder::new().name("joined".into()).spawn(|| panic!("someone joins me")).unwrap();
            let _ = joined.join();
            verde::sleep(Duration::from_millis(5));
        }
        "wait_idle_loop_exit" => {
            // One coroutine finishes, one parks where nothing can wake it:
            // the loop exits, and wait_idle returns instead of failing, with
            // or without a timeout (which is not a reason to keep going).
            let finished = verde::spawn(|| verde::sleep(Duration::from_millis(1)));
            let stuck = verde::spawn(verde::park::park);
            println!("without timeout {}", verde::wait_idle(None));
            println!("with timeout {}", verde::wait_idle(Some(Duration::from_secs(3600))));
            println!("finished {} stuck {}", finished.is_finished(), stuck.is_finished());
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn check_wait_idle_loop_exit(out: Output) {
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "status {:?}, stderr: {}", out.status, text(&out.stderr));
    assert!(stdout.contains("without timeout true"), "stdout: {stdout}");
    assert!(stdout.contains("with timeout true"), "stdout: {stdout}");
    assert!(stdout.contains("finished true stuck false"), "stdout: {stdout}");
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn check_block_forever(out: Output) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "expected failure, got {:?}", out.status);
    assert!(err.contains("would block forever"), "stderr: {err}");
}

fn check_stack_overflow(out: Output) {
    use std::os::unix::process::ExitStatusExt;
    let err = text(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "stderr: {err}");
    assert!(
        err.contains("coroutine 'deep-recursion'") && err.contains("overflowed its stack of 65536 bytes"),
        "stderr: {err}"
    );
}

fn check_teardown(out: Output) {
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert_eq!(stdout.matches("destructor ran").count(), 2, "stdout: {stdout}");
    assert!(!stdout.contains("must not print"));
}

fn check_hundred_thousand(out: Output) {
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    assert!(stdout.contains("woken 100000"), "stdout: {stdout}");
    let maps: usize = stdout
        .split_whitespace()
        .skip_while(|w| *w != "maps")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("maps count printed");
    // Far below vm.max_map_count's default of 65530: guards do not cost
    // mappings.
    assert!(maps < 10_000, "{maps} mappings for 100k coroutines");
}

fn check_unjoined_panic(out: Output) {
    let err = text(&out.stderr);
    assert!(out.status.success(), "stderr: {err}");
    assert!(err.contains("LOG ERROR coroutine 'doomed'") && err.contains("nobody joins me"), "stderr: {err}");
    assert!(!err.contains("LOG ERROR coroutine 'joined'"), "stderr: {err}");
}
