//! Accepting connections when the process runs out of file descriptors.
//!
//! When `accept` fails with `EMFILE` or `ENFILE` (or `ENOBUFS`/`ENOMEM`),
//! the pending connection stays queued and the listener stays readable, so
//! a plain accept loop would spin at full CPU, retrying a call that cannot
//! succeed until some fd is closed. verde's listeners do what gevent's
//! `StreamServer` does instead: the accepting coroutine sleeps, 10 ms at
//! first and twice as long after each failure up to 1 s, and tries again;
//! the first success resets the delay. Other coroutines keep running (and
//! closing their fds) meanwhile. Each episode is logged once, through the
//! `log` crate, when it starts.
//!
//! A listener in non-blocking mode returns these errors instead, as std
//! does: its owner chose to handle `accept` failures itself.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::socket::Socket;

const MIN_DELAY: Duration = Duration::from_millis(10);
const MAX_DELAY: Duration = Duration::from_secs(1);

/// The per-listener state of the back-off: whether an episode of fd
/// exhaustion is under way (so it is logged once).
#[derive(Debug, Default)]
pub(crate) struct Acceptor {
    starved: AtomicBool,
}

impl Acceptor {
    /// Accepts a connection on `listener`, backing off while the process is
    /// out of fds.
    pub(crate) fn accept(&self, listener: &Socket) -> io::Result<(Socket, libc::sockaddr_storage, libc::socklen_t)> {
        let mut delay = MIN_DELAY;
        loop {
            match listener.accept() {
                Ok(accepted) => {
                    if self.starved.load(Ordering::Relaxed) {
                        self.starved.store(false, Ordering::Relaxed);
                    }
                    return Ok(accepted);
                }
                Err(e) if is_exhaustion(&e) && !listener.is_nonblocking() => {
                    if !self.starved.swap(true, Ordering::Relaxed) {
                        log::warn!(
                            "verde: accept on fd {} failed: {e}; retrying after {} ms, backing off up to {} s",
                            listener.fd(),
                            delay.as_millis(),
                            MAX_DELAY.as_secs(),
                        );
                    }
                    verde_runtime::sleep(delay);
                    delay = (delay * 2).min(MAX_DELAY);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether `e` means the process or system is out of fds or buffers, a
/// condition that passes when others release theirs.
fn is_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}
