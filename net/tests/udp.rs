//! UDP: std's surface, with receives that park.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use verde_net::UdpSocket;
use verde_runtime as verde;

fn socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

#[test]
fn send_to_and_recv_from_between_coroutines() {
    let server = socket();
    let server_addr = server.local_addr().unwrap();
    let echo = verde::spawn(move || {
        for _ in 0..3 {
            let mut buf = [0; 64];
            let (n, from) = server.recv_from(&mut buf).unwrap();
            server.send_to(&buf[..n], from).unwrap();
        }
    });
    let client = socket();
    for i in 0..3u8 {
        client.send_to(&[i; 10], server_addr).unwrap();
        let mut buf = [0; 64];
        let (n, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!((n, from), (10, server_addr));
        assert_eq!(buf[..n], [i; 10]);
    }
    echo.join().unwrap();
}

#[test]
fn connected_send_recv_and_peek() {
    let a = socket();
    let b = socket();
    a.connect(b.local_addr().unwrap()).unwrap();
    b.connect(a.local_addr().unwrap()).unwrap();
    assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    let reader = verde::spawn(move || {
        let mut buf = [0; 16];
        let n = b.peek(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello");
        let (n, from) = b.peek_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"hello"[..], b.peer_addr().unwrap()));
        let n = b.recv(&mut buf).unwrap();
        buf[..n].to_vec()
    });
    verde::sleep(Duration::from_millis(10));
    assert_eq!(a.send(b"hello").unwrap(), 5);
    assert_eq!(reader.join().unwrap(), b"hello");
}

#[test]
fn unconnected_peer_addr_is_not_connected() {
    assert_eq!(socket().peer_addr().unwrap_err().kind(), io::ErrorKind::NotConnected);
}

#[test]
fn send_to_resolves_and_needs_an_address() {
    let a = socket();
    let b = socket();
    let port = b.local_addr().unwrap().port();
    a.send_to(b"named", ("127.0.0.1", port)).unwrap();
    let mut buf = [0; 8];
    assert_eq!(b.recv_from(&mut buf).unwrap().0, 5);
    let none: &[std::net::SocketAddr] = &[];
    assert_eq!(a.send_to(b"x", none).unwrap_err().kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn options() {
    let u = socket();
    u.set_broadcast(true).unwrap();
    assert!(u.broadcast().unwrap());
    u.set_multicast_loop_v4(false).unwrap();
    assert!(!u.multicast_loop_v4().unwrap());
    u.set_multicast_ttl_v4(9).unwrap();
    assert_eq!(u.multicast_ttl_v4().unwrap(), 9);
    u.set_ttl(33).unwrap();
    assert_eq!(u.ttl().unwrap(), 33);
    assert!(u.take_error().unwrap().is_none());
    u.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    assert_eq!(u.write_timeout().unwrap(), Some(Duration::from_secs(1)));
    assert_eq!(u.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    assert!(format!("{u:?}").starts_with("UdpSocket"));

    let v6 = match UdpSocket::bind("[::1]:0") {
        Ok(s) => s,
        Err(_) => return, // no IPv6 loopback here
    };
    v6.set_multicast_loop_v6(false).unwrap();
    assert!(!v6.multicast_loop_v6().unwrap());
}

#[test]
fn multicast_membership() {
    let u = UdpSocket::bind("0.0.0.0:0").unwrap();
    let group = Ipv4Addr::new(239, 255, 42, 99);
    match u.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST) {
        Ok(()) => u.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST).unwrap(),
        // Some sandboxes have no multicast-capable interface.
        Err(e) => assert_ne!(e.kind(), io::ErrorKind::InvalidInput, "{e}"),
    }
    if let Ok(v6) = UdpSocket::bind("[::]:0") {
        let group6: Ipv6Addr = "ff02::1:3".parse().unwrap();
        if v6.join_multicast_v6(&group6, 0).is_ok() {
            v6.leave_multicast_v6(&group6, 0).unwrap();
        }
    }
}

#[test]
fn nonblocking_and_clones() {
    let u = socket();
    let clone = u.try_clone().unwrap();
    clone.set_nonblocking(true).unwrap();
    assert_eq!(u.recv_from(&mut [0; 4]).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    clone.set_nonblocking(false).unwrap();
    let addr = u.local_addr().unwrap();
    let sender = verde::spawn(move || {
        verde::sleep(Duration::from_millis(10));
        socket().send_to(b"late", addr).unwrap();
    });
    let mut buf = [0; 4];
    assert_eq!(clone.recv_from(&mut buf).unwrap().0, 4);
    sender.join().unwrap();
}

#[test]
fn converts_from_std() {
    let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    std_sock.set_read_timeout(Some(Duration::from_millis(40))).unwrap();
    let u = UdpSocket::from(std_sock);
    assert_eq!(u.read_timeout().unwrap(), Some(Duration::from_millis(40)));
    assert_eq!(u.recv(&mut [0; 4]).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    let back = std::net::UdpSocket::from(u);
    assert_eq!(back.read_timeout().unwrap(), Some(Duration::from_millis(40)));
}
