//! Unix signals for blocking-style code: a coroutine waits for a signal
//! the way it waits for a socket, and gevent's `signal_handler`.
//!
//! [`Signals`] catches a set of signals and hands them, one at a time, to
//! whoever [`wait`](Signals::wait)s: inside a coroutine the wait parks
//! only that coroutine; on a plain thread it blocks the thread. A kill or
//! a [`Timeout`](crate::Timeout) interrupts it. [`signal_handler`] is
//! gevent's: it runs a function in a new coroutine each time the signal
//! arrives.
//!
//! ```
//! use verde_runtime::signal::Signals;
//!
//! let hup = Signals::new([libc::SIGHUP]).unwrap();
//! let reloader = verde_runtime::spawn(move || hup.wait().unwrap());
//! // SAFETY: sending a signal the process now catches to itself.
//! unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
//! assert_eq!(reloader.join().unwrap(), libc::SIGHUP);
//! ```
//!
//! # Semantics
//!
//! * Signals are process-wide: one sent to the process reaches every
//!   `Signals` that includes it, whichever thread the kernel picked to
//!   run the handler.
//! * Deliveries of one signal that come before a wait takes it count once,
//!   as the kernel counts standard signals. Several different pending
//!   signals are taken lowest number first.
//! * While any `Signals` wants a signal, its previous disposition is
//!   replaced: a default action (ending the process for SIGINT or
//!   SIGTERM) no longer happens, and `SIG_IGN` no longer ignores it. A
//!   previous *handler* (a C library's, verde's own HTTP server's) still
//!   runs, after verde has noted the signal. When the last `Signals`
//!   for a signal is dropped, the previous disposition comes back.
//! * SIGKILL and SIGSTOP cannot be caught. SIGSEGV, SIGBUS, SIGILL and
//!   SIGFPE report faults in the thread that caused them and are refused
//!   too (verde reports stack overflows through SIGSEGV and SIGBUS), as
//!   are the signal numbers the C library reserves for itself (32 and 33
//!   with glibc). Each is an `InvalidInput` error.
//! * At most 128 `Signals` exist at once (a fixed table the signal
//!   handler reads without allocating); one more is an error that says
//!   so.

mod handler;
mod table;

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

pub use handler::{signal_handler, SignalHandler};

use crate::io::Registration;
use table::Entry;

/// A set of Unix signals caught for cooperative waiting.
///
/// Create it before the signals can come: one that arrives before any
/// `Signals` wants it gets its previous disposition (for SIGINT and
/// SIGTERM, the end of the process).
///
/// ```
/// use std::time::Duration;
/// use verde_runtime::signal::Signals;
///
/// let signals = Signals::new([libc::SIGUSR1, libc::SIGUSR2]).unwrap();
/// assert_eq!(signals.wait_timeout(Duration::from_millis(1)).unwrap(), None);
/// // SAFETY: sending a signal the process now catches to itself.
/// unsafe { libc::raise(libc::SIGUSR2) };
/// assert_eq!(signals.wait().unwrap(), libc::SIGUSR2);
/// ```
#[derive(Debug)]
pub struct Signals {
    /// Dropped first: once it is gone, no handler writes to `event`.
    entry: Entry,
    reg: Registration,
    event: OwnedFd,
}

impl Signals {
    /// Catches `signals` (numbers such as `libc::SIGTERM`) from now on,
    /// until this value is dropped.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a signal that cannot or may not be caught (see
    /// the [module docs](self)), or an empty set; an error naming the limit
    /// when 128 `Signals` exist already; the OS error if no eventfd can be
    /// made.
    pub fn new(signals: impl IntoIterator<Item = i32>) -> io::Result<Signals> {
        let mut wanted: Vec<i32> = Vec::new();
        for signal in signals {
            table::check(signal)?;
            if !wanted.contains(&signal) {
                wanted.push(signal);
            }
        }
        if wanted.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "verde::signal: no signals given"));
        }
        // SAFETY: eventfd takes no pointers; a non-negative result is a new
        // fd that nothing else owns.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as above, `fd` is ours alone.
        let event = unsafe { OwnedFd::from_raw_fd(fd) };
        let reg = Registration::try_new(fd)?;
        let entry = Entry::new(wanted, fd)?;
        Ok(Signals { entry, reg, event })
    }

    /// The signals caught, in the order given, without repeats.
    pub fn signals(&self) -> &[i32] {
        self.entry.signals()
    }

    /// Waits for one of the signals and returns its number.
    ///
    /// # Errors
    ///
    /// Only an unexpected OS error reading the eventfd behind it.
    pub fn wait(&self) -> io::Result<i32> {
        self.reg.read_with(None, || self.take())
    }

    /// Like [`wait`](Self::wait), giving up after `timeout`: `Ok(None)`
    /// if no signal came by then.
    pub fn wait_timeout(&self, timeout: Duration) -> io::Result<Option<i32>> {
        match self.reg.read_with(Some(timeout), || self.take()) {
            Ok(signal) => Ok(Some(signal)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(self.entry.take_pending()),
            Err(e) => Err(e),
        }
    }

    /// Takes a signal that already came, without waiting.
    pub fn try_wait(&self) -> Option<i32> {
        self.entry.take_pending()
    }

    /// The signals as they come, forever: `for signal in signals.forever()`.
    /// It ends only if waiting fails (see [`wait`](Self::wait)).
    pub fn forever(&self) -> impl Iterator<Item = i32> + '_ {
        std::iter::from_fn(move || self.wait().ok())
    }

    /// A pending signal, or `WouldBlock` once the eventfd says no more
    /// came; deliveries between the two are read on the next round.
    fn take(&self) -> io::Result<i32> {
        loop {
            if let Some(signal) = self.entry.take_pending() {
                return Ok(signal);
            }
            let mut count = [0u8; 8];
            // SAFETY: reading 8 bytes into a local buffer from the eventfd
            // this value owns.
            let n = unsafe { libc::read(self.event.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}
