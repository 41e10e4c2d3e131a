//! Waiting for file descriptors: the hub side of every cooperative socket.
//!
//! A [`Registration`] ties an fd to a readiness slot. Operations try the
//! system call first and wait only when it says `EAGAIN`:
//!
//! ```no_run
//! # use std::os::fd::RawFd;
//! # fn recv(fd: RawFd, buf: &mut [u8]) -> std::io::Result<usize> { unimplemented!() }
//! # let fd: RawFd = 0; let mut buf = [0u8; 64];
//! let reg = verde_runtime::io::Registration::new(fd);
//! let n = reg.read_with(None, || recv(fd, &mut buf))?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The fd is added to a hub's epoll the first time a coroutine on that hub
//! has to wait on it, edge-triggered for both directions, and stays there:
//! no later operation pays an `epoll_ctl`. Readers and writers wait in
//! separate lists, so one coroutine can block reading while another blocks
//! writing the same socket. A registration may be shared by coroutines on
//! several hubs (the types built on it are `Send`); each hub that waits adds
//! the fd to its own epoll, and readiness wakes whichever coroutine waits,
//! on whatever hub.
//!
//! To wait on fds verde does not own (a pipe, an eventfd, a C library's
//! socket), use [`wait_readable`], [`wait_writable`] and
//! [`wait_readwrite`] for one fd, [`poll()`] for several.
//!
//! Slots live in a global table and are never freed, only recycled with a
//! new generation, so an event that arrives for an fd that was just closed
//! finds a stale generation and is ignored instead of touching freed memory.

use std::io;
use std::os::fd::RawFd;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use smallvec::SmallVec;

use crate::hub::{self, HubShared};
use crate::park::{self, Unparked, Waker};
use crate::sync::state_mutex::{lock, StateGuard, StateMutex};
use crate::sys;

mod poll;
mod wait_any;
mod watch_set;

pub use poll::{poll, wait_readwrite, PollFd, PollFlags};
pub(crate) use wait_any::wait_any_since;
pub(crate) use watch_set::WatchSet;

const CHUNK: usize = 1024;
const MAX_CHUNKS: usize = 4096;

const READ_EVENTS: u32 = (libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
const WRITE_EVENTS: u32 = (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32;
const HANG_UP_EVENTS: u32 = (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
const INTEREST: u32 = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLPRI | libc::EPOLLET) as u32;

/// Which readiness to wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Readable (or hung up, or in error).
    Read,
    /// Writable (or hung up, or in error).
    Write,
}

struct Slot {
    gen: AtomicU32,
    read_tick: AtomicU64,
    write_tick: AtomicU64,
    /// Set when epoll reports a hang-up or an error: from then on a short
    /// read no longer means drained, since the end of the stream (or the
    /// error) may be waiting behind the data with no further event to come.
    hung_up: AtomicBool,
    inner: StateMutex<SlotInner>,
}

#[derive(Default)]
struct SlotInner {
    readers: Vec<Waker>,
    writers: Vec<Waker>,
    hubs: Vec<Arc<HubShared>>,
}

impl SlotInner {
    fn waiters(&mut self, interest: Interest) -> &mut Vec<Waker> {
        match interest {
            Interest::Read => &mut self.readers,
            Interest::Write => &mut self.writers,
        }
    }
}

impl Slot {
    fn new() -> Slot {
        Slot {
            gen: AtomicU32::new(0),
            read_tick: AtomicU64::new(0),
            write_tick: AtomicU64::new(0),
            hung_up: AtomicBool::new(false),
            inner: StateMutex::new(SlotInner::default()),
        }
    }

    fn lock(&self) -> StateGuard<'_, SlotInner> {
        lock(&self.inner)
    }

    fn tick(&self, interest: Interest) -> &AtomicU64 {
        match interest {
            Interest::Read => &self.read_tick,
            Interest::Write => &self.write_tick,
        }
    }
}

struct Table {
    chunks: [AtomicPtr<Slot>; MAX_CHUNKS],
    free: StateMutex<Vec<u32>>,
    allocated: AtomicUsize,
}

static TABLE: Table = Table {
    chunks: [const { AtomicPtr::new(ptr::null_mut()) }; MAX_CHUNKS],
    free: StateMutex::new(Vec::new()),
    allocated: AtomicUsize::new(0),
};

impl Table {
    fn get(&self, index: u32) -> Option<&'static Slot> {
        let chunk = self.chunks.get(index as usize / CHUNK)?.load(Ordering::Acquire);
        if chunk.is_null() {
            return None;
        }
        // SAFETY: chunks are leaked arrays of CHUNK slots that are never
        // freed, and the offset is below CHUNK.
        Some(unsafe { &*chunk.add(index as usize % CHUNK) })
    }

    fn alloc(&self) -> io::Result<u32> {
        let mut free = lock(&self.free);
        if let Some(i) = free.pop() {
            return Ok(i);
        }
        let n = self.allocated.load(Ordering::Relaxed);
        if n == CHUNK * MAX_CHUNKS {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!("verde: more than {} file descriptors registered at once", CHUNK * MAX_CHUNKS),
            ));
        }
        if n.is_multiple_of(CHUNK) {
            let chunk: Box<[Slot]> = (0..CHUNK).map(|_| Slot::new()).collect();
            let p = Box::leak(chunk).as_mut_ptr();
            self.chunks[n / CHUNK].store(p, Ordering::Release);
        }
        self.allocated.store(n + 1, Ordering::Relaxed);
        Ok(n as u32)
    }

    fn release(&self, index: u32) {
        lock(&self.free).push(index);
    }
}

/// An fd's place in verde's readiness machinery. It does not own the fd:
/// drop the `Registration` before closing the fd.
#[derive(Debug)]
pub struct Registration {
    fd: RawFd,
    index: u32,
    gen: u32,
    /// The read tick at which a stream read last came back short (the
    /// socket was drained); `u64::MAX` if none. See `read_stream_with`.
    drained_at: AtomicU64,
}

impl Registration {
    /// Prepares `fd` for cooperative waiting. The fd should be in
    /// non-blocking mode; nothing is added to epoll until the first wait.
    ///
    /// # Panics
    ///
    /// Panics if more than four million fds are registered at once.
    pub fn new(fd: RawFd) -> Registration {
        Registration::try_new(fd).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`new`](Self::new), failing instead of panicking when more than
    /// four million fds are registered at once.
    pub fn try_new(fd: RawFd) -> io::Result<Registration> {
        let index = TABLE.alloc()?;
        let slot = TABLE.get(index).expect("allocated slot exists");
        let gen = slot.gen.load(Ordering::Acquire);
        slot.hung_up.store(false, Ordering::Relaxed);
        Ok(Registration { fd, index, gen, drained_at: AtomicU64::new(u64::MAX) })
    }

    /// The fd this registration is for.
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    fn slot(&self) -> &'static Slot {
        TABLE.get(self.index).expect("registered slot exists")
    }

    /// Runs `op` until it stops failing with `WouldBlock`, waiting for
    /// readability in between. With a `timeout`, waiting longer than that
    /// (counted from the first wait, so an operation that needs no wait
    /// never reads the clock) ends the call with a `WouldBlock` error, as a
    /// socket read timeout does in std.
    pub fn read_with<R>(&self, timeout: Option<Duration>, op: impl FnMut() -> io::Result<R>) -> io::Result<R> {
        self.io_with(Interest::Read, timeout, op)
    }

    /// [`read_with`](Self::read_with) for a byte stream (TCP, Unix stream,
    /// pipe): `op` reads at most `len` bytes and returns how many.
    ///
    /// A short read drains a stream socket, and with edge-triggered epoll
    /// any data that arrives afterwards produces a new readiness event. So
    /// until that event, the next read can skip the system call that would
    /// only say `EAGAIN` and park at once. A request/response server saves
    /// one system call per request this way. Once epoll has reported a
    /// hang-up or an error the skip is off, because an end of stream that
    /// arrived together with the data brings no further event. Not for datagram sockets,
    /// where a short read says nothing about what is queued.
    pub fn read_stream_with(
        &self,
        timeout: Option<Duration>,
        len: usize,
        mut op: impl FnMut() -> io::Result<usize>,
    ) -> io::Result<usize> {
        let slot = self.slot();
        let mut deadline = LazyDeadline::new(timeout);
        loop {
            let tick = slot.read_tick.load(Ordering::Acquire);
            if self.drained_at.load(Ordering::Relaxed) != tick || slot.hung_up.load(Ordering::Relaxed) {
                match op() {
                    Ok(n) => {
                        if n > 0 && n < len {
                            self.drained_at.store(tick, Ordering::Relaxed);
                        }
                        return Ok(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            if !self.wait_since(Interest::Read, tick, deadline.get()) {
                return Err(io::Error::from_raw_os_error(libc::EAGAIN));
            }
        }
    }

    /// Like [`read_with`](Self::read_with), waiting for writability.
    pub fn write_with<R>(&self, timeout: Option<Duration>, op: impl FnMut() -> io::Result<R>) -> io::Result<R> {
        self.io_with(Interest::Write, timeout, op)
    }

    fn io_with<R>(
        &self,
        interest: Interest,
        timeout: Option<Duration>,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        let slot = self.slot();
        let mut deadline = LazyDeadline::new(timeout);
        loop {
            let tick = slot.tick(interest).load(Ordering::Acquire);
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
            if !self.wait_since(interest, tick, deadline.get()) {
                return Err(io::Error::from_raw_os_error(libc::EAGAIN));
            }
        }
    }

    /// Waits until the fd is ready for `interest` or `deadline` passes.
    /// Returns `false` on timeout. May return `true` spuriously; the caller
    /// retries its operation.
    pub fn wait(&self, interest: Interest, deadline: Option<Instant>) -> bool {
        self.wait_since(interest, self.readiness(interest), deadline)
    }

    /// How many readiness events for `interest` the fd has had. Read it
    /// before an operation that may find the fd not ready, and wait with
    /// [`wait_since`](Self::wait_since): an event that comes between the
    /// operation and the wait then ends the wait instead of being missed.
    #[inline]
    pub(crate) fn readiness(&self, interest: Interest) -> u64 {
        self.slot().tick(interest).load(Ordering::Acquire)
    }

    /// Waits for a readiness event newer than `tick` (a
    /// [`readiness`](Self::readiness) count) or until `deadline`. Returns
    /// `false` on timeout; may return `true` spuriously.
    pub(crate) fn wait_since(&self, interest: Interest, tick: u64, deadline: Option<Instant>) -> bool {
        let slot = self.slot();
        let hub = hub::current();
        {
            let mut inner = slot.lock();
            if slot.tick(interest).load(Ordering::Acquire) != tick
                || self.is_deregistered(slot)
                || !self.watched_by(&mut inner, hub)
            {
                return true;
            }
            inner.waiters(interest).push(park::waker());
        }
        let _count = IoWaiterCount::new(hub);
        let Some(d) = deadline else {
            park::park();
            return true;
        };
        // A waker fired or not, remove ours if it is still listed, so a
        // socket polled with timeouts and no traffic does not accumulate
        // stale wakers. A kill or Timeout unwinding out of park leaves it
        // for the next event (or the registration's drop), which wake
        // harmlessly.
        let woken = park::park_until(d) != Unparked::TimedOut;
        if !woken {
            let me = park::waker();
            slot.lock().waiters(interest).retain(|w| !w.is_same_waiter(&me));
        }
        woken || slot.tick(interest).load(Ordering::Acquire) != tick
    }

    /// Makes sure `hub`'s epoll watches the fd, adding it the first time a
    /// coroutine of that hub waits on it; `inner` is the slot's, locked.
    /// `false` if epoll refuses the fd, and the wait must end at once:
    /// EPERM is a regular file, always ready; anything else, the operation
    /// itself reports.
    #[inline(always)]
    fn watched_by(&self, inner: &mut SlotInner, hub: &hub::Hub) -> bool {
        if !inner.hubs.iter().any(|h| Arc::ptr_eq(h, &hub.shared)) {
            if sys::epoll_ctl(hub.shared.epoll_fd, libc::EPOLL_CTL_ADD, self.fd, INTEREST, self.token()).is_err() {
                return false;
            }
            inner.hubs.push(Arc::clone(&hub.shared));
            hub.shared.io_registered.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Whether `deregister` has run: it moves the slot to the next
    /// generation (under the slot's lock), and the slot is not reused while
    /// this registration exists.
    fn is_deregistered(&self, slot: &Slot) -> bool {
        slot.gen.load(Ordering::Acquire) != self.gen
    }

    fn token(&self) -> u64 {
        (u64::from(self.gen) << 32) | u64::from(self.index)
    }
}

impl Registration {
    /// Takes the fd out of every hub's epoll and wakes its waiters, ahead
    /// of the drop: for an fd about to be closed while other handles to its
    /// registration may still exist. Later waits return at once (a spurious
    /// wake), so callers must notice the fd is gone by other means.
    pub fn deregister(&self) {
        let slot = self.slot();
        let mut inner = slot.lock();
        if self.is_deregistered(slot) {
            return;
        }
        for h in inner.hubs.drain(..) {
            let _ = sys::epoll_ctl(h.epoll_fd, libc::EPOLL_CTL_DEL, self.fd, 0, 0);
            h.io_registered.fetch_sub(1, Ordering::Relaxed);
        }
        slot.gen.store(self.gen.wrapping_add(1), Ordering::Release);
        slot.read_tick.fetch_add(1, Ordering::AcqRel);
        slot.write_tick.fetch_add(1, Ordering::AcqRel);
        let mut waiters = std::mem::take(&mut inner.readers);
        waiters.append(&mut inner.writers);
        drop(inner);
        for w in waiters {
            w.wake();
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.deregister();
        TABLE.release(self.index);
    }
}

/// A deadline `timeout` after the first time it is asked for: operations
/// that never wait never read the clock.
struct LazyDeadline {
    timeout: Option<Duration>,
    deadline: Option<Instant>,
}

impl LazyDeadline {
    fn new(timeout: Option<Duration>) -> Self {
        LazyDeadline { timeout, deadline: None }
    }

    fn get(&mut self) -> Option<Instant> {
        let timeout = self.timeout?;
        Some(*self.deadline.get_or_insert_with(|| park::deadline_after(timeout)))
    }
}

/// Counts a parked I/O waiter on its hub, so the hub knows it may still be
/// woken by the kernel (see `deadlock`).
struct IoWaiterCount<'a>(&'a hub::Hub);

impl<'a> IoWaiterCount<'a> {
    fn new(hub: &'a hub::Hub) -> Self {
        hub.io_waiters.set(hub.io_waiters.get() + 1);
        IoWaiterCount(hub)
    }
}

impl Drop for IoWaiterCount<'_> {
    fn drop(&mut self) {
        self.0.io_waiters.set(self.0.io_waiters.get() - 1);
    }
}

/// Delivers an epoll event to the slot named by `token`.
pub(crate) fn dispatch(token: u64, events: u32) {
    let index = token as u32;
    let gen = (token >> 32) as u32;
    let Some(slot) = TABLE.get(index) else { return };
    if slot.gen.load(Ordering::Acquire) != gen {
        return;
    }
    // Usually one reader, or one reader and one writer: collected on the
    // stack, to wake once the slot's lock is released, with no allocation
    // per event.
    let mut woken: SmallVec<[Waker; 4]> = SmallVec::new();
    {
        let mut inner = slot.lock();
        if events & HANG_UP_EVENTS != 0 {
            slot.hung_up.store(true, Ordering::Relaxed);
        }
        if events & READ_EVENTS != 0 {
            slot.read_tick.fetch_add(1, Ordering::AcqRel);
            for w in inner.readers.drain(..) {
                woken.push(w);
            }
        }
        if events & WRITE_EVENTS != 0 {
            slot.write_tick.fetch_add(1, Ordering::AcqRel);
            for w in inner.writers.drain(..) {
                woken.push(w);
            }
        }
    }
    for w in woken {
        w.wake();
    }
}

/// Waits until `fd` is readable: gevent's `wait_read`.
///
/// Works for any fd (a pipe, an eventfd, a C library's socket): it waits on
/// a duplicate of `fd`, so it does not disturb other registrations of the
/// same fd; an fd that is ready already returns at once, without one. An
/// fd that is not open is an `EBADF` error. `timeout` of `None` waits
/// forever; on timeout it returns an error of kind `TimedOut`.
///
/// ```
/// use std::io::Write;
/// use std::os::fd::AsRawFd;
/// use std::os::unix::net::UnixStream;
///
/// let (a, mut b) = UnixStream::pair().unwrap();
/// let fd = a.as_raw_fd();
/// let w = verde_runtime::spawn(move || b.write_all(b"x").unwrap());
/// verde_runtime::io::wait_readable(fd, None).unwrap();
/// w.join().unwrap();
/// ```
pub fn wait_readable(fd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
    wait_fd(fd, Interest::Read, timeout)
}

/// Waits until `fd` is writable: gevent's `wait_write`. See
/// [`wait_readable`].
pub fn wait_writable(fd: RawFd, timeout: Option<Duration>) -> io::Result<()> {
    wait_fd(fd, Interest::Write, timeout)
}

fn wait_fd(fd: RawFd, interest: Interest, timeout: Option<Duration>) -> io::Result<()> {
    // An fd that is ready already needs no duplicate and no registration.
    // A negative fd reports nothing here and fails in `dup` below.
    match sys::poll_one(fd, poll_events(interest), 0) {
        Ok(revents) if revents & libc::POLLNVAL != 0 => return Err(io::Error::from_raw_os_error(libc::EBADF)),
        Ok(revents) if revents != 0 => return Ok(()),
        _ => {}
    }
    let deadline = timeout.map(park::deadline_after);
    let dup = sys::dup_cloexec(fd)?;
    let ready = {
        let reg = Registration::new(dup);
        let slot = reg.slot();
        // A wake may be spurious: confirm with a zero-timeout poll, and wait
        // again until the deadline. The tick is read before the poll, so
        // readiness that arrives between the poll and the wait ends the
        // wait instead of being missed.
        loop {
            let tick = slot.tick(interest).load(Ordering::Acquire);
            if poll_now(dup, interest) {
                break true;
            }
            if !reg.wait_since(interest, tick, deadline) {
                break poll_now(dup, interest);
            }
        }
    };
    let _ = sys::close(dup);
    if ready {
        Ok(())
    } else {
        Err(timed_out())
    }
}

/// The error of a wait for an fd that timed out.
fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "timed out waiting for the fd")
}

/// The `poll(2)` events that make `fd` ready for `interest`.
fn poll_events(interest: Interest) -> libc::c_short {
    match interest {
        Interest::Read => libc::POLLIN | libc::POLLPRI | libc::POLLRDHUP,
        Interest::Write => libc::POLLOUT,
    }
}

fn poll_now(fd: RawFd, interest: Interest) -> bool {
    match sys::poll_one(fd, poll_events(interest), 0) {
        Ok(revents) => revents != 0,
        Err(_) => true,
    }
}
