//! Waiting for many fds: `poll`, `select`, `epoll_wait` and `epoll_pwait`.
//!
//! In a coroutine, each first asks the kernel without waiting. If nothing
//! is ready and the caller is willing to wait, the coroutine parks until an
//! epoll fd becomes readable: for `epoll_wait` the caller's own epoll fd
//! (so a nested event loop, such as the tokio runtime inside the sync
//! `postgres` client, yields to the hub), for `poll` of one socket the
//! patch has adopted, in one direction, that socket's own registration, and
//! for other `poll` and `select` calls a private epoll instance holding the
//! caller's fds. Each wake-up asks the kernel
//! again with a zero timeout, so the results (`revents`, the fd sets, the
//! events) are exactly the kernel's. Outside coroutines each is the plain
//! system call.
//!
//! Limits: in a coroutine, `epoll_pwait`'s signal mask applies only to the
//! zero-timeout probes, not to the time the coroutine is parked (the
//! thread's mask cannot change while other coroutines run on it).

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::call::{self, Scope, INTERRUPTED};
use super::fdtable;
use super::raw::{self, plain, raw_syscall, Errno, SysResult};
use crate::io::{Interest, Registration, WatchSet};

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
    if nfds == 1 {
        // SAFETY: the caller guarantees `fds` points to one pollfd, which
        // nothing else touches during the call; it is only read here.
        let pfd = unsafe { *fds };
        if let Some(result) = poll_adopted(&scope, pfd, deadline, || probe(0)) {
            return scope.finish(result) as libc::c_int;
        }
    }
    let first = probe(0);
    if first != Ok(0) {
        return scope.finish(first) as libc::c_int;
    }
    // SAFETY: the caller guarantees `fds` holds `nfds` pollfds (a count the
    // first probe accepted), which nothing else touches during the call.
    let list = unsafe { std::slice::from_raw_parts(fds, nfds as usize) };
    let result = WatchSet::new(list.iter().map(|p| (p.fd, p.events)))
        .map_err(Errno::from)
        .and_then(|w| park_until_ready(&scope, w.fd(), deadline, || probe(0)));
    scope.finish(result) as libc::c_int
}

/// `poll` of one socket the patch has adopted, for one direction (the way
/// libpq, hiredis and most C clients wait for their connection): parks on
/// the socket's own registration with the hub, which costs no system call,
/// instead of a private epoll instance, which costs four (create, add, the
/// hub's add, close). `None` when that does not apply: the fd is not an
/// adopted socket, or the events ask for both directions or neither.
///
/// Each look is the zero-timeout `probe`, so the result is the kernel's.
/// The readiness count is read before each look, so readiness that comes
/// between a look and the park ends the park instead of being missed.
fn poll_adopted(
    scope: &Scope,
    pfd: libc::pollfd,
    deadline: Option<Instant>,
    mut probe: impl FnMut() -> SysResult,
) -> Option<SysResult> {
    const READ: libc::c_short = libc::POLLIN | libc::POLLPRI | libc::POLLRDNORM | libc::POLLRDBAND | libc::POLLRDHUP;
    const WRITE: libc::c_short = libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND;
    let interest = match (pfd.events & READ != 0, pfd.events & WRITE != 0) {
        (true, false) => Interest::Read,
        (false, true) => Interest::Write,
        _ => return None,
    };
    let entry = fdtable::get(pfd.fd)?;
    loop {
        let since = entry.reg.readiness(interest);
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
        // A closed fd ends the wait at once (its registration is
        // deregistered), and the next look reports `POLLNVAL`.
        if !scope.parked(|| entry.reg.wait_since(interest, since, deadline)) {
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
    let mut result = probe();
    if result == Ok(0) {
        let interests = [libc::POLLIN, libc::POLLOUT, libc::POLLPRI];
        let given = &given;
        let members = (0..nfds).flat_map(move |fd| {
            let (w, bit) = (fd as usize / WORD_BITS, fd as usize % WORD_BITS);
            (0..3).filter_map(move |i| {
                let set = given[i].as_ref()?;
                (set[w] >> bit & 1 == 1).then_some((fd, interests[i]))
            })
        });
        result = WatchSet::new(members)
            .map_err(Errno::from)
            .and_then(|watch| park_until_ready(scope, watch.fd(), deadline, &mut probe));
    }
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
