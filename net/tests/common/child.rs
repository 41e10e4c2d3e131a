//! Scenarios that change process-wide state (a resource limit, the global
//! logger) run in a child process: the test binary, which has no libtest
//! harness, re-executes itself with an argument and reads what the child
//! prints.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs this binary again with `arg`; fails unless it succeeds. Returns its
/// standard output and error.
pub fn run_child(arg: &str) -> (String, String) {
    let out = Command::new(std::env::current_exe().unwrap()).arg(arg).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "child failed: {:?}\nstdout: {stdout}\nstderr: {stderr}", out.status);
    (stdout, stderr)
}

/// The number after the word `name` in `stdout`.
pub fn field(stdout: &str, name: &str) -> u64 {
    let word = stdout.split_whitespace().skip_while(|w| *w != name).nth(1);
    word.and_then(|w| w.parse().ok()).unwrap_or_else(|| panic!("no {name} in: {stdout}"))
}

/// A logger that prints every record of `level` or worse to stderr and
/// counts those of exactly `level` whose text contains `needle`.
pub struct LogCounter {
    level: log::Level,
    needle: &'static str,
    count: AtomicUsize,
}

impl LogCounter {
    pub const fn new(level: log::Level, needle: &'static str) -> LogCounter {
        LogCounter { level, needle, count: AtomicUsize::new(0) }
    }

    /// Makes this the process's logger.
    pub fn install(&'static self) {
        log::set_logger(self).unwrap();
        log::set_max_level(self.level.to_level_filter());
    }

    /// The records counted so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

impl log::Log for LogCounter {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= self.level
    }
    fn log(&self, r: &log::Record) {
        let text = r.args().to_string();
        eprintln!("LOG {} {text}", r.level());
        if r.level() == self.level && text.contains(self.needle) {
            self.count.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn flush(&self) {}
}
