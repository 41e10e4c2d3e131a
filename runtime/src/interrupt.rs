//! The unwinding payloads verde uses to stop a coroutine at its blocking
//! point: [`Killed`] for [`JoinHandle::kill`](crate::JoinHandle::kill) and
//! [`TimeoutExpired`] for [`Timeout`](crate::Timeout).
//!
//! They travel with `std::panic::resume_unwind`, which runs destructors on
//! the way up but does not call the panic hook; `crate::unwinding::resume`
//! records first that the task is unwinding.

use std::any::Any;

use crate::task::KILL;

/// The payload a killed coroutine unwinds with: gevent's `GreenletExit`.
///
/// [`JoinHandle::join`](crate::JoinHandle::join) of a killed coroutine
/// returns `Err` holding a `Killed`:
///
/// ```
/// let h = verde_runtime::spawn(|| verde_runtime::sleep(std::time::Duration::from_secs(60)));
/// verde_runtime::yield_now();
/// h.kill();
/// let err = h.join().unwrap_err();
/// assert!(err.is::<verde_runtime::Killed>());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Killed;

impl std::fmt::Display for Killed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("coroutine was killed")
    }
}

impl std::error::Error for Killed {}

/// The payload a coroutine unwinds with when a [`Timeout`](crate::Timeout)
/// expires while it is blocked. The `Timeout` that armed it catches it; if
/// nothing does, the coroutine ends with it, as an uncaught
/// `gevent.Timeout` ends a greenlet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutExpired {
    pub(crate) id: u64,
}

impl std::fmt::Display for TimeoutExpired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("timeout expired")
    }
}

impl std::error::Error for TimeoutExpired {}

/// Unwinds the running task with the payload of interrupt `code`.
pub(crate) fn unwind(code: u64) -> ! {
    if code == KILL {
        crate::unwinding::resume(Box::new(Killed))
    } else {
        crate::unwinding::resume(Box::new(TimeoutExpired { id: code }))
    }
}

/// Whether a panic payload is one of verde's interrupts (a kill or a
/// `Timeout`) rather than a failure.
pub(crate) fn is_interrupt(payload: &(dyn Any + Send)) -> bool {
    payload.is::<Killed>() || payload.is::<TimeoutExpired>()
}

/// The first interrupt (a kill or a [`Timeout`](crate::Timeout)) that one
/// of several callbacks let in by blocking, kept for the caller to resume
/// once it has called them all.
pub(crate) type Interrupted = Option<Box<dyn Any + Send>>;

/// Calls one of several callbacks (links), so that its failure does not
/// stop the others: a panic goes to `report`, and an interrupt is kept in
/// `interrupted` (the first one only) for [`resume_kept`].
pub(crate) fn call_keeping_interrupt(
    callback: impl FnOnce(),
    interrupted: &mut Interrupted,
    report: impl FnOnce(&(dyn Any + Send)),
) {
    if let Err(payload) = crate::unwinding::catch(callback) {
        if is_interrupt(&*payload) {
            interrupted.get_or_insert(payload);
        } else {
            report(&*payload);
        }
    }
}

/// Resumes the interrupt [`call_keeping_interrupt`] kept, if any.
pub(crate) fn resume_kept(interrupted: Interrupted) {
    if let Some(payload) = interrupted {
        crate::unwinding::resume(payload);
    }
}

/// A human-readable description of a panic payload.
pub fn describe_payload(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if payload.is::<Killed>() {
        Killed.to_string()
    } else if let Some(e) = payload.downcast_ref::<crate::queue::ShutDown>() {
        e.to_string()
    } else if payload.is::<TimeoutExpired>() {
        "an uncaught Timeout expired".to_string()
    } else if let Some(e) = payload.downcast_ref::<std::io::Error>() {
        e.to_string()
    } else {
        "Box<dyn Any>".to_string()
    }
}
