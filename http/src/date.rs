//! The `Date` header value, cached per thread and refreshed once a second.

use std::cell::Cell;
use std::io::Write;
use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) type HttpDate = [u8; 29];

thread_local! {
    /// The start of the second last formatted, and its date.
    static CACHE: Cell<Option<(SystemTime, HttpDate)>> = const { Cell::new(None) };
}

/// The HTTP date of `now`, formatted at most once per second per thread,
/// with the second it stands for: a caller that keeps both need not ask
/// again before the clock leaves that second.
pub(crate) fn at(now: SystemTime) -> (HttpDate, Range<SystemTime>) {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let from = UNIX_EPOCH + Duration::from_secs(secs);
    let second = from..from + Duration::from_secs(1);
    CACHE.with(|c| {
        if let Some((cached, value)) = c.get() {
            if cached == from {
                return (value, second);
            }
        }
        let value = format(secs);
        c.set(Some((from, value)));
        (value, second)
    })
}

/// Formats seconds since the Unix epoch as an IMF-fixdate (with the
/// `httpdate` crate, which hyper uses too).
pub(crate) fn format(secs: u64) -> HttpDate {
    let time = UNIX_EPOCH + Duration::from_secs(secs);
    let mut out = [0u8; 29];
    write!(&mut out[..], "{}", httpdate::HttpDate::from(time)).expect("an IMF-fixdate is 29 bytes");
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_date_comes_with_the_second_it_stands_for() {
        let t = UNIX_EPOCH + Duration::from_millis(784_111_777_250);
        let (date, second) = super::at(t);
        assert_eq!(&date, b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            second,
            UNIX_EPOCH + Duration::from_secs(784_111_777)..UNIX_EPOCH + Duration::from_secs(784_111_778)
        );
        let (next, _) = super::at(second.end);
        assert_eq!(&next, b"Sun, 06 Nov 1994 08:49:38 GMT");
    }

    #[test]
    fn formats_known_dates() {
        assert_eq!(&super::format(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&super::format(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&super::format(951_782_400), b"Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(&super::format(4_102_444_799), b"Thu, 31 Dec 2099 23:59:59 GMT");
    }
}
