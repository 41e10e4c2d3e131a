//! verde::process: gevent's `communicate`, `check_output` and `check_call`
//! (`Child::communicate`, `Command::check_output`, `Command::check_status`).

use std::ffi::OsString;
use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use verde::process::{CalledProcessError, Child, Command, CommunicateTimeout, Stdio};
use verde_runtime as verde;

#[path = "common/temp_dir.rs"]
mod temp_dir;
use temp_dir::TempDir;

const MIB: usize = 1 << 20;

/// Writes 1 MiB to stderr and 1 MiB of `x` to stdout before it reads its
/// stdin, then copies stdin to stdout: a parent that wrote all the input
/// before reading, or read one output before the other, would deadlock.
const BOTH_OUTPUTS_THEN_CAT: &str = "head -c 1048576 /dev/zero >&2; head -c 1048576 /dev/zero | tr '\\0' x; cat";

fn all_piped(program: &str, args: &[&str]) -> Child {
    Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A megabyte and a half of bytes that are not all alike.
fn big_input() -> Vec<u8> {
    (0..MIB + MIB / 2).map(|i| (i % 251) as u8).collect()
}

fn check_large_exchange(mut child: Child) {
    let input = big_input();
    let (stdout, stderr) = child.communicate(Some(&input), None).unwrap();
    assert_eq!(stderr.len(), MIB);
    assert!(stderr.iter().all(|&b| b == 0));
    assert_eq!(stdout.len(), MIB + input.len());
    assert!(stdout[..MIB].iter().all(|&b| b == b'x'));
    assert!(stdout[MIB..] == input[..], "the input did not come back in full");
    assert!(child.wait().unwrap().success());
}

/// A shell loop that waits until `file` exists.
fn wait_for_file(file: &Path) -> String {
    format!("until [ -e '{}' ]; do sleep 0.01; done", file.display())
}

fn timeout_payload(err: &std::io::Error) -> &CommunicateTimeout {
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    err.get_ref().and_then(|e| e.downcast_ref::<CommunicateTimeout>()).expect("a CommunicateTimeout payload")
}

#[test]
fn large_input_while_both_outputs_fill_up() {
    // From a coroutine, and from the main context.
    let child = all_piped("sh", &["-c", BOTH_OUTPUTS_THEN_CAT]);
    verde::spawn(move || check_large_exchange(child)).join().unwrap();
    check_large_exchange(all_piped("sh", &["-c", BOTH_OUTPUTS_THEN_CAT]));
}

#[test]
fn from_a_plain_thread() {
    std::thread::spawn(|| check_large_exchange(all_piped("sh", &["-c", BOTH_OUTPUTS_THEN_CAT]))).join().unwrap();
}

#[test]
fn without_stdin_or_with_some_outputs_not_piped() {
    let script = "echo out; echo err >&2";
    let mut child =
        Command::new("sh").args(["-c", script]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    assert_eq!(child.communicate(None, None).unwrap(), (b"out\n".to_vec(), b"err\n".to_vec()));
    assert!(child.wait().unwrap().success());

    let mut child =
        Command::new("sh").args(["-c", script]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    assert_eq!(child.communicate(None, Some(Duration::from_secs(60))).unwrap(), (b"out\n".to_vec(), Vec::new()));

    // Piped stdin with no input is closed at once: `cat` ends.
    let mut child = all_piped("cat", &[]);
    assert_eq!(child.communicate(None, None).unwrap(), (Vec::new(), Vec::new()));
    assert!(child.wait().unwrap().success());
    assert!(child.stdin.is_none() && child.stdout.is_none() && child.stderr.is_none());
}

#[test]
fn input_that_cannot_be_sent_is_refused() {
    let mut child = Command::new("true").stdout(Stdio::piped()).spawn().unwrap();
    let err = child.communicate(Some(b"lost"), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    // Empty input is no input.
    assert_eq!(child.communicate(Some(b""), None).unwrap(), (Vec::new(), Vec::new()));

    let dir = TempDir::new("communicate");
    let gate = dir.path("gate");
    let mut child = all_piped("sh", &["-c", &format!("{}; cat", wait_for_file(&gate))]);
    let err = child.communicate(Some(b"first"), Some(Duration::from_millis(20))).unwrap_err();
    timeout_payload(&err);
    let err = child.communicate(Some(b"second"), None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "input after the first call was taken");
    std::fs::write(&gate, b"").unwrap();
    assert_eq!(child.communicate(None, None).unwrap().0, b"first");
}

#[test]
fn a_child_that_does_not_read_its_input_is_not_an_error() {
    let input = big_input();
    let mut child = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    assert_eq!(child.communicate(Some(&input), None).unwrap(), (Vec::new(), Vec::new()));
    assert!(child.wait().unwrap().success());

    let mut child =
        Command::new("head").args(["-c", "10"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let (stdout, _) = child.communicate(Some(&input), None).unwrap();
    assert_eq!(stdout, input[..10]);
    assert!(child.wait().unwrap().success());
}

#[test]
fn timeout_then_resume_returns_everything() {
    let dir = TempDir::new("communicate");
    let gate = dir.path("gate");
    // Writes at once, then reads nothing until the gate opens: the input
    // (more than a pipe holds) is left half written.
    let script = format!("echo one; echo e1 >&2; {}; cat; echo two; echo e2 >&2", wait_for_file(&gate));
    let mut child = all_piped("sh", &["-c", &script]);
    let input = big_input();
    let err = child.communicate(Some(&input), Some(Duration::from_millis(20))).unwrap_err();
    let mut so_far = timeout_payload(&err).stdout.clone();
    assert_eq!(timeout_payload(&err).timeout, Duration::from_millis(20));
    for _ in 0..500 {
        if so_far == b"one\n" {
            break;
        }
        assert!(b"one\n".starts_with(&so_far), "unexpected output {so_far:?}");
        let err = child.communicate(None, Some(Duration::from_millis(20))).unwrap_err();
        so_far = timeout_payload(&err).stdout.clone();
    }
    assert_eq!(so_far, b"one\n", "the early output never came");
    assert_eq!(child.try_wait().unwrap(), None, "a timeout ended the child");

    std::fs::write(&gate, b"").unwrap();
    let (stdout, stderr) = child.communicate(None, Some(Duration::from_secs(60))).unwrap();
    let mut expected = b"one\n".to_vec();
    expected.extend_from_slice(&input);
    expected.extend_from_slice(b"two\n");
    assert!(stdout == expected, "stdout lost or reordered data ({} bytes)", stdout.len());
    assert_eq!(stderr, b"e1\ne2\n");
    assert!(child.wait().unwrap().success());
}

#[test]
fn the_timeout_covers_the_exit_too() {
    // Both outputs closed at once, exit later.
    let dir = TempDir::new("communicate");
    let gate = dir.path("gate");
    let script = format!("exec >&- 2>&-; {}", wait_for_file(&gate));
    let mut child =
        Command::new("sh").args(["-c", &script]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let err = child.communicate(None, Some(Duration::from_millis(50))).unwrap_err();
    timeout_payload(&err);
    std::fs::write(&gate, b"").unwrap();
    assert_eq!(child.communicate(None, None).unwrap(), (Vec::new(), Vec::new()));
    assert!(child.try_wait().unwrap().unwrap().success());
}

#[test]
fn communicates_in_several_coroutines_overlap() {
    // Each child waits until all three have started: were one
    // communicate to hold up the hub, the others would never start.
    let dir = Arc::new(TempDir::new("communicate"));
    let all_started = (0..3).map(|i| format!("[ -e '{}' ]", dir.path(&i.to_string()).display())).collect::<Vec<_>>();
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let script = format!(
                "touch '{}'; until {}; do sleep 0.01; done; echo out{i}; echo err{i} >&2",
                dir.path(&i.to_string()).display(),
                all_started.join(" && ")
            );
            verde::spawn(move || {
                let mut child = all_piped("sh", &["-c", &script]);
                let output = child.communicate(Some(b"ignored"), Some(Duration::from_secs(20)));
                child.kill().unwrap();
                child.wait().unwrap();
                output
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let (stdout, stderr) = h.join().unwrap().expect("the children ran one after the other");
        assert_eq!(stdout, format!("out{i}\n").into_bytes());
        assert_eq!(stderr, format!("err{i}\n").into_bytes());
    }
}

#[test]
fn a_timeout_interrupts_communicate_and_nothing_is_lost() {
    let input = big_input();
    let h = verde::spawn(move || {
        let mut child = all_piped("sh", &["-c", "echo early; echo err >&2; exec sleep 60"]);
        let r = verde::with_timeout(Duration::from_millis(100), || child.communicate(Some(&input), None));
        assert!(r.is_err(), "communicate outlived its Timeout");
        child
    });
    let mut child = h.join().unwrap();
    assert_eq!(child.try_wait().unwrap(), None, "the interrupt ended the child");
    child.kill().unwrap();
    assert_eq!(child.communicate(None, None).unwrap(), (b"early\n".to_vec(), b"err\n".to_vec()));
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

#[test]
fn an_interrupt_while_waiting_for_a_helper_loses_nothing() {
    // Stdout is not piped, so the caller only waits for the helper that
    // reads stderr when the Timeout comes.
    let h = verde::spawn(move || {
        let mut child =
            Command::new("sh").args(["-c", "echo err >&2; exec sleep 60"]).stderr(Stdio::piped()).spawn().unwrap();
        let r = verde::with_timeout(Duration::from_millis(100), || child.communicate(None, None));
        assert!(r.is_err(), "communicate outlived its Timeout");
        child
    });
    let mut child = h.join().unwrap();
    child.kill().unwrap();
    assert_eq!(child.communicate(None, None).unwrap(), (Vec::new(), b"err\n".to_vec()));
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

#[test]
fn a_kill_interrupts_communicate_and_nothing_is_lost() {
    let child = Arc::new(verde::sync::Mutex::new(all_piped("sh", &["-c", "echo early; echo err >&2; exec sleep 60"])));
    let communicating = Arc::new(verde::event::Event::new());
    let h = {
        let (child, communicating) = (Arc::clone(&child), Arc::clone(&communicating));
        verde::spawn(move || {
            let mut child = child.lock().unwrap();
            communicating.set();
            child.communicate(Some(&big_input()), None)
        })
    };
    communicating.wait(None);
    verde::sleep(Duration::from_millis(50));
    h.kill();
    assert!(h.join().unwrap_err().is::<verde::Killed>());
    let mut child = child.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(child.try_wait().unwrap(), None, "the kill reached the child");
    child.kill().unwrap();
    assert_eq!(child.communicate(None, None).unwrap(), (b"early\n".to_vec(), b"err\n".to_vec()));
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
}

fn called_process_error(err: &std::io::Error) -> &CalledProcessError {
    assert_eq!(err.kind(), ErrorKind::Other, "{err}");
    err.get_ref().and_then(|e| e.downcast_ref::<CalledProcessError>()).expect("a CalledProcessError payload")
}

#[test]
fn check_output_returns_stdout_or_the_failure() {
    assert_eq!(Command::new("echo").args(["a", "b"]).check_output().unwrap(), b"a b\n");
    // Unset stdin is inherited, as in Python; set, it is used.
    let out = Command::new("cat").stdin(Stdio::null()).check_output().unwrap();
    assert_eq!(out, b"");

    let script = "echo out; echo err >&2; exit 3";
    let err = Command::new("sh").args(["-c", script]).stderr(Stdio::piped()).check_output().unwrap_err();
    assert_eq!(err.to_string(), format!("Command 'sh -c {script}' returned non-zero exit status 3."));
    let failed = called_process_error(&err);
    assert_eq!(failed.status.code(), Some(3));
    assert_eq!(failed.program, "sh");
    assert_eq!(failed.args, [OsString::from("-c"), OsString::from(script)]);
    assert_eq!((&failed.stdout[..], &failed.stderr[..]), (&b"out\n"[..], &b"err\n"[..]));
    // Taken out of the error, with its output.
    let owned = err.into_inner().unwrap().downcast::<CalledProcessError>().unwrap();
    assert_eq!(owned.stdout, b"out\n");

    let missing = Command::new("/nonexistent/verde-no-such-program").check_output().unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
}

#[test]
fn check_status_reports_codes_and_signals() {
    Command::new("true").check_status().unwrap();
    let err = Command::new("sh").args(["-c", "exit 5"]).check_status().unwrap_err();
    assert_eq!(called_process_error(&err).status.code(), Some(5));

    let err = Command::new("sh").args(["-c", "kill -9 $$"]).check_status().unwrap_err();
    assert_eq!(err.to_string(), "Command 'sh -c kill -9 $$' died with signal 9.");
    let failed = called_process_error(&err);
    assert_eq!(failed.status.signal(), Some(libc::SIGKILL));
    assert!(failed.stdout.is_empty() && failed.stderr.is_empty());
}

#[test]
fn output_timeout_kills_a_child_that_takes_too_long() {
    let out =
        Command::new("sh").args(["-c", "echo out; echo err >&2"]).output_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!((&out.stdout[..], &out.stderr[..]), (&b"out\n"[..], &b"err\n"[..]));
    let err = Command::new("sleep").arg("60").output_timeout(Duration::from_millis(50)).unwrap_err();
    assert_eq!(timeout_payload(&err).timeout, Duration::from_millis(50));
}
