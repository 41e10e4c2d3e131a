//! verde::process in a binary with libc patched (`patch_all!`): std's own
//! spawn machinery and the patched `read`, `close` and `fcntl` live beside
//! verde's pipes and pidfds without disturbing them.

verde_runtime::patch_all!();

use std::io::{Read, Write};
use std::time::Duration;

use verde::process::{Command, Stdio};
use verde_runtime as verde;

#[test]
fn waits_and_pipes_work_under_the_patch() {
    assert!(verde::patch::is_active());
    let worker = verde::spawn(|| {
        let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = verde::spawn(move || stdin.write_all(&[7u8; 300_000]).unwrap());
        let mut got = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        let status = child.wait().unwrap();
        (got.len(), status.success())
    });
    assert_eq!(worker.join().unwrap(), (300_000, true));
    let out = Command::new("sh").args(["-c", "sleep 0.1; echo out; echo err >&2"]).output().unwrap();
    assert_eq!((&out.stdout[..], &out.stderr[..]), (&b"out\n"[..], &b"err\n"[..]));
    let mut child = Command::new("sleep").arg("60").spawn().unwrap();
    assert_eq!(child.wait_timeout(Duration::from_millis(20)).unwrap(), None);
    child.kill().unwrap();
    assert!(child.wait().unwrap().code().is_none());
}
