//! gevent's `gevent.event`: [`Event`], a flag coroutines wait for, and
//! [`AsyncResult`], a value (or error) coroutines wait for.
//!
//! Both wake every waiter at once when set, work between coroutines on any
//! hub and plain threads, and take gevent's `timeout` argument as an
//! `Option<Duration>` (`None`: wait as long as needed). A waiter that is
//! killed, or whose [`Timeout`](crate::Timeout) expires, unwinds out of the
//! wait and leaves the waiter list; the others are unaffected.
//!
//! Both are [`Waitable`](crate::Waitable): [`iwait`](crate::iwait) and
//! [`wait`](crate::wait) take them, alone or mixed with coroutines'
//! `JoinHandle`s, in the order they are set. Both also take gevent's
//! one-shot callbacks: [`Event::rawlink`] and [`AsyncResult::rawlink`],
//! run by the setter, removed with [`Event::unlink`] and
//! [`AsyncResult::unlink`].
//!
//! ```
//! use std::sync::Arc;
//! use verde_runtime::event::Event;
//!
//! let started = Arc::new(Event::new());
//! let s = started.clone();
//! let worker = verde_runtime::spawn(move || s.set());
//! assert!(started.wait(None));
//! worker.join().unwrap();
//! ```

mod async_result;
mod flag;
pub(crate) mod ready_links;

pub use async_result::{AsyncResult, GetError};
pub use flag::Event;
