//! verde's hand-off round trips (A sends to B, B sends back), shared by
//! the sync bench (where they are timed) and the instructions bench (where
//! callgrind counts them).

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use verde::park::{self, Waker};

/// A one-value mailbox on the bare park/wake protocol, for coroutines of
/// one hub only.
#[derive(Default)]
struct Mailbox {
    value: Cell<Option<u64>>,
    waiter: Cell<Option<Waker>>,
}

// Inlined, as verde's own channels are, so that the park switches in the
// loop's frame (see `exchange::put` in the runtime).
impl Mailbox {
    #[inline(always)]
    fn put(&self, v: u64) {
        self.value.set(Some(v));
        if let Some(w) = self.waiter.take() {
            w.wake();
        }
    }

    /// Takes the value, parking with `park` until there is one.
    #[inline(always)]
    fn take(&self, park: impl Fn()) -> u64 {
        loop {
            if let Some(v) = self.value.take() {
                return v;
            }
            self.waiter.set(Some(park::waker()));
            park();
        }
    }
}

/// The mailbox ping-pong, each side parking with `park`.
#[inline(always)]
fn mailbox_ping_pong(iters: u64, park: impl Fn() + Copy + Send + 'static) -> Duration {
    verde::spawn(move || {
        let boxes = std::rc::Rc::new((Mailbox::default(), Mailbox::default()));
        let b = boxes.clone();
        let partner = verde::spawn_local(move || loop {
            let v = b.0.take(park);
            b.1.put(v);
            if v == u64::MAX {
                return;
            }
        });
        let start = Instant::now();
        for i in 0..iters {
            boxes.0.put(i);
            boxes.1.take(park);
        }
        let elapsed = start.elapsed();
        boxes.0.put(u64::MAX);
        boxes.1.take(park);
        partner.join().unwrap();
        elapsed
    })
    .join()
    .unwrap()
}

pub fn verde_park_wake(iters: u64) -> Duration {
    mailbox_ping_pong(iters, || {
        park::park();
    })
}

/// [`verde_park_wake`] with a deadline an hour away on every park, as a
/// socket read with a timeout parks: what a park's timer adds to a wake
/// that comes first.
pub fn verde_park_wake_timed(iters: u64) -> Duration {
    let deadline = Instant::now() + Duration::from_secs(3600);
    mailbox_ping_pong(iters, move || {
        assert_eq!(park::park_until(deadline), park::Unparked::Woken, "the deadline is an hour away");
    })
}

pub fn verde_mpsc(iters: u64) -> Duration {
    verde::spawn(move || {
        let (to_b, from_a) = verde::sync::mpsc::channel::<u64>();
        let (to_a, from_b) = verde::sync::mpsc::channel::<u64>();
        let partner = verde::spawn(move || {
            for v in from_a {
                to_a.send(v).unwrap();
            }
        });
        let start = Instant::now();
        for i in 0..iters {
            to_b.send(i).unwrap();
            from_b.recv().unwrap();
        }
        let elapsed = start.elapsed();
        drop(to_b);
        partner.join().unwrap();
        elapsed
    })
    .join()
    .unwrap()
}

pub fn verde_queue_channel(iters: u64) -> Duration {
    verde::spawn(move || {
        let ab = Arc::new(verde::queue::Channel::<u64>::new());
        let ba = Arc::new(verde::queue::Channel::<u64>::new());
        let (a, b) = (ab.clone(), ba.clone());
        let partner = verde::spawn(move || loop {
            let v = a.get();
            b.put(v);
            if v == u64::MAX {
                return;
            }
        });
        let start = Instant::now();
        for i in 0..iters {
            ab.put(i);
            ba.get();
        }
        let elapsed = start.elapsed();
        ab.put(u64::MAX);
        ba.get();
        partner.join().unwrap();
        elapsed
    })
    .join()
    .unwrap()
}
