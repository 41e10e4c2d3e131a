//! # verde: greenlet and gevent, rebuilt in Rust
//!
//! Stackful green threads with a blocking-style API. Write plain synchronous
//! code; whenever a call would block, the coroutine yields to others on its
//! hub instead, so one thread serves thousands of connections.
//!
//! ```
//! let a = verde::spawn(|| 1);
//! let b = verde::spawn(|| 2);
//! let sum: i32 = verde::joinall([a, b]).into_iter().map(Result::unwrap).sum();
//! assert_eq!(sum, 3);
//! ```
//!
//! This crate re-exports [`verde_runtime`] at its root, and the networking
//! and HTTP crates as [`net`] and [`http`].

pub use verde_runtime::*;
