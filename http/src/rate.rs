//! A floor on the average transfer rate of a request body or a response.
//!
//! The body and write timeouts bound each wait for the client. A client
//! that trickles (a byte just before every timeout) would still hold its
//! connection forever; the rate floor ends that: a transfer may take the
//! timeout plus one second per `min_rate` bytes moved so far.

use std::time::{Duration, Instant};

pub(crate) struct RateFloor {
    started: Option<Instant>,
    grace: Duration,
    min_rate: u64,
}

impl RateFloor {
    /// A floor of `min_rate` bytes per second after `grace`; 0 disables it.
    pub fn new(grace: Duration, min_rate: u64) -> RateFloor {
        RateFloor { started: None, grace, min_rate }
    }

    /// Whether a transfer that has moved `total` bytes is still fast
    /// enough. The clock starts at the first check.
    pub fn ok(&mut self, total: u64) -> bool {
        if self.min_rate == 0 {
            return true;
        }
        let started = *self.started.get_or_insert_with(Instant::now);
        started.elapsed() <= self.grace + Duration::from_secs_f64(total as f64 / self.min_rate as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_time_in_proportion_to_bytes() {
        let mut f = RateFloor::new(Duration::ZERO, 1000);
        assert!(f.ok(1_000_000));
        std::thread::sleep(Duration::from_millis(20));
        assert!(f.ok(1_000));
        assert!(!f.ok(1));
        assert!(RateFloor::new(Duration::ZERO, 0).ok(0));
    }
}
