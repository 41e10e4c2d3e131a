//! Differential tests: each scenario runs once against `std::net` and
//! `std::os::unix::net`, then twice against verde's types (inside a
//! coroutine, and from a plain OS thread), and every observation must be
//! the same: `Ok` values, error kinds and raw OS errors.
//!
//! A scenario is written once, in terms of `net::` and `unix::`; the
//! `parity!` macro compiles it a second time with those names pointing at
//! verde. Observations are recorded in a [`Log`] as text, so values that
//! differ between runs (ports, fds) must be normalised before they are
//! recorded. Nothing here asserts on timing.
//!
//! What the other test files already cover for verde alone (echo, timeouts
//! expiring after roughly their duration, SIGPIPE, peer resets, kills) is
//! not repeated; this file is about agreeing with std.

use std::fmt::Debug;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use verde_runtime as verde;

/// A short read timeout, for calls that are expected to time out.
const SHORT: Duration = Duration::from_millis(20);

/// A long one, so a call that would wrongly hang fails the comparison
/// instead of hanging the test.
const GUARD: Duration = Duration::from_secs(5);

/// What a scenario observed, in order.
struct Log {
    entries: Vec<(String, String)>,
    dir: PathBuf,
}

impl Log {
    fn new() -> Log {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("verde-parity-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Log { entries: Vec::new(), dir }
    }

    /// A path in this run's own temporary directory.
    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Records a result: the `Ok` value's `Debug` text, or the error's
    /// kind and raw OS error.
    fn r<T: Debug>(&mut self, label: &str, r: io::Result<T>) {
        self.v(label, outcome(r));
    }

    /// Records a plain value.
    fn v<T: Debug>(&mut self, label: &str, v: T) {
        self.entries.push((label.to_owned(), format!("{v:?}")));
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A result as text: `Ok(value)` or `Err(kind, os error)`.
fn outcome<T: Debug>(r: io::Result<T>) -> String {
    match r {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => format!("Err({:?}, os {:?})", e.kind(), e.raw_os_error()),
    }
}

/// Runs a scenario against std, then against verde in a coroutine and on a
/// plain thread, and asserts the three logs agree.
fn compare(name: &str, with_std: fn(&mut Log), with_verde: fn(&mut Log)) {
    let expected = thread::spawn(move || {
        let mut log = Log::new();
        with_std(&mut log);
        std::mem::take(&mut log.entries)
    })
    .join()
    .unwrap();
    let in_coroutine = thread::spawn(move || {
        verde::spawn(move || {
            let mut log = Log::new();
            with_verde(&mut log);
            std::mem::take(&mut log.entries)
        })
        .join()
        .unwrap()
    })
    .join()
    .unwrap();
    let on_thread = thread::spawn(move || {
        let mut log = Log::new();
        with_verde(&mut log);
        std::mem::take(&mut log.entries)
    })
    .join()
    .unwrap();
    assert_same(name, "in a coroutine", &expected, &in_coroutine);
    assert_same(name, "on a plain thread", &expected, &on_thread);
}

fn assert_same(name: &str, how: &str, expected: &[(String, String)], got: &[(String, String)]) {
    if expected == got {
        return;
    }
    let mut report = format!("{name}: verde {how} differs from std\n");
    for i in 0..expected.len().max(got.len()) {
        let e = expected.get(i).map(|(l, v)| format!("{l}: {v}")).unwrap_or_default();
        let g = got.get(i).map(|(l, v)| format!("{l}: {v}")).unwrap_or_default();
        let mark = if e == g { "  " } else { "!!" };
        report.push_str(&format!("{mark} std   {e}\n{mark} verde {g}\n"));
    }
    panic!("{report}");
}

/// An address nobody listens on (a port just released).
fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Whether the fd behind `fd` has `O_NONBLOCK` set.
fn fd_nonblocking(fd: &impl AsFd) -> bool {
    // SAFETY: F_GETFL on an fd that `fd` keeps open.
    let flags = unsafe { libc::fcntl(fd.as_fd().as_raw_fd(), libc::F_GETFL) };
    assert!(flags >= 0);
    flags & libc::O_NONBLOCK != 0
}

/// Defines, in the module it is invoked in, helpers that build sockets of
/// that module's `net` and `unix`.
macro_rules! helpers {
    () => {
        #[allow(dead_code)]
        fn tcp_pair() -> (net::TcpStream, net::TcpStream) {
            let l = net::TcpListener::bind("127.0.0.1:0").unwrap();
            let c = net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (s, _) = l.accept().unwrap();
            (c, s)
        }

        #[allow(dead_code)]
        fn unix_pair() -> (unix::UnixStream, unix::UnixStream) {
            unix::UnixStream::pair().unwrap()
        }

        #[allow(dead_code)]
        fn udp() -> net::UdpSocket {
            net::UdpSocket::bind("127.0.0.1:0").unwrap()
        }
    };
}

/// Defines a test running `$body` against std and verde. In the body,
/// `net` and `unix` name the implementation under test.
macro_rules! parity {
    ($(#[$meta:meta])* fn $name:ident($log:ident) $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            // Against std, conversions from std types are identities.
            #[allow(unused_imports, clippy::useless_conversion)]
            mod with_std {
                use super::*;
                pub use std::net;
                pub use std::os::unix::net as unix;
                helpers!();
                pub fn run($log: &mut Log) $body
            }
            #[allow(unused_imports)]
            mod with_verde {
                use super::*;
                pub use verde_net as net;
                pub use verde_net::unix;
                helpers!();
                pub fn run($log: &mut Log) $body
            }
            compare(stringify!($name), with_std::run, with_verde::run);
        }
    };
}

/// The shutdown scenario for one kind of stream: `$c` and `$s` are the two
/// ends of a fresh connection.
macro_rules! stream_shutdowns {
    ($log:ident, $tag:literal, $pair:expr) => {{
        // Shutdown(Write): writes fail, reads still work, the peer sees EOF.
        let (mut c, mut s) = $pair;
        $log.r(concat!($tag, " shutdown(Write)"), c.shutdown(Shutdown::Write));
        $log.r(concat!($tag, " shutdown(Write) again"), c.shutdown(Shutdown::Write));
        $log.r(concat!($tag, " write after shutdown(Write)"), c.write(b"late"));
        $log.r(concat!($tag, " write_vectored after shutdown(Write)"), c.write_vectored(&[IoSlice::new(b"late")]));
        $log.r(concat!($tag, " peer reads EOF"), s.read(&mut [0; 8]));
        $log.r(concat!($tag, " peer reads EOF again"), s.read(&mut [0; 8]));
        s.write_all(b"reply").unwrap();
        let mut reply = [0; 5];
        $log.r(concat!($tag, " read after shutdown(Write)"), c.read_exact(&mut reply).map(|()| reply));
        drop(s);
        $log.r(concat!($tag, " read after the peer closed"), c.read(&mut [0; 8]));
        $log.r(concat!($tag, " read after the peer closed, again"), c.read(&mut [0; 8]));

        // Shutdown(Read): queued data first, then EOF; writes still work.
        let (mut c, mut s) = $pair;
        s.write_all(b"queued").unwrap();
        let mut buf = [0; 6];
        c.read_exact(&mut buf[..1]).unwrap();
        $log.r(concat!($tag, " shutdown(Read)"), c.shutdown(Shutdown::Read));
        let mut buf = [0; 16];
        $log.r(concat!($tag, " read after shutdown(Read)"), c.read(&mut buf).map(|n| buf[..n].to_vec()));
        $log.r(concat!($tag, " read after shutdown(Read), drained"), c.read(&mut buf));
        $log.r(concat!($tag, " read after shutdown(Read), again"), c.read(&mut buf));
        $log.r(concat!($tag, " write after shutdown(Read)"), c.write(b"out"));
        let mut out = [0; 3];
        $log.r(concat!($tag, " peer reads it"), s.read_exact(&mut out).map(|()| out));

        // Shutdown(Both).
        let (mut c, mut s) = $pair;
        $log.r(concat!($tag, " shutdown(Both)"), c.shutdown(Shutdown::Both));
        $log.r(concat!($tag, " read after shutdown(Both)"), c.read(&mut [0; 8]));
        $log.r(concat!($tag, " write after shutdown(Both)"), c.write(b"x"));
        $log.r(concat!($tag, " peer reads EOF after shutdown(Both)"), s.read(&mut [0; 8]));
        $log.r(concat!($tag, " shutdown(Read) after shutdown(Both)"), c.shutdown(Shutdown::Read));
    }};
}

parity! {
    fn shutdown_read_write_and_both(log) {
        stream_shutdowns!(log, "tcp", tcp_pair());
        stream_shutdowns!(log, "unix", unix_pair());
    }
}

parity! {
    fn tcp_peek_after_shutdown(log) {
        let (c, mut s) = tcp_pair();
        s.write_all(b"peek").unwrap();
        let mut buf = [0; 8];
        while c.peek(&mut buf).unwrap() < 4 {}
        log.r("shutdown(Read)", c.shutdown(Shutdown::Read));
        log.r("peek sees the queued data", c.peek(&mut buf).map(|n| buf[..n].to_vec()));
        log.r("read it", (&c).read(&mut buf).map(|n| buf[..n].to_vec()));
        log.r("peek at EOF", c.peek(&mut buf));
        let (c, s) = tcp_pair();
        drop(s);
        log.r("peek after the peer closed", c.peek(&mut buf));
        log.r("shutdown(Both) after the peer closed", c.shutdown(Shutdown::Both));
        log.r("peek after shutdown(Both)", c.peek(&mut buf));
    }
}

parity! {
    fn write_to_a_closed_peer(log) {
        // Unix: the first write fails with EPIPE.
        let (mut a, b) = unix_pair();
        drop(b);
        log.r("unix write", a.write(b"nobody"));
        log.r("unix write_vectored", a.write_vectored(&[IoSlice::new(b"nobody")]));
        log.r("unix read", a.read(&mut [0; 4]));
        // TCP: the first write is queued (the peer's RST comes back for
        // it); a later one fails with EPIPE or ECONNRESET depending on when
        // the RST is seen, the same race in both.
        let (mut c, s) = tcp_pair();
        drop(s);
        log.r("tcp read at EOF", c.read(&mut [0; 4]));
        log.r("tcp first write", c.write(b"first"));
        let err = loop {
            if let Err(e) = c.write(b"more") {
                break e;
            }
        };
        log.v("tcp later write fails as a reset or broken pipe",
            matches!(err.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset));
    }
}

parity! {
    fn zero_timeouts_and_timeout_getters(log) {
        let (c, _s) = tcp_pair();
        let (a, _b) = unix_pair();
        let (d, _e) = unix::UnixDatagram::pair().unwrap();
        let u = udp();
        macro_rules! timeouts {
            ($tag:literal, $sock:expr) => {
                let s = &$sock;
                log.r(concat!($tag, " initial read_timeout"), s.read_timeout());
                log.r(concat!($tag, " initial write_timeout"), s.write_timeout());
                s.set_read_timeout(Some(Duration::from_millis(1500))).unwrap();
                s.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
                log.r(concat!($tag, " zero read timeout"), s.set_read_timeout(Some(Duration::ZERO)));
                log.r(concat!($tag, " zero write timeout"), s.set_write_timeout(Some(Duration::ZERO)));
                log.r(concat!($tag, " read_timeout kept"), s.read_timeout());
                log.r(concat!($tag, " write_timeout kept"), s.write_timeout());
                for t in [Duration::from_nanos(1), Duration::from_micros(1), Duration::from_millis(1), Duration::new(7, 250_000_000), Duration::MAX] {
                    s.set_read_timeout(Some(t)).unwrap();
                    s.set_write_timeout(Some(t)).unwrap();
                    log.r(&format!("{} read_timeout after {t:?}", $tag), s.read_timeout());
                    log.r(&format!("{} write_timeout after {t:?}", $tag), s.write_timeout());
                }
                log.r(concat!($tag, " clear read timeout"), s.set_read_timeout(None));
                log.r(concat!($tag, " clear write timeout"), s.set_write_timeout(None));
                log.r(concat!($tag, " read_timeout cleared"), s.read_timeout());
                log.r(concat!($tag, " write_timeout cleared"), s.write_timeout());
            };
        }
        timeouts!("tcp", c);
        timeouts!("udp", u);
        timeouts!("unix stream", a);
        timeouts!("unix datagram", d);
        log.r("connect_timeout zero", net::TcpStream::connect_timeout(&c.local_addr().unwrap(), Duration::ZERO).map(|_| ()));
    }
}

parity! {
    fn read_timeouts_expire_with_would_block(log) {
        let (mut c, _s) = tcp_pair();
        c.set_read_timeout(Some(SHORT)).unwrap();
        log.r("tcp read", c.read(&mut [0; 8]));
        log.r("tcp peek", c.peek(&mut [0; 8]));
        log.r("tcp read_vectored", c.read_vectored(&mut [IoSliceMut::new(&mut [0; 8])]));
        log.r("tcp read_exact", c.read_exact(&mut [0; 8]));
        let u = udp();
        u.set_read_timeout(Some(SHORT)).unwrap();
        log.r("udp recv_from", u.recv_from(&mut [0; 8]).map(|_| ()));
        log.r("udp peek_from", u.peek_from(&mut [0; 8]).map(|_| ()));
        u.connect(u.local_addr().unwrap()).unwrap();
        log.r("udp recv", u.recv(&mut [0; 8]));
        log.r("udp peek", u.peek(&mut [0; 8]));
        let (mut a, _b) = unix_pair();
        a.set_read_timeout(Some(SHORT)).unwrap();
        log.r("unix stream read", a.read(&mut [0; 8]));
        log.r("unix stream read_vectored", a.read_vectored(&mut [IoSliceMut::new(&mut [0; 8])]));
        let (d, _e) = unix::UnixDatagram::pair().unwrap();
        d.set_read_timeout(Some(SHORT)).unwrap();
        log.r("unix datagram recv", d.recv(&mut [0; 8]));
        log.r("unix datagram recv_from", d.recv_from(&mut [0; 8]).map(|_| ()));
        // The timeout applies to each call, and the socket still works.
        let (mut c, mut s) = tcp_pair();
        c.set_read_timeout(Some(SHORT)).unwrap();
        log.r("tcp read before data", c.read(&mut [0; 8]));
        s.write_all(b"late").unwrap();
        c.set_read_timeout(Some(GUARD)).unwrap();
        let mut buf = [0; 4];
        log.r("tcp read after data", c.read_exact(&mut buf).map(|()| buf));
    }
}

parity! {
    fn nonblocking_mode_and_clones(log) {
        // TcpListener: accept says WouldBlock; accepted streams block.
        let l = net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let l2 = l.try_clone().unwrap();
        log.r("listener set_nonblocking", l.set_nonblocking(true));
        log.r("accept", l.accept().map(|_| ()));
        log.r("accept on the clone", l2.accept().map(|_| ()));
        log.r("incoming on the clone", l2.incoming().next().unwrap().map(|_| ()));
        let mut c = net::TcpStream::connect(addr).unwrap();
        let (mut s, _) = loop {
            match l.accept() {
                Ok(p) => break p,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(Duration::from_millis(1)),
                Err(e) => panic!("{e}"),
            }
        };
        s.set_read_timeout(Some(GUARD)).unwrap();
        let mut w = c.try_clone().unwrap();
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            w.write_all(b"a").unwrap();
        });
        let mut one = [0; 1];
        log.r("an accepted stream blocks", s.read_exact(&mut one).map(|()| one));
        writer.join().unwrap();

        // TcpStream: read, peek, vectored read; a clone shares the mode.
        let s2 = s.try_clone().unwrap();
        log.r("stream set_nonblocking", s.set_nonblocking(true));
        log.r("read", s.read(&mut [0; 4]));
        log.r("peek", s.peek(&mut [0; 4]));
        log.r("read_vectored", s.read_vectored(&mut [IoSliceMut::new(&mut [0; 4])]));
        log.r("read on the clone", (&s2).read(&mut [0; 4]));
        log.r("clone back to blocking", s2.set_nonblocking(false));
        let mut w = c.try_clone().unwrap();
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            w.write_all(b"b").unwrap();
        });
        log.r("the original blocks again", s.read_exact(&mut one).map(|()| one));
        writer.join().unwrap();
        c.set_nonblocking(true).unwrap();
        let chunk = vec![0u8; 1 << 16];
        let err = loop {
            if let Err(e) = c.write(&chunk) {
                break e;
            }
        };
        log.r("a full send buffer", Err::<(), _>(err));

        // UdpSocket.
        let u = udp();
        let u2 = u.try_clone().unwrap();
        u2.set_nonblocking(true).unwrap();
        log.r("udp recv_from", u.recv_from(&mut [0; 4]).map(|_| ()));
        log.r("udp peek_from", u.peek_from(&mut [0; 4]).map(|_| ()));
        u.connect(u.local_addr().unwrap()).unwrap();
        log.r("udp recv", u.recv(&mut [0; 4]));
        log.r("udp peek", u2.peek(&mut [0; 4]));

        // Unix sockets.
        let ul = unix::UnixListener::bind(log.path("l.sock")).unwrap();
        ul.set_nonblocking(true).unwrap();
        log.r("unix accept", ul.accept().map(|_| ()));
        log.r("unix incoming", ul.incoming().next().unwrap().map(|_| ()));
        let (a, _b) = unix_pair();
        let a2 = a.try_clone().unwrap();
        a2.set_nonblocking(true).unwrap();
        log.r("unix stream read", (&a).read(&mut [0; 4]));
        let (d, _e) = unix::UnixDatagram::pair().unwrap();
        d.set_nonblocking(true).unwrap();
        log.r("unix datagram recv", d.try_clone().unwrap().recv(&mut [0; 4]));
        log.r("unix datagram recv_from", d.recv_from(&mut [0; 4]).map(|_| ()));
    }
}

parity! {
    fn address_and_connection_errors(log) {
        let l = net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        log.r("tcp bind in use", net::TcpListener::bind(addr).map(|_| ()));
        let u = udp();
        log.r("udp bind in use", net::UdpSocket::bind(u.local_addr().unwrap()).map(|_| ()));
        let refused = closed_port();
        log.r("connect refused", net::TcpStream::connect(refused).map(|_| ()));
        log.r("connect_timeout refused", net::TcpStream::connect_timeout(&refused, GUARD).map(|_| ()));
        log.r("connect_timeout zero", net::TcpStream::connect_timeout(&addr, Duration::ZERO).map(|_| ()));
        let none: &[SocketAddr] = &[];
        log.r("connect to no address", net::TcpStream::connect(none).map(|_| ()));
        log.r("bind to no address", net::TcpListener::bind(none).map(|_| ()));
        log.r("udp bind to no address", net::UdpSocket::bind(none).map(|_| ()));
        log.r("udp connect to no address", u.connect(none));
        log.r("udp send_to no address", u.send_to(b"x", none));
        log.r("connect without a port", net::TcpStream::connect("127.0.0.1").map(|_| ()));
        log.r("connect to a bad port", net::TcpStream::connect("127.0.0.1:http").map(|_| ()));
        log.r("bind to port 70000", net::TcpListener::bind("127.0.0.1:70000").map(|_| ()));
        log.r("connect to the last refused, first good", net::TcpStream::connect(&[refused, addr][..]).map(|s| s.peer_addr().unwrap() == addr));
        log.r("connect to refused twice", net::TcpStream::connect(&[refused, refused][..]).map(|_| ()));

        // Unix.
        let path = log.path("taken.sock");
        let ul = unix::UnixListener::bind(&path).unwrap();
        log.r("unix listener bind in use", unix::UnixListener::bind(&path).map(|_| ()));
        log.r("unix datagram bind in use", unix::UnixDatagram::bind(&path).map(|_| ()));
        std::fs::write(log.path("file"), b"").unwrap();
        log.r("unix bind over a file", unix::UnixListener::bind(log.path("file")).map(|_| ()));
        log.r("unix bind in a missing directory", unix::UnixListener::bind(log.path("no/such.sock")).map(|_| ()));
        log.r("unix connect to a missing path", unix::UnixStream::connect(log.path("missing.sock")).map(|_| ()));
        log.r("unix connect to a file", unix::UnixStream::connect(log.path("file")).map(|_| ()));
        log.r("unix connect with a NUL", unix::UnixStream::connect("a\0b").map(|_| ()));
        log.r("unix connect to an empty path", unix::UnixStream::connect("").map(|_| ()));
        log.r("unix connect to a long path", unix::UnixStream::connect("x".repeat(200)).map(|_| ()));
        log.r("unix connect to a datagram socket", {
            let dpath = log.path("dgram.sock");
            let _d = unix::UnixDatagram::bind(&dpath).unwrap();
            unix::UnixStream::connect(&dpath).map(|_| ())
        });
        drop(ul);
        log.r("unix connect to a closed listener", unix::UnixStream::connect(&path).map(|_| ()));
        let d = unix::UnixDatagram::unbound().unwrap();
        log.r("unix datagram send_to a missing path", d.send_to(b"x", log.path("missing.sock")));
        log.r("unix datagram send unconnected", d.send(b"x"));
        log.r("unix datagram connect to a missing path", d.connect(log.path("missing.sock")));
    }
}

parity! {
    fn udp_datagrams(log) {
        let a = udp();
        let b = udp();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        a.set_read_timeout(Some(GUARD)).unwrap();
        b.set_read_timeout(Some(GUARD)).unwrap();
        log.r("peer_addr unconnected", a.peer_addr());
        log.r("send unconnected", a.send(b"x"));
        log.r("connect", a.connect(b_addr));
        log.r("peer_addr connected", a.peer_addr().map(|p| p == b_addr));
        log.r("send", a.send(b"0123456789"));
        let mut buf = [0; 16];
        log.r("peek_from", b.peek_from(&mut buf).map(|(n, from)| (buf[..n].to_vec(), from == a_addr)));
        let mut small = [0; 4];
        log.r("recv_from into a small buffer", b.recv_from(&mut small).map(|(n, from)| (small[..n].to_vec(), from == a_addr)));
        log.r("send an empty datagram", a.send(b""));
        log.r("send another", a.send(b"next"));
        log.r("recv the empty datagram", b.recv_from(&mut buf).map(|(n, _)| n));
        log.r("zero-length recv consumes a datagram", b.recv_from(&mut []).map(|(n, _)| n));
        log.r("send_to a datagram too large", b.send_to(&vec![0u8; 70_000], a_addr));
        log.r("send a datagram too large", a.send(&vec![0u8; 70_000]));
        log.r("send_to the largest datagram", b.send_to(&vec![1u8; 65_507], a_addr));
        let mut big = vec![0; 70_000];
        log.r("recv it", a.recv(&mut big));
        // A connected socket takes datagrams only from its peer.
        let c = udp();
        c.send_to(b"stranger", a_addr).unwrap();
        b.send_to(b"peer", a_addr).unwrap();
        log.r("recv from the peer only", a.recv(&mut buf).map(|n| buf[..n].to_vec()));
        // Sending to a closed port: the ICMP error comes back on recv.
        let d = udp();
        d.set_read_timeout(Some(GUARD)).unwrap();
        d.connect(closed_port()).unwrap();
        log.r("send to a closed port", d.send(b"anyone?"));
        log.r("recv after it", d.recv(&mut buf));
        log.r("take_error after it", d.take_error().map(|e| e.map(|e| e.raw_os_error())));
        // Options.
        log.r("broadcast", a.broadcast());
        log.r("set_broadcast", a.set_broadcast(true));
        log.r("broadcast set", a.broadcast());
        log.r("ttl", a.ttl());
        log.r("set_ttl", a.set_ttl(200));
        log.r("ttl set", a.ttl());
        log.r("set_ttl 256", a.set_ttl(256));
        log.r("multicast_ttl_v4", a.multicast_ttl_v4());
        log.r("multicast_loop_v4", a.multicast_loop_v4());
        log.r("multicast_loop_v6 on v4", a.multicast_loop_v6().map(|_| ()));
        log.r("take_error", a.take_error().map(|e| e.is_some()));
    }
}

parity! {
    fn take_error_after_a_failed_nonblocking_connect(log) {
        let refused = closed_port();
        let std_sock = {
            // std has no non-blocking connect: make one by hand.
            // SAFETY: plain socket(2) call; the fd is owned below.
            let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
            assert!(fd >= 0);
            // SAFETY: `fd` is a fresh socket nobody else owns.
            unsafe { OwnedFd::from_raw_fd(fd) }
        };
        let addr = match refused {
            SocketAddr::V4(a) => a,
            SocketAddr::V6(_) => unreachable!(),
        };
        let sin = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: addr.port().to_be(),
            sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(addr.ip().octets()) },
            sin_zero: [0; 8],
        };
        // SAFETY: a valid sockaddr_in and its size.
        let r = unsafe {
            libc::connect(std_sock.as_raw_fd(), std::ptr::from_ref(&sin).cast(), std::mem::size_of_val(&sin) as libc::socklen_t)
        };
        assert!(r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EINPROGRESS));
        let mut pfd = libc::pollfd { fd: std_sock.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
        // SAFETY: one valid pollfd.
        assert_eq!(unsafe { libc::poll(&mut pfd, 1, 5000) }, 1);
        let s = net::TcpStream::from(std_sock);
        log.r("take_error", s.take_error().map(|e| e.map(|e| (e.kind(), e.raw_os_error()))));
        log.r("take_error again", s.take_error().map(|e| e.map(|e| e.raw_os_error())));
        log.r("peer_addr", s.peer_addr());
        log.r("local_addr", s.local_addr().map(|a| a.ip()));
        log.r("read", (&s).read(&mut [0; 4]));
        log.r("write", (&s).write(b"x"));
        log.r("shutdown", s.shutdown(Shutdown::Both));

        // A socket that was never connected.
        // SAFETY: plain socket(2) call; the fd is owned below.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        assert!(fd >= 0);
        // SAFETY: `fd` is a fresh socket nobody else owns.
        let s = unsafe { net::TcpStream::from_raw_fd(fd) };
        log.r("unconnected peer_addr", s.peer_addr());
        log.r("unconnected local_addr", s.local_addr());
        log.r("unconnected take_error", s.take_error().map(|e| e.is_some()));
        log.r("unconnected read", (&s).read(&mut [0; 4]));
        log.r("unconnected write", (&s).write(b"x"));
        log.r("unconnected shutdown", s.shutdown(Shutdown::Both));
        let d = unix::UnixDatagram::unbound().unwrap();
        log.r("unbound unix datagram peer_addr", d.peer_addr().map(|a| format!("{a:?}")));
        log.r("unbound unix datagram local_addr", d.local_addr().map(|a| format!("{a:?}")));
    }
}

parity! {
    fn zero_length_reads_and_writes(log) {
        // With data queued, a zero-length read returns 0 at once.
        let (mut c, mut s) = tcp_pair();
        s.write_all(b"abc").unwrap();
        while c.peek(&mut [0; 3]).unwrap() < 3 {}
        log.r("tcp read(&mut []) with data", c.read(&mut []));
        log.r("tcp peek(&mut []) with data", c.peek(&mut []));
        log.r("tcp read_vectored(&mut []) with data", c.read_vectored(&mut []));
        log.r("tcp write(&[])", c.write(&[]));
        log.r("tcp write_vectored(&[])", c.write_vectored(&[]));
        log.r("tcp write_vectored(&[empty])", c.write_vectored(&[IoSlice::new(&[])]));
        // Drain with a short read, then ask for nothing: a vectored read
        // with no buffers returns at once in std (readv of no bytes).
        let mut buf = [0; 8];
        log.r("tcp short read", c.read(&mut buf).map(|n| buf[..n].to_vec()));
        log.r("tcp read_vectored(&mut []) drained", c.read_vectored(&mut []));
        log.r("tcp read_vectored(&mut [empty]) drained", c.read_vectored(&mut [IoSliceMut::new(&mut [])]));
        // A zero-length recv with nothing queued waits like any read,
        // until the read timeout.
        c.set_read_timeout(Some(SHORT)).unwrap();
        log.r("tcp read(&mut []) drained", c.read(&mut []));
        log.r("tcp peek(&mut []) drained", c.peek(&mut []));
        drop(s);
        c.set_read_timeout(Some(GUARD)).unwrap();
        log.r("tcp read(&mut []) at EOF", c.read(&mut []));

        let (mut a, mut b) = unix_pair();
        log.r("unix write(&[])", a.write(&[]));
        log.r("unix write_vectored(&[])", a.write_vectored(&[]));
        log.r("unix read_vectored(&mut []) empty", a.read_vectored(&mut []));
        b.write_all(b"xyz").unwrap();
        let mut buf = [0; 8];
        log.r("unix short read", a.read(&mut buf).map(|n| buf[..n].to_vec()));
        a.set_read_timeout(Some(SHORT)).unwrap();
        log.r("unix read(&mut []) drained", a.read(&mut []));
        log.r("unix read_vectored(&mut []) drained", a.read_vectored(&mut []));
        b.write_all(b"q").unwrap();
        a.set_read_timeout(Some(GUARD)).unwrap();
        log.r("unix read(&mut []) with data", a.read(&mut []));
        drop(b);
        log.r("unix read(&mut []) at EOF", a.read(&mut []));

        let (d, e) = unix::UnixDatagram::pair().unwrap();
        log.r("unix datagram send(&[])", d.send(&[]));
        e.set_read_timeout(Some(GUARD)).unwrap();
        log.r("unix datagram recv empty", e.recv(&mut [0; 4]));
        e.set_read_timeout(Some(SHORT)).unwrap();
        log.r("unix datagram recv(&mut []) with nothing", e.recv(&mut []));
    }
}

parity! {
    fn vectored_io(log) {
        let (mut c, mut s) = tcp_pair();
        let (mut a, mut b) = unix_pair();
        macro_rules! vectored {
            ($tag:literal, $w:expr, $r:expr) => {
                log.r(concat!($tag, " write_vectored"), $w.write_vectored(&[IoSlice::new(b"abc"), IoSlice::new(b""), IoSlice::new(b"defg")]));
                let (mut x, mut y, mut z) = ([0; 3], [0; 0], [0; 4]);
                let n = $r.read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y), IoSliceMut::new(&mut z)]);
                log.r(concat!($tag, " read_vectored"), n.map(|n| (n, x, z)));
                log.r(concat!($tag, " write_vectored of empty slices"), $w.write_vectored(&[IoSlice::new(b""), IoSlice::new(b"")]));
                log.r(concat!($tag, " write_vectored of no slices"), $w.write_vectored(&[]));
            };
        }
        vectored!("tcp", c, s);
        vectored!("unix", a, b);
    }
}

parity! {
    fn shared_references_and_incoming(log) {
        let (a, b) = unix_pair();
        log.r("write through &UnixStream", (&a).write(b"ref"));
        log.r("flush through &UnixStream", (&a).flush());
        let mut buf = [0; 3];
        log.r("read through &UnixStream", (&b).read_exact(&mut buf).map(|()| buf));
        let (c, s) = tcp_pair();
        log.r("write through &TcpStream", (&c).write(b"ref"));
        log.r("flush through &TcpStream", (&c).flush());
        log.r("read through &TcpStream", (&s).read_exact(&mut buf).map(|()| buf));

        let path = log.path("incoming.sock");
        let l = unix::UnixListener::bind(&path).unwrap();
        let clients: Vec<_> = (0..2).map(|_| unix::UnixStream::connect(&path).unwrap()).collect();
        let mut n = 0;
        for s in &l {
            let s = s.unwrap();
            log.r("accepted local_addr", s.local_addr().map(|a| a.as_pathname() == Some(path.as_path())));
            log.r("accepted peer_addr", s.peer_addr().map(|a| format!("{a:?}")));
            n += 1;
            if n == 2 {
                break;
            }
        }
        log.r("incoming then accept", {
            let _c = unix::UnixStream::connect(&path).unwrap();
            l.incoming().next().unwrap().map(|_| ())
        });
        drop(clients);

        let tl = net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _c = net::TcpStream::connect(tl.local_addr().unwrap()).unwrap();
        log.r("tcp incoming", tl.incoming().next().unwrap().map(|s| s.local_addr().unwrap() == tl.local_addr().unwrap()));
    }
}

parity! {
    fn unix_addresses(log) {
        let (a, b) = unix_pair();
        log.r("pair local_addr", a.local_addr().map(|x| (x.is_unnamed(), x.as_pathname().map(PathBuf::from))));
        log.r("pair peer_addr", b.peer_addr().map(|x| (x.is_unnamed(), x.as_pathname().map(PathBuf::from))));
        let path = log.path("named.sock");
        let l = unix::UnixListener::bind(&path).unwrap();
        log.r("listener local_addr", l.local_addr().map(|x| x.as_pathname() == Some(path.as_path())));
        log.r("listener take_error", l.take_error().map(|e| e.is_some()));
        let c = unix::UnixStream::connect(&path).unwrap();
        log.r("client peer_addr", c.peer_addr().map(|x| x.as_pathname() == Some(path.as_path())));
        log.r("client local_addr", c.local_addr().map(|x| x.is_unnamed()));
        // An empty path: the kernel picks an abstract name (autobind).
        use std::os::linux::net::SocketAddrExt;
        let d = unix::UnixDatagram::bind("").unwrap();
        log.r("autobound datagram", d.local_addr().map(|x| x.as_abstract_name().map(<[u8]>::len)));
        let name = format!("verde-parity-{}-{}", std::process::id(), log.dir.display());
        let addr = unix::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let al = unix::UnixListener::bind_addr(&addr).unwrap();
        log.r("abstract listener", al.local_addr().map(|x| x.as_abstract_name() == Some(name.as_bytes())));
        log.r("abstract bind in use", unix::UnixListener::bind_addr(&addr).map(|_| ()));
        let ac = unix::UnixStream::connect_addr(&addr).unwrap();
        log.r("abstract client peer_addr", ac.peer_addr().map(|x| x.as_abstract_name() == Some(name.as_bytes())));
        let unnamed = c.local_addr().unwrap();
        log.r("bind_addr unnamed", unix::UnixDatagram::bind_addr(&unnamed).map(|x| x.local_addr().unwrap().as_abstract_name().map(<[u8]>::len)));
        log.r("connect_addr unnamed", unix::UnixStream::connect_addr(&unnamed).map(|_| ()));
        let dg = unix::UnixDatagram::bind(log.path("d.sock")).unwrap();
        let (x, _y) = unix::UnixDatagram::pair().unwrap();
        log.r("send_to_addr a path", x.send_to_addr(b"hi", &dg.local_addr().unwrap()));
        let mut buf = [0; 4];
        log.r("recv_from an unnamed pair", dg.recv_from(&mut buf).map(|(n, from)| (n, from.is_unnamed())));
        log.r("send_to_addr unnamed", x.send_to_addr(b"hi", &unnamed));
    }
}

parity! {
    fn conversions_keep_the_mode_and_timeouts(log) {
        for nonblocking in [false, true] {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let std_c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (std_s, _) = l.accept().unwrap();
            std_c.set_nonblocking(nonblocking).unwrap();
            std_c.set_read_timeout(Some(SHORT)).unwrap();
            let mut c = net::TcpStream::from(std_c);
            log.r("read_timeout after From<std>", c.read_timeout());
            log.r("read after From<std>", c.read(&mut [0; 4]));
            let back = std::net::TcpStream::from(OwnedFd::from(c));
            log.v("O_NONBLOCK back in std", fd_nonblocking(&back));
            log.r("read_timeout back in std", back.read_timeout());
            // SAFETY: `into_raw_fd` releases an open socket we now own.
            let mut c = unsafe { net::TcpStream::from_raw_fd(back.into_raw_fd()) };
            log.r("read after from_raw_fd", c.read(&mut [0; 4]));
            c.set_nonblocking(!nonblocking).unwrap();
            let raw = c.into_raw_fd();
            // SAFETY: as above.
            let back = unsafe { std::net::TcpStream::from_raw_fd(raw) };
            log.v("O_NONBLOCK after set_nonblocking and into_raw_fd", fd_nonblocking(&back));
            drop(std_s);

            let std_u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            std_u.set_nonblocking(nonblocking).unwrap();
            std_u.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
            let u = net::UdpSocket::from(OwnedFd::from(std_u));
            log.r("udp write_timeout after From<OwnedFd>", u.write_timeout());
            let back: OwnedFd = u.into();
            log.v("udp O_NONBLOCK back", fd_nonblocking(&back));

            let (std_a, _std_b) = std::os::unix::net::UnixStream::pair().unwrap();
            std_a.set_nonblocking(nonblocking).unwrap();
            let a = unix::UnixStream::from(OwnedFd::from(std_a));
            log.r("unix read_timeout", a.read_timeout());
            let back = std::os::unix::net::UnixStream::from(OwnedFd::from(a));
            log.v("unix O_NONBLOCK back", fd_nonblocking(&back));

            let std_l = std::os::unix::net::UnixListener::bind(log.path(&format!("conv-{nonblocking}.sock"))).unwrap();
            std_l.set_nonblocking(nonblocking).unwrap();
            let ul = unix::UnixListener::from(OwnedFd::from(std_l));
            let back = std::os::unix::net::UnixListener::from(OwnedFd::from(ul));
            log.v("unix listener O_NONBLOCK back", fd_nonblocking(&back));

            let (std_d, _std_e) = std::os::unix::net::UnixDatagram::pair().unwrap();
            std_d.set_nonblocking(nonblocking).unwrap();
            let d = unix::UnixDatagram::from(OwnedFd::from(std_d));
            let back = std::os::unix::net::UnixDatagram::from(OwnedFd::from(d));
            log.v("unix datagram O_NONBLOCK back", fd_nonblocking(&back));

            let std_tl = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            std_tl.set_nonblocking(nonblocking).unwrap();
            let tl = net::TcpListener::from(OwnedFd::from(std_tl));
            let back = std::net::TcpListener::from(OwnedFd::from(tl));
            log.v("tcp listener O_NONBLOCK back", fd_nonblocking(&back));
        }
        // The fd traits work through references too.
        let (a, _b) = unix_pair();
        log.v("as_fd and as_raw_fd agree", a.as_fd().as_raw_fd() == a.as_raw_fd());
    }
}

parity! {
    fn std_handles_sharing_the_socket_keep_their_blocking_mode(log) {
        // One clone handed to std code while another lives on: in std both
        // share one open file description, in blocking mode, so the std
        // handle blocks until data arrives.
        let (c, s) = tcp_pair();
        let keep = c.try_clone().unwrap();
        let mut back = std::net::TcpStream::from(OwnedFd::from(c));
        log.v("O_NONBLOCK of a converted clone", fd_nonblocking(&back));
        back.set_read_timeout(Some(GUARD)).unwrap();
        let mut w = s.try_clone().unwrap();
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            w.write_all(b"a").unwrap();
        });
        let mut one = [0; 1];
        log.r("a std read on it blocks until data", back.read_exact(&mut one).map(|()| one));
        writer.join().unwrap();
        // The clone left behind still works in each mode.
        (&s).write_all(b"b").unwrap();
        keep.set_read_timeout(Some(GUARD)).unwrap();
        log.r("the remaining clone reads", (&keep).read_exact(&mut one).map(|()| one));
        keep.set_read_timeout(Some(SHORT)).unwrap();
        log.r("the remaining clone times out", (&keep).read(&mut one));
        log.r("and peeks with a timeout", keep.peek(&mut one));
        keep.set_nonblocking(true).unwrap();
        log.r("the remaining clone in non-blocking mode", (&keep).read(&mut one));
        keep.set_nonblocking(false).unwrap();
        keep.set_read_timeout(Some(GUARD)).unwrap();
        (&s).write_all(b"c").unwrap();
        log.r("and back in blocking mode", (&keep).read_exact(&mut one).map(|()| one));

        // A std socket adopted while another std handle shares its file
        // description: that handle keeps blocking.
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut other = a.try_clone().unwrap();
        let v = unix::UnixStream::from(a);
        log.v("O_NONBLOCK of a shared description after adopting it", fd_nonblocking(&other));
        other.set_read_timeout(Some(GUARD)).unwrap();
        let mut w = b.try_clone().unwrap();
        let writer = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            w.write_all(b"d").unwrap();
        });
        log.r("the other std handle blocks until data", other.read_exact(&mut one).map(|()| one));
        writer.join().unwrap();
        b.write_all(b"e").unwrap();
        v.set_read_timeout(Some(GUARD)).unwrap();
        log.r("the adopted socket reads", (&v).read_exact(&mut one).map(|()| one));
        let mut bufs = [0; 2];
        b.write_all(b"fg").unwrap();
        log.r("and reads vectored", (&v).read_vectored(&mut [IoSliceMut::new(&mut bufs)]));
        log.r("and writes", (&v).write(b"h"));
        log.r("and writes vectored", (&v).write_vectored(&[IoSlice::new(b"i")]));
        let mut two = [0; 2];
        log.r("which the peer reads", b.read_exact(&mut two).map(|()| two));
    }
}

/// `Debug` of a verde socket reads as std's does for the same fd.
#[test]
fn debug_output_matches_std() {
    fn same<S: Debug, V: Debug + From<S>>(s: S) {
        let expected = format!("{s:?}");
        let got = format!("{:?}", V::from(s));
        assert_eq!(got, expected);
    }
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    same::<_, verde_net::TcpStream>(std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap());
    same::<_, verde_net::TcpListener>(l);
    same::<_, verde_net::UdpSocket>(std::net::UdpSocket::bind("127.0.0.1:0").unwrap());
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    same::<_, verde_net::unix::UnixStream>(a);
    let (d, _e) = std::os::unix::net::UnixDatagram::pair().unwrap();
    same::<_, verde_net::unix::UnixDatagram>(d);
    let log = Log::new();
    let path = log.path("debug.sock");
    let ul = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let c = std::os::unix::net::UnixStream::connect(&path).unwrap();
    same::<_, verde_net::unix::UnixStream>(c);
    same::<_, verde_net::unix::UnixListener>(ul);
    same::<_, verde_net::unix::UnixDatagram>(std::os::unix::net::UnixDatagram::unbound().unwrap());
}

/// The public surface: every stable method of std's socket types exists on
/// verde's with the same signature (checked by coercing both to the same
/// function pointer type), and the same traits are implemented.
#[test]
fn api_surface_matches_std() {
    use std::os::unix::net::SocketAddr as UnixAddr;
    use std::panic::{RefUnwindSafe, UnwindSafe};

    fn traits<T>()
    where
        T: Debug + Send + Sync + Unpin + UnwindSafe + RefUnwindSafe,
        T: AsFd + AsRawFd + FromRawFd + IntoRawFd + From<OwnedFd> + Into<OwnedFd>,
    {
    }
    fn stream_traits<T>()
    where
        T: Read + Write,
        for<'a> &'a T: Read + Write,
    {
    }
    fn iter<I: Iterator + Debug>() {}

    macro_rules! surface {
        ($($net:ident)::+ ; $($unix:ident)::+) => {{
            use $($net)::+ as net;
            use $($unix)::+ as unix;
            use net::{TcpListener, TcpStream, UdpSocket};
            use unix::{UnixDatagram, UnixListener, UnixStream};
            use std::net::{Ipv4Addr, Ipv6Addr};
            type R<T> = io::Result<T>;

            traits::<TcpStream>();
            traits::<TcpListener>();
            traits::<UdpSocket>();
            traits::<UnixStream>();
            traits::<UnixListener>();
            traits::<UnixDatagram>();
            stream_traits::<TcpStream>();
            stream_traits::<UnixStream>();
            iter::<net::Incoming<'static>>();
            iter::<unix::Incoming<'static>>();
            let _: fn(&'static UnixListener) -> unix::Incoming<'static> = <&UnixListener as IntoIterator>::into_iter;

            let _: fn(SocketAddr) -> R<TcpStream> = TcpStream::connect::<SocketAddr>;
            let _: fn(&SocketAddr, Duration) -> R<TcpStream> = TcpStream::connect_timeout;
            let _: fn(&TcpStream) -> R<SocketAddr> = TcpStream::peer_addr;
            let _: fn(&TcpStream) -> R<SocketAddr> = TcpStream::local_addr;
            let _: fn(&TcpStream, Shutdown) -> R<()> = TcpStream::shutdown;
            let _: fn(&TcpStream) -> R<TcpStream> = TcpStream::try_clone;
            let _: fn(&TcpStream, Option<Duration>) -> R<()> = TcpStream::set_read_timeout;
            let _: fn(&TcpStream, Option<Duration>) -> R<()> = TcpStream::set_write_timeout;
            let _: fn(&TcpStream) -> R<Option<Duration>> = TcpStream::read_timeout;
            let _: fn(&TcpStream) -> R<Option<Duration>> = TcpStream::write_timeout;
            let _: fn(&TcpStream, &mut [u8]) -> R<usize> = TcpStream::peek;
            let _: fn(&TcpStream, bool) -> R<()> = TcpStream::set_nodelay;
            let _: fn(&TcpStream) -> R<bool> = TcpStream::nodelay;
            let _: fn(&TcpStream, u32) -> R<()> = TcpStream::set_ttl;
            let _: fn(&TcpStream) -> R<u32> = TcpStream::ttl;
            let _: fn(&TcpStream) -> R<Option<io::Error>> = TcpStream::take_error;
            let _: fn(&TcpStream, bool) -> R<()> = TcpStream::set_nonblocking;

            let _: fn(SocketAddr) -> R<TcpListener> = TcpListener::bind::<SocketAddr>;
            let _: fn(&TcpListener) -> R<SocketAddr> = TcpListener::local_addr;
            let _: fn(&TcpListener) -> R<TcpListener> = TcpListener::try_clone;
            let _: fn(&TcpListener) -> R<(TcpStream, SocketAddr)> = TcpListener::accept;
            let _: fn(&'static TcpListener) -> net::Incoming<'static> = TcpListener::incoming;
            let _: fn(&TcpListener, u32) -> R<()> = TcpListener::set_ttl;
            let _: fn(&TcpListener) -> R<u32> = TcpListener::ttl;
            let _: fn(&TcpListener) -> R<Option<io::Error>> = TcpListener::take_error;
            let _: fn(&TcpListener, bool) -> R<()> = TcpListener::set_nonblocking;

            let _: fn(SocketAddr) -> R<UdpSocket> = UdpSocket::bind::<SocketAddr>;
            let _: fn(&UdpSocket, &mut [u8]) -> R<(usize, SocketAddr)> = UdpSocket::recv_from;
            let _: fn(&UdpSocket, &mut [u8]) -> R<(usize, SocketAddr)> = UdpSocket::peek_from;
            let _: fn(&UdpSocket, &[u8], SocketAddr) -> R<usize> = UdpSocket::send_to::<SocketAddr>;
            let _: fn(&UdpSocket) -> R<SocketAddr> = UdpSocket::peer_addr;
            let _: fn(&UdpSocket) -> R<SocketAddr> = UdpSocket::local_addr;
            let _: fn(&UdpSocket) -> R<UdpSocket> = UdpSocket::try_clone;
            let _: fn(&UdpSocket, Option<Duration>) -> R<()> = UdpSocket::set_read_timeout;
            let _: fn(&UdpSocket, Option<Duration>) -> R<()> = UdpSocket::set_write_timeout;
            let _: fn(&UdpSocket) -> R<Option<Duration>> = UdpSocket::read_timeout;
            let _: fn(&UdpSocket) -> R<Option<Duration>> = UdpSocket::write_timeout;
            let _: fn(&UdpSocket, bool) -> R<()> = UdpSocket::set_broadcast;
            let _: fn(&UdpSocket) -> R<bool> = UdpSocket::broadcast;
            let _: fn(&UdpSocket, bool) -> R<()> = UdpSocket::set_multicast_loop_v4;
            let _: fn(&UdpSocket) -> R<bool> = UdpSocket::multicast_loop_v4;
            let _: fn(&UdpSocket, u32) -> R<()> = UdpSocket::set_multicast_ttl_v4;
            let _: fn(&UdpSocket) -> R<u32> = UdpSocket::multicast_ttl_v4;
            let _: fn(&UdpSocket, bool) -> R<()> = UdpSocket::set_multicast_loop_v6;
            let _: fn(&UdpSocket) -> R<bool> = UdpSocket::multicast_loop_v6;
            let _: fn(&UdpSocket, u32) -> R<()> = UdpSocket::set_ttl;
            let _: fn(&UdpSocket) -> R<u32> = UdpSocket::ttl;
            let _: fn(&UdpSocket, &Ipv4Addr, &Ipv4Addr) -> R<()> = UdpSocket::join_multicast_v4;
            let _: fn(&UdpSocket, &Ipv6Addr, u32) -> R<()> = UdpSocket::join_multicast_v6;
            let _: fn(&UdpSocket, &Ipv4Addr, &Ipv4Addr) -> R<()> = UdpSocket::leave_multicast_v4;
            let _: fn(&UdpSocket, &Ipv6Addr, u32) -> R<()> = UdpSocket::leave_multicast_v6;
            let _: fn(&UdpSocket) -> R<Option<io::Error>> = UdpSocket::take_error;
            let _: fn(&UdpSocket, SocketAddr) -> R<()> = UdpSocket::connect::<SocketAddr>;
            let _: fn(&UdpSocket, &[u8]) -> R<usize> = UdpSocket::send;
            let _: fn(&UdpSocket, &mut [u8]) -> R<usize> = UdpSocket::recv;
            let _: fn(&UdpSocket, &mut [u8]) -> R<usize> = UdpSocket::peek;
            let _: fn(&UdpSocket, bool) -> R<()> = UdpSocket::set_nonblocking;

            let _: fn(PathBuf) -> R<UnixStream> = UnixStream::connect::<PathBuf>;
            let _: fn(&UnixAddr) -> R<UnixStream> = UnixStream::connect_addr;
            let _: fn() -> R<(UnixStream, UnixStream)> = UnixStream::pair;
            let _: fn(&UnixStream) -> R<UnixStream> = UnixStream::try_clone;
            let _: fn(&UnixStream) -> R<UnixAddr> = UnixStream::local_addr;
            let _: fn(&UnixStream) -> R<UnixAddr> = UnixStream::peer_addr;
            let _: fn(&UnixStream, Option<Duration>) -> R<()> = UnixStream::set_read_timeout;
            let _: fn(&UnixStream, Option<Duration>) -> R<()> = UnixStream::set_write_timeout;
            let _: fn(&UnixStream) -> R<Option<Duration>> = UnixStream::read_timeout;
            let _: fn(&UnixStream) -> R<Option<Duration>> = UnixStream::write_timeout;
            let _: fn(&UnixStream, bool) -> R<()> = UnixStream::set_nonblocking;
            let _: fn(&UnixStream) -> R<Option<io::Error>> = UnixStream::take_error;
            let _: fn(&UnixStream, Shutdown) -> R<()> = UnixStream::shutdown;

            let _: fn(PathBuf) -> R<UnixListener> = UnixListener::bind::<PathBuf>;
            let _: fn(&UnixAddr) -> R<UnixListener> = UnixListener::bind_addr;
            let _: fn(&UnixListener) -> R<(UnixStream, UnixAddr)> = UnixListener::accept;
            let _: fn(&UnixListener) -> R<UnixListener> = UnixListener::try_clone;
            let _: fn(&UnixListener) -> R<UnixAddr> = UnixListener::local_addr;
            let _: fn(&UnixListener, bool) -> R<()> = UnixListener::set_nonblocking;
            let _: fn(&UnixListener) -> R<Option<io::Error>> = UnixListener::take_error;
            let _: fn(&'static UnixListener) -> unix::Incoming<'static> = UnixListener::incoming;

            let _: fn(PathBuf) -> R<UnixDatagram> = UnixDatagram::bind::<PathBuf>;
            let _: fn(&UnixAddr) -> R<UnixDatagram> = UnixDatagram::bind_addr;
            let _: fn() -> R<UnixDatagram> = UnixDatagram::unbound;
            let _: fn() -> R<(UnixDatagram, UnixDatagram)> = UnixDatagram::pair;
            let _: fn(&UnixDatagram, PathBuf) -> R<()> = UnixDatagram::connect::<PathBuf>;
            let _: fn(&UnixDatagram, &UnixAddr) -> R<()> = UnixDatagram::connect_addr;
            let _: fn(&UnixDatagram) -> R<UnixDatagram> = UnixDatagram::try_clone;
            let _: fn(&UnixDatagram) -> R<UnixAddr> = UnixDatagram::local_addr;
            let _: fn(&UnixDatagram) -> R<UnixAddr> = UnixDatagram::peer_addr;
            let _: fn(&UnixDatagram, &mut [u8]) -> R<(usize, UnixAddr)> = UnixDatagram::recv_from;
            let _: fn(&UnixDatagram, &mut [u8]) -> R<usize> = UnixDatagram::recv;
            let _: fn(&UnixDatagram, &[u8], PathBuf) -> R<usize> = UnixDatagram::send_to::<PathBuf>;
            let _: fn(&UnixDatagram, &[u8], &UnixAddr) -> R<usize> = UnixDatagram::send_to_addr;
            let _: fn(&UnixDatagram, &[u8]) -> R<usize> = UnixDatagram::send;
            let _: fn(&UnixDatagram, Option<Duration>) -> R<()> = UnixDatagram::set_read_timeout;
            let _: fn(&UnixDatagram, Option<Duration>) -> R<()> = UnixDatagram::set_write_timeout;
            let _: fn(&UnixDatagram) -> R<Option<Duration>> = UnixDatagram::read_timeout;
            let _: fn(&UnixDatagram) -> R<Option<Duration>> = UnixDatagram::write_timeout;
            let _: fn(&UnixDatagram, bool) -> R<()> = UnixDatagram::set_nonblocking;
            let _: fn(&UnixDatagram) -> R<Option<io::Error>> = UnixDatagram::take_error;
            let _: fn(&UnixDatagram, Shutdown) -> R<()> = UnixDatagram::shutdown;
        }};
    }
    surface!(std::net; std::os::unix::net);
    surface!(verde_net; verde_net::unix);
}

parity! {
    fn the_fd_shows_the_users_blocking_mode(log) {
        // C code given `as_raw_fd` reads O_NONBLOCK itself: every socket
        // but a listener shows the mode the user set, from creation on.
        let l = net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        let u = net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let (a, b) = unix::UnixStream::pair().unwrap();
        let d = unix::UnixDatagram::unbound().unwrap();
        let (d1, _d2) = unix::UnixDatagram::pair().unwrap();
        let ul = unix::UnixListener::bind(log.path("mode.sock")).unwrap();
        let uc = unix::UnixStream::connect(log.path("mode.sock")).unwrap();
        let (us, _) = ul.accept().unwrap();
        let streams: [(&str, &dyn AsFd); 9] = [
            ("connected tcp", &c),
            ("accepted tcp", &s),
            ("udp", &u),
            ("unix pair", &a),
            ("unix datagram", &d),
            ("unix datagram pair", &d1),
            ("connected unix", &uc),
            ("accepted unix", &us),
            ("unix pair peer", &b),
        ];
        for (name, fd) in streams {
            log.v(&format!("{name}: O_NONBLOCK when new"), fd_nonblocking(&fd));
        }
        c.set_nonblocking(true).unwrap();
        u.set_nonblocking(true).unwrap();
        a.set_nonblocking(true).unwrap();
        d.set_nonblocking(true).unwrap();
        log.v("tcp after set_nonblocking(true)", fd_nonblocking(&c));
        log.v("udp after set_nonblocking(true)", fd_nonblocking(&u));
        log.v("unix after set_nonblocking(true)", fd_nonblocking(&a));
        log.v("unix datagram after set_nonblocking(true)", fd_nonblocking(&d));
        let c2 = c.try_clone().unwrap();
        log.v("a clone shares it", fd_nonblocking(&c2));
        c2.set_nonblocking(false).unwrap();
        log.v("tcp after a clone's set_nonblocking(false)", fd_nonblocking(&c));
    }
}
