//! Out of file descriptors: `accept` backs off (10 ms doubling to 1 s)
//! instead of spinning or failing, logs once per episode, and keeps
//! serving once fds are released.
//!
//! The scenario lowers RLIMIT_NOFILE, so it runs in a child process: this
//! binary (no libtest harness) re-executes itself with `starve` and checks
//! what the child reports.

use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use verde_net::{TcpListener, TcpStream};
use verde_runtime as verde;

#[path = "common/child.rs"]
mod child;
use child::{field, run_child, LogCounter};

/// Connections the flood makes.
const CLIENTS: usize = 40;
/// Free fd slots left under the lowered limit: the server accepts this
/// many, then hits EMFILE.
const HEADROOM: usize = 5;
/// How long the starved episode is watched.
const STARVED_FOR: Duration = Duration::from_millis(1500);

fn main() {
    if std::env::args().nth(1).as_deref() == Some("starve") {
        starve();
        return;
    }
    let (stdout, stderr) = run_child("starve");
    assert_eq!(field(&stdout, "starved_at"), HEADROOM as u64, "stdout: {stdout}");
    assert_eq!(field(&stdout, "accepted"), CLIENTS as u64, "stdout: {stdout}");
    assert_eq!(field(&stdout, "warnings"), 1, "one log line per episode; stderr: {stderr}");
    // A spinning accept loop would burn about STARVED_FOR of CPU.
    let cpu_ms = field(&stdout, "starved_cpu_ms");
    assert!(cpu_ms < 300, "the starved accept loop used {cpu_ms} ms of CPU in {STARVED_FOR:?}");
    println!("test emfile_backoff ... ok ({})", stdout.trim());
}

/// Counts the warnings verde logs about `accept`.
static WARNINGS: LogCounter = LogCounter::new(log::Level::Warn, "accept");

fn starve() {
    WARNINGS.install();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    verde::yield_now(); // the hub (epoll, eventfd) exists before the limit drops

    // The flood: connections the kernel completes into the accept queue
    // (CLIENTS is below its backlog of 128).
    let clients: Vec<OwnedFd> = (0..CLIENTS).map(|_| std::net::TcpStream::connect(addr).unwrap().into()).collect();

    let normal_limit = set_nofile_limit(limit_leaving_free(HEADROOM));

    let accepted = Arc::new(AtomicUsize::new(0));
    let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    let server = {
        let (accepted, held) = (accepted.clone(), held.clone());
        verde::spawn(move || {
            for _ in 0..CLIENTS {
                let (s, _) = listener.accept().unwrap();
                held.lock().unwrap().push(s);
                accepted.fetch_add(1, Ordering::SeqCst);
            }
        })
    };

    // Wait for the episode to start: the server has used the headroom up.
    let start = Instant::now();
    while WARNINGS.count() == 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "accept never ran out of fds");
        verde::sleep(Duration::from_millis(5));
    }
    let starved_at = accepted.load(Ordering::SeqCst);
    let cpu_before = cpu_time();
    verde::sleep(STARVED_FOR);
    let starved_cpu = cpu_time() - cpu_before;
    assert_eq!(accepted.load(Ordering::SeqCst), starved_at, "accepted without free fds");
    assert!(!server.is_finished(), "the server gave up");

    // Fds free up (the held connections close, the limit goes back up):
    // the server picks up the rest at its next retry, within a second.
    held.lock().unwrap().clear();
    set_nofile_limit(normal_limit);
    let start = Instant::now();
    while accepted.load(Ordering::SeqCst) < CLIENTS {
        assert!(start.elapsed() < Duration::from_secs(10), "the server did not resume");
        verde::sleep(Duration::from_millis(10));
    }
    server.join().unwrap();
    drop(clients);
    println!(
        "starved_at {starved_at} accepted {} warnings {} starved_cpu_ms {}",
        accepted.load(Ordering::SeqCst),
        WARNINGS.count(),
        starved_cpu.as_millis()
    );
}

/// The fd limit under which exactly `free` fd numbers are unused (new fds
/// take the lowest free number, and inherited fds may leave gaps).
fn limit_leaving_free(free: usize) -> usize {
    let mut unused = 0;
    for fd in 0.. {
        // SAFETY: F_GETFD only inspects the fd table.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            unused += 1;
            if unused == free {
                return fd as usize + 1;
            }
        }
    }
    unreachable!()
}

/// Sets RLIMIT_NOFILE's soft limit (which needs no privilege below the
/// hard limit); returns the previous one.
fn set_nofile_limit(soft: usize) -> usize {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid rlimit for the kernel to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    let previous = lim.rlim_cur as usize;
    lim.rlim_cur = soft as libc::rlim_t;
    // SAFETY: `lim` is a valid rlimit.
    let r = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(r, 0, "setting RLIMIT_NOFILE to {soft}: {}", io::Error::last_os_error());
    previous
}

/// User plus system CPU time of this process.
fn cpu_time() -> Duration {
    // SAFETY: all zeroes is a valid rusage for the kernel to fill.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid rusage.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) }, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
