//! Waiting for many fds: `poll`, `select`, `epoll_wait` and `epoll_pwait`.
//!
//! In a coroutine, each first asks the kernel without waiting. If nothing
//! is ready and the caller is willing to wait, the coroutine parks:
//!
//! * `epoll_wait` until the caller's own epoll fd becomes readable, so a
//!   nested event loop (such as the tokio runtime inside the sync
//!   `postgres` client) yields to the hub;
//! * `poll` and `select` whose fds are all sockets the patch has adopted
//!   (see `fdtable`), in any number and either direction or both, on those
//!   sockets' own registrations with the hub, which costs no system call
//!   (the way libpq, hiredis and most C clients wait for their
//!   connections);
//! * any other `poll` or `select` (a pipe, a socket adopted by no
//!   coroutine, `select`'s exception set, a `pollfd` asking for neither
//!   reading nor writing) until a private epoll instance holding the
//!   caller's fds becomes readable, which costs four (create, add, the
//!   hub's add, close).
//!
//! Each wake-up asks the kernel again with a zero timeout, so the results
//! (`revents`, the fd sets, the events) are exactly the kernel's. Outside
//! coroutines each is the plain system call.
//!
//! Limits: in a coroutine, `epoll_pwait`'s signal mask applies only to the
//! zero-timeout probes, not to the time the coroutine is parked (the
//! thread's mask cannot change while other coroutines run on it).

use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smallvec::SmallVec;

use super::call::{self, Scope, INTERRUPTED};
use super::fdtable::{self, Entry};
use super::raw::{self, plain, raw_syscall, Errno, SysResult};
use crate::io::{self, Interest, Registration, WatchSet};

/// Bits in one word of an `fd_set`.
const WORD_BITS: usize = 64;

/// Parks the calling coroutine until `probe()` reports something (a
/// non-zero count or an error) or `deadline` passes (then `Ok(0)`),
/// waking whenever the epoll fd `epfd` becomes readable.
fn park_until_ready(
    scope: &Scope,
    epfd: RawFd,
    deadline: Option<Instant>,
    mut probe: impl FnMut() -> SysResult,
) -> SysResult {
    let reg = Registration::try_new(epfd).map_err(|_| Errno(libc::ENOMEM))?;
    loop {
        if scope.cancelled() {
            return Err(INTERRUPTED);
        }
        let woken = scope.parked(|| reg.wait(Interest::Read, deadline));
        let r = probe();
        if r != Ok(0) {
            return r;
        }
        if scope.cancelled() {
            return Err(INTERRUPTED);
        }
        if !woken || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(0);
        }
    }
}

/// `poll(2)`. `poll(NULL, 0, ms)`, a common way to sleep, parks for `ms`.
///
/// # Safety
///
/// `fds` must point to `nfds` writable pollfds, as for libc's `poll`.
pub unsafe fn poll(fds: *mut libc::pollfd, nfds: libc::nfds_t, timeout: libc::c_int) -> libc::c_int {
    let probe = |ms: libc::c_int| {
        let ts = u64::try_from(ms).ok().map(|ms| crate::sys::timespec(Duration::from_millis(ms)));
        let ts_ptr = ts.as_ref().map_or(std::ptr::null(), std::ptr::from_ref);
        // SAFETY: the caller guarantees `fds` holds `nfds` pollfds; `ts_ptr`
        // is null or a valid timespec; a null mask means none.
        unsafe { raw_syscall!(libc::SYS_ppoll, fds, nfds, ts_ptr, std::ptr::null::<libc::sigset_t>(), 0) }
    };
    let Some(scope) = Scope::enter() else {
        return plain(probe(timeout)) as libc::c_int;
    };
    if !scope.in_coroutine() || timeout == 0 {
        return scope.finish(probe(timeout)) as libc::c_int;
    }
    let deadline = call::deadline_ms(timeout);
    if nfds == 0 {
        let forever = || crate::park::deadline_after(Duration::MAX);
        let result = if scope.sleep_until(deadline.unwrap_or_else(forever)) { Ok(0) } else { Err(INTERRUPTED) };
        return scope.finish(result) as libc::c_int;
    }
    // Each iterator over the requested `(fd, events)` is used up before the
    // next probe writes `revents`.
    let requests = || {
        // SAFETY: the caller guarantees `fds` holds `nfds` pollfds, which
        // nothing else touches during the call; the slice is only read.
        unsafe { std::slice::from_raw_parts(fds, nfds as usize) }.iter().map(|p| (p.fd, p.events))
    };
    let on_sockets = adopted_sockets(requests()).and_then(|s| park_on_sockets(&scope, &s, deadline, || probe(0)));
    if let Some(result) = on_sockets {
        return scope.finish(result) as libc::c_int;
    }
    let first = probe(0);
    if first != Ok(0) {
        return scope.finish(first) as libc::c_int;
    }
    let result = WatchSet::new(requests())
        .map_err(Errno::from)
        .and_then(|w| park_until_ready(&scope, w.fd(), deadline, || probe(0)));
    scope.finish(result) as libc::c_int
}

/// An adopted socket a `poll` or `select` waits on, in one direction.
struct Watched {
    fd: RawFd,
    entry: Arc<Entry>,
    interest: Interest,
}

/// The sockets a waiting call watches; a few, usually.
type Sockets = SmallVec<[Watched; 4]>;

/// The `(fd, poll(2) events)` a call waits for as adopted sockets and
/// directions (both for events that ask for both), or `None` if one of
/// them is not an adopted socket or asks for neither reading nor writing
/// (only for the hang-ups and errors `poll` always reports). Negative fds
/// are skipped, as `poll` skips them.
fn adopted_sockets(requests: impl Iterator<Item = (RawFd, libc::c_short)>) -> Option<Sockets> {
    const READ: libc::c_short = libc::POLLIN | libc::POLLPRI | libc::POLLRDNORM | libc::POLLRDBAND | libc::POLLRDHUP;
    const WRITE: libc::c_short = libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND;
    let mut sockets = Sockets::new();
    for (fd, events) in requests.filter(|&(fd, _)| fd >= 0) {
        let (read, write) = (events & READ != 0, events & WRITE != 0);
        if !read && !write {
            return None;
        }
        let entry = fdtable::get(fd)?;
        if read {
            sockets.push(Watched { fd, entry: Arc::clone(&entry), interest: Interest::Read });
        }
        if write {
            sockets.push(Watched { fd, entry, interest: Interest::Write });
        }
    }
    Some(sockets)
}

/// Parks until `probe()` reports something (a non-zero count or an error)
/// or `deadline` passes (then `Ok(0)`), waking on readiness of any of
/// `sockets` through their own registrations with the hub. `None` if one
/// of them stops being the adopted socket it was (closed, its number
/// reused): the caller goes on through a private epoll instance, whose
/// first probe reports the closed fd (`POLLNVAL`, `EBADF`) or watches
/// whatever the number now names.
///
/// Each look is the zero-timeout `probe`, so the result is the kernel's.
/// The readiness counts are read before each look, so readiness that comes
/// between a look and the park ends the park instead of being missed.
fn park_on_sockets(
    scope: &Scope,
    sockets: &[Watched],
    deadline: Option<Instant>,
    mut probe: impl FnMut() -> SysResult,
) -> Option<SysResult> {
    loop {
        let waits: SmallVec<[(&Registration, Interest, u64); 4]> =
            sockets.iter().map(|s| (&s.entry.reg, s.interest, s.entry.reg.readiness(s.interest))).collect();
        let r = probe();
        if r != Ok(0) {
            return Some(r);
        }
        if scope.cancelled() {
            return Some(Err(INTERRUPTED));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(Ok(0));
        }
        let woken = scope.parked(|| io::wait_any_since(&waits, deadline));
        if !sockets.iter().all(|s| fdtable::is_current(s.fd, &s.entry)) {
            return None;
        }
        if !woken {
            return Some(probe());
        }
    }
}

/// `select(2)`, including Linux's update of `timeout` to the time left.
///
/// # Safety
///
/// Each set must be null or point to an `fd_set` covering `nfds` fds, and
/// `timeout` null or a writable timeval, as for libc's `select`.
pub unsafe fn select(
    nfds: libc::c_int,
    readfds: *mut libc::fd_set,
    writefds: *mut libc::fd_set,
    exceptfds: *mut libc::fd_set,
    timeout: *mut libc::timeval,
) -> libc::c_int {
    let sets = [readfds, writefds, exceptfds].map(|s| s.cast::<u64>());
    let words = usize::try_from(nfds).map_or(0, |n| n.div_ceil(WORD_BITS));
    // SAFETY: the caller guarantees `timeout` is null or a valid timeval.
    let limit = unsafe { timeout.as_ref() }.map(|tv| (tv.tv_sec, tv.tv_usec));
    let result = match Scope::enter() {
        Some(scope) if scope.in_coroutine() && nfds >= 0 && limit != Some((0, 0)) => {
            // SAFETY: the caller guarantees the sets and the timeout.
            let r = unsafe { select_parked(&scope, nfds, sets, words, timeout, limit) };
            scope.finish(r)
        }
        // SAFETY: the caller guarantees the sets and the timeout.
        Some(scope) => scope.finish(unsafe { pselect(nfds, sets, timeout) }),
        // SAFETY: as above.
        None => plain(unsafe { pselect(nfds, sets, timeout) }),
    };
    result as libc::c_int
}

/// `select` through `pselect6`, writing the time left back to `timeout`.
///
/// # Safety
///
/// As for [`select`].
unsafe fn pselect(nfds: libc::c_int, sets: [*mut u64; 3], timeout: *mut libc::timeval) -> SysResult {
    // SAFETY: the caller guarantees `timeout` is null or valid.
    let mut ts = unsafe { timeout.as_ref() }
        .map(|tv| libc::timespec { tv_sec: tv.tv_sec, tv_nsec: (tv.tv_usec as libc::c_long).saturating_mul(1000) });
    let ts_ptr = ts.as_mut().map_or(std::ptr::null_mut(), std::ptr::from_mut);
    // SAFETY: the caller guarantees the sets; `ts_ptr` is null or a valid
    // timespec the kernel updates; a null sixth argument means no mask.
    let r = unsafe {
        raw_syscall!(libc::SYS_pselect6, nfds, sets[0], sets[1], sets[2], ts_ptr, std::ptr::null::<libc::c_void>())
    };
    if let (Some(ts), false) = (ts, timeout.is_null()) {
        // SAFETY: checked non-null; the caller guarantees it is writable.
        unsafe { *timeout = libc::timeval { tv_sec: ts.tv_sec, tv_usec: (ts.tv_nsec / 1000) as libc::suseconds_t } };
    }
    r
}

/// `select` in a coroutine that may wait.
///
/// # Safety
///
/// As for [`select`], with `words` the `fd_set` words covering `nfds`.
unsafe fn select_parked(
    scope: &Scope,
    nfds: libc::c_int,
    sets: [*mut u64; 3],
    words: usize,
    timeout: *mut libc::timeval,
    limit: Option<(libc::time_t, libc::suseconds_t)>,
) -> SysResult {
    let deadline = match limit {
        None => None,
        Some((sec, usec)) if sec >= 0 && (0..1_000_000).contains(&usec) => {
            Some(crate::park::deadline_after(Duration::new(sec as u64, usec as u32 * 1000)))
        }
        Some(_) => return Err(Errno(libc::EINVAL)),
    };
    // SAFETY: the caller guarantees each non-null set covers `words` words.
    let given: [Option<Vec<u64>>; 3] =
        sets.map(|s| (!s.is_null()).then(|| unsafe { std::slice::from_raw_parts(s, words) }.to_vec()));
    let mut answer = given.clone();
    let mut probe = || {
        answer = given.clone();
        let ptrs = [0, 1, 2].map(|i| answer[i].as_mut().map_or(std::ptr::null_mut(), |v| v.as_mut_ptr()));
        let mut zero = libc::timeval { tv_sec: 0, tv_usec: 0 };
        // SAFETY: each pointer is null or a copy of the caller's set,
        // `words` long, covering `nfds`.
        unsafe { pselect(nfds, ptrs, &mut zero) }
    };
    let interests = [libc::POLLIN, libc::POLLOUT, libc::POLLPRI];
    let given = &given;
    let members = (0..nfds).flat_map(move |fd| {
        let (w, bit) = (fd as usize / WORD_BITS, fd as usize % WORD_BITS);
        (0..3).filter_map(move |i| {
            let set = given[i].as_ref()?;
            (set[w] >> bit & 1 == 1).then_some((fd, interests[i]))
        })
    });
    // The exception set (urgent data) is left to a private epoll instance.
    let sockets = if members.clone().any(|(_, events)| events == libc::POLLPRI) {
        None
    } else {
        adopted_sockets(members.clone())
    };
    let on_sockets = sockets.and_then(|s| park_on_sockets(scope, &s, deadline, &mut probe));
    let result = on_sockets.unwrap_or_else(|| match probe() {
        Ok(0) => WatchSet::new(members)
            .map_err(Errno::from)
            .and_then(|watch| park_until_ready(scope, watch.fd(), deadline, &mut probe)),
        first => first,
    });
    if result.is_ok() {
        for (set, value) in sets.iter().zip(&answer) {
            if let Some(v) = value {
                // SAFETY: the caller guarantees the set covers `words` words.
                unsafe { std::ptr::copy_nonoverlapping(v.as_ptr(), *set, words) };
            }
        }
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            // SAFETY: a deadline comes from a non-null timeout, which the
            // caller guarantees is writable.
            unsafe {
                *timeout = libc::timeval {
                    tv_sec: left.as_secs() as libc::time_t,
                    tv_usec: left.subsec_micros() as libc::suseconds_t,
                }
            };
        }
    }
    result
}

/// `epoll_wait(2)`.
///
/// # Safety
///
/// `events` must be writable for `maxevents` entries, as for libc's
/// `epoll_wait`.
pub unsafe fn epoll_wait(
    epfd: libc::c_int,
    events: *mut libc::epoll_event,
    maxevents: libc::c_int,
    timeout: libc::c_int,
) -> libc::c_int {
    // SAFETY: forwarded from the caller; no signal mask.
    unsafe { epoll_pwait(epfd, events, maxevents, timeout, std::ptr::null()) }
}

/// `epoll_pwait(2)`; see the module docs for the signal mask in a
/// coroutine.
///
/// # Safety
///
/// `events` must be writable for `maxevents` entries and `sigmask` null or
/// a valid signal set, as for libc's `epoll_pwait`.
pub unsafe fn epoll_pwait(
    epfd: libc::c_int,
    events: *mut libc::epoll_event,
    maxevents: libc::c_int,
    timeout: libc::c_int,
    sigmask: *const libc::sigset_t,
) -> libc::c_int {
    let probe = |ms: libc::c_int| {
        // SAFETY: the caller guarantees `events` and `sigmask`; the size is
        // the kernel's sigset size, 8 bytes.
        unsafe { raw_syscall!(libc::SYS_epoll_pwait, epfd, events, maxevents, ms, sigmask, 8) }
    };
    let Some(scope) = Scope::enter() else {
        return plain(probe(timeout)) as libc::c_int;
    };
    if !scope.in_coroutine() || timeout == 0 {
        return scope.finish(probe(timeout)) as libc::c_int;
    }
    let first = probe(0);
    if first != Ok(0) {
        return scope.finish(first) as libc::c_int;
    }
    // Wait on a duplicate: two coroutines of one hub may wait on the same
    // epoll fd, and a hub's epoll takes each fd once.
    let result = raw::fcntl(epfd, libc::F_DUPFD_CLOEXEC, 0).and_then(|dup| {
        let r = park_until_ready(&scope, dup as RawFd, call::deadline_ms(timeout), || probe(0));
        let _ = raw::close(dup as RawFd);
        r
    });
    scope.finish(result) as libc::c_int
}
