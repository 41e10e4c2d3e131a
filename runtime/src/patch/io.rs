//! Reading and writing: `read`, `write`, `readv`, `writev`, `recv`,
//! `send`, `recvfrom`, `sendto`, `recvmsg` and `sendmsg`.
//!
//! On an adopted socket in blocking mode, a receive waits until data (or
//! the end of the stream, or an error) arrives, up to `SO_RCVTIMEO`; a
//! send on a stream socket sends everything before returning, as the
//! kernel's blocking send does, stopping early only at an error or
//! `SO_SNDTIMEO` (returning the bytes sent so far, if any). `MSG_WAITALL`
//! receives are completed the same way for `recv` and `recvfrom`. On any
//! other fd the call is the plain system call.

use std::ptr;

use super::call::{Scope, Sock};
use super::raw::{plain, raw_syscall, SysResult};
use crate::io::Interest;

/// Most iovecs the kernel takes in one call.
const IOV_MAX: usize = 1024;

/// A receive: the plain call, or one on an adopted socket.
#[inline]
fn receive(fd: libc::c_int, flags: libc::c_int, mut op: impl FnMut() -> SysResult) -> isize {
    let Some(scope) = Scope::enter() else {
        return plain(op());
    };
    let result = match Sock::new(&scope, fd) {
        None => op(),
        Some(sock) => sock.io(Interest::Read, flags, op),
    };
    scope.finish(result)
}

/// A send of `total` bytes: `op(done)` sends from offset `done` on.
#[inline]
fn send_all(fd: libc::c_int, flags: libc::c_int, total: usize, mut op: impl FnMut(usize) -> SysResult) -> isize {
    let Some(scope) = Scope::enter() else {
        return plain(op(0));
    };
    let result = match Sock::new(&scope, fd) {
        None => op(0),
        Some(sock) if sock.entry.options.stream && !sock.nonblocking(flags) => {
            sock.transfer_all(Interest::Write, total, op)
        }
        Some(sock) => sock.io(Interest::Write, flags, || op(0)),
    };
    scope.finish(result)
}

/// A receive into one buffer of `len` bytes that honours `MSG_WAITALL`:
/// `op(done, flags)` receives from offset `done` on.
fn receive_waitall(
    fd: libc::c_int,
    flags: libc::c_int,
    len: usize,
    mut op: impl FnMut(usize, libc::c_int) -> SysResult,
) -> isize {
    let Some(scope) = Scope::enter() else {
        return plain(op(0, flags));
    };
    let result = match Sock::new(&scope, fd) {
        None => op(0, flags),
        Some(sock)
            if flags & libc::MSG_WAITALL != 0
                && flags & libc::MSG_PEEK == 0
                && sock.entry.options.stream
                && !sock.nonblocking(flags) =>
        {
            sock.transfer_all(Interest::Read, len, |done| op(done, flags & !libc::MSG_WAITALL))
        }
        Some(sock) => sock.io(Interest::Read, flags, || op(0, flags)),
    };
    scope.finish(result)
}

/// `read(2)`.
///
/// # Safety
///
/// `buf` must be writable for `count` bytes, as for libc's `read`.
pub unsafe fn read(fd: libc::c_int, buf: *mut libc::c_void, count: libc::size_t) -> libc::ssize_t {
    // SAFETY: the caller guarantees `buf` is writable for `count` bytes.
    receive(fd, 0, || unsafe { raw_syscall!(libc::SYS_read, fd, buf, count) })
}

/// `readv(2)`.
///
/// # Safety
///
/// `iov` must point to `iovcnt` iovecs describing writable buffers, as for
/// libc's `readv`.
pub unsafe fn readv(fd: libc::c_int, iov: *const libc::iovec, iovcnt: libc::c_int) -> libc::ssize_t {
    // SAFETY: the caller guarantees the iovecs and their buffers.
    receive(fd, 0, || unsafe { raw_syscall!(libc::SYS_readv, fd, iov, iovcnt) })
}

/// `recv(2)`.
///
/// # Safety
///
/// `buf` must be writable for `len` bytes, as for libc's `recv`.
pub unsafe fn recv(fd: libc::c_int, buf: *mut libc::c_void, len: libc::size_t, flags: libc::c_int) -> libc::ssize_t {
    // SAFETY: recvfrom without an address, under the same contract.
    unsafe { recvfrom(fd, buf, len, flags, ptr::null_mut(), ptr::null_mut()) }
}

/// `recvfrom(2)`.
///
/// # Safety
///
/// `buf` must be writable for `len` bytes, and `addr`/`addrlen` null or a
/// writable address buffer and its size, as for libc's `recvfrom`.
pub unsafe fn recvfrom(
    fd: libc::c_int,
    buf: *mut libc::c_void,
    len: libc::size_t,
    flags: libc::c_int,
    addr: *mut libc::sockaddr,
    addrlen: *mut libc::socklen_t,
) -> libc::ssize_t {
    receive_waitall(fd, flags, len, |done, flags| {
        // SAFETY: the caller guarantees `buf` is writable for `len` bytes,
        // and `done < len` here (the loop stops at `len`), and the address
        // buffer.
        unsafe { raw_syscall!(libc::SYS_recvfrom, fd, buf.cast::<u8>().add(done), len - done, flags, addr, addrlen) }
    })
}

/// `recvmsg(2)`. `MSG_WAITALL` is passed to the kernel as is: on a
/// blocking socket the call returns what the first successful receive
/// gives.
///
/// # Safety
///
/// `msg` must be a valid `msghdr` with writable buffers, as for libc's
/// `recvmsg`.
pub unsafe fn recvmsg(fd: libc::c_int, msg: *mut libc::msghdr, flags: libc::c_int) -> libc::ssize_t {
    // SAFETY: the caller guarantees `msg` and its buffers.
    receive(fd, flags, || unsafe { raw_syscall!(libc::SYS_recvmsg, fd, msg, flags) })
}

/// `write(2)`.
///
/// # Safety
///
/// `buf` must be readable for `count` bytes, as for libc's `write`.
pub unsafe fn write(fd: libc::c_int, buf: *const libc::c_void, count: libc::size_t) -> libc::ssize_t {
    send_all(fd, 0, count, |done| {
        // SAFETY: the caller guarantees `buf` holds `count` bytes, and
        // `done <= count`.
        unsafe { raw_syscall!(libc::SYS_write, fd, buf.cast::<u8>().add(done), count - done) }
    })
}

/// `send(2)`.
///
/// # Safety
///
/// `buf` must be readable for `len` bytes, as for libc's `send`.
pub unsafe fn send(fd: libc::c_int, buf: *const libc::c_void, len: libc::size_t, flags: libc::c_int) -> libc::ssize_t {
    // SAFETY: sendto without an address, under the same contract.
    unsafe { sendto(fd, buf, len, flags, ptr::null(), 0) }
}

/// `sendto(2)`.
///
/// # Safety
///
/// `buf` must be readable for `len` bytes and `addr` null or readable for
/// `addrlen` bytes, as for libc's `sendto`.
pub unsafe fn sendto(
    fd: libc::c_int,
    buf: *const libc::c_void,
    len: libc::size_t,
    flags: libc::c_int,
    addr: *const libc::sockaddr,
    addrlen: libc::socklen_t,
) -> libc::ssize_t {
    send_all(fd, flags, len, |done| {
        // SAFETY: the caller guarantees the buffers, and `done <= len`.
        unsafe { raw_syscall!(libc::SYS_sendto, fd, buf.cast::<u8>().add(done), len - done, flags, addr, addrlen) }
    })
}

/// `writev(2)`.
///
/// # Safety
///
/// `iov` must point to `iovcnt` iovecs describing readable buffers, as for
/// libc's `writev`.
pub unsafe fn writev(fd: libc::c_int, iov: *const libc::iovec, iovcnt: libc::c_int) -> libc::ssize_t {
    // SAFETY: the caller guarantees the iovecs.
    let iovs = unsafe { iovecs(iov, iovcnt) };
    let total = total_len(iovs);
    let mut rest = Vec::new();
    send_all(fd, 0, total, |done| {
        if done == 0 {
            // SAFETY: the caller guarantees the iovecs and their buffers.
            return unsafe { raw_syscall!(libc::SYS_writev, fd, iov, iovcnt) };
        }
        rest = advance(iovs, done);
        // SAFETY: `rest` describes the unsent tail of the caller's buffers.
        unsafe { raw_syscall!(libc::SYS_writev, fd, rest.as_ptr(), rest.len()) }
    })
}

/// `sendmsg(2)`. On a blocking stream socket, what the first send leaves
/// is sent without the ancillary data, which went with the first byte.
///
/// # Safety
///
/// `msg` must be a valid `msghdr` with readable buffers, as for libc's
/// `sendmsg`.
pub unsafe fn sendmsg(fd: libc::c_int, msg: *const libc::msghdr, flags: libc::c_int) -> libc::ssize_t {
    // SAFETY: the caller guarantees `msg` is valid (or the kernel reports
    // EFAULT for a null one, which `as_ref` turns into a plain call).
    let Some(m) = (unsafe { msg.as_ref() }) else {
        // SAFETY: the kernel validates the pointer.
        return plain(unsafe { raw_syscall!(libc::SYS_sendmsg, fd, msg, flags) });
    };
    // SAFETY: the caller guarantees `msg_iov` holds `msg_iovlen` iovecs.
    let iovs = unsafe { iovecs(m.msg_iov, m.msg_iovlen as libc::c_int) };
    let total = total_len(iovs);
    let mut rest = Vec::new();
    let mut tail: libc::msghdr = *m;
    send_all(fd, flags, total, |done| {
        if done == 0 {
            // SAFETY: the caller guarantees `msg` and its buffers.
            return unsafe { raw_syscall!(libc::SYS_sendmsg, fd, msg, flags) };
        }
        rest = advance(iovs, done);
        tail.msg_iov = rest.as_mut_ptr();
        tail.msg_iovlen = rest.len() as _;
        tail.msg_control = ptr::null_mut();
        tail.msg_controllen = 0;
        // SAFETY: `tail` is the caller's header over the unsent tail of its
        // buffers, without ancillary data.
        unsafe { raw_syscall!(libc::SYS_sendmsg, fd, ptr::from_ref(&tail), flags) }
    })
}

/// The caller's iovecs as a slice; empty for a count the kernel rejects
/// (the system call then reports the error itself).
///
/// # Safety
///
/// For a count in 1..=1024, `iov` must point to that many iovecs.
unsafe fn iovecs<'a>(iov: *const libc::iovec, iovcnt: libc::c_int) -> &'a [libc::iovec] {
    match usize::try_from(iovcnt) {
        Ok(n) if n > 0 && n <= IOV_MAX && !iov.is_null() => {
            // SAFETY: guaranteed by the caller for this range.
            unsafe { std::slice::from_raw_parts(iov, n) }
        }
        _ => &[],
    }
}

fn total_len(iovs: &[libc::iovec]) -> usize {
    iovs.iter().fold(0usize, |n, v| n.saturating_add(v.iov_len))
}

/// The iovecs that remain after the first `skip` bytes.
fn advance(iovs: &[libc::iovec], mut skip: usize) -> Vec<libc::iovec> {
    let mut rest = Vec::with_capacity(iovs.len());
    for v in iovs {
        if skip >= v.iov_len {
            skip -= v.iov_len;
            continue;
        }
        // SAFETY: `skip < iov_len`, so the result stays inside the buffer.
        let base = unsafe { v.iov_base.cast::<u8>().add(skip) };
        rest.push(libc::iovec { iov_base: base.cast(), iov_len: v.iov_len - skip });
        skip = 0;
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_skips_whole_and_partial_buffers() {
        let mut a = [0u8; 3];
        let mut b = [0u8; 5];
        let iovs = [
            libc::iovec { iov_base: a.as_mut_ptr().cast(), iov_len: a.len() },
            libc::iovec { iov_base: b.as_mut_ptr().cast(), iov_len: b.len() },
        ];
        let rest = advance(&iovs, 4);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].iov_len, 4);
        assert_eq!(rest[0].iov_base.cast::<u8>(), b.as_mut_ptr().wrapping_add(1));
        assert!(advance(&iovs, 8).is_empty());
        assert_eq!(total_len(&iovs), 8);
    }
}
