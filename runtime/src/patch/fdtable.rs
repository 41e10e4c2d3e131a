//! Which fds the patch has taken over, and the settings it keeps for them.
//!
//! A socket a coroutine uses is *adopted*: the fd is switched to
//! `O_NONBLOCK` so the coroutine can park instead of blocking, and the
//! table remembers what the kernel no longer holds for it: the blocking
//! mode the program asked for, and the `SO_RCVTIMEO`/`SO_SNDTIMEO` bounds
//! (which the kernel ignores for non-blocking fds). Every patched call on an
//! adopted fd, in a coroutine or not, honours those settings, so the fd
//! behaves as the program set it up.
//!
//! Sockets a coroutine creates (`socket`, `accept`) are adopted at birth;
//! others (made before, or by a plain thread) on first use in a coroutine.
//! Fds nobody uses in a coroutine are never touched.
//!
//! Entries are indexed by fd number and dropped by the patched `close`,
//! `dup2` and `dup3`, and whenever the kernel hands out an fd number again
//! through a patched call. Duplicates (`dup`, `F_DUPFD`) share their
//! settings, as the kernel shares an open file description's.

use std::os::fd::RawFd;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::raw;
use crate::io::{Interest, Registration};
use crate::park;

const CHUNK: usize = 1024;
/// fds above `CHUNK * MAX_CHUNKS` (about a million, Linux's default hard
/// limit) are never adopted: calls on them are plain.
const MAX_CHUNKS: usize = 1024;

/// The settings of an adopted socket that the kernel no longer applies.
#[derive(Debug, Default)]
pub(crate) struct Options {
    /// The program's `O_NONBLOCK`.
    nonblocking: AtomicBool,
    /// `SO_RCVTIMEO` and `SO_SNDTIMEO` in nanoseconds; 0 is none.
    read_timeout: AtomicU64,
    write_timeout: AtomicU64,
    /// A byte stream (`SOCK_STREAM`): blocking sends send everything.
    pub stream: bool,
    /// `AF_UNIX`: a connect to a full backlog reports no readiness.
    pub unix: bool,
}

impl Options {
    /// Settings of a socket of `domain` and `ty` (without flags).
    pub(crate) fn new(domain: libc::c_int, ty: libc::c_int, nonblocking: bool) -> Options {
        Options {
            nonblocking: AtomicBool::new(nonblocking),
            stream: ty == libc::SOCK_STREAM,
            unix: domain == libc::AF_UNIX,
            ..Options::default()
        }
    }

    /// The settings of a socket accepted from a listener with these ones:
    /// the kernel copies the timeouts, and the mode comes from `accept4`'s
    /// flags.
    pub(crate) fn accepted(&self, nonblocking: bool) -> Options {
        Options {
            nonblocking: AtomicBool::new(nonblocking),
            read_timeout: AtomicU64::new(self.read_timeout.load(Ordering::Relaxed)),
            write_timeout: AtomicU64::new(self.write_timeout.load(Ordering::Relaxed)),
            stream: self.stream,
            unix: self.unix,
        }
    }

    /// The program's blocking mode: true for non-blocking.
    #[inline]
    pub(crate) fn nonblocking(&self) -> bool {
        self.nonblocking.load(Ordering::Relaxed)
    }

    /// Records the program's blocking mode.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }

    /// When a wait for `interest` starting now must end.
    pub(crate) fn deadline(&self, interest: Interest) -> Option<Instant> {
        match self.timeout_cell(interest).load(Ordering::Relaxed) {
            0 => None,
            ns => Some(park::deadline_after(Duration::from_nanos(ns))),
        }
    }

    /// Reloads `SO_RCVTIMEO` or `SO_SNDTIMEO` from the kernel.
    pub(crate) fn load_timeout(&self, fd: RawFd, interest: Interest) {
        let name = match interest {
            Interest::Read => libc::SO_RCVTIMEO,
            Interest::Write => libc::SO_SNDTIMEO,
        };
        if let Ok(tv) = raw::getsockopt::<libc::timeval>(fd, libc::SOL_SOCKET, name) {
            let d = Duration::new(tv.tv_sec.max(0) as u64, (tv.tv_usec.max(0) as u32) * 1000);
            let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
            self.timeout_cell(interest).store(ns, Ordering::Relaxed);
        }
    }

    fn timeout_cell(&self, interest: Interest) -> &AtomicU64 {
        match interest {
            Interest::Read => &self.read_timeout,
            Interest::Write => &self.write_timeout,
        }
    }
}

/// An adopted fd: its readiness registration and its settings.
#[derive(Debug)]
pub(crate) struct Entry {
    pub reg: Registration,
    pub options: Arc<Options>,
}

type Slot = Mutex<Option<Arc<Entry>>>;

static CHUNKS: [AtomicPtr<Slot>; MAX_CHUNKS] = [const { AtomicPtr::new(ptr::null_mut()) }; MAX_CHUNKS];

/// The slot of `fd`, creating its chunk if `create`.
fn slot(fd: RawFd, create: bool) -> Option<&'static Slot> {
    let fd = usize::try_from(fd).ok()?;
    let cell = CHUNKS.get(fd / CHUNK)?;
    let mut chunk = cell.load(Ordering::Acquire);
    if chunk.is_null() {
        if !create {
            return None;
        }
        let fresh: Box<[Slot]> = (0..CHUNK).map(|_| Mutex::new(None)).collect();
        let fresh = Box::into_raw(fresh).cast::<Slot>();
        chunk = match cell.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => fresh,
            Err(theirs) => {
                // SAFETY: `fresh` came from `Box::into_raw` of a CHUNK-long
                // boxed slice just above and was never shared.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(fresh, CHUNK)) });
                theirs
            }
        };
    }
    // SAFETY: published chunks are CHUNK-long arrays that are never freed,
    // and the offset is below CHUNK.
    Some(unsafe { &*chunk.add(fd % CHUNK) })
}

fn lock(slot: &Slot) -> MutexGuard<'_, Option<Arc<Entry>>> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

/// The entry of `fd`, if it is adopted.
#[inline]
pub(crate) fn get(fd: RawFd) -> Option<Arc<Entry>> {
    lock(slot(fd, false)?).clone()
}

/// Whether `entry` is still the entry of `fd` (the fd was not closed and
/// its number reused meanwhile).
pub(crate) fn is_current(fd: RawFd, entry: &Arc<Entry>) -> bool {
    slot(fd, false).is_some_and(|s| lock(s).as_ref().is_some_and(|e| Arc::ptr_eq(e, entry)))
}

/// The entry of `fd`, adopting it first if it is a socket. `None` for
/// anything else (not a socket, not an open fd, out of range): the caller
/// makes the plain call, which reports any error itself.
pub(crate) fn adopt(fd: RawFd) -> Option<Arc<Entry>> {
    let slot = slot(fd, true)?;
    let mut guard = lock(slot);
    if let Some(e) = &*guard {
        return Some(Arc::clone(e));
    }
    // Holding the slot's lock: a concurrent adoption of the same fd waits
    // here instead of reading the O_NONBLOCK this one sets.
    let ty: libc::c_int = raw::getsockopt(fd, libc::SOL_SOCKET, libc::SO_TYPE).ok()?;
    let domain: libc::c_int = raw::getsockopt(fd, libc::SOL_SOCKET, libc::SO_DOMAIN).ok()?;
    let flags = raw::fcntl(fd, libc::F_GETFL, 0).ok()? as libc::c_int;
    let options = Options::new(domain, ty, flags & libc::O_NONBLOCK != 0);
    options.load_timeout(fd, Interest::Read);
    options.load_timeout(fd, Interest::Write);
    let reg = Registration::try_new(fd).ok()?;
    if flags & libc::O_NONBLOCK == 0 {
        raw::fcntl(fd, libc::F_SETFL, (flags | libc::O_NONBLOCK) as libc::c_ulong).ok()?;
    }
    let entry = Arc::new(Entry { reg, options: Arc::new(options) });
    *guard = Some(Arc::clone(&entry));
    Some(entry)
}

/// Adopts a socket the patch just created non-blocking, with `options`.
/// On failure (no registration slot left) the fd is given back the
/// program's blocking mode and stays unadopted.
pub(crate) fn adopt_new(fd: RawFd, options: Options) {
    let nonblocking = options.nonblocking();
    if insert(fd, Arc::new(options)).is_none() && !nonblocking {
        if let Ok(flags) = raw::fcntl(fd, libc::F_GETFL, 0) {
            let _ = raw::fcntl(fd, libc::F_SETFL, (flags as libc::c_int & !libc::O_NONBLOCK) as libc::c_ulong);
        }
    }
}

/// Makes `options` the settings of `fd`, replacing any stale entry.
fn insert(fd: RawFd, options: Arc<Options>) -> Option<Arc<Entry>> {
    let slot = slot(fd, true)?;
    let reg = Registration::try_new(fd).ok()?;
    let entry = Arc::new(Entry { reg, options });
    let old = lock(slot).replace(Arc::clone(&entry));
    retire(old);
    Some(entry)
}

/// Forgets `fd`: it is about to be closed, or its number was just handed
/// out again. Its registration leaves every epoll now, while the fd is
/// still the one it was made for.
pub(crate) fn forget(fd: RawFd) {
    if let Some(slot) = slot(fd, false) {
        let old = lock(slot).take();
        retire(old);
    }
}

/// Takes a forgotten entry out of the hubs' epolls and wakes its waiters,
/// who notice with [`is_current`] that the fd is gone.
fn retire(entry: Option<Arc<Entry>>) {
    if let Some(e) = entry {
        e.reg.deregister();
    }
}

/// Records that `new` is a duplicate of `old` (made by `dup`, `dup3` or
/// `F_DUPFD`): if `old` is adopted, `new` shares its settings, as the two
/// fds share the kernel's; otherwise any stale entry of `new` is dropped.
pub(crate) fn duplicated(old: RawFd, new: RawFd) {
    match get(old) {
        // Without a registration slot (millions of fds) the duplicate stays
        // unadopted; its calls are then plain.
        Some(e) => {
            if insert(new, Arc::clone(&e.options)).is_none() {
                forget(new);
            }
        }
        None => forget(new),
    }
}
