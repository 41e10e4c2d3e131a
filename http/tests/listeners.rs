//! Serving beyond a TCP address: a Unix socket path (gunicorn's
//! `--bind unix:PATH`), a listener the caller opened, and sockets passed by
//! systemd socket activation (in child processes, as they change the
//! environment and fds 3 and 4).

mod common;

use std::io::{self, Read};
use std::net::TcpListener as StdTcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener as StdUnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{builder, ChildGuard, Raw, TestServer, LONG};
use verde_http::{ListenAddr, Listener, Request, Response, Server};

#[path = "../../runtime/tests/common/temp_dir.rs"]
mod temp_dir;
use temp_dir::TempDir;

/// Answers with the path and whether the request has a peer address.
fn echo(req: &mut Request<'_>) -> Response {
    let body = req.body().read_all().unwrap_or_default();
    Response::text(format!("{} peer={} body={}", req.path(), req.peer_addr().is_some(), String::from_utf8_lossy(&body)))
}

fn get(c: &mut Raw<UnixStream>, path: &str) -> String {
    c.get(path);
    let r = c.response();
    assert_eq!(r.status, 200);
    r.text()
}

#[test]
fn unix_socket_serves_keep_alive_and_pipelined_requests() {
    let dir = TempDir::new("unix-keepalive");
    let path = dir.path("http.sock");
    let server = builder().bind_unix(&path).unwrap();
    assert_eq!(server.listen_addr().as_unix_path(), Some(path.as_path()));
    assert_eq!(server.listen_addr().to_string(), format!("unix:{}", path.display()));
    assert_eq!(server.local_addr(), "0.0.0.0:0".parse().unwrap(), "no TCP address");
    let _server = TestServer::run(server, echo);

    let mut c = Raw::connect_unix(&path);
    assert_eq!(get(&mut c, "/one"), "/one peer=false body=");
    assert_eq!(get(&mut c, "/two"), "/two peer=false body=", "keep-alive: same connection");
    c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\nPOST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\nHost: t\r\n\r\n");
    let texts: Vec<String> = (0..3).map(|_| c.response().text()).collect();
    assert_eq!(texts, ["/a peer=false body=", "/b peer=false body=xyz", "/c peer=false body="]);
}

#[test]
fn curl_over_the_unix_socket() {
    let dir = TempDir::new("unix-curl");
    let path = dir.path("http.sock");
    let _server = TestServer::run(builder().bind_unix(&path).unwrap(), echo);
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "20", "--unix-socket"])
        .arg(&path)
        .args(["http://localhost/x", "http://localhost/y", "--data", "hi"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run curl (is it installed?): {e}"));
    assert!(out.status.success(), "curl failed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/x peer=false body=hi/y peer=false body=hi");
}

#[test]
fn a_stale_socket_file_is_replaced() {
    let dir = TempDir::new("unix-stale");
    let path = dir.path("http.sock");
    drop(StdUnixListener::bind(&path).unwrap());
    assert!(path.exists(), "closing a listener leaves its socket file");
    let _server = TestServer::run(builder().bind_unix(&path).unwrap(), echo);
    assert_eq!(get(&mut Raw::connect_unix(&path), "/fresh"), "/fresh peer=false body=");
}

#[test]
fn a_socket_someone_listens_on_is_refused() {
    let dir = TempDir::new("unix-live");
    let path = dir.path("http.sock");
    let live = StdUnixListener::bind(&path).unwrap();
    let err = builder().bind_unix(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    assert!(err.to_string().contains(path.to_str().unwrap()), "the error names the path: {err}");
    let _client = UnixStream::connect(&path).expect("the live listener's socket file is left alone");
    live.accept().unwrap();
}

#[test]
fn a_file_that_is_not_a_socket_is_refused() {
    let dir = TempDir::new("unix-regular");
    let path = dir.path("http.sock");
    std::fs::write(&path, "keep me").unwrap();
    let err = builder().bind_unix(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
    assert!(err.to_string().contains(path.to_str().unwrap()), "the error names the path: {err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
}

#[test]
fn the_socket_file_is_gone_after_a_graceful_shutdown() {
    let dir = TempDir::new("unix-shutdown");
    let path = dir.path("http.sock");
    let (entered_tx, entered) = mpsc::sync_channel(1);
    let server = TestServer::run(builder().bind_unix(&path).unwrap(), move |req: &mut Request<'_>| {
        if req.path() == "/slow" {
            let _ = entered_tx.send(());
            verde_runtime::sleep(Duration::from_millis(200));
        }
        Response::text("done")
    });
    let mut idle = Raw::connect_unix(&path);
    assert_eq!(get(&mut idle, "/"), "done");
    let mut busy = Raw::connect_unix(&path);
    busy.get("/slow");
    entered.recv_timeout(LONG).expect("the handler never ran");
    let handle = server.shutdown_handle();
    handle.shutdown();
    let r = busy.response();
    assert_eq!((r.status, r.text().as_str(), r.says_close()), (200, "done", true), "the request in flight finishes");
    idle.expect_closed();
    server.stop();
    assert!(!path.exists(), "serve removes the socket file it created");
}

#[test]
fn a_preopened_std_tcp_listener_serves() {
    let listener = StdTcpListener::bind("127.0.0.1:0").unwrap();
    // The server accepts in blocking style whatever the caller's mode.
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = builder().workers(2).listener(listener).unwrap();
    assert_eq!(server.local_addr(), addr);
    assert!(matches!(server.listen_addr(), ListenAddr::Tcp(a) if *a == addr));
    let _server = TestServer::run(server, echo);
    for i in 0..4 {
        let mut c = Raw::connect(addr);
        c.get(&format!("/{i}"));
        assert_eq!(c.response().text(), format!("/{i} peer=true body="));
    }
}

#[test]
fn a_preopened_unix_listener_serves_and_its_file_stays() {
    let dir = TempDir::new("unix-preopened");
    let path = dir.path("http.sock");
    let server = builder().listener(StdUnixListener::bind(&path).unwrap()).unwrap();
    assert_eq!(server.listen_addr().as_unix_path(), Some(path.as_path()));
    let server = TestServer::run(server, echo);
    assert_eq!(get(&mut Raw::connect_unix(&path), "/std"), "/std peer=false body=");
    server.stop();
    assert!(path.exists(), "the caller's socket file is the caller's to remove");
}

#[test]
fn preopened_verde_listeners_serve() {
    let dir = TempDir::new("verde-preopened");
    let path = dir.path("http.sock");
    let unix = TestServer::run(builder().listener(verde_net::unix::UnixListener::bind(&path).unwrap()).unwrap(), echo);
    assert_eq!(get(&mut Raw::connect_unix(&path), "/unix"), "/unix peer=false body=");
    unix.stop();
    let tcp = verde_net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp.local_addr().unwrap();
    let _tcp = TestServer::run(builder().listener(tcp).unwrap(), echo);
    let mut c = Raw::connect(addr);
    c.get("/tcp");
    assert_eq!(c.response().text(), "/tcp peer=true body=");
}

#[test]
fn a_socket_that_does_not_listen_is_refused() {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let as_listener = verde_net::TcpListener::from(OwnedFd::from(udp));
    let err = builder().listener(as_listener).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("not a stream socket"), "{err}");

    let (stream, _other) = UnixStream::pair().unwrap();
    let as_listener = Listener::from(verde_net::unix::UnixListener::from(OwnedFd::from(stream)));
    let err = builder().listener(as_listener).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("not listening"), "{err}");
}

#[test]
fn two_workers_on_a_unix_socket_serve_200_concurrent_connections() {
    let dir = TempDir::new("unix-many");
    let path = dir.path("http.sock");
    let server = builder().workers(2).bind_unix(&path).unwrap();
    let _server = TestServer::run(server, |req: &mut Request<'_>| {
        Response::text(format!("{} {}", req.path(), std::thread::current().name().unwrap_or("?")))
    });
    // All 200 are open at once before any request is answered.
    let mut clients: Vec<Raw<UnixStream>> = (0..200).map(|_| Raw::connect_unix(&path)).collect();
    let mut workers = std::collections::BTreeMap::<String, usize>::new();
    for round in 0..2 {
        for (i, c) in clients.iter_mut().enumerate() {
            c.get(&format!("/{round}/{i}"));
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let r = c.response();
            let text = r.text();
            let (path, worker) = text.split_once(' ').unwrap();
            assert_eq!((r.status, path), (200, format!("/{round}/{i}").as_str()));
            *workers.entry(worker.to_string()).or_default() += 1;
        }
    }
    assert_eq!(workers.values().sum::<usize>(), 400, "no request lost");
    eprintln!("requests per worker thread: {workers:?}");
}

/// Re-runs this test binary as `sh -c 'LISTEN_PID=$$ exec BIN ...'`, so
/// that LISTEN_PID is the pid the test binary runs as, with `fds` as fds
/// 3, 4, ... and `child` selecting what the child test does.
fn spawn_child(child: &str, fds: &[&dyn AsRawFd]) -> ChildGuard {
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("LISTEN_PID=$$ exec \"$0\" \"$@\"")
        .arg(std::env::current_exe().unwrap())
        .args(["systemd_child", "--exact", "--nocapture", "--test-threads=1"])
        .env("VERDE_SYSTEMD_CHILD", child)
        .env("LISTEN_FDS", raw.len().to_string())
        .env_remove("LISTEN_PID")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec the closure only calls fcntl and dup2,
    // which are async-signal-safe, on fds the parent keeps open.
    unsafe {
        cmd.pre_exec(move || {
            // First out of the way (fds 3.. may be among the sources),
            // then into place, without close-on-exec.
            let mut moved = Vec::with_capacity(raw.len());
            for &fd in &raw {
                let high = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 100);
                if high < 0 {
                    return Err(io::Error::last_os_error());
                }
                moved.push(high);
            }
            for (i, &fd) in moved.iter().enumerate() {
                if libc::dup2(fd, 3 + i as i32) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    ChildGuard(cmd.spawn().expect("spawning the child"))
}

/// Waits for the child to exit and checks it succeeded; returns its output.
fn child_output(mut child: ChildGuard) -> String {
    let mut text = String::new();
    child.0.stdout.take().unwrap().read_to_string(&mut text).unwrap();
    child.0.stderr.take().unwrap().read_to_string(&mut text).unwrap();
    let status = child.0.wait().unwrap();
    assert!(status.success(), "the child failed:\n{text}");
    assert!(text.contains("test result: ok. 1 passed"), "the child test did not run:\n{text}");
    text
}

#[test]
fn systemd_socket_activation_serves_tcp_and_unix() {
    let dir = TempDir::new("systemd");
    let path = dir.path("http.sock");
    let tcp = StdTcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp.local_addr().unwrap();
    let unix = StdUnixListener::bind(&path).unwrap();
    let child = spawn_child("serve", &[&tcp, &unix]);
    // The child accepts on its copies; ours only keep the sockets open.
    let mut c = Raw::connect(addr);
    c.get("/tcp");
    let r = c.response();
    assert_eq!(r.text(), "/tcp listen-vars=none");
    let mut u = Raw::connect_unix(&path);
    assert_eq!(get(&mut u, "/unix"), "/unix listen-vars=none");
    get(&mut u, "/stop");
    let out = child_output(child);
    assert!(out.contains(&format!("listening on {addr} and unix:{}", path.display())), "{out}");
}

#[test]
fn systemd_socket_activation_errors() {
    child_output(spawn_child("errors", &[]));
}

/// The child side of the systemd tests; does nothing in a normal run.
#[test]
fn systemd_child() {
    match std::env::var("VERDE_SYSTEMD_CHILD").as_deref() {
        Ok("serve") => systemd_serve(),
        Ok("errors") => systemd_errors(),
        _ => {}
    }
}

fn systemd_serve() {
    let server = builder().workers(2).bind_systemd().expect("bind_systemd");
    let addrs: Vec<String> = server.listen_addrs().iter().map(ToString::to_string).collect();
    println!("listening on {}", addrs.join(" and "));
    let vars = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"].into_iter().filter(|v| std::env::var_os(v).is_some());
    let vars = vars.collect::<Vec<_>>().join(",");
    let vars = if vars.is_empty() { "none".to_string() } else { vars };
    let handle = server.shutdown_handle();
    server
        .serve(move |req: &mut Request<'_>| {
            if req.path() == "/stop" {
                handle.shutdown();
            }
            Response::text(format!("{} listen-vars={vars}", req.path()))
        })
        .expect("serve");
}

/// Each case sets the variables (and fd 3) itself, then expects
/// bind_systemd to fail with `kind` (when std names the errno's kind) and
/// a message containing `needle`.
fn systemd_errors() {
    let me = std::process::id().to_string();
    let expect = |pid: Option<&str>, fds: Option<&str>, kind: Option<io::ErrorKind>, needle: &str| {
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        if let Some(pid) = pid {
            std::env::set_var("LISTEN_PID", pid);
        }
        if let Some(fds) = fds {
            std::env::set_var("LISTEN_FDS", fds);
        }
        let err = Server::builder().bind_systemd().expect_err("bind_systemd should fail");
        if let Some(kind) = kind {
            assert_eq!(err.kind(), kind, "{pid:?} {fds:?}: {err}");
        }
        assert!(err.to_string().contains(needle), "{pid:?} {fds:?}: {err:?} lacks {needle:?}");
        assert!(std::env::var_os("LISTEN_PID").is_none() && std::env::var_os("LISTEN_FDS").is_none(), "vars left");
    };
    expect(None, None, Some(io::ErrorKind::NotFound), "LISTEN_PID is not set");
    expect(Some("x1"), Some("1"), Some(io::ErrorKind::InvalidData), "LISTEN_PID=\"x1\" is not a number");
    expect(Some("1"), Some("1"), Some(io::ErrorKind::InvalidInput), "another process");
    expect(Some(&me), None, Some(io::ErrorKind::NotFound), "LISTEN_FDS is not set");
    expect(Some(&me), Some("two"), Some(io::ErrorKind::InvalidData), "LISTEN_FDS=\"two\"");
    expect(Some(&me), Some("0"), Some(io::ErrorKind::NotFound), "no sockets were passed");
    // Fd 3 taken first (a copy of stderr), so that no file below lands
    // on it and is closed with its owner.
    // SAFETY: dup2 onto fd 3, which this child does not otherwise use.
    assert!(unsafe { libc::dup2(2, 3) } == 3);
    let put_at_3 = |fd: &dyn AsRawFd| {
        // SAFETY: dup2 onto fd 3, which this child does not otherwise use.
        assert!(unsafe { libc::dup2(fd.as_raw_fd(), 3) } == 3);
    };
    put_at_3(&std::fs::File::open("/dev/null").unwrap());
    expect(Some(&me), Some("1"), None, "fd 3 is not a socket");
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    put_at_3(&udp);
    expect(Some(&me), Some("1"), Some(io::ErrorKind::InvalidInput), "fd 3 is not a stream socket");
    let (stream, _peer) = UnixStream::pair().unwrap();
    put_at_3(&stream);
    expect(Some(&me), Some("1"), Some(io::ErrorKind::InvalidInput), "not listening");
    // SAFETY: closing fd 3, a duplicate this child made.
    unsafe { libc::close(3) };
    expect(Some(&me), Some("1"), None, "fd 3");
}
