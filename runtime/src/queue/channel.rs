//! [`Channel`]: gevent's `Channel`, a queue of size zero.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use super::core::{deadline, QueueCore};
use super::{Empty, Full};
use crate::park;

/// A rendezvous queue (gevent's `Channel`): it holds no items, so every
/// `put` waits until a getter takes the item and every `get` waits for a
/// putter. Putters and getters are each served in FIFO order. As in
/// gevent, the getter goes on first: a put handing its item to a getter
/// that was already waiting yields to it before returning.
///
/// ```
/// use std::sync::Arc;
/// use verde_runtime::queue::{Channel, Full};
///
/// let ch = Arc::new(Channel::new());
/// assert_eq!(ch.put_nowait(1), Err(Full(1))); // nobody is getting
/// let ch2 = ch.clone();
/// let getter = verde_runtime::spawn(move || ch2.get());
/// verde_runtime::yield_now();
/// assert_eq!(ch.balance(), -1); // one getter waits
/// ch.put(2);
/// assert_eq!(getter.join().unwrap(), 2);
/// ```
pub struct Channel<T> {
    core: QueueCore<T, VecDeque<T>>,
}

impl<T> Channel<T> {
    /// A channel nobody waits on.
    pub fn new() -> Self {
        Channel { core: QueueCore::new(Some(0)) }
    }

    /// Blocked putters minus blocked getters: positive when items wait for
    /// getters, negative when getters wait for items.
    pub fn balance(&self) -> isize {
        self.core.balance()
    }

    /// Always 0: a channel holds no items.
    pub fn qsize(&self) -> usize {
        0
    }

    /// Always true: a channel holds no items.
    pub fn empty(&self) -> bool {
        true
    }

    /// Always true: a put must wait for a getter.
    pub fn full(&self) -> bool {
        true
    }

    /// Hands `item` to a getter, parking until one takes it. As in gevent,
    /// a getter that was already waiting runs before this returns (on the
    /// same hub), so whatever it does with the item comes first.
    #[inline(always)]
    pub fn put(&self, item: T) {
        let put = self.put_until(item, None);
        debug_assert!(put.is_ok(), "a put without deadline completes");
    }

    /// Like [`put`](Self::put), waiting at most `timeout` for a getter.
    ///
    /// # Errors
    ///
    /// [`Full`] holding the item if no getter took it in time.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), Full<T>> {
        self.put_until(item, deadline(timeout))
    }

    /// Hands `item` to a getter that is already waiting, and lets it run
    /// as [`put`](Self::put) does.
    ///
    /// # Errors
    ///
    /// [`Full`] holding the item if no getter waits.
    pub fn put_nowait(&self, item: T) -> Result<(), Full<T>> {
        self.core.put_nowait(item)?;
        let_getter_run();
        Ok(())
    }

    #[inline(always)]
    fn put_until(&self, item: T, deadline: Option<Instant>) -> Result<(), Full<T>> {
        // A getter waiting takes the item at once; otherwise park until one
        // comes (and then it is the getter that runs on first anyway).
        if self.core.put(item, deadline)? {
            let_getter_run();
        }
        Ok(())
    }

    /// Takes an item from a putter, parking until one comes.
    #[inline(always)]
    pub fn get(&self) -> T {
        self.core.get(None).expect("a get without deadline completes")
    }

    /// Like [`get`](Self::get), waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`Empty`] if no putter came in time.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, Empty> {
        self.core.get(deadline(timeout))
    }

    /// Takes an item from a putter that is already waiting.
    ///
    /// # Errors
    ///
    /// [`Empty`] if no putter waits.
    pub fn get_nowait(&self) -> Result<T, Empty> {
        self.core.get_nowait()
    }
}

/// Gives the getter just handed an item its turn before the putter goes on,
/// as gevent's `Channel.put` does (it returns only once the getter has been
/// switched to). The put has succeeded, so a kill or Timeout coming due
/// meanwhile waits for the caller's next blocking call.
fn let_getter_run() {
    park::yield_now_deferring_interrupts();
}

impl<T> Default for Channel<T> {
    fn default() -> Self {
        Channel::new()
    }
}

impl<T> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel").field("balance", &self.balance()).finish()
    }
}
