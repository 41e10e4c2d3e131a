//! [`Receiver`] and its iterators.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::panic::RefUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use super::{bounded, unbounded};
use super::{RecvError, RecvTimeoutError, TryRecvError};
use crate::park;

/// The receiving half of a channel. Like std's, it can move between threads
/// (`Send`) but not be shared (`!Sync`): one consumer.
pub struct Receiver<T> {
    chan: Flavor<T>,
    _not_sync: PhantomData<Cell<()>>,
}

/// Which kind of channel a receiver reads from.
enum Flavor<T> {
    /// [`channel`](super::channel).
    Unbounded(Arc<unbounded::Chan<T>>),
    /// [`sync_channel`](super::sync_channel).
    Bounded(Arc<bounded::Chan<T>>),
}

/// As for std's `Receiver` (the `Cell` marker that makes it `!Sync` would
/// otherwise make it `!RefUnwindSafe`): a receive that unwinds leaves the
/// channel consistent, with no message lost.
impl<T> RefUnwindSafe for Receiver<T> {}

impl<T> Receiver<T> {
    pub(super) fn unbounded(chan: Arc<unbounded::Chan<T>>) -> Self {
        Receiver { chan: Flavor::Unbounded(chan), _not_sync: PhantomData }
    }

    pub(super) fn bounded(chan: Arc<bounded::Chan<T>>) -> Self {
        Receiver { chan: Flavor::Bounded(chan), _not_sync: PhantomData }
    }

    /// Receives the next message, parking until one arrives.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once every sender is gone and the channel is empty.
    #[inline(always)]
    pub fn recv(&self) -> Result<T, RecvError> {
        match &self.chan {
            Flavor::Unbounded(chan) => chan.recv(None).map_err(|_| RecvError),
            Flavor::Bounded(chan) => chan.recv(),
        }
    }

    /// Receives a message if one is ready.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if none is, [`TryRecvError::Disconnected`] if
    /// none ever will be.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match &self.chan {
            Flavor::Unbounded(chan) => chan.try_recv(),
            Flavor::Bounded(chan) => chan.try_recv(),
        }
    }

    /// Like [`recv`](Self::recv), giving up after `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Disconnected`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use verde_runtime::sync::mpsc::{self, RecvTimeoutError};
    ///
    /// let (_tx, rx) = mpsc::channel::<()>();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let deadline = park::deadline_after(timeout);
        match &self.chan {
            Flavor::Unbounded(chan) => chan.recv(Some(deadline)),
            Flavor::Bounded(chan) => chan.recv_until(deadline),
        }
    }

    /// An iterator that receives until every sender is gone.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the messages ready now; it never waits.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        match &self.chan {
            Flavor::Unbounded(chan) => chan.drop_receiver(),
            Flavor::Bounded(chan) => chan.drop_receiver(),
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// Iterator of [`Receiver::iter`]: blocks for each message, ends when every
/// sender is gone.
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

/// Iterator of [`Receiver::try_iter`]: the messages ready now.
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

/// Owning iterator of a [`Receiver`]: blocks for each message, ends when
/// every sender is gone.
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    #[inline(always)]
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    #[inline(always)]
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}
