//! systemd socket activation: the listening sockets systemd (or any
//! manager speaking its protocol) passes as fds 3, 4, ... with
//! `LISTEN_PID` and `LISTEN_FDS` in the environment, as
//! `sd_listen_fds(3)` takes them.

use std::env;
use std::ffi::OsString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use verde_net::unix::UnixListener;
use verde_net::TcpListener;

use crate::server::listener::{check_listening, Listener};

/// The first passed fd (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;

/// The variables of the protocol, all removed once read.
const VARIABLES: [&str; 3] = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"];

/// Takes the listening sockets passed to this process, removing the
/// `LISTEN_*` variables from the environment whatever the outcome (as
/// `sd_listen_fds(1)` does), so that child processes do not take them too.
pub(crate) fn listeners() -> io::Result<Vec<Listener>> {
    let [pid, fds, _] = VARIABLES.map(env::var_os);
    for name in VARIABLES {
        env::remove_var(name);
    }
    let pid: u32 = parse("LISTEN_PID", pid)?;
    if pid != std::process::id() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "LISTEN_PID is {pid}, not this process ({}): the sockets were passed to another process",
                std::process::id()
            ),
        ));
    }
    let count: RawFd = parse("LISTEN_FDS", fds)?;
    if count <= 0 {
        return Err(io::Error::new(io::ErrorKind::NotFound, format!("LISTEN_FDS is {count}: no sockets were passed")));
    }
    let last = FIRST_FD.checked_add(count).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, format!("LISTEN_FDS is {count}, more fds than a process can have"))
    })?;
    // Every fd is checked before any is taken over, so an error leaves
    // them all open, as they were.
    let mut domains = Vec::new();
    for fd in FIRST_FD..last {
        let domain = inspect(fd).map_err(|e| {
            io::Error::new(e.kind(), format!("systemd socket activation: fd {fd} (LISTEN_FDS={count}): {e}"))
        })?;
        domains.push((fd, domain));
    }
    Ok(domains
        .into_iter()
        .map(|(fd, domain)| {
            // SAFETY: the protocol hands fds FIRST_FD.. to this process,
            // LISTEN_PID said so, the variables are gone so nothing else
            // takes them, and `inspect` found each one an open socket.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            match domain {
                libc::AF_UNIX => Listener::Unix(UnixListener::from(fd)),
                _ => Listener::Tcp(TcpListener::from(fd)),
            }
        })
        .collect())
}

/// Parses a variable of the protocol.
fn parse<T: std::str::FromStr>(name: &str, value: Option<OsString>) -> io::Result<T> {
    let value = value.ok_or_else(|| {
        io::Error::new(io::ErrorKind::NotFound, format!("{name} is not set: the process was not socket-activated"))
    })?;
    value
        .to_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("{name}={value:?} is not a number")))
}

/// Marks a passed fd close-on-exec (as `sd_listen_fds` does) and checks it
/// is a listening TCP or Unix stream socket; returns its address family.
fn inspect(fd: RawFd) -> io::Result<libc::c_int> {
    // SAFETY: F_SETFD takes an integer argument; on an fd that is not open
    // it fails with EBADF and changes nothing.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    check_listening(fd)?;
    match verde_runtime::sys::getsockopt::<libc::c_int>(fd, libc::SOL_SOCKET, libc::SO_DOMAIN)? {
        domain @ (libc::AF_INET | libc::AF_INET6 | libc::AF_UNIX) => Ok(domain),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a socket of address family {other}, not TCP or Unix"),
        )),
    }
}
