//! Triggering a graceful shutdown: SIGTERM, SIGINT, or a [`ShutdownHandle`].
//!
//! Both paths write to one eventfd that the server waits on: the handle
//! directly, the signals through a coroutine that waits for them
//! ([`verde_runtime::signal`]).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use verde_runtime::signal::Signals;
use verde_runtime::{Builder, JoinHandle};

/// Stops a running [`Server`](crate::Server) gracefully: it stops
/// accepting, lets in-flight requests finish within the grace period,
/// closes idle connections, and `serve` returns.
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    fd: Arc<OwnedFd>,
}

impl ShutdownHandle {
    pub(crate) fn new() -> io::Result<ShutdownHandle> {
        // SAFETY: eventfd2 takes no pointers; a non-negative result is a new
        // fd we own.
        let fd = unsafe { libc::syscall(libc::SYS_eventfd2, 0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        Ok(ShutdownHandle { fd: Arc::new(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }) })
    }

    /// Asks the server to shut down; returns at once.
    pub fn shutdown(&self) {
        notify(self.fd.as_raw_fd());
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

fn notify(fd: RawFd) {
    let one = 1u64.to_ne_bytes();
    // SAFETY: writing 8 bytes from a local buffer to an eventfd.
    unsafe { libc::syscall(libc::SYS_write, fd, one.as_ptr(), one.len()) };
}

/// While alive, SIGTERM and SIGINT shut the server down: a coroutine on
/// the serving thread's hub waits for them with
/// [`verde_runtime::signal::Signals`], which also passes them on to any
/// handler installed before, and puts their previous disposition back when
/// the guard goes.
pub(crate) struct SignalGuard {
    watcher: JoinHandle<()>,
}

impl SignalGuard {
    pub fn install(handle: &ShutdownHandle) -> io::Result<SignalGuard> {
        let signals = Signals::new([libc::SIGTERM, libc::SIGINT])?;
        let handle = handle.clone();
        let watcher = Builder::new().name("verde-http signals".to_string()).spawn_local(move || {
            for _ in signals.forever() {
                handle.shutdown();
            }
        })?;
        Ok(SignalGuard { watcher })
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        self.watcher.kill();
    }
}
