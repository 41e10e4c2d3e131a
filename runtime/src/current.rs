//! [`current`] and [`Coroutine`]: who is running.

use std::fmt;
use std::num::NonZeroU64;

use crate::hub;
use crate::task::{Kind, TaskRef};

/// A coroutine's unique id, like `std::thread::ThreadId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CoroutineId(NonZeroU64);

impl CoroutineId {
    /// The id as a number.
    pub fn as_u64(&self) -> NonZeroU64 {
        self.0
    }
}

impl fmt::Display for CoroutineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A handle to a coroutine (or to a thread's main context), like
/// `std::thread::Thread`.
#[derive(Clone)]
pub struct Coroutine {
    task: TaskRef,
}

impl Coroutine {
    pub(crate) fn new(task: TaskRef) -> Self {
        Coroutine { task }
    }

    /// The coroutine's id.
    pub fn id(&self) -> CoroutineId {
        CoroutineId(NonZeroU64::new(self.task.id).expect("ids start at 1"))
    }

    /// The coroutine's name, if it was given one. A thread's main context
    /// carries the thread's name.
    pub fn name(&self) -> Option<&str> {
        self.task.name.as_deref()
    }

    /// Whether this is a thread's main context rather than a coroutine.
    pub fn is_main(&self) -> bool {
        self.task.kind == Kind::Main
    }
}

impl fmt::Debug for Coroutine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Coroutine").field("id", &self.task.id).field("name", &self.task.name).finish()
    }
}

/// The running coroutine, or the calling thread's main context.
///
/// ```
/// let h = verde_runtime::Builder::new()
///     .name("named".into())
///     .spawn(|| verde_runtime::current().name().unwrap().to_owned())
///     .unwrap();
/// assert_eq!(h.join().unwrap(), "named");
/// assert!(verde_runtime::current().is_main());
/// ```
pub fn current() -> Coroutine {
    Coroutine::new(hub::current().current_task_ref())
}
