//! [`SpawnBackoff`]: what an accept loop does when the coroutine for what
//! it accepted cannot be created.

use std::io;
use std::time::Duration;

/// An accept loop's answer to a failed spawn, gevent's servers' own: when
/// the coroutine for a connection (or a datagram, a job) cannot be created
/// (memory for stacks is out, or `vm.max_map_count` on a kernel without
/// in-place stack guards), the loop drops that one item, logs the error
/// once per episode, and pauses, [`FIRST_PAUSE`](Self::FIRST_PAUSE) at
/// first and twice as long after each failure up to
/// [`LONGEST_PAUSE`](Self::LONGEST_PAUSE), while the running coroutines
/// finish and free their stacks. The first spawn that succeeds ends the
/// episode. The loop never stops over it, where a plain
/// [`spawn`](crate::spawn) would panic.
///
/// verde's `StreamServer`, `DatagramServer` and HTTP server use it; so can
/// an accept loop of one's own:
///
/// ```
/// use verde_runtime::{Builder, SpawnBackoff};
///
/// let mut backoff = SpawnBackoff::new();
/// // In the loop, for each item accepted:
/// let spawned = Builder::new().spawn(|| 6 * 7);
/// if let Some(handle) = backoff.after(spawned, "my server", "connection") {
///     assert_eq!(handle.join().unwrap(), 42);
/// }
/// ```
#[derive(Debug, Default)]
pub struct SpawnBackoff {
    /// The last pause of the episode under way, if one is.
    delay: Option<Duration>,
}

impl SpawnBackoff {
    /// The first pause of an episode: 10 ms (gevent's `min_delay`).
    pub const FIRST_PAUSE: Duration = Duration::from_millis(10);
    /// The longest pause: 1 s (gevent's `max_delay`).
    pub const LONGEST_PAUSE: Duration = Duration::from_secs(1);

    /// A back-off with no episode under way.
    pub fn new() -> SpawnBackoff {
        SpawnBackoff::default()
    }

    /// Takes the outcome of spawning the coroutine for a `what` (a
    /// connection, a datagram) accepted by `who` (a server's name, for
    /// the log). Returns the spawned value, which ends an episode; after a
    /// failure, pauses the calling coroutine and returns `None` (the
    /// closure, and the item it held, were dropped with the failed spawn).
    /// The first failure of an episode is logged as an error, naming the
    /// limit hit.
    pub fn after<T>(&mut self, spawned: io::Result<T>, who: &str, what: &str) -> Option<T> {
        let e = match spawned {
            Ok(spawned) => {
                self.delay = None;
                return Some(spawned);
            }
            Err(e) => e,
        };
        let delay = match self.delay {
            None => {
                log::error!(
                    "verde: {who} cannot start a coroutine for a {what}: {e}; dropping the {what}, then pausing \
                     {} ms, doubling up to {} s, until one starts",
                    Self::FIRST_PAUSE.as_millis(),
                    Self::LONGEST_PAUSE.as_secs()
                );
                Self::FIRST_PAUSE
            }
            Some(last) => (last * 2).min(Self::LONGEST_PAUSE),
        };
        self.delay = Some(delay);
        crate::sleep(delay);
        None
    }
}
