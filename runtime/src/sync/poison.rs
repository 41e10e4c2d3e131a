//! Poisoning, as `std::sync` does it, and std's error types for it.
//!
//! A lock is poisoned when a guard that grants write access is dropped
//! while its holder unwinds: after a panic, and also after a kill or an
//! expired [`Timeout`](crate::Timeout), which verde delivers by unwinding.
//! The data may then be half-updated, so later lockers get a
//! [`PoisonError`] that still lets them in (`into_inner`), exactly as with
//! `std::sync`. The error types are std's own, so code written against
//! `std::sync` compiles unchanged.
//!
//! The holder is the coroutine (or the thread's main context) holding the
//! guard, not its thread: `std::thread::panicking()` is per thread, true
//! for every coroutine of a hub while one of them is parked in a
//! destructor mid-unwind, so the question goes to `crate::unwinding`.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::unwinding;

pub use std::sync::{LockResult, PoisonError, TryLockError, TryLockResult};

/// A lock's poison flag.
pub(crate) struct Flag(AtomicBool);

/// Whether the holder was already unwinding when it took the lock: a guard
/// taken inside a destructor during unwinding must not poison on release.
pub(crate) struct Token {
    unwinding_at_lock: bool,
}

impl Flag {
    /// A clear flag.
    pub const fn new() -> Self {
        Flag(AtomicBool::new(false))
    }

    /// Whether the lock is poisoned.
    #[inline]
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Clears the poison.
    pub fn clear(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    /// Called when the lock is taken: the token to hand back on release, as
    /// `Err` if the lock is poisoned.
    #[inline]
    pub fn token(&self) -> Result<Token, Token> {
        let token = Token { unwinding_at_lock: unwinding::unwinding_at_lock() };
        if self.get() {
            Err(token)
        } else {
            Ok(token)
        }
    }

    /// Called when the lock is released: poisons it if the holder started
    /// unwinding while holding it.
    #[inline]
    pub fn release(&self, token: &Token) {
        if !token.unwinding_at_lock && unwinding::unwinding_at_release() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// `value` as a `LockResult`: `Err` (still holding it) if `poisoned`.
#[inline]
pub(crate) fn result<T>(poisoned: bool, value: T) -> LockResult<T> {
    if poisoned {
        Err(PoisonError::new(value))
    } else {
        Ok(value)
    }
}

/// Builds a guard from a token and wraps it as a `LockResult`.
#[inline]
pub(crate) fn lock_result<G>(token: Result<Token, Token>, guard: impl FnOnce(Token) -> G) -> LockResult<G> {
    match token {
        Ok(t) => Ok(guard(t)),
        Err(t) => Err(PoisonError::new(guard(t))),
    }
}

/// Converts the guard inside a `LockResult`, keeping its poison status.
pub(crate) fn map_result<G, U>(result: LockResult<G>, f: impl FnOnce(G) -> U) -> LockResult<U> {
    match result {
        Ok(g) => Ok(f(g)),
        Err(e) => Err(PoisonError::new(f(e.into_inner()))),
    }
}
