//! The core every verde socket type is built on: an fd whose calls never
//! block (they pass `MSG_DONTWAIT`, and listeners, and streams while they
//! connect, are in non-blocking mode), its readiness [`Registration`], and
//! the settings std keeps in the kernel but verde must apply itself (the
//! blocking mode the user asked for, and the read and write timeouts).
//!
//! Apart from listeners, a socket's `O_NONBLOCK` is always the user's
//! blocking mode, as with std, so C code handed `as_raw_fd` and std
//! handles sharing the file description see the mode the user set. A
//! listener stays non-blocking in the kernel whatever the user's mode,
//! since `accept` has no per-call flag.
//!
//! Every operation tries its system call first. Only when the kernel says
//! `EAGAIN`, and the user has not asked for non-blocking mode, does it park
//! until the fd is ready (or the timeout's deadline passes) and try again.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use verde_runtime::io::{Interest, Registration};
use verde_runtime::park;
use verde_runtime::sys::{self, SockOpt};

/// Shortest and longest wait between retries of an operation whose
/// readiness the kernel never reports (see [`Socket::poll_with`]).
const POLL_MIN: Duration = Duration::from_millis(1);
const POLL_MAX: Duration = Duration::from_millis(64);

/// Added to the flags of every `recv`/`send`-family call: the call never
/// waits, even when the open file description is in blocking mode. verde
/// relies on `O_NONBLOCK` only for listeners (`accept` takes no flags), so
/// a stream or datagram socket keeps working when std code sharing its
/// file description (a clone converted with `IntoRawFd`, or the std socket
/// an adopted fd was duplicated from) has it in blocking mode.
pub(crate) const DONTWAIT: libc::c_int = libc::MSG_DONTWAIT;

/// Whether `fd` is a listening socket (`SO_ACCEPTCONN`).
fn is_listening(fd: RawFd) -> bool {
    sys::getsockopt::<libc::c_int>(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN).is_ok_and(|v| v != 0)
}

/// An owned fd, closed with a raw `close` system call: std's `OwnedFd`
/// calls libc's `close` symbol, which the application may interpose.
#[derive(Debug)]
struct Fd(RawFd);

impl Fd {
    fn into_raw(self) -> RawFd {
        let fd = self.0;
        std::mem::forget(self);
        fd
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        let _ = sys::close(self.0);
    }
}

/// What std would leave to the kernel and verde must apply itself, since
/// its calls never block: the user's blocking mode (std's
/// `O_NONBLOCK`) and the bounds on each wait (std's `SO_RCVTIMEO` and
/// `SO_SNDTIMEO`, which verde also sets in the kernel, so getters and
/// conversions see them). Shared by the handles `try_clone` makes, as the
/// kernel shares those settings between duplicated fds.
#[derive(Debug, Default)]
struct Options {
    nonblocking: AtomicBool,
    /// Nanoseconds; 0 means no timeout (a zero timeout is rejected).
    read_timeout: AtomicU64,
    write_timeout: AtomicU64,
}

impl Options {
    fn timeout_cell(&self, interest: Interest) -> &AtomicU64 {
        match interest {
            Interest::Read => &self.read_timeout,
            Interest::Write => &self.write_timeout,
        }
    }

    #[inline]
    fn timeout(&self, interest: Interest) -> Option<Duration> {
        match self.timeout_cell(interest).load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }
}

/// A socket fd with its registration. Dropping it deregisters the fd, then
/// closes it (fields drop in declaration order).
#[derive(Debug)]
pub(crate) struct Socket {
    reg: Registration,
    fd: Fd,
    options: Arc<Options>,
}

impl Socket {
    /// A new close-on-exec socket of `domain` and `ty`, in blocking mode
    /// as std's are; pass `SOCK_NONBLOCK` in `ty` for one that will listen
    /// or connect (see [`connected`](Self::connected)).
    pub(crate) fn new(domain: libc::c_int, ty: libc::c_int) -> io::Result<Socket> {
        let fd = sys::socket(domain, ty, 0)?;
        Ok(Socket::from_new(fd))
    }

    /// A connected pair of Unix sockets of type `ty`, in blocking mode.
    pub(crate) fn pair(ty: libc::c_int) -> io::Result<(Socket, Socket)> {
        let (a, b) = sys::socketpair(libc::AF_UNIX, ty, 0)?;
        Ok((Socket::from_new(a), Socket::from_new(b)))
    }

    /// Wraps an fd verde just created; the user's mode is blocking, with no
    /// timeouts, as a new std socket's is.
    fn from_new(fd: RawFd) -> Socket {
        Socket { reg: Registration::new(fd), fd: Fd(fd), options: Arc::default() }
    }

    /// Adopts an fd made elsewhere (`FromRawFd`, a std socket): remembers
    /// its blocking mode and timeouts as the user's settings. Only a
    /// listener is switched to non-blocking mode (`accept` has no
    /// per-call flag); other sockets are left as they are, since every
    /// call on them passes [`DONTWAIT`], so std handles sharing the file
    /// description keep the mode they had.
    pub(crate) fn from_foreign(fd: RawFd) -> Socket {
        let options = Options::default();
        if let Ok(flags) = sys::get_status_flags(fd) {
            let nonblocking = flags & libc::O_NONBLOCK != 0;
            options.nonblocking.store(nonblocking, Ordering::Relaxed);
            if !nonblocking && is_listening(fd) {
                let _ = sys::set_nonblocking(fd, true);
            }
        }
        for interest in [Interest::Read, Interest::Write] {
            if let Ok(tv) = sys::getsockopt::<libc::timeval>(fd, libc::SOL_SOCKET, timeout_option(interest)) {
                options.timeout_cell(interest).store(nanos(timeval_to_duration(tv)), Ordering::Relaxed);
            }
        }
        Socket { reg: Registration::new(fd), fd: Fd(fd), options: Arc::new(options) }
    }

    /// Gives up the fd, in the blocking mode the user asked for, so std
    /// code that adopts it behaves as it would have with a std socket. Only
    /// a listener's `O_NONBLOCK` can differ from that mode (every other
    /// socket's follows it, see [`set_nonblocking`](Self::set_nonblocking)),
    /// and a listener a clone made by `try_clone` still shares stays
    /// non-blocking, since the clone's `accept` relies on it.
    pub(crate) fn into_raw(self) -> RawFd {
        let Socket { reg, fd, options } = self;
        drop(reg);
        let blocking = !options.nonblocking.load(Ordering::Relaxed);
        if blocking && Arc::strong_count(&options) == 1 && is_listening(fd.0) {
            let _ = sys::set_nonblocking(fd.0, false);
        }
        fd.into_raw()
    }

    /// The fd.
    #[inline]
    pub(crate) fn fd(&self) -> RawFd {
        self.fd.0
    }

    /// Runs `op` on the fd until it stops failing with `WouldBlock`,
    /// parking for readiness of `interest` in between, up to that
    /// direction's timeout. In the user's non-blocking mode, runs it once.
    #[inline]
    fn io_with<R>(&self, interest: Interest, mut op: impl FnMut(RawFd) -> io::Result<R>) -> io::Result<R> {
        let fd = self.fd.0;
        if self.options.nonblocking.load(Ordering::Relaxed) {
            return op(fd);
        }
        let timeout = self.options.timeout(interest);
        match interest {
            Interest::Read => self.reg.read_with(timeout, || op(fd)),
            Interest::Write => self.reg.write_with(timeout, || op(fd)),
        }
    }

    /// [`io_with`](Self::io_with) for reading.
    #[inline]
    pub(crate) fn read_with<R>(&self, op: impl FnMut(RawFd) -> io::Result<R>) -> io::Result<R> {
        self.io_with(Interest::Read, op)
    }

    /// [`io_with`](Self::io_with) for writing.
    #[inline]
    pub(crate) fn write_with<R>(&self, op: impl FnMut(RawFd) -> io::Result<R>) -> io::Result<R> {
        self.io_with(Interest::Write, op)
    }

    /// Like [`write_with`](Self::write_with), for operations whose
    /// readiness the kernel never reports on this fd (a Unix `connect` to a
    /// full backlog, a datagram to an unconnected Unix socket whose queue is
    /// full): between tries it waits for writability, but never longer than
    /// a step that doubles from 1 ms to 64 ms, so it neither spins nor
    /// hangs.
    pub(crate) fn poll_with<R>(&self, mut op: impl FnMut(RawFd) -> io::Result<R>) -> io::Result<R> {
        let fd = self.fd.0;
        if self.options.nonblocking.load(Ordering::Relaxed) {
            return op(fd);
        }
        let deadline = self.options.timeout(Interest::Write).map(park::deadline_after);
        let mut step = POLL_MIN;
        loop {
            let wait = deadline.map_or(step, |d| d.saturating_duration_since(Instant::now()).min(step));
            match self.reg.write_with(Some(wait), || op(fd)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && deadline.is_none_or(|d| Instant::now() < d) => {
                    step = (step * 2).min(POLL_MAX);
                }
                other => return other,
            }
        }
    }

    /// `recv` into `buf`.
    #[inline]
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(|fd| sys::recv(fd, buf, DONTWAIT))
    }

    /// `recv` into `buf` on a stream socket: skips the system call when the
    /// last read drained the socket and nothing arrived since (see
    /// `Registration::read_stream_with`).
    #[inline]
    pub(crate) fn read_stream(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.fd.0;
        if self.options.nonblocking.load(Ordering::Relaxed) {
            return sys::recv(fd, buf, DONTWAIT);
        }
        let timeout = self.options.timeout(Interest::Read);
        let len = buf.len();
        self.reg.read_stream_with(timeout, len, || sys::recv(fd, buf, DONTWAIT))
    }

    /// [`read_stream`](Self::read_stream) for a TCP socket, whose
    /// zero-length reads wait as [`recv_empty_tcp`](Self::recv_empty_tcp)
    /// describes.
    #[inline]
    pub(crate) fn read_tcp(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return self.recv_empty_tcp(0);
        }
        self.read_stream(buf)
    }

    /// `recv` with `MSG_PEEK`.
    pub(crate) fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(|fd| sys::recv(fd, buf, libc::MSG_PEEK | DONTWAIT))
    }

    /// A zero-length `recv` (with `flags`) on a TCP socket, as a blocking
    /// one behaves on Linux: it returns 0 at once when data, the end of the
    /// stream or an error is queued, and otherwise waits until the socket
    /// becomes readable or the read timeout passes, then returns 0, even
    /// when the timeout is what ended the wait. (Asked for no bytes,
    /// `tcp_recvmsg` leaves its loop after one wait instead of reporting
    /// `EAGAIN`; Unix stream sockets do report it, and use
    /// [`read_stream`](Self::read_stream).) In non-blocking mode it is the
    /// single non-blocking `recv`, `WouldBlock` included, as in std.
    pub(crate) fn recv_empty_tcp(&self, flags: libc::c_int) -> io::Result<usize> {
        match self.read_with(|fd| sys::recv(fd, &mut [], flags | DONTWAIT)) {
            // In blocking mode `read_with` gives `WouldBlock` only when the
            // timeout passed.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && !self.is_nonblocking() => Ok(0),
            other => other,
        }
    }

    /// `recvmsg` into `bufs`. Buffers with no room at all read nothing
    /// and return 0 at once, as std's `readv` does on a socket.
    pub(crate) fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Ok(0);
        }
        self.read_with(|fd| sys::recvmsg(fd, bufs, DONTWAIT))
    }

    /// `send` of `buf`, with `MSG_NOSIGNAL`: a write to a closed
    /// connection is an `EPIPE` error, never a `SIGPIPE`.
    #[inline]
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.write_with(|fd| sys::send(fd, buf, libc::MSG_NOSIGNAL | DONTWAIT))
    }

    /// `sendmsg` of `bufs`, with `MSG_NOSIGNAL`.
    pub(crate) fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.write_with(|fd| sys::sendmsg(fd, bufs, libc::MSG_NOSIGNAL | DONTWAIT))
    }

    /// `recvfrom` with `flags`: the byte count and the sender's raw address.
    pub(crate) fn recv_from(
        &self,
        buf: &mut [u8],
        flags: libc::c_int,
    ) -> io::Result<(usize, libc::sockaddr_storage, libc::socklen_t)> {
        self.read_with(|fd| sys::recvfrom(fd, buf, flags | DONTWAIT))
    }

    /// `connect` to a raw address. A connection still in progress is
    /// waited for, until `deadline` if there is one; running out of time is
    /// a `TimedOut` error, as in std's `connect_timeout`.
    pub(crate) fn connect(
        &self,
        addr: &libc::sockaddr_storage,
        len: libc::socklen_t,
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        match sys::connect(self.fd.0, addr, len) {
            Ok(()) => return self.connected(),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINPROGRESS | libc::EINTR)) => {}
            Err(e) => return Err(e),
        }
        let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match self.reg.write_with(timeout, || self.connect_result()) {
            Ok(()) => self.connected(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                Err(io::Error::new(io::ErrorKind::TimedOut, "connection timed out"))
            }
            Err(e) => Err(e),
        }
    }

    /// Ends the non-blocking mode a socket was created in to connect
    /// without blocking: from now on every call passes [`DONTWAIT`], and
    /// the fd shows the user's mode (blocking), as a std stream's does.
    pub(crate) fn connected(&self) -> io::Result<()> {
        sys::set_nonblocking(self.fd.0, self.is_nonblocking())
    }

    /// The outcome of a connection in progress: `WouldBlock` while it
    /// still is.
    fn connect_result(&self) -> io::Result<()> {
        if let Some(e) = self.take_error()? {
            return Err(e);
        }
        match sys::getpeername(self.fd.0) {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => Err(io::ErrorKind::WouldBlock.into()),
            Err(e) => Err(e),
        }
    }

    /// `accept4`: the new connection (close-on-exec, and in blocking mode,
    /// as std's accepted sockets are) and the peer's raw address.
    pub(crate) fn accept(&self) -> io::Result<(Socket, libc::sockaddr_storage, libc::socklen_t)> {
        let (fd, addr, len) = self.read_with(|fd| sys::accept4(fd, libc::SOCK_CLOEXEC))?;
        Ok((Socket::from_new(fd), addr, len))
    }

    /// A second handle to the same socket: a duplicated fd with its own
    /// registration, sharing this one's blocking mode and timeouts.
    pub(crate) fn try_clone(&self) -> io::Result<Socket> {
        let fd = sys::dup_cloexec(self.fd.0)?;
        Ok(Socket { reg: Registration::new(fd), fd: Fd(fd), options: Arc::clone(&self.options) })
    }

    /// Sets the user's blocking mode, and the fd's `O_NONBLOCK` with it
    /// (one `ioctl`, as std's `set_nonblocking`), except on a listener,
    /// which stays non-blocking in the kernel; `into_raw` applies the mode
    /// to a listener when the fd is handed back. verde's own calls never
    /// block either way.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        if !is_listening(self.fd.0) {
            sys::set_nonblocking(self.fd.0, nonblocking)?;
        }
        self.options.nonblocking.store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the user asked for non-blocking mode.
    pub(crate) fn is_nonblocking(&self) -> bool {
        self.options.nonblocking.load(Ordering::Relaxed)
    }

    /// Sets the read (`Interest::Read`) or write timeout. A zero duration
    /// is an `InvalidInput` error, as in std. The value also goes to the
    /// kernel (`SO_RCVTIMEO`/`SO_SNDTIMEO`, which do not affect a
    /// call that does not wait), so it survives conversion into a std socket.
    pub(crate) fn set_timeout(&self, interest: Interest, timeout: Option<Duration>) -> io::Result<()> {
        if timeout == Some(Duration::ZERO) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "cannot set a 0 duration timeout"));
        }
        self.set_opt(libc::SOL_SOCKET, timeout_option(interest), duration_to_timeval(timeout))?;
        self.options.timeout_cell(interest).store(nanos(timeout), Ordering::Relaxed);
        Ok(())
    }

    /// The read or write timeout, as the kernel reports it (rounded to its
    /// clock tick, as std's getters show it).
    pub(crate) fn timeout(&self, interest: Interest) -> io::Result<Option<Duration>> {
        let tv: libc::timeval = self.opt(libc::SOL_SOCKET, timeout_option(interest))?;
        Ok(timeval_to_duration(tv))
    }

    /// Sets a socket option.
    pub(crate) fn set_opt<T: SockOpt>(&self, level: libc::c_int, name: libc::c_int, value: T) -> io::Result<()> {
        sys::setsockopt(self.fd.0, level, name, value)
    }

    /// Reads a socket option.
    pub(crate) fn opt<T: SockOpt>(&self, level: libc::c_int, name: libc::c_int) -> io::Result<T> {
        sys::getsockopt(self.fd.0, level, name)
    }

    /// Takes the pending socket error (`SO_ERROR`).
    pub(crate) fn take_error(&self) -> io::Result<Option<io::Error>> {
        let raw: libc::c_int = self.opt(libc::SOL_SOCKET, libc::SO_ERROR)?;
        Ok((raw != 0).then(|| io::Error::from_raw_os_error(raw)))
    }

    /// `shutdown`.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let how = match how {
            Shutdown::Read => libc::SHUT_RD,
            Shutdown::Write => libc::SHUT_WR,
            Shutdown::Both => libc::SHUT_RDWR,
        };
        sys::shutdown(self.fd.0, how)
    }

    /// The socket's own raw address.
    pub(crate) fn local_raw(&self) -> io::Result<(libc::sockaddr_storage, libc::socklen_t)> {
        sys::getsockname(self.fd.0)
    }

    /// The peer's raw address.
    pub(crate) fn peer_raw(&self) -> io::Result<(libc::sockaddr_storage, libc::socklen_t)> {
        sys::getpeername(self.fd.0)
    }
}

/// The socket option that holds the timeout for `interest`.
fn timeout_option(interest: Interest) -> libc::c_int {
    match interest {
        Interest::Read => libc::SO_RCVTIMEO,
        Interest::Write => libc::SO_SNDTIMEO,
    }
}

/// A timeout as stored in [`Options`]: nanoseconds, saturating at about
/// 584 years; `None` is 0.
fn nanos(timeout: Option<Duration>) -> u64 {
    timeout.map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1))
}

/// A timeout as the kernel takes it: `None` is zero, and a timeout shorter
/// than a microsecond is rounded up to one, since zero would mean none.
fn duration_to_timeval(timeout: Option<Duration>) -> libc::timeval {
    let Some(d) = timeout else {
        return libc::timeval { tv_sec: 0, tv_usec: 0 };
    };
    let tv_sec = libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX);
    let tv_usec = libc::suseconds_t::from(d.subsec_micros());
    if tv_sec == 0 && tv_usec == 0 {
        libc::timeval { tv_sec: 0, tv_usec: 1 }
    } else {
        libc::timeval { tv_sec, tv_usec }
    }
}

fn timeval_to_duration(tv: libc::timeval) -> Option<Duration> {
    if tv.tv_sec <= 0 && tv.tv_usec <= 0 {
        return None;
    }
    let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
    let micros = u32::try_from(tv.tv_usec).unwrap_or(0);
    Some(Duration::new(secs, 0) + Duration::from_micros(u64::from(micros)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_trip_through_timeval() {
        let d = Duration::from_millis(1500);
        assert_eq!(timeval_to_duration(duration_to_timeval(Some(d))), Some(d));
        assert_eq!(timeval_to_duration(duration_to_timeval(None)), None);
        let tiny = duration_to_timeval(Some(Duration::from_nanos(10)));
        assert_eq!((tiny.tv_sec, tiny.tv_usec), (0, 1));
    }

    #[test]
    fn nanos_never_encodes_a_timeout_as_none() {
        assert_eq!(nanos(None), 0);
        assert_eq!(nanos(Some(Duration::from_nanos(1))), 1);
        assert_eq!(nanos(Some(Duration::MAX)), u64::MAX);
    }
}
