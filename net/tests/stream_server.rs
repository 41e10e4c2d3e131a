//! `StreamServer`: gevent's StreamServer over TCP and Unix listeners.

use std::io::{self, ErrorKind, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use verde_net::unix::{UnixListener, UnixStream};
use verde_net::{StreamServer, TcpListener, TcpStream};
use verde_runtime as verde;
use verde_runtime::event::Event;
use verde_runtime::pool::Pool;

#[path = "../../runtime/tests/common/temp_dir.rs"]
mod temp_dir;
use temp_dir::TempDir;

#[path = "common/wait_until.rs"]
mod wait_until;
use wait_until::wait_until;

fn echo(stream: TcpStream) {
    let _ = io::copy(&mut &stream, &mut &stream);
}

/// Sends `msg`, half-closes, and returns everything the server sent back.
fn exchange(addr: std::net::SocketAddr, msg: &[u8]) -> Vec<u8> {
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(msg).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut back = Vec::new();
    c.read_to_end(&mut back).unwrap();
    back
}

#[test]
fn serves_many_clients_at_once_then_stops() {
    let server = StreamServer::bind("127.0.0.1:0", |s, _| echo(s)).unwrap();
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
    assert_eq!(server.connections(), 0);
    assert_eq!(TcpStream::connect(addr).unwrap_err().kind(), ErrorKind::ConnectionRefused);
    // Stopped is final.
    assert_eq!(server.start().unwrap_err().kind(), ErrorKind::InvalidInput);
    server.stop(None);
}

#[test]
fn starting_twice_is_an_error() {
    let server = StreamServer::bind("127.0.0.1:0", |s, _| echo(s)).unwrap();
    server.start().unwrap();
    assert_eq!(server.start().unwrap_err().kind(), ErrorKind::InvalidInput);
    server.stop(None);
}

#[test]
fn a_handler_can_stop_the_server_and_serve_forever_returns() {
    let me: Arc<OnceLock<StreamServer>> = Arc::new(OnceLock::new());
    let finished = Arc::new(AtomicUsize::new(0));
    let (m, f) = (me.clone(), finished.clone());
    let server = StreamServer::bind("127.0.0.1:0", move |mut s: TcpStream, _| {
        let mut cmd = Vec::new();
        s.read_to_end(&mut cmd).unwrap();
        if cmd == b"stop" {
            m.get().unwrap().stop(None);
            // stop returned to its caller, which finishes its reply.
            s.write_all(b"stopping").unwrap();
            f.fetch_add(1, Ordering::SeqCst);
        }
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    me.set(server.clone()).ok().unwrap();
    let client = verde::spawn(move || exchange(addr, b"stop"));
    server.serve_forever().unwrap();
    assert_eq!(client.join().unwrap(), b"stopping");
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    assert!(server.is_closed());
}

#[test]
fn a_pool_bounds_the_handlers_running_at_once() {
    let release = Arc::new(Event::new());
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let (r, n, m, d) = (release.clone(), running.clone(), most.clone(), served.clone());
    let server = StreamServer::bind("127.0.0.1:0", move |mut s: TcpStream, _| {
        let now = n.fetch_add(1, Ordering::SeqCst) + 1;
        m.fetch_max(now, Ordering::SeqCst);
        r.wait(None);
        s.write_all(b"ok").unwrap();
        n.fetch_sub(1, Ordering::SeqCst);
        d.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap()
    .with_pool(Pool::new(2));
    let addr = server.local_addr().unwrap();
    server.start().unwrap();
    let clients: Vec<_> = (0..5).map(|_| verde::spawn(move || exchange(addr, b""))).collect();
    wait_until("two handlers run", || running.load(Ordering::SeqCst) == 2);
    // However long the others wait, the pool lets no third handler in.
    verde::sleep(Duration::from_millis(50));
    assert_eq!(running.load(Ordering::SeqCst), 2);
    assert_eq!(server.connections(), 2);
    release.set();
    for c in clients {
        assert_eq!(c.join().unwrap(), b"ok");
    }
    assert_eq!(served.load(Ordering::SeqCst), 5);
    assert_eq!(most.load(Ordering::SeqCst), 2);
    server.stop(None);
}

/// Counts its drops: a handler's destructors ran.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn stop_waits_for_handlers_that_finish_in_time_and_kills_the_rest() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(Event::new());
    let (d, r) = (dropped.clone(), release.clone());
    let server = StreamServer::bind("127.0.0.1:0", move |mut s: TcpStream, _| {
        let _count = DropCount(d.clone());
        let mut cmd = [0u8; 1];
        s.read_exact(&mut cmd).unwrap();
        if cmd[0] == b'q' {
            r.wait(None);
            s.write_all(b"done").unwrap();
        } else {
            verde::sleep(Duration::from_secs(3600));
        }
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    server.start().unwrap();
    let mut quick = TcpStream::connect(addr).unwrap();
    let mut slow = TcpStream::connect(addr).unwrap();
    quick.write_all(b"q").unwrap();
    slow.write_all(b"s").unwrap();
    wait_until("both handlers run", || server.connections() == 2);
    // The quick handler is let go once the stop has closed the listener,
    // and finishes while the stop waits; the slow one is killed at the
    // timeout.
    let releaser = verde::spawn(move || {
        wait_until("the listener closes", || TcpStream::connect(addr).is_err());
        release.set();
    });
    server.stop(Some(Duration::from_secs(2)));
    releaser.join().unwrap();
    assert_eq!(server.connections(), 0);
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
    let mut reply = Vec::new();
    quick.read_to_end(&mut reply).unwrap();
    assert_eq!(reply, b"done");
    let mut nothing = Vec::new();
    slow.read_to_end(&mut nothing).unwrap();
    assert!(nothing.is_empty());
}

#[test]
fn a_panicking_handler_ends_only_its_connection() {
    let server = StreamServer::bind("127.0.0.1:0", |mut s: TcpStream, _| {
        let mut cmd = Vec::new();
        s.read_to_end(&mut cmd).unwrap();
        if cmd == b"panic" {
            panic!("the handler panics");
        }
        s.write_all(&cmd).unwrap();
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    server.start().unwrap();
    assert_eq!(exchange(addr, b"panic"), b"");
    assert_eq!(exchange(addr, b"still serving"), b"still serving");
    server.stop(None);
}

#[test]
fn killing_serve_forever_stops_the_server() {
    let server = StreamServer::bind("127.0.0.1:0", |s, _| echo(s)).unwrap();
    let addr = server.local_addr().unwrap();
    let s = server.clone();
    let serving = verde::spawn(move || s.serve_forever());
    wait_until("the server starts", || server.is_started());
    assert_eq!(exchange(addr, b"up"), b"up");
    serving.kill();
    assert!(serving.join().unwrap_err().is::<verde::Killed>());
    assert!(server.is_closed());
    assert_eq!(TcpStream::connect(addr).unwrap_err().kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn stopping_a_server_never_started_closes_its_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = StreamServer::new(listener, |s, _| echo(s));
    server.stop(None);
    assert!(server.is_closed());
    assert_eq!(server.local_addr().unwrap_err().kind(), ErrorKind::NotConnected);
    assert_eq!(TcpStream::connect(addr).unwrap_err().kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn serves_a_unix_listener_from_a_plain_thread() {
    let dir = TempDir::new("stream_server");
    let path = dir.path("server.sock");
    let server = StreamServer::new(UnixListener::bind(&path).unwrap(), |s: UnixStream, _| {
        let _ = io::copy(&mut &s, &mut &s);
    });
    assert_eq!(server.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    let p = path.clone();
    let s = server.clone();
    // The server runs on this thread's hub; a plain thread is the client.
    let client = std::thread::spawn(move || {
        let mut c = UnixStream::connect(&p).unwrap();
        c.write_all(b"over unix").unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).unwrap();
        s.stop(None);
        back
    });
    server.serve_forever().unwrap();
    assert_eq!(client.join().unwrap(), b"over unix");
}

#[test]
fn a_closed_server_lets_go_of_its_handler() {
    // What the handler holds (a clone of its own server, say) is dropped
    // with it when the server closes, even while the server is still held.
    let token = Arc::new(());
    let held = token.clone();
    let server = StreamServer::bind("127.0.0.1:0", move |s, _| {
        let _held = &held;
        echo(s);
    })
    .unwrap();
    let addr = server.local_addr().unwrap();
    server.start().unwrap();
    assert_eq!(exchange(addr, b"once"), b"once");
    assert_eq!(Arc::strong_count(&token), 2);
    server.stop(None);
    assert_eq!(Arc::strong_count(&token), 1);
}

#[test]
fn a_listener_that_fails_ends_serve_forever_with_its_error() {
    use std::os::fd::AsRawFd;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let fd = listener.as_raw_fd();
    let server = StreamServer::new(listener, |s, _| echo(s));
    let addr = server.local_addr().unwrap();
    let s = server.clone();
    let serving = verde::spawn(move || s.serve_forever());
    wait_until("the server starts", || server.is_started());
    assert_eq!(exchange(addr, b"up"), b"up");
    // Shut down underneath the server, the listening socket makes accept
    // fail with EINVAL, which no retry cures.
    // SAFETY: `fd` is the server's open listening socket.
    assert_eq!(unsafe { libc::shutdown(fd, libc::SHUT_RDWR) }, 0);
    let err = serving.join().unwrap().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
    assert!(server.is_closed());
    server.stop(None);
}

#[test]
fn a_nonblocking_listener_is_waited_on() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let server = StreamServer::new(listener, |s, _| echo(s));
    let addr = server.local_addr().unwrap();
    server.start().unwrap();
    // Long enough for the acceptor to find nothing to accept.
    verde::sleep(Duration::from_millis(20));
    assert!(server.is_started());
    assert_eq!(exchange(addr, b"first"), b"first");
    assert_eq!(exchange(addr, b"second"), b"second");
    server.stop(None);
}
