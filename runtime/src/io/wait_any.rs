//! Waiting on several registrations at once: one park that a readiness
//! event on any of them ends, as
//! [`wait_since`](super::Registration::wait_since) waits on one. The patched
//! `poll` and `select` wait this way on the sockets the patch has adopted,
//! which costs no system call, where a private epoll instance
//! ([`WatchSet`](super::WatchSet)) costs four.
//!
//! The same waker goes into the wait list of every registration and
//! direction waited on. The first event wakes it; the others find a waker
//! whose park has ended, which does nothing. However the park ends (woken,
//! timed out, or unwinding with a kill or `Timeout`), a guard takes the
//! waker back out of every list it was put in, so no list keeps wakers of
//! ended waits.

use std::sync::atomic::Ordering;
use std::time::Instant;

use smallvec::SmallVec;

use super::{Interest, IoWaiterCount, Registration, Slot};
use crate::hub;
use crate::park::{self, Unparked, Waker};

/// Waits for a readiness event on any of `waits`, each a registration, a
/// direction, and that direction's [`readiness`](Registration::readiness)
/// count read before the caller's look at the fd, or until `deadline`. An
/// event that came after a count was read ends the wait at once instead of
/// being missed, and so does a deregistered registration (its fd is being
/// closed). Returns `false` on timeout; may return `true` spuriously.
pub(crate) fn wait_any_since(waits: &[(&Registration, Interest, u64)], deadline: Option<Instant>) -> bool {
    let hub = hub::current();
    let mut listed = Listed { me: park::waker(), lists: SmallVec::new() };
    for &(reg, interest, since) in waits {
        let slot = reg.slot();
        let mut inner = slot.lock();
        if slot.tick(interest).load(Ordering::Acquire) != since
            || reg.is_deregistered(slot)
            || !reg.watched_by(&mut inner, hub)
        {
            return true;
        }
        inner.waiters(interest).push(listed.me.clone());
        listed.lists.push((slot, interest));
    }
    let _count = IoWaiterCount::new(hub);
    let woken = match deadline {
        None => {
            park::park();
            true
        }
        Some(d) => park::park_until(d) != Unparked::TimedOut,
    };
    woken || waits.iter().any(|&(reg, interest, since)| reg.readiness(interest) != since)
}

/// The wait lists one waker was put in, which it leaves on drop.
struct Listed {
    me: Waker,
    lists: SmallVec<[(&'static Slot, Interest); 4]>,
}

impl Drop for Listed {
    fn drop(&mut self) {
        for &(slot, interest) in &self.lists {
            slot.lock().waiters(interest).retain(|w| !w.is_same_waiter(&self.me));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// Two idle sockets, registered, and their peers.
    fn two_sockets() -> ([Arc<Registration>; 2], [UnixStream; 4]) {
        let (a, peer_a) = UnixStream::pair().unwrap();
        let (b, peer_b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        b.set_nonblocking(true).unwrap();
        let regs = [&a, &b].map(|s| Arc::new(Registration::new(s.as_raw_fd())));
        (regs, [a, b, peer_a, peer_b])
    }

    /// How many wakers each registration's readers list holds.
    fn readers(regs: &[Arc<Registration>]) -> Vec<usize> {
        regs.iter().map(|r| r.slot().lock().readers.len()).collect()
    }

    /// Waits for either registration to turn readable.
    fn wait_read(regs: &[Arc<Registration>; 2], deadline: Option<Instant>) -> bool {
        let waits = regs.each_ref().map(|r| (&**r, Interest::Read, r.readiness(Interest::Read)));
        wait_any_since(&waits, deadline)
    }

    /// A coroutine waiting for either registration to turn readable, with
    /// no deadline, once its waker is in both lists.
    fn parked_waiter(regs: &[Arc<Registration>; 2]) -> crate::JoinHandle<bool> {
        let r = regs.clone();
        let waiter = crate::spawn(move || wait_read(&r, None));
        for _ in 0..10_000 {
            if readers(regs) == [1, 1] {
                return waiter;
            }
            crate::sleep(Duration::from_millis(1));
        }
        panic!("the waiter never listed itself: {:?}", readers(regs));
    }

    #[test]
    fn the_second_socket_wakes_the_wait_and_every_list_is_left() {
        let (regs, [_a, _b, _peer_a, mut peer_b]) = two_sockets();
        let waiter = parked_waiter(&regs);
        peer_b.write_all(b"x").unwrap();
        assert!(waiter.join().unwrap());
        assert_eq!(readers(&regs), [0, 0]);
    }

    #[test]
    fn a_timeout_leaves_no_waker() {
        let (regs, _socks) = two_sockets();
        let r = regs.clone();
        let waiter = crate::spawn(move || wait_read(&r, Some(crate::park::deadline_after(Duration::from_millis(20)))));
        assert!(!waiter.join().unwrap());
        assert_eq!(readers(&regs), [0, 0]);
    }

    #[test]
    fn a_kill_or_timeout_unwinding_out_of_the_park_leaves_no_waker() {
        let (regs, _socks) = two_sockets();
        let waiter = parked_waiter(&regs);
        waiter.kill();
        assert!(waiter.join().unwrap_err().is::<crate::Killed>());
        assert_eq!(readers(&regs), [0, 0]);

        let r = regs.clone();
        let timed = crate::spawn(move || crate::with_timeout(Duration::from_millis(20), || wait_read(&r, None)));
        assert!(timed.join().unwrap().is_err());
        assert_eq!(readers(&regs), [0, 0]);
    }

    #[test]
    fn a_count_that_moved_ends_the_wait_before_it_parks_and_takes_back_the_waker() {
        let (regs, _socks) = two_sockets();
        let reg = &*regs[0];
        // Both directions of one socket, the second with a stale count: the
        // waker already listed for the first is taken back.
        let stale = reg.readiness(Interest::Write).wrapping_sub(1);
        let waits = [(reg, Interest::Read, reg.readiness(Interest::Read)), (reg, Interest::Write, stale)];
        assert!(wait_any_since(&waits, None));
        assert_eq!(readers(&regs), [0, 0]);
        assert!(reg.slot().lock().writers.is_empty());
    }

    #[test]
    fn a_deregistered_registration_ends_the_wait() {
        let (regs, _socks) = two_sockets();
        let waiter = parked_waiter(&regs);
        regs[0].deregister();
        assert!(waiter.join().unwrap());
        assert_eq!(readers(&regs[1..]), [0]);
    }
}
