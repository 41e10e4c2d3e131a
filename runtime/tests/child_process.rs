//! verde::process: std's child process API, waited on cooperatively.
//!
//! Each behaviour is a `check_*` function with a test of its own; the
//! pidfd-less fallback re-runs this binary with `VERDE_PROCESS_NO_PIDFD=1`
//! and runs the waiting checks again there (`fallback_scenarios`).

use std::io::{ErrorKind, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde::process::{Child, Command, Stdio};
use verde_runtime as verde;

const MIB: usize = 1 << 20;

/// Runs `f` in a coroutine while another coroutine of the same hub counts
/// how often it got to run meanwhile (after `f` started, before it
/// returned); returns `f`'s result and that count. A call that blocked
/// the hub would leave the count at 0.
fn with_ticker<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> (T, usize) {
    let started = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let ticks = Arc::new(AtomicUsize::new(0));
    let worker = {
        let (started, done) = (Arc::clone(&started), Arc::clone(&done));
        verde::spawn(move || {
            started.store(true, Ordering::SeqCst);
            let value = f();
            done.store(true, Ordering::SeqCst);
            value
        })
    };
    let ticker = {
        let (done, ticks) = (Arc::clone(&done), Arc::clone(&ticks));
        verde::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                if started.load(Ordering::SeqCst) {
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
                verde::sleep(Duration::from_millis(1));
            }
        })
    };
    let value = worker.join().unwrap();
    ticker.join().unwrap();
    (value, ticks.load(Ordering::SeqCst))
}

/// Whether process `pid` exists and has not exited (a zombie has).
fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat[stat.rfind(')').unwrap() + 2..].chars().next().unwrap();
            state != 'Z' && state != 'X'
        }
        Err(_) => false,
    }
}

fn sleeper() -> Child {
    Command::new("sleep").arg("60").spawn().unwrap()
}

fn kill_and_reap(child: &mut Child) {
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

fn check_wait_parks_only_its_coroutine() {
    let (status, ticks) = with_ticker(|| Command::new("sleep").arg("0.3").spawn().unwrap().wait().unwrap());
    assert!(status.success());
    assert!(ticks > 0, "the other coroutine never ran while the child was waited on");
}

fn check_plain_thread_waits() {
    let status =
        std::thread::spawn(|| Command::new("sh").args(["-c", "sleep 0.1; exit 4"]).status().unwrap()).join().unwrap();
    assert_eq!(status.code(), Some(4));
}

fn check_output_of_both_pipes_in_full() {
    // stderr is filled first: a parent reading stdout to its end before
    // stderr would deadlock with this child.
    let script = "head -c 1048576 /dev/zero >&2; head -c 1048576 /dev/zero | tr '\\0' x";
    let ((out, same_hub_ran), ticks) = with_ticker(move || {
        let out = Command::new("sh").args(["-c", script]).output().unwrap();
        (out, true)
    });
    assert!(same_hub_ran && ticks > 0);
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), MIB);
    assert!(out.stdout.iter().all(|&b| b == b'x'));
    assert_eq!(out.stderr.len(), MIB);
    // From the main context (a plain caller) too.
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    assert_eq!((out.stdout.len(), out.stderr.len()), (MIB, MIB));
}

fn check_wait_timeout_then_kill() {
    let mut child = sleeper();
    assert_eq!(child.wait_timeout(Duration::from_millis(50)).unwrap(), None);
    assert!(is_running(child.id()));
    child.kill().unwrap();
    let status = child.wait_timeout(Duration::from_secs(60)).unwrap().expect("killed child exits");
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    // Reaped once; later waits give the same status.
    assert_eq!(child.wait().unwrap(), status);
    assert_eq!(child.try_wait().unwrap(), Some(status));
}

fn check_many_children_on_one_hub() {
    let handles: Vec<_> = (0..200)
        .map(|i| {
            verde::spawn(move || {
                let status = if i % 2 == 0 {
                    Command::new("true").status().unwrap()
                } else {
                    Command::new("sh").args(["-c", &format!("exit {}", i % 100)]).status().unwrap()
                };
                (i, status.code())
            })
        })
        .collect();
    for (i, code) in verde::joinall(handles).into_iter().map(Result::unwrap) {
        let expected = if i % 2 == 0 { 0 } else { i % 100 };
        assert_eq!(code, Some(expected), "child {i}");
    }
}

#[test]
fn wait_parks_only_its_coroutine() {
    check_wait_parks_only_its_coroutine();
}

#[test]
fn plain_thread_waits() {
    check_plain_thread_waits();
}

#[test]
fn output_reads_both_pipes_in_full() {
    check_output_of_both_pipes_in_full();
}

#[test]
fn stdin_to_cat_to_stdout_round_trip_from_coroutines() {
    let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let data: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let sent = data.clone();
    let writer = verde::spawn(move || stdin.write_all(&sent).unwrap());
    let reader = verde::spawn(move || {
        let mut got = Vec::new();
        stdout.read_to_end(&mut got).unwrap();
        got
    });
    writer.join().unwrap();
    assert!(reader.join().unwrap() == data, "cat gave back something else");
    assert!(child.wait().unwrap().success());
}

#[test]
fn wait_timeout_then_kill() {
    check_wait_timeout_then_kill();
}

#[test]
fn exit_codes_and_status() {
    assert_eq!(Command::new("sh").args(["-c", "exit 7"]).spawn().unwrap().wait().unwrap().code(), Some(7));
    assert!(Command::new("true").status().unwrap().success());
    assert_eq!(Command::new("false").status().unwrap().code(), Some(1));
    let out = Command::new("sh").args(["-c", "echo out; echo err >&2; exit 2"]).output().unwrap();
    assert_eq!((out.status.code(), &out.stdout[..], &out.stderr[..]), (Some(2), &b"out\n"[..], &b"err\n"[..]));
}

#[test]
fn missing_program_is_not_found() {
    let missing = "/nonexistent/verde-no-such-program";
    assert_eq!(Command::new(missing).spawn().unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(Command::new(missing).status().unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(Command::new(missing).output().unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(Command::new("verde-no-such-program-in-path").spawn().unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn timeout_interrupts_wait_and_the_child_lives_on() {
    let mut child = sleeper();
    let pid = child.id();
    let h = verde::spawn(move || {
        let r = verde::with_timeout(Duration::from_millis(50), || child.wait());
        assert!(r.is_err(), "the wait outlived its timeout");
        child
    });
    let mut child = h.join().unwrap();
    assert!(is_running(pid));
    assert_eq!(child.try_wait().unwrap(), None);
    kill_and_reap(&mut child);
}

#[test]
fn kill_interrupts_wait_and_the_child_lives_on() {
    let child = Arc::new(verde::sync::Mutex::new(sleeper()));
    let pid = child.lock().unwrap().id();
    let waiting = Arc::new(verde::event::Event::new());
    let h = {
        let (child, waiting) = (Arc::clone(&child), Arc::clone(&waiting));
        verde::spawn(move || {
            let mut child = child.lock().unwrap();
            waiting.set();
            child.wait()
        })
    };
    waiting.wait(None);
    verde::yield_now();
    h.kill();
    assert!(h.join().unwrap_err().downcast_ref::<verde::Killed>().is_some());
    assert!(is_running(pid));
    let mut child = child.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(child.try_wait().unwrap(), None);
    kill_and_reap(&mut child);
}

#[test]
fn timeout_and_kill_interrupt_pipe_reads_and_writes() {
    let mut child = Command::new("sleep").arg("60").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let h = verde::spawn(move || {
        let mut buf = [0u8; 16];
        let read = verde::with_timeout(Duration::from_millis(30), || stdout.read(&mut buf));
        assert!(read.is_err(), "a read of a silent child returned");
        // Nobody reads: the pipe fills up and the write parks.
        let big = vec![0u8; MIB];
        let write = verde::with_timeout(Duration::from_millis(30), || stdin.write_all(&big));
        assert!(write.is_err(), "a write to a full pipe returned");
        (stdout, stdin)
    });
    let (mut stdout, stdin) = h.join().unwrap();
    assert!(is_running(child.id()));
    let reader = verde::spawn(move || {
        let mut buf = [0u8; 16];
        stdout.read(&mut buf)
    });
    verde::yield_now();
    reader.kill();
    assert!(reader.join().is_err());
    assert_eq!(child.try_wait().unwrap(), None);
    drop(stdin);
    kill_and_reap(&mut child);
}

#[test]
fn two_hundred_children_on_one_hub() {
    check_many_children_on_one_hub();
}

#[test]
fn children_across_a_two_worker_runtime() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            rt.spawn_on(i % 2, move || {
                let out = Command::new("sh").args(["-c", &format!("sleep 0.05; echo {i}; exit {i}")]).output().unwrap();
                (i, out.status.code(), out.stdout)
            })
        })
        .collect();
    for h in handles {
        let (i, code, stdout) = h.join().unwrap();
        assert_eq!(code, Some(i as i32));
        assert_eq!(stdout, format!("{i}\n").into_bytes());
    }
}

#[test]
fn one_childs_stdout_pipes_into_anothers_stdin() {
    // The first child writes late: the second's stdin must be back in
    // blocking mode, or its `cat` would fail with EAGAIN at once.
    let mut first = Command::new("sh").args(["-c", "sleep 0.2; echo hello"]).stdout(Stdio::piped()).spawn().unwrap();
    let piped = Stdio::from(first.stdout.take().unwrap());
    let second =
        Command::new("sh").args(["-c", "cat | tr a-z A-Z"]).stdin(piped).stdout(Stdio::piped()).spawn().unwrap();
    let out = second.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"HELLO\n");
    assert!(first.wait().unwrap().success());
}

#[test]
fn a_std_child_is_waited_on_cooperatively() {
    let std_child =
        std::process::Command::new("sh").args(["-c", "sleep 0.2; echo std"]).stdout(Stdio::piped()).spawn().unwrap();
    let (out, ticks) = with_ticker(move || Child::from(std_child).wait_with_output().unwrap());
    assert!(ticks > 0);
    assert_eq!(out.stdout, b"std\n");
}

#[test]
fn a_std_command_keeps_its_streams() {
    let mut std_cmd = std::process::Command::new("sh");
    std_cmd.args(["-c", "echo out; echo err >&2"]).stdout(Stdio::null());
    let mut cmd = Command::from(std_cmd);
    let out = cmd.output().unwrap();
    assert_eq!(out.stdout, b"", "the std command's null stdout was replaced");
    assert_eq!(out.stderr, b"err\n");
    // A verde command's own defaults for output do not stick to spawn.
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "[ -n \"$QUIET\" ] || echo loud"]);
    assert_eq!(cmd.output().unwrap().stdout, b"loud\n");
    let child = cmd.env("QUIET", "1").spawn().unwrap();
    assert!(child.stdout.is_none(), "spawn after output still pipes stdout");
    child.wait_with_output().unwrap();
}

#[test]
fn pipes_convert_to_and_from_fds_in_blocking_mode() {
    use std::os::fd::{AsRawFd, OwnedFd};
    let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let flags = |fd: i32| {
        // SAFETY: F_GETFL on an fd the test owns.
        unsafe { libc::fcntl(fd, libc::F_GETFL) }
    };
    assert_ne!(flags(stdout.as_raw_fd()) & libc::O_NONBLOCK, 0);
    let fd = OwnedFd::from(stdout);
    assert_eq!(flags(fd.as_raw_fd()) & libc::O_NONBLOCK, 0);
    let std_stdin = std::process::ChildStdin::from(child.stdin.take().unwrap());
    let mut stdin = verde::process::ChildStdin::from(std_stdin);
    (&stdin).write_all(b"again\n").unwrap();
    stdin.flush().unwrap();
    drop(stdin);
    let mut back = verde::process::ChildStdout::from(fd);
    let mut got = String::new();
    back.read_to_string(&mut got).unwrap();
    assert_eq!(got, "again\n");
    assert!(child.wait().unwrap().success());
}

/// Blocking-pool threads alive now.
fn pool_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "verde-blocking")
        .count()
}

#[test]
fn pidfd_less_fallback() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["fallback_scenarios", "--exact", "--ignored", "--test-threads=1"])
        .env("VERDE_PROCESS_NO_PIDFD", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "fallback scenarios failed:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("1 passed"), "the fallback scenarios did not run:\n{text}");
}

#[test]
#[ignore = "run by pidfd_less_fallback, in a process with VERDE_PROCESS_NO_PIDFD=1"]
fn fallback_scenarios() {
    assert_eq!(std::env::var("VERDE_PROCESS_NO_PIDFD").as_deref(), Ok("1"));
    assert_eq!(pool_threads(), 0);
    // The wait happens on a blocking-pool thread while the hub keeps going.
    let mut child = Command::new("sleep").arg("0.5").spawn().unwrap();
    let (threads, status) = {
        let watcher = verde::spawn(|| {
            verde::sleep(Duration::from_millis(100));
            pool_threads()
        });
        let status = child.wait().unwrap();
        (watcher.join().unwrap(), status)
    };
    assert!(status.success());
    assert!(threads >= 1, "no blocking-pool thread waited for the child");
    check_wait_parks_only_its_coroutine();
    check_plain_thread_waits();
    check_output_of_both_pipes_in_full();
    check_wait_timeout_then_kill();
    check_many_children_on_one_hub();
}
