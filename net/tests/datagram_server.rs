//! `DatagramServer`: gevent's DatagramServer over UDP and Unix datagram
//! sockets.

use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use verde_net::unix::UnixDatagram;
use verde_net::{DatagramServer, SocketAddr, UdpSocket};
use verde_runtime as verde;
use verde_runtime::event::Event;
use verde_runtime::pool::Pool;

#[path = "../../runtime/tests/common/temp_dir.rs"]
mod temp_dir;
use temp_dir::TempDir;

#[path = "common/wait_until.rs"]
mod wait_until;
use wait_until::wait_until;

/// Replies to each datagram with the datagram itself.
fn echo(socket: &UdpSocket, data: Vec<u8>, sender: SocketAddr) {
    socket.send_to(&data, sender).unwrap();
}

/// Sends `msg` from a socket of its own and returns the reply.
fn exchange(server: SocketAddr, msg: &[u8]) -> Vec<u8> {
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.send_to(msg, server).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let (n, from) = client.recv_from(&mut buf).unwrap();
    assert_eq!(from, server);
    buf.truncate(n);
    buf
}

#[test]
fn serves_many_senders_at_once_then_stops() {
    let server = DatagramServer::bind("127.0.0.1:0", echo).unwrap();
    let addr = server.local_addr().unwrap();
    assert!(!server.is_started());
    server.start().unwrap();
    assert!(server.is_started());
    let clients: Vec<_> =
        (0..50u32).map(|i| verde::spawn(move || exchange(addr, format!("client {i}").as_bytes()))).collect();
    for (i, c) in clients.into_iter().enumerate() {
        assert_eq!(c.join().unwrap(), format!("client {i}").into_bytes());
    }
    server.stop(None);
    assert!(server.is_closed());
    assert_eq!(server.handlers_running(), 0);
    assert_eq!(server.local_addr().unwrap_err().kind(), ErrorKind::NotConnected);
    // Closed is final, and the port is free again.
    assert_eq!(server.start().unwrap_err().kind(), ErrorKind::InvalidInput);
    drop(UdpSocket::bind(addr).unwrap());
}

#[test]
fn the_largest_udp_datagram_arrives_whole() {
    let server = DatagramServer::bind("127.0.0.1:0", |socket: &UdpSocket, data: Vec<u8>, sender| {
        let sum: u64 = data.iter().map(|&b| u64::from(b)).sum();
        socket.send_to(format!("{} {sum}", data.len()).as_bytes(), sender).unwrap();
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    server.start().unwrap();
    // 65,507 bytes: the most one IPv4 UDP datagram carries, eight times
    // what gevent's DatagramServer reads.
    let big: Vec<u8> = (0..65_507u32).map(|i| (i % 251) as u8).collect();
    let sum: u64 = big.iter().map(|&b| u64::from(b)).sum();
    assert_eq!(exchange(addr, &big), format!("65507 {sum}").into_bytes());
    assert_eq!(exchange(addr, b""), b"0 0");
    server.stop(None);
}

#[test]
fn a_pool_bounds_the_handlers_running_at_once_and_loses_nothing() {
    let release = Arc::new(Event::new());
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, n, m) = (release.clone(), running.clone(), most.clone());
    let server = DatagramServer::bind("127.0.0.1:0", move |socket: &UdpSocket, data: Vec<u8>, sender| {
        let now = n.fetch_add(1, Ordering::SeqCst) + 1;
        m.fetch_max(now, Ordering::SeqCst);
        r.wait(None);
        n.fetch_sub(1, Ordering::SeqCst);
        socket.send_to(&data, sender).unwrap();
    })
    .unwrap()
    .with_pool(Pool::new(2));
    let addr = server.local_addr().unwrap();
    server.start().unwrap();
    let clients: Vec<_> = (0..5u8).map(|i| verde::spawn(move || exchange(addr, &[i]))).collect();
    wait_until("two handlers run", || running.load(Ordering::SeqCst) == 2);
    // However long the others wait, the pool lets no third handler in.
    verde::sleep(Duration::from_millis(50));
    assert_eq!(server.handlers_running(), 2);
    release.set();
    for (i, c) in clients.into_iter().enumerate() {
        assert_eq!(c.join().unwrap(), [i as u8]);
    }
    assert_eq!(most.load(Ordering::SeqCst), 2);
    server.stop(None);
}

#[test]
fn a_panicking_handler_ends_only_its_own_coroutine() {
    let server = DatagramServer::bind("127.0.0.1:0", |socket: &UdpSocket, data: Vec<u8>, sender| {
        if data == b"panic" {
            panic!("the handler panics");
        }
        socket.send_to(&data, sender).unwrap();
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    server.start().unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.send_to(b"panic", addr).unwrap();
    assert_eq!(exchange(addr, b"still serving"), b"still serving");
    server.stop(None);
}

#[test]
fn a_handler_can_stop_the_server_and_serve_forever_returns() {
    let me: Arc<OnceLock<DatagramServer>> = Arc::new(OnceLock::new());
    let m = me.clone();
    let server = DatagramServer::bind("127.0.0.1:0", move |socket: &UdpSocket, data: Vec<u8>, sender| {
        if data == b"stop" {
            m.get().unwrap().stop(None);
            // stop returned to its caller, which still replies.
            socket.send_to(b"stopping", sender).unwrap();
        }
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    me.set(server.clone()).ok().unwrap();
    let client = verde::spawn(move || exchange(addr, b"stop"));
    server.serve_forever().unwrap();
    assert_eq!(client.join().unwrap(), b"stopping");
    assert!(server.is_closed());
}

#[test]
fn a_nonblocking_socket_or_one_with_a_read_timeout_is_waited_on() {
    for nonblocking in [true, false] {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        if nonblocking {
            socket.set_nonblocking(true).unwrap();
        } else {
            socket.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
        }
        let server = DatagramServer::new(socket, echo);
        let addr = server.local_addr().unwrap();
        server.start().unwrap();
        // Long enough for the acceptor to find nothing, more than once.
        verde::sleep(Duration::from_millis(30));
        assert!(server.is_started());
        assert_eq!(exchange(addr, b"waited"), b"waited");
        server.stop(None);
    }
}

#[test]
fn serves_a_unix_datagram_socket_with_datagrams_beyond_64_kib() {
    let dir = TempDir::new("datagram_server");
    let path = dir.path("server.sock");
    let server = DatagramServer::new(UnixDatagram::bind(&path).unwrap(), |socket: &UnixDatagram, data, sender| {
        socket.send_to_addr(format!("{}", data.len()).as_bytes(), &sender).unwrap();
    });
    assert_eq!(server.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    server.start().unwrap();
    let client = UnixDatagram::bind(dir.path("client.sock")).unwrap();
    // A Unix datagram is bounded by its sender's send buffer, not by 64 KiB.
    let size: libc::c_int = 1 << 20;
    // SAFETY: `size` is a c_int that outlives the call, as SO_SNDBUF takes.
    let set = unsafe {
        libc::setsockopt(
            client.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            std::ptr::from_ref(&size).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0);
    let mut reply = [0u8; 16];
    for len in [0usize, 5, 100_000] {
        client.send_to(&vec![7u8; len], &path).unwrap();
        let n = client.recv(&mut reply).unwrap();
        assert_eq!(&reply[..n], len.to_string().as_bytes());
    }
    server.stop(None);
}

#[test]
fn serve_forever_on_a_running_server_waits_with_it() {
    let server = DatagramServer::bind("127.0.0.1:0", echo).unwrap();
    let addr = server.local_addr().unwrap();
    let both: Vec<_> = (0..2)
        .map(|_| {
            let s = server.clone();
            verde::spawn(move || s.serve_forever())
        })
        .collect();
    wait_until("the server starts", || server.is_started());
    assert_eq!(exchange(addr, b"once"), b"once");
    server.stop(None);
    for b in both {
        b.join().unwrap().unwrap();
    }
}
