//! Monkey patching for Rust: libc's blocking calls, made cooperative for
//! the whole program (gevent's `monkey.patch_all()`).
//!
//! One line at the root of the application's binary crate turns it on:
//!
//! ```ignore
//! verde::patch_all!();
//! ```
//!
//! The macro defines `read`, `write`, `connect`, `poll`, `nanosleep`,
//! `getaddrinfo` and the other functions listed below in the executable,
//! each forwarding to this module. The linker binds every call to those
//! names made by code linked into the executable (std, every Rust crate, C
//! compiled in with `cc`) to the executable's definitions instead of
//! libc's. From then on, unmodified blocking code (`std::net::TcpStream`,
//! `std::thread::sleep`, ureq, the sync `redis` client, a C library's
//! `sleep` or socket I/O) parks its coroutine instead of blocking the hub,
//! and other coroutines run meanwhile. The sync `postgres` client parks
//! too, but only one coroutine per hub at a time may be inside it (see the
//! limits below).
//!
//! ```no_run
//! // In the binary's main.rs (or lib.rs of a test or example target):
//! // verde::patch_all!();
//! use std::io::Read;
//! use std::time::Duration;
//!
//! let handles: Vec<_> = (0..100)
//!     .map(|_| {
//!         verde_runtime::spawn(|| {
//!             std::thread::sleep(Duration::from_millis(200)); // parks, under the patch
//!             let mut s = std::net::TcpStream::connect("127.0.0.1:8080").unwrap();
//!             let mut reply = String::new();
//!             s.read_to_string(&mut reply).unwrap();
//!         })
//!     })
//!     .collect();
//! verde_runtime::joinall(handles); // about 0.2 s, not 20 s
//! ```
//!
//! # What it covers
//!
//! | family | functions |
//! | --- | --- |
//! | sockets | `socket`, `connect`, `accept`, `accept4` |
//! | transfers | `read`, `write`, `readv`, `writev`, `recv`, `send`, `recvfrom`, `sendto`, `recvmsg`, `sendmsg` |
//! | waiting | `poll`, `select`, `epoll_wait`, `epoll_pwait` |
//! | sleeping | `nanosleep`, `clock_nanosleep`, `usleep`, `sleep` |
//! | fd bookkeeping | `close`, `dup`, `dup2`, `dup3`, `fcntl` (and `fcntl64`), `ioctl` (`FIONBIO`), `setsockopt` (`SO_RCVTIMEO`, `SO_SNDTIMEO`) |
//! | names | `getaddrinfo`, on the [`blocking`](crate::blocking) pool |
//!
//! # Semantics
//!
//! **In a coroutine**, a patched call looks to its caller exactly like the
//! blocking call: the same results and `errno`, the socket's own blocking
//! or non-blocking mode, and its `SO_RCVTIMEO`/`SO_SNDTIMEO` timeouts
//! (`EAGAIN` when they expire; `EINPROGRESS` for `connect`, as Linux
//! reports it). Only the coroutine parks. To do that, a socket a coroutine
//! uses is *adopted*: switched to `O_NONBLOCK`, with the mode and timeouts
//! the program set remembered by the patch, and shown back to it by
//! `fcntl(F_GETFL)`. Other fds (files, pipes, terminals) are never touched:
//! their calls are the plain system call, which may block the hub (see
//! limits).
//!
//! **Outside coroutines** (plain threads, a thread's main context, the
//! blocking pool), every call is the plain system call, and blocks the
//! thread as libc's does. Sockets that were never used in a coroutine are
//! left exactly as the program made them. On a socket the patch adopted
//! earlier, the call emulates the blocking one with `poll` (same results,
//! same timeouts, `EINTR` on a signal). The patch adopts lazily rather
//! than making every socket non-blocking at birth because a program's
//! threads, its child processes and its C libraries then see the kernel's
//! own behaviour on every fd a coroutine never touched.
//!
//! **Signals** do not interrupt a coroutine's wait (it parks; the hub
//! retries its own `epoll_wait`), as if every handler had `SA_RESTART`.
//!
//! **Kill and `Timeout`.** A patched function is a C-ABI frame, which a
//! Rust panic must not unwind through, so a kill or [`Timeout`](crate::Timeout)
//! that reaches a coroutine in a patched call does not unwind there: the
//! call fails with `ECANCELED` (a sleep returns early, successfully, since
//! std's `thread::sleep` treats other failures as bugs) and the interrupt
//! stays pending. It unwinds the coroutine at its next park point in
//! verde's own API (a `join`, a verde socket, a lock, `verde::sleep`), or
//! is withdrawn when its `Timeout` ends first. A coroutine that ignores
//! the error and waits in a patched call again parks until the interrupt
//! is posted anew (a second kill), so a killed server loop that swallows
//! errors neither spins nor serves on; the hub's teardown kills it a few
//! times and then leaks it with a warning.
//!
//! A runtime switch, [`set_enabled`], makes coroutines block like threads
//! (for measuring the difference in one binary).
//!
//! # Linking
//!
//! Verified on x86_64 Linux with GNU ld, glibc 2.36 and rustc 1.95 (see
//! the `patch_*` integration tests):
//!
//! * **Statically linked code** (std, Rust crates, C compiled in by a
//!   build script): the executable's definitions win, whatever the link
//!   flags: the linker resolves undefined references inside the executable
//!   to its own definitions before looking at libc.so.
//! * **Shared libraries loaded at run time** (`dlopen`, or `-l` of a `.so`)
//!   look symbols up in the global scope, where the executable comes first,
//!   but only among the symbols it *exports*. An executable exports only
//!   what shared libraries on its link line reference; add
//!   `-C link-arg=-Wl,--export-dynamic` (e.g. in `.cargo/config.toml` or a
//!   build script's `cargo:rustc-link-arg-bins`) so a library's `sleep` or
//!   `recv` binds to the patch.
//! * **Not covered**: calls libc makes to itself (stdio's `fread`/`fwrite`
//!   and `printf`, `getaddrinfo`'s own sockets, `system`, `popen`), which go
//!   through internal aliases; `_FORTIFY_SOURCE` variants (`__read_chk`,
//!   `__recv_chk`, `__poll_chk`); raw `syscall(2)`; `sendfile`, `splice`,
//!   `ppoll`, `pselect`, `epoll_pwait2`, `io_uring`; `flock` and
//!   `fcntl(F_SETLKW)`; and code in a shared library that binds to libc by
//!   a direct or versioned reference (`-Bsymbolic`, `dlsym(RTLD_NEXT)`).
//!   The [monitor](crate::monitor) names such calls when they block a hub.
//!
//! # Platforms
//!
//! Linux on x86_64 and aarch64 only. `fcntl` and `ioctl` are variadic in
//! C; stable Rust cannot define a variadic function, so the patch defines
//! them with a fixed third argument (`c_ulong` for `fcntl`, a pointer for
//! `ioctl`). That is ABI-compatible on these two platforms: the x86_64
//! System V ABI passes the first six integer or pointer arguments of a
//! variadic call in the same registers as a fixed one (`%al`, which
//! carries the vector-register count, is ignored by a non-variadic
//! callee), and AAPCS64 on Linux passes variadic arguments like fixed ones.
//! Every `fcntl` command and `ioctl` request takes at most one integer or
//! pointer argument.
//!
//! # Limits
//!
//! * Pipes, FIFOs, terminals and character devices are not adopted (they
//!   are often shared with other processes, which `O_NONBLOCK` would
//!   change): a coroutine blocking on one blocks its hub. Use
//!   [`blocking`](crate::blocking) or [`io::wait_readable`](crate::io::wait_readable).
//! * A socket's calls outside the patch (a libc-internal `close`, such as
//!   `fclose` of an `fdopen`ed socket, or `close_range`) leave a stale table
//!   entry until the fd number comes back through a patched call.
//! * Adopted sockets stay non-blocking in the kernel: a child process that
//!   inherits one across `exec` sees `O_NONBLOCK` (gevent has the same
//!   limit).
//! * `recvmsg` with `MSG_WAITALL` returns what the first receive gives.
//! * Only one coroutine per hub at a time can be inside a library that
//!   drives its own tokio runtime with `Runtime::block_on`, such as the
//!   sync `postgres` client. Its wait parks fine (the hub waits on
//!   tokio's epoll fd), but tokio records the entered runtime in a
//!   thread-local, which all coroutines of a hub share, and panics
//!   ("Cannot start a runtime from within a runtime") when a second
//!   coroutine enters a runtime while the first is parked in one. For many
//!   concurrent clients, run each call with [`blocking`](crate::blocking).
//! * A panic inside a patched function aborts the process (it cannot
//!   unwind through the C ABI); the patch's own code does not panic.
//! * The patch's own work never calls a patched symbol: it makes raw
//!   system calls, and a call made on a thread while that thread is inside
//!   patch code (a logger writing a line, say) is passed straight to the
//!   kernel.

mod call;
mod fd;
mod fdtable;
mod io;
pub(crate) mod raw;
mod resolve;
mod sleep;
mod socket;
mod wait;

use std::sync::atomic::Ordering;

pub use fd::{close, dup, dup2, dup3, fcntl, fcntl64, ioctl, setsockopt};
pub use io::{read, readv, recv, recvfrom, recvmsg, send, sendmsg, sendto, write, writev};
pub use resolve::getaddrinfo;
pub use sleep::{clock_nanosleep, nanosleep, sleep, usleep};
pub use socket::{accept, accept4, connect, socket};
pub use wait::{epoll_pwait, epoll_wait, poll, select};

/// Turns the cooperative behaviour on or off for the whole process; on by
/// default. While off, coroutines make the plain calls and block their hub
/// as threads do; adopted sockets keep their emulated blocking semantics.
/// For comparing both behaviours in one binary (the `blocking_ffi`
/// example).
///
/// ```
/// verde_runtime::patch::set_enabled(false);
/// assert!(!verde_runtime::patch::is_enabled());
/// verde_runtime::patch::set_enabled(true);
/// ```
pub fn set_enabled(enabled: bool) {
    call::ENABLED.store(enabled, Ordering::Relaxed);
}

/// Whether the cooperative behaviour is on (see [`set_enabled`]).
pub fn is_enabled() -> bool {
    call::ENABLED.load(Ordering::Relaxed)
}

/// Whether the patch is in effect in this process: some patched function
/// has been called, which happens only when [`patch_all!`](crate::patch_all)
/// is in the binary (std calls several of them at startup).
pub fn is_active() -> bool {
    call::ACTIVE.load(Ordering::Relaxed)
}

/// Whether the patch makes system call `nr` cooperative when it comes
/// through the libc function of the same name.
pub(crate) fn covers_syscall(nr: libc::c_long) -> bool {
    #[cfg(target_arch = "x86_64")]
    let arch: &[libc::c_long] = &[libc::SYS_poll, libc::SYS_select, libc::SYS_epoll_wait, libc::SYS_accept];
    #[cfg(not(target_arch = "x86_64"))]
    let arch: &[libc::c_long] = &[libc::SYS_accept];
    let common = [
        libc::SYS_read,
        libc::SYS_write,
        libc::SYS_readv,
        libc::SYS_writev,
        libc::SYS_recvfrom,
        libc::SYS_sendto,
        libc::SYS_recvmsg,
        libc::SYS_sendmsg,
        libc::SYS_connect,
        libc::SYS_accept4,
        libc::SYS_ppoll,
        libc::SYS_pselect6,
        libc::SYS_epoll_pwait,
        libc::SYS_nanosleep,
        libc::SYS_clock_nanosleep,
    ];
    arch.contains(&nr) || common.contains(&nr)
}

#[doc(hidden)]
pub mod __private {
    pub use libc;
}

/// Interposes libc's blocking functions for the whole binary; see the
/// [`patch`](crate::patch) module. Put it once at the root of the binary
/// crate (a `main.rs`, or an example's or integration test's file):
///
/// ```ignore
/// verde::patch_all!();
///
/// fn main() {
///     // std::net, std::thread::sleep, C libraries: all cooperative in coroutines.
/// }
/// ```
///
/// It expands to `extern "C"` definitions exported under libc's names
/// (`read`, `connect`, `nanosleep`, ...) inside an anonymous `const`, so it
/// adds no names to the crate. Using it twice in one binary is a duplicate
/// symbol error at link time. Linux on x86_64 and aarch64 only.
#[macro_export]
macro_rules! patch_all {
    () => {
        const _: () = {
            use $crate::patch::__private::libc::{
                addrinfo, c_char, c_int, c_uint, c_ulong, c_void, clockid_t, epoll_event, fd_set, iovec, msghdr,
                nfds_t, pollfd, sigset_t, size_t, sockaddr, socklen_t, ssize_t, timespec, timeval, useconds_t,
            };
            $crate::__patch_symbols! {
                socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
                connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
                accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
                accept4(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int;
                read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t;
                write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t;
                readv(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t;
                writev(fd: c_int, iov: *const iovec, iovcnt: c_int) -> ssize_t;
                recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t;
                send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t;
                recvfrom(
                    fd: c_int, buf: *mut c_void, len: size_t, flags: c_int, addr: *mut sockaddr,
                    addrlen: *mut socklen_t
                ) -> ssize_t;
                sendto(
                    fd: c_int, buf: *const c_void, len: size_t, flags: c_int, addr: *const sockaddr,
                    addrlen: socklen_t
                ) -> ssize_t;
                recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t;
                sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t;
                poll(fds: *mut pollfd, nfds: nfds_t, timeout: c_int) -> c_int;
                select(
                    nfds: c_int, readfds: *mut fd_set, writefds: *mut fd_set, exceptfds: *mut fd_set,
                    timeout: *mut timeval
                ) -> c_int;
                epoll_wait(epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: c_int) -> c_int;
                epoll_pwait(
                    epfd: c_int, events: *mut epoll_event, maxevents: c_int, timeout: c_int,
                    sigmask: *const sigset_t
                ) -> c_int;
                nanosleep(req: *const timespec, rem: *mut timespec) -> c_int;
                clock_nanosleep(clock: clockid_t, flags: c_int, req: *const timespec, rem: *mut timespec) -> c_int;
                usleep(usec: useconds_t) -> c_int;
                sleep(seconds: c_uint) -> c_uint;
                close(fd: c_int) -> c_int;
                dup(fd: c_int) -> c_int;
                dup2(old: c_int, new: c_int) -> c_int;
                dup3(old: c_int, new: c_int, flags: c_int) -> c_int;
                fcntl(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int;
                fcntl64(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int;
                ioctl(fd: c_int, request: c_ulong, arg: *mut c_void) -> c_int;
                setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void, len: socklen_t) -> c_int;
                getaddrinfo(
                    node: *const c_char, service: *const c_char, hints: *const addrinfo, res: *mut *mut addrinfo
                ) -> c_int;
            }
        };
    };
}

/// Defines one exported forwarding function per line; used by
/// [`patch_all!`](crate::patch_all).
#[doc(hidden)]
#[macro_export]
macro_rules! __patch_symbols {
    ($($name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {$(
        /// verde's cooperative replacement for libc's function of this name.
        ///
        /// # Safety
        ///
        /// libc's contract for this function.
        #[export_name = stringify!($name)]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            // SAFETY: the caller upholds libc's contract for this function,
            // which is the patch's.
            unsafe { $crate::patch::$name($($arg),*) }
        }
    )*};
}
