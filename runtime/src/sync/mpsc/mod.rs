//! `std::sync::mpsc` for coroutines: multi-producer, single-consumer FIFO
//! channels whose blocking operations park the calling coroutine.
//!
//! * [`channel`] is unbounded: [`Sender::send`] never waits.
//! * [`sync_channel`]`(n)` holds at most `n` messages: [`SyncSender::send`]
//!   waits for room. With `n == 0` it is a rendezvous: each send waits until
//!   the receiver takes the message.
//!
//! Disconnection works exactly as in std: once every sender is dropped,
//! [`Receiver::recv`] returns the messages still buffered and then
//! [`RecvError`]; once the receiver is dropped, sends fail with
//! [`SendError`] (handing the message back), including sends already
//! blocked. Messages still buffered when the receiver is dropped are dropped
//! with it.
//!
//! Blocked senders are served in FIFO order. A sender or receiver killed
//! (or hit by a [`Timeout`](crate::Timeout)) while blocked unwinds and
//! leaves the queue; a message that had just been handed to a receiver that
//! unwinds goes back to the front of the channel, so no message is lost.
//! Senders and the receiver may live on different hubs or plain threads.
//!
//! ```
//! use verde_runtime::sync::mpsc;
//!
//! let (tx, rx) = mpsc::sync_channel(0);
//! let producer = verde_runtime::spawn(move || {
//!     for i in 0..3 {
//!         tx.send(i).unwrap(); // waits for the receiver each time
//!     }
//! });
//! assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
//! producer.join().unwrap();
//! ```

mod bounded;
mod receiver;
mod sender;
mod unbounded;

use std::sync::Arc;

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

pub use receiver::{IntoIter, Iter, Receiver, TryIter};
pub use sender::{Sender, SyncSender};

/// An unbounded channel: sends never wait.
///
/// ```
/// let (tx, rx) = verde_runtime::sync::mpsc::channel();
/// for i in 0..3 {
///     let tx = tx.clone();
///     verde_runtime::spawn(move || tx.send(i).unwrap());
/// }
/// drop(tx);
/// let mut got: Vec<i32> = rx.iter().collect();
/// got.sort();
/// assert_eq!(got, [0, 1, 2]);
/// ```
#[must_use]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(unbounded::Chan::new());
    (Sender::new(chan.clone()), Receiver::unbounded(chan))
}

/// A channel holding at most `bound` messages; `bound == 0` makes every
/// send a rendezvous with the receiver.
///
/// ```
/// use verde_runtime::sync::mpsc::{self, TrySendError};
///
/// let (tx, rx) = mpsc::sync_channel(1);
/// tx.send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// assert_eq!(rx.recv(), Ok(1));
/// ```
#[must_use]
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let chan = Arc::new(bounded::Chan::new(bound));
    (SyncSender::new(chan.clone()), Receiver::bounded(chan))
}
