//! Raw system calls used by the runtime itself.
//!
//! verde never calls libc's `read`, `write`, `socket`, `connect`,
//! `epoll_wait` and friends by symbol: when an application interposes those
//! symbols (its own definitions, or verde's libc patching), they may resolve
//! to cooperative versions, and verde must not recurse into them. Every call
//! here goes through `libc::syscall`, which is never interposed. The
//! runtime and `verde-net` use these wrappers and nothing else.
//!
//! Under Miri, which interprets libc's functions but not raw system calls,
//! the ones the hub needs come from `under_miri` instead.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::{self, MaybeUninit};
use std::os::fd::RawFd;
use std::ptr;
#[cfg(not(miri))]
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[cfg(miri)]
mod under_miri;
#[cfg(miri)]
pub use under_miri::{close, epoll_create, epoll_ctl, epoll_wait, eventfd, read, write};

/// Converts a raw syscall return value into an `io::Result`.
#[inline]
pub fn cvt(ret: libc::c_long) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

/// `read(2)` without interposition.
#[inline]
#[cfg(not(miri))]
pub fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, which is
    // a valid, exclusively borrowed buffer for the duration of the call.
    cvt(unsafe { libc::syscall(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len()) })
}

/// `write(2)` without interposition.
#[inline]
#[cfg(not(miri))]
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the kernel reads at most `buf.len()` bytes from a valid buffer.
    cvt(unsafe { libc::syscall(libc::SYS_write, fd, buf.as_ptr(), buf.len()) })
}

/// `close(2)` without interposition.
#[inline]
#[cfg(not(miri))]
pub fn close(fd: RawFd) -> io::Result<()> {
    // SAFETY: closing an fd has no memory-safety preconditions; the caller
    // owns `fd`.
    cvt(unsafe { libc::syscall(libc::SYS_close, fd) }).map(drop)
}

/// `epoll_create1(EPOLL_CLOEXEC)`.
#[cfg(not(miri))]
pub fn epoll_create() -> io::Result<RawFd> {
    // SAFETY: no pointers are passed.
    cvt(unsafe { libc::syscall(libc::SYS_epoll_create1, libc::EPOLL_CLOEXEC) }).map(|fd| fd as RawFd)
}

/// `epoll_ctl(2)`.
#[cfg(not(miri))]
pub fn epoll_ctl(epfd: RawFd, op: libc::c_int, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: `ev` is a valid epoll_event that lives across the call.
    cvt(unsafe { libc::syscall(libc::SYS_epoll_ctl, epfd, op, fd, &mut ev as *mut libc::epoll_event) }).map(drop)
}

/// A duration as a timespec, saturating at the largest `time_t`.
pub(crate) fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: d.subsec_nanos().into(),
    }
}

/// Whether the kernel lacks `epoll_pwait2` (before Linux 5.11, or filtered
/// by seccomp), learnt from its first `ENOSYS`/`EPERM`.
#[cfg(not(miri))]
static NO_EPOLL_PWAIT2: AtomicBool = AtomicBool::new(false);

/// Waits for events on `epfd` for at most `timeout` (`None`: forever).
///
/// Uses `epoll_pwait2(2)`, whose timeout has nanosecond resolution, so a
/// timer fires when it is due rather than up to a millisecond late; falls
/// back to `epoll_pwait(2)` with the timeout rounded up to whole
/// milliseconds where the kernel lacks it.
#[cfg(not(miri))]
pub fn epoll_wait(epfd: RawFd, events: &mut [libc::epoll_event], timeout: Option<Duration>) -> io::Result<usize> {
    if !NO_EPOLL_PWAIT2.load(Ordering::Relaxed) {
        let ts = timeout.map(timespec);
        let ts_ptr = ts.as_ref().map_or(ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: the kernel writes at most `events.len()` entries into
        // `events`, and reads the timespec, which outlives the call.
        let r = cvt(unsafe {
            libc::syscall(
                libc::SYS_epoll_pwait2,
                epfd,
                events.as_mut_ptr(),
                events.len() as libc::c_int,
                ts_ptr,
                ptr::null::<libc::sigset_t>(),
                0usize,
            )
        });
        match r {
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM)) => {
                NO_EPOLL_PWAIT2.store(true, Ordering::Relaxed);
            }
            r => return r,
        }
    }
    // SAFETY: the kernel writes at most `events.len()` entries into `events`.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait,
            epfd,
            events.as_mut_ptr(),
            events.len() as libc::c_int,
            millis_rounded_up(timeout),
            ptr::null::<libc::sigset_t>(),
            0usize,
        )
    })
}

/// A timeout as `poll(2)`/`epoll_wait(2)` milliseconds: rounded up, so a
/// wait never ends before its deadline; -1 for `None` (forever).
fn millis_rounded_up(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(d) => {
            let ms = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
            ms.min(libc::c_int::MAX as u128) as libc::c_int
        }
    }
}

/// `eventfd2(0, EFD_NONBLOCK | EFD_CLOEXEC)`.
#[cfg(not(miri))]
pub fn eventfd() -> io::Result<RawFd> {
    // SAFETY: no pointers are passed.
    cvt(unsafe { libc::syscall(libc::SYS_eventfd2, 0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) }).map(|fd| fd as RawFd)
}

/// `poll(2)` on a single fd, used by plain threads that have no coroutines.
/// `timeout_ms` is poll's: negative waits forever.
pub fn poll_one(fd: RawFd, events: libc::c_short, timeout_ms: i32) -> io::Result<libc::c_short> {
    let mut pfd = libc::pollfd { fd, events, revents: 0 };
    let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
    let n = ppoll(std::slice::from_mut(&mut pfd), timeout)?;
    Ok(if n == 0 { 0 } else { pfd.revents })
}

/// `ppoll(2)` on `fds` with no signal mask, waiting at most `timeout`
/// (`None`: forever). Returns how many entries have non-zero `revents`.
pub fn ppoll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let ts = timeout.map(timespec);
    let ts_ptr = ts.as_ref().map_or(ptr::null(), ptr::from_ref);
    // SAFETY: `fds` is a valid, exclusively borrowed array of `fds.len()`
    // pollfds the kernel may update; `ts_ptr` is null or a timespec that
    // outlives the call; a null signal mask means none.
    cvt(unsafe {
        libc::syscall(libc::SYS_ppoll, fds.as_mut_ptr(), fds.len(), ts_ptr, ptr::null::<libc::sigset_t>(), 0usize)
    })
}

/// Most iovecs one `readv`/`sendmsg` takes (Linux's `UIO_MAXIOV`); longer
/// slices are cut, which is a short read or write, as std does.
const MAX_IOV: usize = 1024;

/// Size of a `sockaddr_storage`, the largest socket address.
const STORAGE_LEN: libc::socklen_t = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;

/// A zeroed `sockaddr_storage`.
fn storage() -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is a C struct of integers; all zeroes is valid.
    unsafe { mem::zeroed() }
}

/// `socket(2)`, always with `SOCK_CLOEXEC` added to `ty` (add
/// `SOCK_NONBLOCK` to `ty` for a non-blocking socket).
pub fn socket(domain: libc::c_int, ty: libc::c_int, protocol: libc::c_int) -> io::Result<RawFd> {
    let ty = ty | libc::SOCK_CLOEXEC;
    // SAFETY: integer arguments only.
    cvt(unsafe { libc::syscall(libc::SYS_socket, domain, ty, protocol) }).map(|fd| fd as RawFd)
}

/// `socketpair(2)`, always with `SOCK_CLOEXEC` added to `ty` (add
/// `SOCK_NONBLOCK` to `ty` for non-blocking sockets).
pub fn socketpair(domain: libc::c_int, ty: libc::c_int, protocol: libc::c_int) -> io::Result<(RawFd, RawFd)> {
    let ty = ty | libc::SOCK_CLOEXEC;
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: the kernel writes two ints into `fds`, which has room for two.
    cvt(unsafe { libc::syscall(libc::SYS_socketpair, domain, ty, protocol, fds.as_mut_ptr()) })?;
    Ok((fds[0], fds[1]))
}

/// `bind(2)` to the first `len` bytes of `addr`.
///
/// # Panics
///
/// Panics if `len` exceeds the size of a `sockaddr_storage`.
pub fn bind(fd: RawFd, addr: &libc::sockaddr_storage, len: libc::socklen_t) -> io::Result<()> {
    assert!(len <= STORAGE_LEN, "socket address length {len} out of range");
    // SAFETY: the kernel reads `len` bytes from `addr`, which holds at least
    // that many (checked above).
    cvt(unsafe { libc::syscall(libc::SYS_bind, fd, ptr::from_ref(addr), len) }).map(drop)
}

/// `connect(2)` to the first `len` bytes of `addr`. On a non-blocking
/// socket, an `EINPROGRESS` error means the connection continues in the
/// background.
///
/// # Panics
///
/// Panics if `len` exceeds the size of a `sockaddr_storage`.
pub fn connect(fd: RawFd, addr: &libc::sockaddr_storage, len: libc::socklen_t) -> io::Result<()> {
    assert!(len <= STORAGE_LEN, "socket address length {len} out of range");
    // SAFETY: the kernel reads `len` bytes from `addr`, which holds at least
    // that many (checked above).
    cvt(unsafe { libc::syscall(libc::SYS_connect, fd, ptr::from_ref(addr), len) }).map(drop)
}

/// `listen(2)`.
pub fn listen(fd: RawFd, backlog: libc::c_int) -> io::Result<()> {
    // SAFETY: integer arguments only.
    cvt(unsafe { libc::syscall(libc::SYS_listen, fd, backlog) }).map(drop)
}

/// `accept4(2)` with `flags`; returns the new fd and the peer's address.
pub fn accept4(fd: RawFd, flags: libc::c_int) -> io::Result<(RawFd, libc::sockaddr_storage, libc::socklen_t)> {
    let mut addr = storage();
    let mut len = STORAGE_LEN;
    // SAFETY: the kernel writes at most `len` bytes into `addr`, which is a
    // sockaddr_storage of exactly that size, and the address length into
    // `len`.
    let fd =
        cvt(unsafe { libc::syscall(libc::SYS_accept4, fd, ptr::from_mut(&mut addr), ptr::from_mut(&mut len), flags) })?;
    Ok((fd as RawFd, addr, len))
}

/// `getsockname(2)`.
pub fn getsockname(fd: RawFd) -> io::Result<(libc::sockaddr_storage, libc::socklen_t)> {
    let mut addr = storage();
    let mut len = STORAGE_LEN;
    // SAFETY: as in `accept4`: `addr` has room for `len` bytes.
    cvt(unsafe { libc::syscall(libc::SYS_getsockname, fd, ptr::from_mut(&mut addr), ptr::from_mut(&mut len)) })?;
    Ok((addr, len))
}

/// `getpeername(2)`.
pub fn getpeername(fd: RawFd) -> io::Result<(libc::sockaddr_storage, libc::socklen_t)> {
    let mut addr = storage();
    let mut len = STORAGE_LEN;
    // SAFETY: as in `accept4`: `addr` has room for `len` bytes.
    cvt(unsafe { libc::syscall(libc::SYS_getpeername, fd, ptr::from_mut(&mut addr), ptr::from_mut(&mut len)) })?;
    Ok((addr, len))
}

/// `shutdown(2)`.
pub fn shutdown(fd: RawFd, how: libc::c_int) -> io::Result<()> {
    // SAFETY: integer arguments only.
    cvt(unsafe { libc::syscall(libc::SYS_shutdown, fd, how) }).map(drop)
}

/// `recv(2)`: `recvfrom` without an address.
#[inline]
pub fn recv(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, a valid
    // exclusively borrowed buffer; null address pointers ask for no address.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            fd,
            buf.as_mut_ptr(),
            buf.len(),
            flags,
            ptr::null_mut::<libc::sockaddr>(),
            ptr::null_mut::<libc::socklen_t>(),
        )
    })
}

/// `send(2)`: `sendto` without an address.
#[inline]
pub fn send(fd: RawFd, buf: &[u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: the kernel reads at most `buf.len()` bytes from a valid buffer;
    // a null address with length 0 means the connected peer.
    cvt(unsafe {
        libc::syscall(libc::SYS_sendto, fd, buf.as_ptr(), buf.len(), flags, ptr::null::<libc::sockaddr>(), 0)
    })
}

/// `recvfrom(2)`: returns the byte count and the sender's address.
pub fn recvfrom(
    fd: RawFd,
    buf: &mut [u8],
    flags: libc::c_int,
) -> io::Result<(usize, libc::sockaddr_storage, libc::socklen_t)> {
    let mut addr = storage();
    let mut len = STORAGE_LEN;
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, at most
    // `len` bytes into `addr` (a sockaddr_storage of that size), and the
    // address length into `len`.
    let n = cvt(unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            fd,
            buf.as_mut_ptr(),
            buf.len(),
            flags,
            ptr::from_mut(&mut addr),
            ptr::from_mut(&mut len),
        )
    })?;
    Ok((n, addr, len))
}

/// `sendto(2)` to the first `len` bytes of `addr`.
///
/// # Panics
///
/// Panics if `len` exceeds the size of a `sockaddr_storage`.
pub fn sendto(
    fd: RawFd,
    buf: &[u8],
    flags: libc::c_int,
    addr: &libc::sockaddr_storage,
    len: libc::socklen_t,
) -> io::Result<usize> {
    assert!(len <= STORAGE_LEN, "socket address length {len} out of range");
    // SAFETY: the kernel reads at most `buf.len()` bytes from `buf` and `len`
    // bytes from `addr`, which holds at least that many (checked above).
    cvt(unsafe { libc::syscall(libc::SYS_sendto, fd, buf.as_ptr(), buf.len(), flags, ptr::from_ref(addr), len) })
}

/// `recvmsg(2)` into up to 1024 buffers from the connected peer, with
/// `flags`: a `readv` that takes flags (such as `MSG_DONTWAIT`).
pub fn recvmsg(fd: RawFd, bufs: &mut [IoSliceMut<'_>], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: msghdr is a C struct of integers and pointers; all zeroes
    // (null pointers, zero lengths) is a valid empty message.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = bufs.as_mut_ptr().cast::<libc::iovec>();
    msg.msg_iovlen = bufs.len().min(MAX_IOV) as _;
    // SAFETY: `IoSliceMut` is ABI-compatible with `struct iovec` on Unix
    // (documented by std); each describes a valid, exclusively borrowed
    // buffer, and the kernel writes into at most `msg_iovlen` of them. `msg`
    // asks for no address and no control data.
    cvt(unsafe { libc::syscall(libc::SYS_recvmsg, fd, ptr::from_mut(&mut msg), flags) })
}

/// `sendmsg(2)` of up to 1024 buffers to the connected peer, with `flags`.
pub fn sendmsg(fd: RawFd, bufs: &[IoSlice<'_>], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: msghdr is a C struct of integers and pointers; all zeroes
    // (null pointers, zero lengths) is a valid empty message.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = bufs.as_ptr().cast::<libc::iovec>().cast_mut();
    msg.msg_iovlen = bufs.len().min(MAX_IOV) as _;
    // SAFETY: `IoSlice` is ABI-compatible with `struct iovec` on Unix; the
    // kernel only reads through `msg_iov` (the cast to *mut is for the C
    // signature), `msg_iovlen` entries of it, each a valid buffer, and no
    // address or control data.
    cvt(unsafe { libc::syscall(libc::SYS_sendmsg, fd, ptr::from_ref(&msg), flags) })
}

/// A socket option's value type: a plain C type for which every bit
/// pattern is valid, so the kernel may fill it in.
///
/// # Safety
///
/// Every sequence of `size_of::<Self>()` bytes must be a valid `Self`.
pub unsafe trait SockOpt: Copy {}

// SAFETY: an int is valid for every bit pattern.
unsafe impl SockOpt for libc::c_int {}
// SAFETY: a C struct of two integers.
unsafe impl SockOpt for libc::timeval {}
// SAFETY: a C struct of two `in_addr`s, each a u32.
unsafe impl SockOpt for libc::ip_mreq {}
// SAFETY: a C struct of a 16-byte array and an unsigned int.
unsafe impl SockOpt for libc::ipv6_mreq {}

/// `getsockopt(2)` for an option whose value is a `T`.
pub fn getsockopt<T: SockOpt>(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<T> {
    let mut value = MaybeUninit::<T>::zeroed();
    let mut len = mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes (the size of `T`) into
    // `value` and the written length into `len`.
    cvt(unsafe { libc::syscall(libc::SYS_getsockopt, fd, level, name, value.as_mut_ptr(), ptr::from_mut(&mut len)) })?;
    // SAFETY: `value` started zeroed and the kernel wrote bytes into it; by
    // `SockOpt`'s contract every byte pattern is a valid `T`.
    Ok(unsafe { value.assume_init() })
}

/// `setsockopt(2)` for an option whose value is a `T`.
pub fn setsockopt<T: SockOpt>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: T) -> io::Result<()> {
    let len = mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: the kernel reads `len` bytes, the size of `value`, from it.
    cvt(unsafe { libc::syscall(libc::SYS_setsockopt, fd, level, name, ptr::from_ref(&value), len) }).map(drop)
}

/// `fcntl(fd, F_GETFL)`: the file status flags.
pub fn get_status_flags(fd: RawFd) -> io::Result<libc::c_int> {
    // SAFETY: F_GETFL takes no argument.
    cvt(unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_GETFL) }).map(|f| f as libc::c_int)
}

/// `ioctl(fd, FIONBIO)`: sets or clears `O_NONBLOCK` in one system call,
/// as std's `set_nonblocking` does.
pub fn set_nonblocking(fd: RawFd, nonblocking: bool) -> io::Result<()> {
    let mut on = libc::c_int::from(nonblocking);
    // SAFETY: FIONBIO reads one int through the pointer, which points to a
    // live local.
    cvt(unsafe { libc::syscall(libc::SYS_ioctl, fd, libc::FIONBIO, ptr::from_mut(&mut on)) }).map(drop)
}

/// `fcntl(fd, F_DUPFD_CLOEXEC, 0)`: a close-on-exec duplicate of `fd`.
pub fn dup_cloexec(fd: RawFd) -> io::Result<RawFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes an integer argument.
    cvt(unsafe { libc::syscall(libc::SYS_fcntl, fd, libc::F_DUPFD_CLOEXEC, 0) }).map(|fd| fd as RawFd)
}

/// Reads a small text file (up to 1 KiB, such as one under `/proc`) with
/// raw system calls, so that not even a patched libc is involved. `None`
/// if it cannot be opened, read, or is not UTF-8.
pub(crate) fn read_small_file(path: &std::ffi::CStr) -> Option<String> {
    let mut buf = [0u8; 1024];
    // SAFETY: a NUL-terminated path and flags; no other pointers.
    let fd =
        unsafe { libc::syscall(libc::SYS_openat, libc::AT_FDCWD, path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    let fd = fd as i32;
    let n = read(fd, &mut buf);
    let _ = close(fd);
    String::from_utf8(buf[..n.ok()?].to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millisecond_timeouts_round_up() {
        assert_eq!(millis_rounded_up(None), -1);
        assert_eq!(millis_rounded_up(Some(Duration::ZERO)), 0);
        assert_eq!(millis_rounded_up(Some(Duration::from_nanos(1))), 1);
        assert_eq!(millis_rounded_up(Some(Duration::from_micros(1500))), 2);
        assert_eq!(millis_rounded_up(Some(Duration::from_millis(7))), 7);
        assert_eq!(millis_rounded_up(Some(Duration::from_secs(u64::MAX))), libc::c_int::MAX);
    }

    #[test]
    fn epoll_wait_honours_a_short_timeout_and_reports_events() {
        epoll_wait_round();
    }

    /// The path for kernels without `epoll_pwait2`. Setting the flag sends
    /// every later wait in this test process through `epoll_pwait` too,
    /// which is as correct, only coarser.
    #[test]
    #[cfg(not(miri))]
    fn epoll_wait_falls_back_to_millisecond_epoll_pwait() {
        NO_EPOLL_PWAIT2.store(true, Ordering::Relaxed);
        epoll_wait_round();
    }

    fn epoll_wait_round() {
        let ep = epoll_create().unwrap();
        let ev = eventfd().unwrap();
        epoll_ctl(ep, libc::EPOLL_CTL_ADD, ev, libc::EPOLLIN as u32, 7).unwrap();
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 4];
        assert_eq!(epoll_wait(ep, &mut events, Some(Duration::from_micros(200))).unwrap(), 0);
        write(ev, &1u64.to_ne_bytes()).unwrap();
        assert_eq!(epoll_wait(ep, &mut events, None).unwrap(), 1);
        let token = events[0].u64;
        assert_eq!(token, 7);
        close(ev).unwrap();
        close(ep).unwrap();
    }
}
