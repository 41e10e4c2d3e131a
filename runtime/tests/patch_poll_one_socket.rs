//! The patched `poll` of one socket a coroutine uses waits on the socket's
//! own registration with the hub, not on an epoll instance of its own. A
//! binary of its own with a single test, so that no other test's epoll
//! instances come and go while it counts them.

verde_runtime::patch_all!();

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use verde_runtime as verde;

#[path = "common/epoll_instances.rs"]
mod epoll_instances;
use epoll_instances::epoll_instances;

fn poll_one(fd: i32, events: libc::c_short, timeout_ms: libc::c_int) -> (libc::c_int, libc::c_short) {
    let mut p = [libc::pollfd { fd, events, revents: 0 }];
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(p.as_mut_ptr(), 1, timeout_ms) };
    (n, p[0].revents)
}

#[test]
fn poll_of_one_socket_parks_on_its_registration() {
    verde::spawn(|| {
        // Made in a coroutine, so the patch adopts both sockets at birth.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut a = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut b, _) = listener.accept().unwrap();
        let fd = a.as_raw_fd();
        let before = epoll_instances();
        let peer = verde::spawn(move || {
            // Long enough for the poll below to be parked.
            verde::sleep(Duration::from_millis(50));
            let during = epoll_instances();
            b.write_all(b"x").unwrap();
            (during, b)
        });
        assert_eq!(poll_one(fd, libc::POLLIN, 10_000), (1, libc::POLLIN));
        let (during, b) = peer.join().unwrap();
        assert_eq!(during, before, "the waiting poll opened no epoll instance");
        let mut byte = [0u8; 1];
        a.read_exact(&mut byte).unwrap();
        // Nothing to read: the timeout ends it with 0.
        assert_eq!(poll_one(fd, libc::POLLIN, 30), (0, 0));
        // Writable: at once.
        assert_eq!(poll_one(fd, libc::POLLOUT, 10_000), (1, libc::POLLOUT));
        // The peer closes while the poll waits: readable (end of stream).
        let closer = verde::spawn(move || {
            verde::sleep(Duration::from_millis(20));
            drop(b);
        });
        let (n, revents) = poll_one(fd, libc::POLLIN | libc::POLLRDHUP, 10_000);
        assert_eq!((n, revents & libc::POLLIN, revents & libc::POLLRDHUP), (1, libc::POLLIN, libc::POLLRDHUP));
        closer.join().unwrap();
        // Both directions at once: ready in both (end of stream, writable).
        let (n, revents) = poll_one(fd, libc::POLLIN | libc::POLLOUT, 10_000);
        assert_eq!((n, revents & (libc::POLLIN | libc::POLLOUT)), (1, libc::POLLIN | libc::POLLOUT));
        assert_eq!(epoll_instances(), before, "nothing left open");
    })
    .join()
    .unwrap();
}
