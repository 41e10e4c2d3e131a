//! The same types on plain threads, with no coroutine anywhere: calls
//! block the calling thread.

use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

use verde_net::unix::{UnixDatagram, UnixStream};
use verde_net::{TcpListener, TcpStream, UdpSocket};

#[test]
fn tcp_server_and_client_on_plain_threads() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let server = thread::spawn(move || {
        for s in l.incoming().take(3) {
            let mut s = s.unwrap();
            let mut buf = [0; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
        }
    });
    let clients: Vec<_> = (0..3)
        .map(|_| {
            thread::spawn(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                // Give the server time to block in read first.
                thread::sleep(Duration::from_millis(10));
                c.write_all(b"plain").unwrap();
                let mut buf = [0; 5];
                c.read_exact(&mut buf).unwrap();
                buf
            })
        })
        .collect();
    for c in clients {
        assert_eq!(&c.join().unwrap(), b"plain");
    }
    server.join().unwrap();
}

#[test]
fn udp_and_unix_on_plain_threads() {
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = u.local_addr().unwrap();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        UdpSocket::bind("127.0.0.1:0").unwrap().send_to(b"dgram", addr).unwrap();
    });
    let mut buf = [0; 8];
    assert_eq!(u.recv_from(&mut buf).unwrap().0, 5);
    sender.join().unwrap();

    let (mut a, mut b) = UnixStream::pair().unwrap();
    let t = thread::spawn(move || {
        let mut buf = [0; 3];
        b.read_exact(&mut buf).unwrap();
        b.write_all(&buf).unwrap();
    });
    a.write_all(b"uds").unwrap();
    let mut back = [0; 3];
    a.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"uds");
    t.join().unwrap();

    let (x, y) = UnixDatagram::pair().unwrap();
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        y.send(b"late").unwrap();
    });
    assert_eq!(x.recv(&mut buf).unwrap(), 4);
    t.join().unwrap();
}

#[test]
fn a_plain_thread_blocks_while_its_own_coroutines_run() {
    // A thread that spawned coroutines keeps running them while it blocks
    // in a socket call.
    let (mut a, mut b) = UnixStream::pair().unwrap();
    let h = verde_runtime::spawn(move || {
        verde_runtime::sleep(Duration::from_millis(10));
        b.write_all(b"from a coroutine").unwrap();
    });
    let mut buf = [0; 16];
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"from a coroutine");
    h.join().unwrap();
}
