//! `verde_runtime::io::poll` (gevent's `select.poll`) and `wait_readwrite`:
//! waits on several fds that park only the calling coroutine.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde_runtime as verde;
use verde_runtime::io::{poll, wait_readwrite, PollFd, PollFlags};

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) }, 0);
    // SAFETY: both fds are new and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn write_byte(fd: RawFd) {
    // SAFETY: writes one byte from a valid buffer.
    assert_eq!(unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) }, 1);
}

const LONG: Option<Duration> = Some(Duration::from_secs(30));

#[test]
fn reports_the_fd_another_coroutine_made_ready() {
    let (r1, _w1) = pipe();
    let (r2, w2) = pipe();
    let w2fd = w2.as_raw_fd();
    let writer = verde::spawn(move || {
        verde::sleep(Duration::from_millis(5));
        write_byte(w2fd);
    });
    let mut fds = [PollFd::new(&r1, PollFlags::IN), PollFd::new(&r2, PollFlags::IN)];
    assert_eq!(poll(&mut fds, LONG).unwrap(), 1);
    assert!(fds[0].revents().is_empty());
    assert_eq!(fds[1].revents(), PollFlags::IN);
    writer.join().unwrap();
}

#[test]
fn a_timeout_returns_zero_and_leaves_revents_empty() {
    let (r, _w) = pipe();
    let mut fds = [PollFd::new(&r, PollFlags::IN)];
    assert_eq!(poll(&mut fds, Some(Duration::ZERO)).unwrap(), 0);
    assert_eq!(poll(&mut fds, Some(Duration::from_millis(20))).unwrap(), 0);
    assert!(fds[0].revents().is_empty());
}

#[test]
fn ready_at_once_needs_no_wait() {
    let (r, w) = pipe();
    write_byte(w.as_raw_fd());
    let mut fds = [PollFd::new(&r, PollFlags::IN), PollFd::new(&w, PollFlags::OUT)];
    assert_eq!(poll(&mut fds, None).unwrap(), 2);
    assert_eq!(fds[0].revents(), PollFlags::IN);
    assert_eq!(fds[1].revents(), PollFlags::OUT);
}

#[test]
fn hang_up_is_reported_without_being_asked_for() {
    let (r, w) = pipe();
    let closer = verde::spawn(move || {
        verde::yield_now();
        drop(w);
    });
    let mut fds = [PollFd::new(&r, PollFlags::empty())];
    assert_eq!(poll(&mut fds, LONG).unwrap(), 1);
    assert!(fds[0].revents().contains(PollFlags::HUP));
    closer.join().unwrap();
}

#[test]
fn other_coroutines_run_while_one_polls() {
    let (r, w) = pipe();
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = Arc::clone(&ticks);
    let wfd = w.as_raw_fd();
    let ticker = verde::spawn(move || {
        for _ in 0..10 {
            t.fetch_add(1, Ordering::SeqCst);
            verde::yield_now();
        }
        write_byte(wfd);
    });
    let mut fds = [PollFd::new(&r, PollFlags::IN)];
    assert_eq!(poll(&mut fds, LONG).unwrap(), 1);
    assert_eq!(ticks.load(Ordering::SeqCst), 10);
    ticker.join().unwrap();
}

#[test]
fn every_poller_of_one_fd_wakes() {
    let (r, w) = pipe();
    let r = Arc::new(r);
    let pollers: Vec<_> = (0..20)
        .map(|_| {
            let r = Arc::clone(&r);
            verde::spawn(move || {
                let mut fds = [PollFd::new(&*r, PollFlags::IN)];
                poll(&mut fds, LONG).unwrap()
            })
        })
        .collect();
    verde::sleep(Duration::from_millis(5));
    write_byte(w.as_raw_fd());
    for p in pollers {
        assert_eq!(p.join().unwrap(), 1);
    }
}

#[test]
fn a_coroutine_on_another_hub_wakes_the_poller() {
    let rt = verde::Runtime::builder().workers(2).build().unwrap();
    let (r, w) = pipe();
    let polled = rt.spawn(move || {
        let mut fds = [PollFd::new(&r, PollFlags::IN)];
        poll(&mut fds, LONG).unwrap()
    });
    let writer = rt.spawn(move || {
        verde::sleep(Duration::from_millis(5));
        write_byte(w.as_raw_fd());
    });
    writer.join().unwrap();
    assert_eq!(polled.join().unwrap(), 1);
}

#[test]
fn works_from_a_plain_thread() {
    let (r, w) = pipe();
    let wfd = w.as_raw_fd();
    let poller = std::thread::spawn(move || {
        let mut fds = [PollFd::new(&r, PollFlags::IN)];
        poll(&mut fds, LONG).unwrap()
    });
    std::thread::sleep(Duration::from_millis(5));
    write_byte(wfd);
    assert_eq!(poller.join().unwrap(), 1);
}

#[test]
fn a_timeout_interrupts_the_poll() {
    let (r, _w) = pipe();
    let result = verde::with_timeout(Duration::from_millis(10), || {
        let mut fds = [PollFd::new(&r, PollFlags::IN)];
        poll(&mut fds, None)
    });
    assert!(result.is_err(), "the Timeout fired");
}

#[test]
fn a_kill_interrupts_the_poll_and_runs_destructors() {
    struct Flag(Arc<AtomicUsize>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&dropped);
    let (r, _w) = pipe();
    let poller = verde::spawn(move || {
        let _flag = Flag(d);
        let mut fds = [PollFd::new(&r, PollFlags::IN)];
        poll(&mut fds, None)
    });
    verde::yield_now();
    poller.kill();
    assert!(poller.join().is_err());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn no_fds_and_a_timeout_is_a_sleep() {
    assert_eq!(poll(&mut [], Some(Duration::from_millis(5))).unwrap(), 0);
}

#[test]
fn wait_readwrite_returns_on_either_readiness() {
    let (r, w) = pipe();
    // A pipe's write end with room is writable at once.
    wait_readwrite(w.as_raw_fd(), None).unwrap();
    // Its read end waits for data.
    let err = wait_readwrite(r.as_raw_fd(), Some(Duration::from_millis(10))).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    let wfd = w.as_raw_fd();
    let writer = verde::spawn(move || write_byte(wfd));
    wait_readwrite(r.as_raw_fd(), LONG).unwrap();
    writer.join().unwrap();
}

#[test]
fn wait_readwrite_on_an_fd_that_is_not_open_is_ebadf() {
    // Far above anything this process opens, so no other test's fd can
    // take the number.
    let unused: RawFd = 999_999;
    assert_eq!(wait_readwrite(unused, LONG).unwrap_err().raw_os_error(), Some(libc::EBADF));
    assert_eq!(wait_readwrite(-1, LONG).unwrap_err().raw_os_error(), Some(libc::EBADF));
}
