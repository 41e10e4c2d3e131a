//! verde::fs's waits never take every blocking-pool thread. With a pool of
//! four threads, forty coroutines wait for a file lock, or read forty
//! FIFOs, and the coroutines they wait for still get pool threads for the
//! calls that end those waits; before, those calls queued behind the waits
//! forever.
//!
//! A test binary of its own: the pool reads its size from the environment
//! once per process.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Duration;

use verde_runtime::fs::OpenOptions;

#[path = "common/fifo.rs"]
mod fifo;
#[path = "common/temp_dir.rs"]
mod temp_dir;
use fifo::make_fifo;
use temp_dir::TempDir;

const WAITERS: usize = 40;
const HOLDER_WRITES: usize = 10;
/// How long the calls that end the waits get before the test calls them
/// stuck: far beyond what they need.
const WATCHDOG: Duration = Duration::from_secs(60);

/// Shrinks the blocking pool to four threads, before any test uses it.
fn small_pool() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::env::set_var("VERDE_BLOCKING_THREADS", "4"));
}

/// Lets every coroutine spawned so far reach its wait; the waits end only
/// when the test makes them, so this needs no particular length.
fn let_them_start_waiting() {
    verde_runtime::sleep(Duration::from_millis(100));
}

#[test]
fn forty_lock_waits_leave_pool_threads_for_the_holder() {
    small_pool();
    let dir = TempDir::new("lock-many");
    let path = Arc::new(dir.path("lock"));
    std::fs::write(&*path, b"").unwrap();
    let append = |path: &Path| OpenOptions::new().append(true).open(path);

    let holder = Arc::new(append(&path).unwrap());
    let h = Arc::clone(&holder);
    verde_runtime::spawn(move || h.lock()).join().unwrap().unwrap();

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

    let h = Arc::clone(&holder);
    let wrote = verde_runtime::spawn(move || {
        let_them_start_waiting();
        verde_runtime::with_timeout(WATCHDOG, || -> std::io::Result<()> {
            for _ in 0..HOLDER_WRITES {
                (&*h).write_all(b"h")?;
            }
            h.unlock()
        })
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

#[test]
fn forty_fifo_reads_leave_pool_threads_for_their_writers() {
    small_pool();
    let dir = TempDir::new("fifo-many");
    let fifos: Vec<PathBuf> = (0..WAITERS).map(|i| make_fifo(dir.path(&format!("fifo{i}")))).collect();

    // Each reader opens its FIFO for reading and writing, which never waits
    // for a writer, then waits for three bytes.
    let readers: Vec<_> = fifos
        .iter()
        .cloned()
        .map(|fifo| {
            verde_runtime::spawn(move || -> std::io::Result<[u8; 3]> {
                let mut f = OpenOptions::new().read(true).write(true).open(fifo)?;
                let mut got = [0; 3];
                f.read_exact(&mut got)?;
                Ok(got)
            })
        })
        .collect();

    let wrote = verde_runtime::spawn(move || {
        let_them_start_waiting();
        verde_runtime::with_timeout(WATCHDOG, || -> std::io::Result<()> {
            for fifo in &fifos {
                OpenOptions::new().write(true).open(fifo)?.write_all(b"abc")?;
            }
            Ok(())
        })
    })
    .join()
    .unwrap();
    assert!(wrote.is_ok(), "the writers got no pool thread: the FIFO reads took them all");
    wrote.unwrap().unwrap();

    for r in readers {
        assert_eq!(&r.join().unwrap().unwrap(), b"abc");
    }
}
