//! Reporting coroutine failures nobody will see otherwise (gevent's
//! `Hub.handle_error`).

use std::any::Any;

use crate::interrupt::{describe_payload, Killed};
use crate::task::Header;

/// Logs a coroutine that ended with a panic (or an uncaught Timeout) when
/// no join handle will ever return it. Kills are expected and not reported.
pub(crate) fn report_unjoined(task: &Header, payload: &(dyn Any + Send)) {
    if payload.is::<Killed>() || payload.is::<crate::greenlet::GreenletExit>() {
        return;
    }
    log::error!(
        target: "verde",
        "coroutine '{}' (id {}) failed and was never joined: {}",
        task.display_name(),
        task.id,
        describe_payload(payload)
    );
}

/// Logs a link callback (`JoinHandle::rawlink`, or the spawning part of
/// `link`) that panicked. The other links still run.
pub(crate) fn report_link_panic(task: &Header, payload: &(dyn Any + Send)) {
    log::error!(
        target: "verde",
        "a link callback of coroutine '{}' (id {}) panicked: {}",
        task.display_name(),
        task.id,
        describe_payload(payload)
    );
}

/// Logs a `rawlink` callback of an [`Event`](crate::event::Event),
/// [`AsyncResult`](crate::event::AsyncResult) or semaphore that panicked;
/// `owner` names it with its article ("an Event"). The other callbacks
/// still run.
pub(crate) fn report_rawlink_panic(owner: &str, payload: &(dyn Any + Send)) {
    log::error!(target: "verde", "a rawlink callback on {owner} panicked: {}", describe_payload(payload));
}
