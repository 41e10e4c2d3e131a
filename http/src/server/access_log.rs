//! The access log: one line per request in common log format, through the
//! `log` crate (target `verde_http::access`, level `info`).

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{Method, StatusCode, Version};

/// The `log` target of access-log lines.
pub const TARGET: &str = "verde_http::access";

/// Whether access-log lines would be emitted at all (checked before doing
/// any formatting work).
pub(crate) fn enabled() -> bool {
    log::log_enabled!(target: TARGET, log::Level::Info)
}

/// Logs `host - - [time] "METHOD target VERSION" status length duration`.
pub(crate) fn record(
    peer: Option<SocketAddr>,
    method: &Method,
    target: &str,
    version: Version,
    status: StatusCode,
    length: Option<u64>,
    duration: Duration,
) {
    emit(peer, format_args!("{method} {target} {version:?}"), status, length, duration);
}

/// Logs a request refused before its request line was understood: the
/// request is `"-"`, as common log format has it.
pub(crate) fn record_refused(peer: Option<SocketAddr>, status: StatusCode, length: u64) {
    emit(peer, format_args!("-"), status, Some(length), Duration::ZERO);
}

fn emit(
    peer: Option<SocketAddr>,
    request: std::fmt::Arguments<'_>,
    status: StatusCode,
    length: Option<u64>,
    duration: Duration,
) {
    let host = peer.map_or_else(|| "-".to_string(), |p| p.ip().to_string());
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let length = length.map_or_else(|| "-".to_string(), |n| n.to_string());
    log::info!(
        target: TARGET,
        "{host} - - [{}] \"{request}\" {} {length} {:.6}",
        clf_time(secs),
        status.as_u16(),
        duration.as_secs_f64()
    );
}

/// `10/Oct/2000:13:55:36 +0000`, in UTC.
fn clf_time(secs: u64) -> String {
    let d = crate::date::format(secs);
    // d = "Sun, 06 Nov 1994 08:49:37 GMT"
    let s = std::str::from_utf8(&d).expect("dates are ASCII");
    format!("{}/{}/{}:{} +0000", &s[5..7], &s[8..11], &s[12..16], &s[17..25])
}

#[cfg(test)]
mod tests {
    #[test]
    fn clf_format() {
        assert_eq!(super::clf_time(784_111_777), "06/Nov/1994:08:49:37 +0000");
    }
}
