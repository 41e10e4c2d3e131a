//! `patch::set_enabled(false)`: coroutines make the plain calls. A binary
//! of its own, since the switch is process-wide.

verde_runtime::patch_all!();

use std::time::{Duration, Instant};

use verde_runtime as verde;

#[test]
fn switch_off_makes_coroutines_block() {
    assert!(verde::patch::is_active());
    verde::patch::set_enabled(false);
    let start = Instant::now();
    let hs: Vec<_> = (0..3).map(|_| verde::spawn(|| std::thread::sleep(Duration::from_millis(40)))).collect();
    verde::joinall(hs);
    verde::patch::set_enabled(true);
    assert!(start.elapsed() >= Duration::from_millis(115), "serial while off");
    let start = Instant::now();
    let hs: Vec<_> = (0..3).map(|_| verde::spawn(|| std::thread::sleep(Duration::from_millis(40)))).collect();
    verde::joinall(hs);
    assert!(start.elapsed() < Duration::from_millis(115), "concurrent while on");
}
