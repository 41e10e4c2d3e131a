//! Detecting a main context that would block forever (gevent's `LoopExit`).
//!
//! When the thread's main context parks and its hub has nothing runnable, no
//! timer that anything waits on (a park timer left armed after its park
//! ended early waits for nothing, see `crate::park_timer`) and no coroutine
//! waiting for I/O, only another thread could ever
//! wake it. verde counts the process's threads: if every other thread is one
//! of verde's own idle helpers (blocking-pool workers with no job, the monitor thread), nothing
//! can, and the park fails with [`MESSAGE`] instead of hanging. With any other thread alive verde cannot tell, so it waits, as
//! `std` would.

use crate::sys;

/// Returned by the hub's loop when the main context can never be woken.
#[derive(Debug)]
pub(crate) struct WouldBlockForever;

/// The panic message of a main context that would block forever.
pub const MESSAGE: &str = "verde: would block forever: the main context is waiting, but its hub has \
nothing runnable, no timer anything waits on, no coroutine waiting for I/O, and no other thread that could wake it \
(gevent's LoopExit)";

/// Whether anything outside this hub might still wake a parked main context.
pub(crate) fn someone_could_wake() -> bool {
    if crate::blocking::jobs_in_flight() > 0 {
        return true;
    }
    let helpers = crate::blocking::idle_threads() + crate::monitor::helper_threads();
    match thread_count() {
        Some(n) => n > 1 + helpers,
        None => true,
    }
}

/// Threads in this process, from `/proc/self/stat` (field 20).
/// Unknown under Miri, which cannot read `/proc`.
fn thread_count() -> Option<usize> {
    if cfg!(miri) {
        return None;
    }
    let text = sys::read_small_file(c"/proc/self/stat")?;
    // The command name (field 2) may contain spaces; fields after it start
    // after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_whitespace().nth(17)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_threads() {
        let n = super::thread_count().unwrap();
        assert!(n >= 1);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || rx.recv().ok());
        assert!(super::thread_count().unwrap() > n || n > 1);
        tx.send(()).unwrap();
        t.join().unwrap();
    }
}
