//! [`Sender`] and [`SyncSender`].

use std::fmt;
use std::sync::Arc;

use super::{bounded, unbounded};
use super::{SendError, TrySendError};

/// The sending half of a [`channel`](super::channel); clone it for more
/// producers.
pub struct Sender<T> {
    chan: Arc<unbounded::Chan<T>>,
}

/// The sending half of a [`sync_channel`](super::sync_channel); clone it
/// for more producers.
pub struct SyncSender<T> {
    chan: Arc<bounded::Chan<T>>,
}

impl<T> Sender<T> {
    pub(super) fn new(chan: Arc<unbounded::Chan<T>>) -> Self {
        Sender { chan }
    }

    /// Sends a message; never waits.
    ///
    /// # Errors
    ///
    /// [`SendError`] holding the message if the receiver is gone.
    #[inline(always)]
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        self.chan.send(msg)
    }
}

impl<T> SyncSender<T> {
    pub(super) fn new(chan: Arc<bounded::Chan<T>>) -> Self {
        SyncSender { chan }
    }

    /// Sends a message, parking while the channel is full (for a rendezvous
    /// channel, until the receiver takes it). Blocked senders are served in
    /// FIFO order.
    ///
    /// # Errors
    ///
    /// [`SendError`] holding the message if the receiver is gone, or goes
    /// away while this send waits.
    #[inline(always)]
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        self.chan.send(msg)
    }

    /// Sends a message if that needs no wait: there is room, or (rendezvous)
    /// the receiver is waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Disconnected`], holding the
    /// message.
    ///
    /// ```
    /// use verde_runtime::sync::mpsc::{self, TrySendError};
    ///
    /// let (tx, rx) = mpsc::sync_channel(0);
    /// assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(1), Err(TrySendError::Disconnected(1)));
    /// ```
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(msg)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender { chan: self.chan.clone() }
    }
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        SyncSender { chan: self.chan.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> Drop for SyncSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for SyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As std's: the bound is not shown.
        f.debug_struct("SyncSender").finish_non_exhaustive()
    }
}
