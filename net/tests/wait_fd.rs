//! `verde_runtime::io::wait_readable`/`wait_writable` (gevent's
//! `wait_read`/`wait_write`) on fds verde does not own: a pipe and an
//! eventfd.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::io::{wait_readable, wait_writable};

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) }, 0);
    // SAFETY: both fds are new and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn eventfd() -> OwnedFd {
    // SAFETY: plain integer arguments.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    assert!(fd >= 0);
    // SAFETY: a new fd owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn write_u64(fd: RawFd, v: u64) {
    // SAFETY: writes the 8 bytes of `v`.
    assert_eq!(unsafe { libc::write(fd, std::ptr::from_ref(&v).cast(), 8) }, 8);
}

#[test]
fn pipe_readable_after_a_write_from_another_coroutine() {
    let (r, w) = pipe();
    let err = wait_readable(r.as_raw_fd(), Some(Duration::from_millis(20))).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    let wfd = w.as_raw_fd();
    let writer = verde::spawn(move || {
        verde::sleep(Duration::from_millis(10));
        write_u64(wfd, 1);
    });
    wait_readable(r.as_raw_fd(), Some(Duration::from_secs(5))).unwrap();
    writer.join().unwrap();
    wait_writable(w.as_raw_fd(), None).unwrap();
}

#[test]
fn pipe_writable_after_the_reader_drains_it() {
    let (r, w) = pipe();
    let chunk = [0u8; 4096];
    // SAFETY: writes from a valid buffer until the pipe is full.
    while unsafe { libc::write(w.as_raw_fd(), chunk.as_ptr().cast(), chunk.len()) } > 0 {}
    let err = wait_writable(w.as_raw_fd(), Some(Duration::from_millis(20))).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    let rfd = r.as_raw_fd();
    let reader = verde::spawn(move || {
        verde::sleep(Duration::from_millis(10));
        let mut buf = [0u8; 65536];
        // SAFETY: reads into a valid buffer.
        while unsafe { libc::read(rfd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    });
    wait_writable(w.as_raw_fd(), Some(Duration::from_secs(5))).unwrap();
    reader.join().unwrap();
}

#[test]
fn eventfd_wakes_waiters_on_this_and_other_threads() {
    let efd = eventfd();
    let fd = efd.as_raw_fd();
    let waiters: Vec<_> =
        (0..3).map(|_| verde::spawn(move || wait_readable(fd, Some(Duration::from_secs(5))))).collect();
    let thread_waiter = std::thread::spawn(move || wait_readable(fd, Some(Duration::from_secs(5))));
    verde::sleep(Duration::from_millis(20));
    assert!(waiters.iter().all(|w| !w.is_finished()));
    let signaller = std::thread::spawn(move || write_u64(fd, 1));
    signaller.join().unwrap();
    for w in waiters {
        w.join().unwrap().unwrap();
    }
    thread_waiter.join().unwrap().unwrap();
    wait_writable(fd, None).unwrap();
}

#[test]
fn timeout_interrupts_a_wait() {
    let (r, _w) = pipe();
    assert!(verde::with_timeout(Duration::from_millis(20), || wait_readable(r.as_raw_fd(), None)).is_err());
}

#[test]
fn an_fd_that_is_not_open_is_ebadf() {
    // Far above anything this process opens, so no other test's fd can
    // take the number.
    let unused: RawFd = 999_999;
    for fd in [unused, -1] {
        assert_eq!(wait_readable(fd, None).unwrap_err().raw_os_error(), Some(libc::EBADF));
        assert_eq!(wait_writable(fd, None).unwrap_err().raw_os_error(), Some(libc::EBADF));
    }
}
