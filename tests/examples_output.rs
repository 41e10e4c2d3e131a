//! The examples print exactly what the seeds' demos print.

use std::path::PathBuf;
use std::process::Command;

/// Path of a built example binary (cargo builds examples before running
/// integration tests).
fn example(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join(name)
}

fn run(name: &str) -> String {
    let out = Command::new(example(name)).output().unwrap_or_else(|e| panic!("running example {name}: {e}"));
    assert!(out.status.success(), "{name} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn greenlet_prints_12_56_34() {
    assert_eq!(run("greenlet"), "12\n56\n34\n");
}

#[test]
fn joinall_prints_gevents_order() {
    assert_eq!(
        run("joinall"),
        "Running in foo\nExplicit context to bar\nExplicit context switch to foo again\nImplicit context switch back to bar\n"
    );
}
