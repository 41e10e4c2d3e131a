//! A peer that resets the connection (SO_LINGER 0, then close) in the
//! middle of a write: the writer gets an error, not a panic, and the
//! process gets no SIGPIPE.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use verde_net::unix::UnixStream;
use verde_net::{TcpListener, TcpStream};
use verde_runtime as verde;

/// Makes closing `s` send a RST instead of a FIN.
fn linger_zero(s: &TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid linger struct and its size, on our own socket.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::from_ref(&linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0);
}

/// Lets the default SIGPIPE action kill the process, so the tests prove no
/// write ever raises it (Rust's runtime ignores it by default).
fn restore_sigpipe() {
    // SAFETY: installs the default disposition; no handler code runs.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

fn is_reset(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe)
}

#[test]
fn reset_during_a_parked_write() {
    restore_sigpipe();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let writer = verde::spawn(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        let chunk = vec![9u8; 1 << 20];
        let start = Instant::now();
        loop {
            if let Err(e) = c.write_all(&chunk) {
                return e;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "the writes never failed");
        }
    });
    let (mut s, _) = l.accept().unwrap();
    // Take a little, so the writer is mid-stream and parked on a full buffer.
    let mut buf = vec![0; 1 << 16];
    s.read_exact(&mut buf).unwrap();
    verde::sleep(Duration::from_millis(50));
    linger_zero(&s);
    drop(s);
    let err = writer.join().unwrap();
    assert!(is_reset(&err), "{err:?}");
}

#[test]
fn write_after_reset_and_read_after_reset() {
    restore_sigpipe();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    linger_zero(&s);
    drop(s);
    let mut errors = Vec::new();
    for _ in 0..3 {
        if let Err(e) = c.write(b"into the void") {
            errors.push(e);
        }
        verde::sleep(Duration::from_millis(10));
    }
    assert!(!errors.is_empty() && errors.iter().all(is_reset), "{errors:?}");
    // Reads see the reset or an orderly end, never hang.
    match c.read(&mut [0; 8]) {
        Ok(0) => {}
        Err(e) => assert!(is_reset(&e), "{e:?}"),
        Ok(n) => panic!("read {n} bytes from a reset connection"),
    }
}

#[test]
fn unix_write_to_a_closed_peer_is_broken_pipe() {
    restore_sigpipe();
    let (mut a, b) = UnixStream::pair().unwrap();
    drop(b);
    let err = a.write(b"nobody listens").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}
