//! Triggering a graceful shutdown: SIGTERM, SIGINT, or a [`ShutdownHandle`].
//!
//! Both paths write to one eventfd that the server waits on. The signal
//! handler only calls `write(2)`, which is async-signal-safe.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

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
    // SAFETY: writing 8 bytes from a local buffer to an eventfd; write(2)
    // is async-signal-safe, as this may run in a signal handler.
    unsafe { libc::syscall(libc::SYS_write, fd, one.as_ptr(), one.len()) };
}

/// Eventfds of servers that shut down on SIGTERM/SIGINT.
const SLOTS: usize = 64;
static SIGNAL_FDS: [AtomicI32; SLOTS] = [const { AtomicI32::new(-1) }; SLOTS];
static INSTALLED: Mutex<Option<(libc::sigaction, libc::sigaction)>> = Mutex::new(None);

extern "C" fn on_signal(_: libc::c_int) {
    for slot in &SIGNAL_FDS {
        let fd = slot.load(Ordering::Relaxed);
        if fd >= 0 {
            notify(fd);
        }
    }
}

/// While alive, SIGTERM and SIGINT shut the server down.
pub(crate) struct SignalGuard {
    slot: usize,
}

impl SignalGuard {
    pub fn install(handle: &ShutdownHandle) -> io::Result<SignalGuard> {
        let slot = SIGNAL_FDS
            .iter()
            .position(|s| s.compare_exchange(-1, handle.fd(), Ordering::AcqRel, Ordering::Acquire).is_ok())
            .ok_or_else(|| io::Error::other("too many servers handling signals at once"))?;
        let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        if installed.is_none() {
            // SAFETY: installing a handler whose body is async-signal-safe;
            // the previous actions are saved to restore later.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old_term: libc::sigaction = std::mem::zeroed();
                let mut old_int: libc::sigaction = std::mem::zeroed();
                libc::sigaction(libc::SIGTERM, &action, &mut old_term);
                libc::sigaction(libc::SIGINT, &action, &mut old_int);
                *installed = Some((old_term, old_int));
            }
        }
        Ok(SignalGuard { slot })
    }
}

impl Drop for SignalGuard {
    fn drop(&mut self) {
        SIGNAL_FDS[self.slot].store(-1, Ordering::Release);
        if SIGNAL_FDS.iter().all(|s| s.load(Ordering::Acquire) < 0) {
            let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((old_term, old_int)) = installed.take() {
                // SAFETY: restoring the actions saved at install time.
                unsafe {
                    libc::sigaction(libc::SIGTERM, &old_term, std::ptr::null_mut());
                    libc::sigaction(libc::SIGINT, &old_int, std::ptr::null_mut());
                }
            }
        }
    }
}
