//! Waiting, in tests, for what another coroutine brings about.

use std::time::Duration;

/// Parks until `cond` holds, giving up (and failing) after a generous bound.
pub fn wait_until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        verde_runtime::sleep(Duration::from_millis(1));
    }
    panic!("gave up waiting until {what}");
}
