//! Sockets moved to, or shared with, coroutines on other hubs.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use verde_net::unix::{UnixDatagram, UnixListener, UnixStream};
use verde_net::{TcpListener, TcpStream, UdpSocket};
use verde_runtime as verde;

fn runtime() -> verde::Runtime {
    verde::Runtime::builder().workers(2).thread_name("net-worker").build().unwrap()
}

fn worker_name() -> String {
    std::thread::current().name().unwrap_or_default().to_owned()
}

#[test]
fn types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<TcpStream>();
    check::<TcpListener>();
    check::<UdpSocket>();
    check::<UnixStream>();
    check::<UnixListener>();
    check::<UnixDatagram>();
}

#[test]
fn created_on_one_worker_used_on_another() {
    let rt = runtime();
    // Worker 0 creates a listener and a connected pair, and parks on them
    // once so they are registered with its epoll.
    let (listener, client, server) = rt
        .spawn_on(0, || {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_millis(5))).unwrap();
            assert!((&s).read(&mut [0; 1]).is_err());
            s.set_read_timeout(None).unwrap();
            assert_eq!(worker_name(), "net-worker-0");
            (l, c, s)
        })
        .join()
        .unwrap();
    // Worker 1 uses them; its coroutines park on its own epoll.
    let addr = listener.local_addr().unwrap();
    let on_1 = rt.spawn_on(1, move || {
        assert_eq!(worker_name(), "net-worker-1");
        let mut server = server;
        let mut buf = [0; 4];
        server.read_exact(&mut buf).unwrap();
        server.write_all(&buf).unwrap();
        let (mut s2, _) = listener.accept().unwrap();
        s2.write_all(b"second").unwrap();
        buf
    });
    let on_0 = rt.spawn_on(0, move || {
        let mut client = client;
        verde::sleep(Duration::from_millis(10));
        client.write_all(b"ping").unwrap();
        let mut buf = [0; 4];
        client.read_exact(&mut buf).unwrap();
        let mut c2 = TcpStream::connect(addr).unwrap();
        let mut second = String::new();
        c2.read_to_string(&mut second).unwrap();
        (buf, second)
    });
    assert_eq!(&on_1.join().unwrap(), b"ping");
    let (echo, second) = on_0.join().unwrap();
    assert_eq!(&echo, b"ping");
    assert_eq!(second, "second");
}

#[test]
fn reader_on_one_hub_writer_on_another() {
    let rt = runtime();
    let (a, b) = UnixStream::pair().unwrap();
    let a = Arc::new(a);
    const N: usize = 4 << 20;
    let reader = {
        let a = Arc::clone(&a);
        rt.spawn_on(0, move || {
            let mut got = vec![0; N];
            (&*a).read_exact(&mut got).unwrap();
            got.iter().map(|&b| u64::from(b)).sum::<u64>()
        })
    };
    let writer = {
        let a = Arc::clone(&a);
        rt.spawn_on(1, move || (&*a).write_all(&vec![3u8; N]).unwrap())
    };
    // The peer echoes on a plain thread.
    let echo = std::thread::spawn(move || {
        let mut b = b;
        let mut buf = vec![0; 1 << 16];
        let mut left = N;
        while left > 0 {
            let n = b.read(&mut buf).unwrap();
            b.write_all(&buf[..n]).unwrap();
            left -= n;
        }
    });
    writer.join().unwrap();
    assert_eq!(reader.join().unwrap(), 3 * N as u64);
    echo.join().unwrap();
}

#[test]
fn waiters_on_several_hubs_share_one_socket() {
    let rt = runtime();
    let u = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
    let addr = u.local_addr().unwrap();
    let receivers: Vec<_> = (0..4)
        .map(|i| {
            let u = Arc::clone(&u);
            rt.spawn_on(i % 2, move || {
                let mut buf = [0; 8];
                u.recv_from(&mut buf).unwrap().0
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(30));
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..4 {
        sender.send_to(b"wake", addr).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    for r in receivers {
        assert_eq!(r.join().unwrap(), 4);
    }
}
