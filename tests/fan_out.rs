//! `examples/fan_out.rs`: three blocking calls of 1 s, 3 s and 1 s, made
//! from three coroutines, take about 3 s instead of 5.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

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

#[test]
fn fan_out_overlaps_the_three_calls() {
    let start = Instant::now();
    let out = Command::new(example("fan_out")).output().expect("running examples/fan_out");
    let took = start.elapsed();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "fan_out failed: {}", String::from_utf8_lossy(&out.stderr));
    let elapsed: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("business_foo: elapsed "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no elapsed line in: {stdout}"));
    assert!((2.9..4.5).contains(&elapsed), "elapsed {elapsed} s; stdout: {stdout}");
    assert!(took < Duration::from_millis(4500), "the process took {took:?}");
    for call in ["network request 1", "network request 2", "write to mongodb"] {
        assert!(stdout.contains(&format!("{call}: done after")), "stdout: {stdout}");
    }
}
