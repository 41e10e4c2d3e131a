//! Unix domain sockets: streams, listeners, datagrams and `pair()`.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use verde_net::unix::{SocketAddr, UnixDatagram, UnixListener, UnixStream};
use verde_runtime as verde;

#[path = "../../runtime/tests/common/temp_dir.rs"]
mod temp_dir;
use temp_dir::TempDir;

#[test]
fn listener_and_stream_echo() {
    let dir = TempDir::new("echo");
    let path = dir.path("echo.sock");
    let l = UnixListener::bind(&path).unwrap();
    assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    let server = verde::spawn(move || {
        for s in l.incoming().take(2) {
            let mut s = s.unwrap();
            verde::spawn(move || {
                let mut buf = Vec::new();
                s.read_to_end(&mut buf).unwrap();
                s.write_all(&buf).unwrap();
            });
        }
    });
    for msg in ["one", "two"] {
        let mut c = UnixStream::connect(&path).unwrap();
        assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
        assert!(c.local_addr().unwrap().is_unnamed());
        c.write_all(msg.as_bytes()).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut back = String::new();
        c.read_to_string(&mut back).unwrap();
        assert_eq!(back, msg);
    }
    server.join().unwrap();
}

#[test]
fn pair_and_options() {
    let (mut a, mut b) = UnixStream::pair().unwrap();
    assert!(a.local_addr().unwrap().is_unnamed());
    assert!(a.peer_addr().unwrap().is_unnamed());
    a.write_all(b"ab").unwrap();
    let mut buf = [0; 2];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ab");
    assert!(a.take_error().unwrap().is_none());
    a.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
    assert_eq!(a.write_timeout().unwrap(), Some(Duration::from_secs(3)));
    assert_eq!(a.read_timeout().unwrap(), None);
    a.set_nonblocking(true).unwrap();
    assert_eq!(a.read(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    let c = a.try_clone().unwrap();
    c.set_nonblocking(false).unwrap();
    let writer = verde::spawn(move || {
        verde::sleep(Duration::from_millis(10));
        b.write_all(b"c").unwrap();
        b
    });
    (&c).read_exact(&mut buf[..1]).unwrap();
    writer.join().unwrap();
    assert!(format!("{c:?}").starts_with("UnixStream"));
}

#[test]
fn abstract_addresses() {
    let name = format!("verde-test-{}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let l = UnixListener::bind_addr(&addr).unwrap();
    assert_eq!(l.local_addr().unwrap().as_abstract_name(), Some(name.as_bytes()));
    let mut c = UnixStream::connect_addr(&addr).unwrap();
    let (mut s, _) = l.accept().unwrap();
    c.write_all(b"abstract").unwrap();
    let mut buf = [0; 8];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"abstract");
}

#[test]
fn connect_errors() {
    let dir = TempDir::new("errors");
    let err = UnixStream::connect(dir.path("missing.sock")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let path = dir.path("closed.sock");
    drop(UnixListener::bind(&path).unwrap());
    assert_eq!(UnixStream::connect(&path).unwrap_err().kind(), io::ErrorKind::ConnectionRefused);
    assert_eq!(UnixListener::bind(&path).unwrap_err().kind(), io::ErrorKind::AddrInUse);
    assert_eq!(UnixStream::connect("bad\0path").unwrap_err().kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn connect_waits_for_room_in_a_full_backlog() {
    let dir = TempDir::new("backlog");
    let path = dir.path("full.sock");
    let l = UnixListener::bind(&path).unwrap();
    // SAFETY: listen(2) on our own listening socket only changes its backlog.
    assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
    // Fill the queue with non-blocking connects until one is refused for
    // lack of room (EAGAIN).
    let mut held = Vec::new();
    loop {
        match connect_nonblocking(&path) {
            Ok(fd) => held.push(fd),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
        assert!(held.len() < 100, "the backlog never filled");
    }
    let p2 = path.clone();
    let connector = verde::spawn(move || UnixStream::connect(&p2).map(drop));
    verde::sleep(Duration::from_millis(50));
    // Accepting makes room; the parked connect then succeeds.
    let start = Instant::now();
    while !connector.is_finished() {
        let _ = l.accept().unwrap();
        verde::sleep(Duration::from_millis(5));
        assert!(start.elapsed() < Duration::from_secs(10), "connect never got through");
    }
    connector.join().unwrap().unwrap();
}

/// A non-blocking libc `connect` to `path`.
fn connect_nonblocking(path: &std::path::Path) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: plain integer arguments.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0);
    // SAFETY: `fd` is a new socket we own.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: all zeroes is a valid sockaddr_un.
    let mut sun: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, &b) in sun.sun_path.iter_mut().zip(path.as_os_str().as_bytes()) {
        *d = b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: `sun` is a valid, NUL-terminated sockaddr_un of `len` bytes.
    let r = unsafe { libc::connect(fd, std::ptr::from_ref(&sun).cast(), len) };
    if r == 0 {
        Ok(owned)
    } else {
        Err(io::Error::last_os_error())
    }
}

#[test]
fn datagrams_by_path_and_pair() {
    let dir = TempDir::new("dgram");
    let (pa, pb) = (dir.path("a.sock"), dir.path("b.sock"));
    let a = UnixDatagram::bind(&pa).unwrap();
    let b = UnixDatagram::bind(&pb).unwrap();
    let receiver = verde::spawn(move || {
        let mut buf = [0; 16];
        let (n, from) = b.recv_from(&mut buf).unwrap();
        (buf[..n].to_vec(), from.as_pathname().map(Into::into))
    });
    a.send_to(b"by path", &pb).unwrap();
    let (data, from): (Vec<u8>, Option<PathBuf>) = receiver.join().unwrap();
    assert_eq!(data, b"by path");
    assert_eq!(from, Some(pa.clone()));

    let c = UnixDatagram::unbound().unwrap();
    c.connect(&pa).unwrap();
    assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(pa.as_path()));
    c.send(b"connected").unwrap();
    let mut buf = [0; 16];
    assert_eq!(a.recv(&mut buf).unwrap(), 9);
    let addr = a.local_addr().unwrap();
    c.send_to_addr(b"addr", &addr).unwrap();
    assert_eq!(a.recv(&mut buf).unwrap(), 4);

    let (x, y) = UnixDatagram::pair().unwrap();
    x.send(b"pair").unwrap();
    assert_eq!(y.recv(&mut buf).unwrap(), 4);
    x.shutdown(std::net::Shutdown::Both).unwrap();
    assert!(format!("{y:?}").starts_with("UnixDatagram"));
}

#[test]
fn datagram_send_to_a_full_queue_waits_for_room() {
    let dir = TempDir::new("fullq");
    let path = dir.path("sink.sock");
    let sink = UnixDatagram::bind(&path).unwrap();
    let sender = UnixDatagram::unbound().unwrap();
    sender.set_nonblocking(true).unwrap();
    let mut sent = 0;
    loop {
        match sender.send_to(b"fill", &path) {
            Ok(_) => sent += 1,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
        assert!(sent < 1_000_000, "the queue never filled");
    }
    sender.set_nonblocking(false).unwrap();
    let p2 = path.clone();
    let late = verde::spawn(move || sender.send_to(b"last", &p2).unwrap());
    verde::sleep(Duration::from_millis(30));
    assert!(!late.is_finished(), "the send did not wait");
    let mut buf = [0; 8];
    let mut received = 0;
    while received <= sent {
        sink.recv(&mut buf).unwrap();
        received += 1;
    }
    assert_eq!(&buf[..4], b"last");
    assert_eq!(late.join().unwrap(), 4);
}

#[test]
fn connected_datagram_send_waits_for_the_reader() {
    let (a, b) = UnixDatagram::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let mut sent = 0;
    while a.send(b"fill").is_ok() {
        sent += 1;
    }
    a.set_nonblocking(false).unwrap();
    let late = verde::spawn(move || a.send(b"last").unwrap());
    verde::sleep(Duration::from_millis(30));
    assert!(!late.is_finished());
    let mut buf = [0; 8];
    for _ in 0..=sent {
        b.recv(&mut buf).unwrap();
    }
    assert_eq!(&buf[..4], b"last");
    late.join().unwrap();
}

#[test]
fn converts_from_std() {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut a = UnixStream::from(a);
    let mut b = UnixStream::from(b);
    a.write_all(b"std").unwrap();
    let mut buf = [0; 3];
    b.read_exact(&mut buf).unwrap();
    let back = std::os::unix::net::UnixStream::from(b);
    drop(back);
    assert_eq!(a.read(&mut buf).unwrap(), 0);

    let dir = TempDir::new("convert");
    let l = UnixListener::from(std::os::unix::net::UnixListener::bind(dir.path("l.sock")).unwrap());
    let _c = UnixStream::connect(dir.path("l.sock")).unwrap();
    l.accept().unwrap();
    let (d, _e) = std::os::unix::net::UnixDatagram::pair().unwrap();
    d.set_nonblocking(true).unwrap();
    let d = UnixDatagram::from(d);
    assert_eq!(d.recv(&mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
}
