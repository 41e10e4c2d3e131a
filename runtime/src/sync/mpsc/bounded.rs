//! The [`sync_channel`](super::sync_channel) flavour: an [`Exchange`]
//! (bounded buffer, FIFO queues of blocked senders and receivers) behind a
//! mutex.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};
use crate::sync::exchange::{self, Exchange, GetError, PutError};
use crate::sync::state_mutex::{lock, StateMutex};
use crate::sync::wait_list::{wake_all, wake_one};

pub(super) struct Chan<T> {
    state: StateMutex<Exchange<T, VecDeque<T>>>,
    senders: AtomicUsize,
}

impl<T> Chan<T> {
    /// A channel holding at most `bound` messages, with one sender (the one
    /// about to be created).
    pub fn new(bound: usize) -> Self {
        Chan { state: StateMutex::new(Exchange::new(Some(bound))), senders: AtomicUsize::new(1) }
    }

    /// Sends, waiting for room (or, `bound == 0`, for the receiver).
    #[inline(always)]
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        match exchange::put(&self.state, msg, None) {
            Ok(_) => Ok(()),
            Err(PutError::Full(msg) | PutError::Closed(msg)) => Err(SendError(msg)),
        }
    }

    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let result = lock(&self.state).try_put(msg);
        match result {
            Ok(accepted) => {
                accepted.wake();
                Ok(())
            }
            Err(PutError::Full(msg)) => Err(TrySendError::Full(msg)),
            Err(PutError::Closed(msg)) => Err(TrySendError::Disconnected(msg)),
        }
    }

    #[inline(always)]
    pub fn recv(&self) -> Result<T, RecvError> {
        exchange::get(&self.state, None).map_err(|_| RecvError)
    }

    pub fn recv_until(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        exchange::get(&self.state, Some(deadline)).map_err(|e| match e {
            GetError::Empty => RecvTimeoutError::Timeout,
            GetError::Finished => RecvTimeoutError::Disconnected,
        })
    }

    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let result = lock(&self.state).try_get();
        match result {
            Ok((msg, waker)) => {
                wake_one(waker);
                Ok(msg)
            }
            Err(GetError::Empty) => Err(TryRecvError::Empty),
            Err(GetError::Finished) => Err(TryRecvError::Disconnected),
        }
    }

    pub fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    /// The last sender's drop lets the receiver see the end.
    pub fn drop_sender(&self) {
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            let wakers = lock(&self.state).finish();
            wake_all(wakers);
        }
    }

    /// The receiver's drop fails every send, current and future.
    pub fn drop_receiver(&self) {
        let (buffered, wakers) = lock(&self.state).close();
        wake_all(wakers);
        drop(buffered);
    }
}
