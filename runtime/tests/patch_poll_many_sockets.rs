//! The patched `poll` and `select` over several sockets a coroutine uses,
//! or over both directions of one, wait on the sockets' own registrations
//! with the hub, not on an epoll instance of their own; a wait that also
//! covers an fd the patch has not adopted (a pipe) still works, through
//! such an instance. A binary of its own with a single test, so that no
//! other test's epoll instances come and go while it counts them.

verde_runtime::patch_all!();

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde_runtime as verde;

#[path = "common/epoll_instances.rs"]
mod epoll_instances;
use epoll_instances::epoll_instances;

/// A connected TCP pair; made in a coroutine, so the patch adopts both
/// sockets at birth.
fn tcp_pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
    let a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    (a, b)
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd { fd, events, revents: 0 }
}

/// The patched `poll`: its result, with `errno` when it is -1.
fn poll(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> (libc::c_int, i32) {
    // SAFETY: `fds` is a valid, writable array of pollfds.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    (n, if n < 0 { std::io::Error::last_os_error().raw_os_error().unwrap() } else { 0 })
}

fn revents(fds: &[libc::pollfd]) -> Vec<libc::c_short> {
    fds.iter().map(|p| p.revents).collect()
}

/// An fd set holding `fds`.
fn fd_set(fds: &[RawFd]) -> libc::fd_set {
    // SAFETY: an all-zero fd_set is an empty one.
    let mut set: libc::fd_set = unsafe { std::mem::zeroed() };
    for &fd in fds {
        // SAFETY: fds of this test are below FD_SETSIZE.
        unsafe { libc::FD_SET(fd, &mut set) };
    }
    set
}

/// Which of `fds` are in `set`.
fn members(set: &libc::fd_set, fds: &[RawFd]) -> Vec<RawFd> {
    // SAFETY: fds of this test are below FD_SETSIZE.
    fds.iter().copied().filter(|&fd| unsafe { libc::FD_ISSET(fd, set) }).collect()
}

/// Fills `s`'s send buffer (and its peer's receive buffer): it stays
/// unwritable until the peer reads. Returns how many bytes went out.
fn fill(s: &mut TcpStream) -> usize {
    s.set_nonblocking(true).unwrap();
    let chunk = [0u8; 65536];
    let mut sent = 0;
    loop {
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("filling: {e}"),
        }
    }
    s.set_nonblocking(false).unwrap();
    sent
}

/// Runs `f` in a coroutine of its own after a pause (so that the caller
/// is parked in its wait by then), counting the epoll instances open
/// when it starts.
fn later<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> verde::JoinHandle<(usize, T)> {
    verde::spawn(move || {
        verde::sleep(Duration::from_millis(20));
        (epoll_instances(), f())
    })
}

/// `poll` of several sockets, and of a skipped negative fd, where the
/// second socket turns readable; then a timeout over the same sockets.
fn second_of_two_sockets_wakes_a_poll(listener: &TcpListener) {
    let (mut a1, b1) = tcp_pair(listener);
    let (mut a2, mut b2) = tcp_pair(listener);
    let (a3, _b3) = tcp_pair(listener);
    let before = epoll_instances();
    let peer = later(move || {
        b2.write_all(b"x").unwrap();
        b2
    });
    let mut p = [
        pollfd(a1.as_raw_fd(), libc::POLLIN),
        pollfd(-1, libc::POLLIN),
        pollfd(a2.as_raw_fd(), libc::POLLIN),
        pollfd(a3.as_raw_fd(), libc::POLLIN | libc::POLLRDHUP),
    ];
    assert_eq!(poll(&mut p, 10_000), (1, 0));
    assert_eq!(revents(&p), [0, 0, libc::POLLIN, 0]);
    let (during, _b2) = peer.join().unwrap();
    assert_eq!(during, before, "the waiting poll opened no epoll instance");
    a2.read_exact(&mut [0u8; 1]).unwrap();

    // Nothing ready: the timeout ends it with 0.
    let mut p = [pollfd(a1.as_raw_fd(), libc::POLLIN), pollfd(a2.as_raw_fd(), libc::POLLIN)];
    assert_eq!(poll(&mut p, 30), (0, 0));
    assert_eq!(revents(&p), [0, 0]);

    // The first one's peer hangs up while the poll waits.
    let peer = later(move || drop(b1));
    let mut p = [pollfd(a1.as_raw_fd(), libc::POLLIN), pollfd(a2.as_raw_fd(), libc::POLLIN)];
    assert_eq!(poll(&mut p, 10_000), (1, 0));
    assert_eq!(revents(&p), [libc::POLLIN, 0]);
    assert_eq!(peer.join().unwrap().0, before);
    assert_eq!(a1.read(&mut [0u8; 1]).unwrap(), 0, "end of stream");
}

/// `POLLIN | POLLOUT` on one socket whose send buffer is full: data from
/// the peer ends the wait with `POLLIN`, the peer reading ends it with
/// `POLLOUT`.
fn both_directions_of_one_socket(listener: &TcpListener) {
    let (mut a, mut b) = tcp_pair(listener);
    let sent = fill(&mut a);
    let fd = a.as_raw_fd();
    let before = epoll_instances();

    let peer = later(move || {
        b.write_all(b"x").unwrap();
        b
    });
    let mut p = [pollfd(fd, libc::POLLIN | libc::POLLOUT)];
    assert_eq!(poll(&mut p, 10_000), (1, 0));
    assert_eq!(revents(&p), [libc::POLLIN]);
    let (during, mut b) = peer.join().unwrap();
    assert_eq!(during, before, "the waiting poll opened no epoll instance");
    a.read_exact(&mut [0u8; 1]).unwrap();

    let peer = later(move || {
        let mut buf = vec![0u8; sent];
        b.read_exact(&mut buf).unwrap();
        b
    });
    let mut p = [pollfd(fd, libc::POLLIN | libc::POLLOUT)];
    assert_eq!(poll(&mut p, 10_000), (1, 0));
    assert_eq!(revents(&p), [libc::POLLOUT]);
    let (during, _b) = peer.join().unwrap();
    assert_eq!(during, before);
}

/// `select` over two sockets to read and one (full) to write: the second
/// reader turns readable; the sets and the time left come back as Linux's
/// `select` leaves them. Then a timeout.
fn select_over_sockets(listener: &TcpListener) {
    let (a1, _b1) = tcp_pair(listener);
    let (mut a2, mut b2) = tcp_pair(listener);
    let (mut full, _peer) = tcp_pair(listener);
    fill(&mut full);
    let (r, w) = ([a1.as_raw_fd(), a2.as_raw_fd()], [full.as_raw_fd()]);
    let nfds = r.iter().chain(&w).max().unwrap() + 1;
    let before = epoll_instances();
    let peer = later(move || {
        b2.write_all(b"x").unwrap();
        b2
    });
    let (mut rs, mut ws) = (fd_set(&r), fd_set(&w));
    let mut tv = libc::timeval { tv_sec: 10, tv_usec: 0 };
    // SAFETY: valid sets covering `nfds`, a writable timeval.
    let n = unsafe { libc::select(nfds, &mut rs, &mut ws, std::ptr::null_mut(), &mut tv) };
    assert_eq!(n, 1);
    assert_eq!((members(&rs, &r), members(&ws, &w)), (vec![a2.as_raw_fd()], vec![]));
    assert!(tv.tv_sec < 10 && (tv.tv_sec, tv.tv_usec) > (0, 0), "time left: {tv:?}");
    let (during, _b2) = peer.join().unwrap();
    assert_eq!(during, before, "the waiting select opened no epoll instance");
    a2.read_exact(&mut [0u8; 1]).unwrap();

    let (mut rs, mut ws) = (fd_set(&r), fd_set(&w));
    let mut tv = libc::timeval { tv_sec: 0, tv_usec: 30_000 };
    // SAFETY: as above.
    let n = unsafe { libc::select(nfds, &mut rs, &mut ws, std::ptr::null_mut(), &mut tv) };
    assert_eq!(n, 0);
    assert_eq!((members(&rs, &r), members(&ws, &w)), (vec![], vec![]));
    assert_eq!((tv.tv_sec, tv.tv_usec), (0, 0));
}

/// A kill, and a `Timeout`, of a coroutine waiting in a `poll` of two
/// sockets end the poll with `ECANCELED`; the sockets keep working.
fn kill_and_timeout_end_a_poll_of_sockets(listener: &TcpListener) {
    let (mut a1, mut b1) = tcp_pair(listener);
    let (mut a2, mut b2) = tcp_pair(listener);
    let fds = [a1.as_raw_fd(), a2.as_raw_fd()];
    let poll_both = move || {
        let mut p = fds.map(|fd| pollfd(fd, libc::POLLIN));
        poll(&mut p, -1)
    };
    let polling = Arc::new(AtomicBool::new(false));
    let flag = polling.clone();
    let h = verde::spawn(move || {
        flag.store(true, Ordering::SeqCst);
        assert_eq!(poll_both(), (-1, libc::ECANCELED));
        // verde's own park point unwinds with the kill, still pending.
        verde::sleep(Duration::from_secs(3600));
        unreachable!("killed");
    });
    // Once it has run, it is parked in the poll: it does not park before.
    while !polling.load(Ordering::SeqCst) {
        verde::sleep(Duration::from_millis(1));
    }
    h.kill();
    assert!(h.join().unwrap_err().is::<verde::Killed>());

    let r = verde::spawn(move || verde::with_timeout(Duration::from_millis(20), poll_both)).join().unwrap();
    assert_eq!(r.unwrap(), (-1, libc::ECANCELED));

    // The sockets still wake a poll, and read.
    for (a, b) in [(&mut a1, &mut b1), (&mut a2, &mut b2)] {
        let peer = later({
            let mut b = b.try_clone().unwrap();
            move || b.write_all(b"y").unwrap()
        });
        assert_eq!(poll_both(), (1, 0));
        peer.join().unwrap();
        let mut byte = [0u8; 1];
        a.read_exact(&mut byte).unwrap();
        assert_eq!(&byte, b"y");
    }
}

/// A socket closed by another coroutine while a `poll` waits on it ends
/// the wait: the kernel reports the fd as not open.
fn a_socket_closed_during_the_poll(listener: &TcpListener) {
    let (a1, _b1) = tcp_pair(listener);
    let (a2, _b2) = tcp_pair(listener);
    let mut p = [pollfd(a1.as_raw_fd(), libc::POLLIN), pollfd(a2.as_raw_fd(), libc::POLLIN)];
    let closer = later(move || drop(a1));
    assert_eq!(poll(&mut p, 10_000), (1, 0));
    assert_eq!(revents(&p), [libc::POLLNVAL, 0]);
    closer.join().unwrap();
}

/// A `poll` of a socket and a pipe, which the patch does not adopt, waits
/// through an epoll instance of its own and wakes on the pipe.
fn a_socket_and_a_pipe(listener: &TcpListener) {
    let (a, _b) = tcp_pair(listener);
    let mut ends = [0; 2];
    // SAFETY: room for two fds.
    assert_eq!(unsafe { libc::pipe(ends.as_mut_ptr()) }, 0);
    // SAFETY: both fds are ours.
    let (rx, tx) = unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
    let before = epoll_instances();
    let writer = later(move || {
        // SAFETY: one readable byte.
        assert_eq!(unsafe { libc::write(tx.as_raw_fd(), b"z".as_ptr().cast(), 1) }, 1);
        tx
    });
    let mut p = [pollfd(a.as_raw_fd(), libc::POLLIN), pollfd(rx.as_raw_fd(), libc::POLLIN)];
    assert_eq!(poll(&mut p, 10_000), (1, 0));
    assert_eq!(revents(&p), [0, libc::POLLIN]);
    let (during, tx) = writer.join().unwrap();
    assert_eq!(during, before + 1, "the fallback's own epoll instance");
    assert_eq!(epoll_instances(), before);
    drop((rx, tx));
}

#[test]
fn poll_and_select_of_many_sockets_park_on_their_registrations() {
    verde::spawn(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let before = epoll_instances();
        second_of_two_sockets_wakes_a_poll(&listener);
        both_directions_of_one_socket(&listener);
        select_over_sockets(&listener);
        kill_and_timeout_end_a_poll_of_sockets(&listener);
        a_socket_closed_during_the_poll(&listener);
        a_socket_and_a_pipe(&listener);
        assert_eq!(epoll_instances(), before, "nothing left open");
    })
    .join()
    .unwrap();
}
