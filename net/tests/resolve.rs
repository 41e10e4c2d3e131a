//! Name resolution: host names go through the blocking pool; literals do
//! not.

use std::io;
use std::time::Duration;

use verde_net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};
use verde_runtime as verde;

#[test]
fn resolves_localhost() {
    let addrs: Vec<_> = "localhost:80".to_socket_addrs().unwrap().collect();
    assert!(!addrs.is_empty());
    assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80), "{addrs:?}");
    let from_pair: Vec<_> = ("localhost".to_owned(), 81).to_socket_addrs().unwrap().collect();
    assert!(from_pair.iter().all(|a| a.ip().is_loopback() && a.port() == 81), "{from_pair:?}");
}

#[test]
fn connects_by_name_trying_each_address() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    // "localhost" may resolve to ::1 first, where nobody listens: connect
    // moves on to 127.0.0.1.
    let c = verde::spawn(move || TcpStream::connect(("localhost", port)).unwrap()).join().unwrap();
    let (s, _) = l.accept().unwrap();
    assert_eq!(c.local_addr().unwrap(), s.peer_addr().unwrap());
    let c = TcpStream::connect(format!("localhost:{port}")).unwrap();
    assert!(c.peer_addr().unwrap().ip().is_loopback());
    let u = UdpSocket::bind("localhost:0").unwrap();
    assert!(u.local_addr().unwrap().ip().is_loopback());
}

#[test]
fn resolution_does_not_block_the_hub() {
    // While one coroutine resolves a name, another keeps ticking.
    let ticker = verde::spawn(|| {
        for _ in 0..5 {
            verde::sleep(Duration::from_millis(1));
        }
    });
    let resolver = verde::spawn(|| "localhost:1".to_socket_addrs().map(Iterator::count));
    assert!(resolver.join().unwrap().unwrap() > 0);
    ticker.join().unwrap();
}

#[test]
fn unknown_names_and_bad_strings_fail() {
    let err = TcpStream::connect("name.that.does.not.exist.invalid:80").unwrap_err();
    assert_ne!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert_eq!(TcpStream::connect("localhost").unwrap_err().kind(), io::ErrorKind::InvalidInput);
    assert_eq!(TcpStream::connect("localhost:http").unwrap_err().kind(), io::ErrorKind::InvalidInput);
}
