//! A write whose caller goes away while it runs on its pool thread: its
//! error is deferred to the next change or `flush`. A FIFO's writes wait
//! on epoll before they go to the pool, so this wraps one without
//! [`readiness`](super::readiness) to keep a write blocked on its pool
//! thread.

use std::io::{ErrorKind, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::File;

/// A FIFO in the temp dir, opened for reading without waiting for a writer
/// and for writing, as a `File` whose writes go straight to the pool.
fn fifo_on_the_pool() -> (std::fs::File, File) {
    let path = std::env::temp_dir().join(format!("verde-fs-orphan-write-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "{}", std::io::Error::last_os_error());
    let reader = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&path).unwrap();
    let writer = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    (reader, File::with_readiness(writer, false))
}

#[test]
fn a_write_killed_while_pending_reports_its_error_at_the_next_flush() {
    let (reader, w) = fifo_on_the_pool();
    let w = Arc::new(w);
    // SAFETY: F_GETPIPE_SZ on an open pipe fd.
    let capacity = unsafe { libc::fcntl(w.as_raw_fd(), libc::F_GETPIPE_SZ) };
    assert!(capacity > 0);
    let w1 = Arc::clone(&w);
    crate::spawn(move || (&*w1).write_all(&vec![7; capacity as usize]).unwrap()).join().unwrap();
    // The pipe is full: this write waits on its pool thread.
    let started = Arc::new(AtomicBool::new(false));
    let (w2, s) = (Arc::clone(&w), Arc::clone(&started));
    let writing = crate::spawn(move || {
        s.store(true, Ordering::SeqCst);
        let _ = (&*w2).write(b"x");
    });
    while !started.load(Ordering::SeqCst) {
        crate::yield_now();
    }
    crate::yield_now();
    writing.kill();
    assert!(writing.join().is_err(), "the writer was killed");
    // Closing the only reader fails the pending write with EPIPE.
    drop(reader);
    let w3 = Arc::clone(&w);
    let flushed = crate::spawn(move || ((&*w3).flush().map_err(|e| e.kind()), (&*w3).flush().map_err(|e| e.kind())));
    assert_eq!(flushed.join().unwrap(), (Err(ErrorKind::BrokenPipe), Ok(())));
}
