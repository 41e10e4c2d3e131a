//! The monitor, each scenario in a child process of its own (the monitor
//! is process-wide and reads the environment once per hub): it names a
//! coroutine that blocks its hub in a sleep, a CPU loop or a futex wait,
//! once per stall, and stays quiet about coroutines that park. This binary
//! does not carry `patch_all!()`, so `std::thread::sleep` blocks.

use std::process::{Command, Output};
use std::time::Duration;

use verde_runtime as verde;

struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, r: &log::Record) {
        eprintln!("LOG {} {} {}", r.level(), r.target(), r.args());
    }
    fn flush(&self) {}
}

fn main() {
    if let Some(scenario) = std::env::args().nth(1).filter(|a| !a.starts_with('-')) {
        log::set_logger(&Stderr).unwrap();
        log::set_max_level(log::LevelFilter::Warn);
        run_scenario(&scenario);
        return;
    }
    type Check = (&'static str, Option<&'static str>, fn(&str));
    let checks: &[Check] = &[
        ("sleep", Some("50"), check_sleep),
        ("cpu_loop", Some("50"), check_cpu_loop),
        ("futex", Some("50"), check_futex),
        ("builder", None, check_builder),
        ("api", None, check_api),
        ("parking_is_quiet", Some("20"), check_quiet),
        ("yielding_is_quiet", Some("20"), check_quiet),
        ("off_by_default", None, check_quiet),
        ("block_forever", Some("50"), check_block_forever),
    ];
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    for (name, env, check) in checks {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.arg(name).env_remove("VERDE_MAX_BLOCKING_TIME_MS");
        if let Some(ms) = env {
            cmd.env("VERDE_MAX_BLOCKING_TIME_MS", ms);
        }
        let out: Output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if *name != "block_forever" {
            assert!(out.status.success(), "scenario {name} failed:\n{stderr}");
        }
        check(&stderr);
        println!("scenario {name} ... ok");
    }
}

fn run_scenario(name: &str) {
    match name {
        "sleep" => {
            let h = verde::Builder::new()
                .name("sleepy".into())
                .spawn(|| std::thread::sleep(Duration::from_millis(400)))
                .unwrap();
            h.join().unwrap();
        }
        "cpu_loop" => {
            let h = verde::Builder::new()
                .name("spinner".into())
                .spawn(|| {
                    let start = std::time::Instant::now();
                    let mut n = 0u64;
                    while start.elapsed() < Duration::from_millis(400) {
                        n = std::hint::black_box(n.wrapping_add(1));
                    }
                })
                .unwrap();
            h.join().unwrap();
        }
        "futex" => {
            let lock = std::sync::Arc::new(std::sync::Mutex::new(()));
            let l = lock.clone();
            let (tx, rx) = std::sync::mpsc::channel();
            let holder = std::thread::spawn(move || {
                let _g = l.lock().unwrap();
                tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(400));
            });
            rx.recv().unwrap();
            let h = verde::Builder::new().name("locker".into()).spawn(move || drop(lock.lock().unwrap())).unwrap();
            h.join().unwrap();
            holder.join().unwrap();
        }
        "builder" => {
            let rt = verde::Runtime::builder()
                .workers(1)
                .thread_name("watched")
                .max_blocking_time(Duration::from_millis(50))
                .build()
                .unwrap();
            let h = rt.handle().spawn_with(verde::Builder::new().name("worker-sleeper".into()), None, || {
                std::thread::sleep(Duration::from_millis(300))
            });
            h.unwrap().join().unwrap();
        }
        "api" => {
            // Unwatched, then watched from here on: only the second stall
            // is reported.
            verde::spawn(|| std::thread::sleep(Duration::from_millis(200))).join().unwrap();
            verde::monitor::set_max_blocking_time(Some(Duration::from_millis(50)));
            let h = verde::Builder::new()
                .name("api-sleeper".into())
                .spawn(|| std::thread::sleep(Duration::from_millis(300)))
                .unwrap();
            h.join().unwrap();
        }
        "parking_is_quiet" | "off_by_default" => {
            let hs: Vec<_> = (0..10)
                .map(|_| {
                    verde::spawn(|| {
                        for _ in 0..20 {
                            verde::sleep(Duration::from_millis(10));
                        }
                    })
                })
                .collect();
            verde::joinall(hs);
            // The thread's own code blocking, with no coroutine running.
            std::thread::sleep(Duration::from_millis(200));
            if name == "off_by_default" {
                std::thread::sleep(Duration::from_millis(1));
                let h = verde::spawn(|| std::thread::sleep(Duration::from_millis(300)));
                h.join().unwrap();
                assert!(!verde::monitor::is_running());
            }
        }
        "yielding_is_quiet" => {
            // Busy hubs that switch all the time: one coroutine yielding
            // alone (the same id resumes again and again), then two taking
            // turns, each for well over the 20 ms max blocking time.
            let yield_for = |d: Duration| {
                let start = std::time::Instant::now();
                while start.elapsed() < d {
                    verde::yield_now();
                }
            };
            verde::spawn(move || yield_for(Duration::from_millis(300))).join().unwrap();
            let hs: Vec<_> = (0..2).map(|_| verde::spawn(move || yield_for(Duration::from_millis(300)))).collect();
            verde::joinall(hs);
        }
        "block_forever" => {
            verde::park::park();
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn reports(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("LOG WARN verde::monitor")).collect()
}

fn check_sleep(stderr: &str) {
    let r = reports(stderr);
    assert_eq!(r.len(), 1, "one report per stall:\n{stderr}");
    assert!(r[0].contains("coroutine 'sleepy' (id "), "{}", r[0]);
    assert!(r[0].contains("hub thread 'main'"), "{}", r[0]);
    assert!(r[0].contains("sleep (state S"), "names the sleep: {}", r[0]);
    assert!(r[0].contains("verde::patch_all!() would make this call cooperative"), "{}", r[0]);
}

fn check_cpu_loop(stderr: &str) {
    let r = reports(stderr);
    assert_eq!(r.len(), 1, "{stderr}");
    assert!(r[0].contains("'spinner'") && r[0].contains("running on the CPU (state R)"), "{}", r[0]);
}

fn check_futex(stderr: &str) {
    let r = reports(stderr);
    assert_eq!(r.len(), 1, "{stderr}");
    assert!(r[0].contains("'locker'") && r[0].contains("system call futex"), "{}", r[0]);
}

fn check_builder(stderr: &str) {
    let r = reports(stderr);
    assert_eq!(r.len(), 1, "{stderr}");
    assert!(r[0].contains("hub thread 'watched-0'") && r[0].contains("'worker-sleeper'"), "{}", r[0]);
}

fn check_api(stderr: &str) {
    let r = reports(stderr);
    assert_eq!(r.len(), 1, "{stderr}");
    assert!(r[0].contains("'api-sleeper'"), "{}", r[0]);
}

fn check_quiet(stderr: &str) {
    assert!(reports(stderr).is_empty(), "{stderr}");
}

fn check_block_forever(stderr: &str) {
    assert!(stderr.contains(verde::WOULD_BLOCK_FOREVER), "the monitor thread hides no deadlock:\n{stderr}");
}
