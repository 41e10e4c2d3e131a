//! Sleeping: `nanosleep`, `clock_nanosleep`, `usleep` and `sleep`.
//!
//! In a coroutine a sleep parks on the hub's timers (a zero sleep is a
//! [`yield_now`](crate::yield_now), gevent's `sleep(0)`); signals do not
//! interrupt it, as if every handler had `SA_RESTART`. A kill or `Timeout`
//! ends it early *successfully*: std's `thread::sleep` treats any failure
//! but `EINTR` as a bug, and retries `EINTR` until the time is up, so
//! returning early is the one answer that lets the coroutine move on to a
//! park point where the interrupt unwinds it. Outside coroutines each is
//! the plain call.

use std::time::Duration;

use super::call::Scope;
use super::raw::{self, plain, raw_syscall, Errno, SysResult};

/// A validated sleep request.
fn duration(ts: &libc::timespec) -> Option<Duration> {
    let sec = u64::try_from(ts.tv_sec).ok()?;
    let nsec = u32::try_from(ts.tv_nsec).ok().filter(|&n| n < 1_000_000_000)?;
    Some(Duration::new(sec, nsec))
}

/// Sleeps the calling coroutine for `d`.
fn park_for(scope: &Scope, d: Duration) {
    if d.is_zero() {
        scope.parked(crate::yield_now);
    } else {
        scope.sleep_until(crate::park::deadline_after(d));
    }
}

/// The plain `nanosleep` system call.
///
/// # Safety
///
/// `req` must be readable and `rem` null or writable, as for `nanosleep`.
unsafe fn sys_nanosleep(req: *const libc::timespec, rem: *mut libc::timespec) -> SysResult {
    // SAFETY: guaranteed by the caller.
    unsafe { raw_syscall!(libc::SYS_nanosleep, req, rem) }
}

/// `nanosleep(2)`.
///
/// # Safety
///
/// `req` must point to a readable timespec and `rem` be null or writable,
/// as for libc's `nanosleep`.
pub unsafe fn nanosleep(req: *const libc::timespec, rem: *mut libc::timespec) -> libc::c_int {
    let scope = match Scope::enter() {
        Some(scope) if scope.in_coroutine() => scope,
        // SAFETY: forwarded from the caller.
        _ => return plain(unsafe { sys_nanosleep(req, rem) }) as libc::c_int,
    };
    // SAFETY: the caller guarantees `req` is null (EFAULT below) or valid.
    let result = match unsafe { req.as_ref() } {
        None => Err(Errno(libc::EFAULT)),
        Some(ts) => duration(ts).ok_or(Errno(libc::EINVAL)).map(|d| park_for(&scope, d)).map(|()| 0),
    };
    scope.finish(result) as libc::c_int
}

/// `clock_nanosleep(2)`. Like libc's, it returns an error number instead
/// of setting `errno`. In a coroutine, `CLOCK_REALTIME`, `CLOCK_MONOTONIC`
/// and `CLOCK_BOOTTIME` park (an absolute `CLOCK_REALTIME` time is turned
/// into a duration once, at the call); other clocks make the plain call.
///
/// # Safety
///
/// `req` must point to a readable timespec and `rem` be null or writable,
/// as for libc's `clock_nanosleep`.
pub unsafe fn clock_nanosleep(
    clock: libc::clockid_t,
    flags: libc::c_int,
    req: *const libc::timespec,
    rem: *mut libc::timespec,
) -> libc::c_int {
    let saved = raw::errno();
    let coroutine = matches!(clock, libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME);
    let result = match Scope::enter() {
        Some(scope) if scope.in_coroutine() && coroutine => {
            // SAFETY: the caller guarantees `req` is null or valid.
            match unsafe { req.as_ref() } {
                None => Err(Errno(libc::EFAULT)),
                Some(ts) => match duration(ts) {
                    None => Err(Errno(libc::EINVAL)),
                    Some(d) => {
                        let d = if flags & libc::TIMER_ABSTIME != 0 { until(clock, d) } else { d };
                        park_for(&scope, d);
                        Ok(0)
                    }
                },
            }
        }
        // SAFETY: forwarded from the caller.
        _ => unsafe { raw_syscall!(libc::SYS_clock_nanosleep, clock, flags, req, rem) },
    };
    raw::set_errno(saved);
    match result {
        Ok(_) => 0,
        Err(Errno(e)) => e,
    }
}

/// The time from now until `at` on `clock`.
fn until(clock: libc::clockid_t, at: Duration) -> Duration {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec to fill; the clock id is one of the
    // three this is called for.
    unsafe { libc::clock_gettime(clock, &mut now) };
    at.saturating_sub(duration(&now).unwrap_or_default())
}

/// `usleep(3)`.
///
/// # Safety
///
/// None: an integer argument.
pub unsafe fn usleep(usec: libc::useconds_t) -> libc::c_int {
    let d = Duration::from_micros(u64::from(usec));
    match Scope::enter() {
        Some(scope) if scope.in_coroutine() => {
            park_for(&scope, d);
            0
        }
        _ => {
            let ts = crate::sys::timespec(d);
            // SAFETY: `ts` is a valid timespec; no remainder is asked for.
            plain(unsafe { sys_nanosleep(&ts, std::ptr::null_mut()) }) as libc::c_int
        }
    }
}

/// `sleep(3)`: 0, or the whole seconds left when a signal interrupted a
/// thread's sleep.
///
/// # Safety
///
/// None: an integer argument.
pub unsafe fn sleep(seconds: libc::c_uint) -> libc::c_uint {
    let d = Duration::from_secs(u64::from(seconds));
    match Scope::enter() {
        Some(scope) if scope.in_coroutine() => {
            park_for(&scope, d);
            0
        }
        _ => {
            let ts = crate::sys::timespec(d);
            let mut rem = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: `ts` and `rem` are valid timespecs.
            match unsafe { sys_nanosleep(&ts, &mut rem) } {
                Ok(_) => 0,
                Err(_) => rem.tv_sec as libc::c_uint,
            }
        }
    }
}
