//! The `Date` header value, cached per thread and refreshed once a second.

use std::cell::Cell;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) type HttpDate = [u8; 29];

thread_local! {
    static CACHE: Cell<(u64, HttpDate)> = const { Cell::new((u64::MAX, [0; 29])) };
}

/// The current time as an HTTP date, formatted at most once per second per
/// thread.
pub(crate) fn now() -> HttpDate {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    CACHE.with(|c| {
        let (cached, value) = c.get();
        if cached == secs {
            return value;
        }
        let value = format(secs);
        c.set((secs, value));
        value
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
    #[test]
    fn formats_known_dates() {
        assert_eq!(&super::format(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&super::format(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&super::format(951_782_400), b"Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(&super::format(4_102_444_799), b"Thu, 31 Dec 2099 23:59:59 GMT");
    }
}
