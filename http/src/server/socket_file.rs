//! Binding a Unix socket at a filesystem path as gunicorn's
//! `--bind unix:PATH` does: a stale socket file left by a server that is
//! gone is replaced, anything else at the path is an error, and the file
//! is removed when the server is done with it.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use verde_net::unix::UnixListener;

/// The socket file a server created; dropping it removes the file, unless
/// something else has replaced it at the path since.
#[derive(Debug)]
pub(crate) struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.dev() == self.dev && m.ino() == self.ino);
        if ours {
            if let Err(e) = std::fs::remove_file(&self.path) {
                log::warn!(target: "verde_http", "removing the socket file {}: {e}", self.path.display());
            }
        }
    }
}

/// Binds a Unix listener at `path`, replacing a stale socket file there,
/// with an accept queue of `backlog`.
pub(crate) fn bind(path: &Path, backlog: i32) -> io::Result<(UnixListener, SocketFile)> {
    let listener = match UnixListener::bind(path) {
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => remove_stale(path).and_then(|()| UnixListener::bind(path)),
        other => other,
    }
    .map_err(|e| io::Error::new(e.kind(), format!("binding the Unix socket {}: {e}", path.display())))?;
    let meta = std::fs::symlink_metadata(path)?;
    let file = SocketFile { path: path.to_owned(), dev: meta.dev(), ino: meta.ino() };
    // Listening again only sets the queue's length (std binds with the
    // system's maximum).
    verde_runtime::sys::listen(listener.as_raw_fd(), backlog)?;
    Ok((listener, file))
}

/// Removes the socket file at `path` if no one accepts on it; fails if it
/// is not a socket, or a server is listening on it.
fn remove_stale(path: &Path) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(io::ErrorKind::AlreadyExists, "the path exists and is not a socket"));
    }
    match probe(path) {
        Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {}
        Err(e) => return Err(io::Error::new(e.kind(), format!("checking whether the socket is in use: {e}"))),
        Ok(()) => {
            return Err(io::Error::new(io::ErrorKind::AddrInUse, "another server is listening on this socket"));
        }
    }
    log::info!(target: "verde_http", "replacing the stale socket file {}", path.display());
    std::fs::remove_file(path)
}

/// Tries to connect to the socket at `path` without waiting: `Ok` if some
/// process listens there (including one whose backlog is full, which a
/// blocking connect would wait for), `ECONNREFUSED` if none does.
fn probe(path: &Path) -> io::Result<()> {
    // SAFETY: sockaddr_un is plain old data; all zeroes is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    // The bind that failed with AddrInUse took this path, so it fits and
    // has no NUL; the check keeps that from being an assumption.
    if bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "socket path too long or with a NUL byte"));
    }
    for (dst, &src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and nothing else owns it.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let len = mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: `addr` is a live, initialised sockaddr_un of `len` bytes.
    let rc = unsafe { libc::connect(sock.as_raw_fd(), (&raw const addr).cast(), len) };
    if rc == 0 {
        return Ok(());
    }
    match io::Error::last_os_error() {
        e if e.raw_os_error() == Some(libc::EAGAIN) => Ok(()),
        e => Err(e),
    }
}
