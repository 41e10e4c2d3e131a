//! `lock` and `lock_shared` of [`File`]: an uncontended lock is taken on the
//! calling thread, with no pool round trip (counted by the turns' test-only
//! counter); a held one is waited for on the pool.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::serial::pool_trips;
use super::File;

/// Two opens of a fresh file in the temp dir: separate handles, each with
/// its own locks.
fn two_handles(name: &str) -> (File, File) {
    let path = std::env::temp_dir().join(format!("verde-fs-lock-{}-{name}", std::process::id()));
    std::fs::write(&path, b"").unwrap();
    let handles = (File::open(&path).unwrap(), File::open(&path).unwrap());
    std::fs::remove_file(&path).unwrap();
    handles
}

#[test]
fn an_uncontended_lock_makes_no_pool_trip() {
    crate::spawn(|| {
        let (a, b) = two_handles("uncontended");
        let before = pool_trips();
        a.lock().unwrap();
        a.unlock().unwrap();
        b.lock_shared().unwrap();
        a.lock_shared().unwrap();
        assert_eq!(pool_trips(), before);
    })
    .join()
    .unwrap();
}

#[test]
fn a_held_lock_is_waited_for_on_the_pool() {
    crate::spawn(|| {
        let (a, b) = two_handles("held");
        let a = Arc::new(a);
        a.lock().unwrap();
        let released = Arc::new(AtomicBool::new(false));
        let (holder, r) = (Arc::clone(&a), Arc::clone(&released));
        let releaser = crate::spawn(move || {
            crate::sleep(std::time::Duration::from_millis(20));
            r.store(true, Ordering::SeqCst);
            holder.unlock().unwrap();
        });
        let before = pool_trips();
        b.lock().unwrap();
        assert!(released.load(Ordering::SeqCst), "the lock came only after its release");
        assert_eq!(pool_trips() - before, 1);
        releaser.join().unwrap();
    })
    .join()
    .unwrap();
}
