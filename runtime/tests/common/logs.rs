//! Captures the `log` records of a test binary, so tests can check what
//! verde reported (a panicking link, a refused block). Shared by the tests
//! that need it through `#[path = "common/logs.rs"] mod logs;`.

use std::sync::{Mutex, OnceLock};

struct Capture;

static LOGGED: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        LOGGED.lock().unwrap().push(format!("{} {}", record.level(), record.args()));
    }
    fn flush(&self) {}
}

/// Installs the capturing logger (once per test binary), at level Error.
pub fn capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Error);
    });
}

/// The captured lines that mention `needle`, in the order logged.
pub fn logged(needle: &str) -> Vec<String> {
    LOGGED.lock().unwrap().iter().filter(|l| l.contains(needle)).cloned().collect()
}
