//! Waiting for a child to exit without blocking the hub.
//!
//! The usual way is a pidfd (`pidfd_open(2)`, Linux 5.3 and later): an fd
//! that turns readable when the process exits, waited on like a socket.
//! Where the kernel refuses one (older kernels say `ENOSYS`, a seccomp
//! filter `EPERM`, or `VERDE_PROCESS_NO_PIDFD` is set), a job on the
//! [`blocking`](crate::blocking) pool waits in `waitid(WNOWAIT)` and raises
//! an [`Event`]; the hub never blocks either way. In both cases the child
//! is reaped by std's `try_wait` afterwards, which keeps its status.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::ExitStatus;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::event::Event;
use crate::io::Registration;

/// Set (to anything but `0` or an empty string) to skip pidfds and wait on
/// the blocking pool, as on a kernel without them. Read once.
pub(super) const NO_PIDFD_VAR: &str = "VERDE_PROCESS_NO_PIDFD";

fn pidfds_allowed() -> bool {
    static ALLOWED: OnceLock<bool> = OnceLock::new();
    *ALLOWED.get_or_init(|| std::env::var_os(NO_PIDFD_VAR).is_none_or(|v| v.is_empty() || v == "0"))
}

/// What a wait for the child's exit parks on.
#[derive(Debug)]
pub(super) enum ExitWatch {
    /// A pidfd, held open for its registration; fields drop in order, so
    /// the fd leaves every epoll before it is closed.
    Pidfd { reg: Registration, _fd: OwnedFd },
    /// Raised by a blocking-pool job once the child has exited.
    Pool(Arc<Event>),
}

impl ExitWatch {
    /// A watch on child `pid`, which must not have been reaped yet.
    pub(super) fn new(pid: u32) -> ExitWatch {
        match pidfd_open(pid) {
            Ok(fd) => ExitWatch::Pidfd { reg: Registration::new(fd.as_raw_fd()), _fd: fd },
            Err(_) => ExitWatch::Pool(watch_on_pool(pid)),
        }
    }

    /// Calls `reap` (std's `try_wait`) until it reports the exit status,
    /// parking until the child exits in between, for at most `timeout`.
    /// `Ok(None)` means the time ran out.
    pub(super) fn wait(
        &self,
        timeout: Option<Duration>,
        mut reap: impl FnMut() -> io::Result<Option<ExitStatus>>,
    ) -> io::Result<Option<ExitStatus>> {
        match self {
            ExitWatch::Pidfd { reg, .. } => {
                let still_running = || io::Error::from(io::ErrorKind::WouldBlock);
                match reg.read_with(timeout, || reap()?.ok_or_else(still_running)) {
                    Ok(status) => Ok(Some(status)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
                    Err(e) => Err(e),
                }
            }
            ExitWatch::Pool(exited) => {
                if let Some(status) = reap()? {
                    return Ok(Some(status));
                }
                if !exited.wait(timeout) {
                    return Ok(None);
                }
                reap()?.map(Some).ok_or_else(|| {
                    io::Error::other("verde: waitid reported the child's exit, but waitpid could not reap it")
                })
            }
        }
    }
}

/// `pidfd_open(pid, 0)`: a close-on-exec fd for the process.
fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    if !pidfds_allowed() {
        return Err(io::Error::from_raw_os_error(libc::ENOSYS));
    }
    // SAFETY: pidfd_open takes a pid and flags, both integers.
    let fd = crate::sys::cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) })?;
    // SAFETY: the kernel just returned this fd, which nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Starts a blocking-pool job that waits until child `pid` has exited,
/// without reaping it, and then raises the returned event. The job ends
/// with the child (or at once if `pid` is not a child to wait for), even if
/// nobody waits for the event any more.
fn watch_on_pool(pid: u32) -> Arc<Event> {
    let exited = Arc::new(Event::new());
    let raise = Arc::clone(&exited);
    crate::blocking::submit(move || {
        loop {
            // SAFETY: an all-zero siginfo_t is a valid value for the kernel
            // to overwrite.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: `info` is a live siginfo_t the kernel writes into.
            let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT) };
            if r == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                break;
            }
        }
        raise.set();
    });
    exited
}
