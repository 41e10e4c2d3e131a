//! Waits for file locks never take every blocking-pool thread. With a pool
//! of four threads, forty coroutines wait for one held lock, and its holder
//! still gets pool threads for its writes, which would otherwise queue
//! behind the waits forever.
//!
//! A test binary of its own: the pool reads its size from the environment
//! once per process.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use verde_runtime::fs::OpenOptions;

#[path = "common/temp_dir.rs"]
mod temp_dir;
use temp_dir::TempDir;

const WAITERS: usize = 40;
const HOLDER_WRITES: usize = 10;

#[test]
fn forty_lock_waits_leave_pool_threads_for_the_holder() {
    // The only test in this binary, and nothing has used the pool yet.
    std::env::set_var("VERDE_BLOCKING_THREADS", "4");
    let dir = TempDir::new("lock-many");
    let path = Arc::new(dir.path("lock"));
    std::fs::write(&*path, b"").unwrap();
    let append = |path: &std::path::Path| OpenOptions::new().append(true).open(path);

    let holder = Arc::new(append(&path).unwrap());
    verde_runtime::spawn({
        let holder = Arc::clone(&holder);
        move || holder.lock()
    })
    .join()
    .unwrap()
    .unwrap();

    let waiters: Vec<_> = (0..WAITERS)
        .map(|_| {
            let path = Arc::clone(&path);
            verde_runtime::spawn(move || -> std::io::Result<()> {
                let mut f = append(&path)?;
                f.lock()?;
                f.write_all(b"w")?;
                f.unlock()
            })
        })
        .collect();

    let wrote = verde_runtime::spawn({
        let holder = Arc::clone(&holder);
        move || {
            // Every waiter has started waiting by the time this sleep ends.
            verde_runtime::sleep(Duration::from_millis(100));
            verde_runtime::with_timeout(Duration::from_secs(60), || -> std::io::Result<()> {
                for _ in 0..HOLDER_WRITES {
                    (&*holder).write_all(b"h")?;
                }
                holder.unlock()
            })
        }
    })
    .join()
    .unwrap();
    assert!(wrote.is_ok(), "the holder's writes got no pool thread: the lock waits took them all");
    wrote.unwrap().unwrap();

    for w in waiters {
        w.join().unwrap().unwrap();
    }
    let written = std::fs::read(&*path).unwrap();
    assert_eq!(written.len(), HOLDER_WRITES + WAITERS);
    assert!(written[..HOLDER_WRITES].iter().all(|&b| b == b'h'), "the holder wrote first: {written:?}");
    assert!(written[HOLDER_WRITES..].iter().all(|&b| b == b'w'));
}
