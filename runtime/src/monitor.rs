//! The monitor: a watchdog thread that names what blocks a hub (gevent's
//! `monitor_thread` with `max_blocking_time`).
//!
//! A hub serves its coroutines only while they park. A coroutine that calls
//! something that blocks the thread (an unpatched `std::thread::sleep`, a
//! `std::sync::Mutex` held elsewhere, a C library's `read`, a CPU loop)
//! freezes every other coroutine on its hub. The monitor notices a hub that
//! has stayed inside one coroutine longer than its *max blocking time* and
//! reports it through the `log` crate (target `verde::monitor`, level
//! `warn`), once per stall:
//!
//! ```text
//! verde::monitor: hub thread 'main' (tid 4711) has been inside coroutine 'handler-3' (id 12) for
//! at least 150 ms without switching: the thread is blocked in the system call nanosleep (state S,
//! wchan hrtimer_nanosleep); verde::patch_all!() would make this call cooperative
//! ```
//!
//! Where it can, it says where the thread is, from `/proc/self/task/<tid>/`:
//! `stat` (state `R` means running on the CPU: a loop that never reaches a
//! park point), `syscall` (which system call it is blocked in; a `futex`
//! means a std lock, condvar, channel or thread join) and `wchan` (the
//! kernel function it sleeps in).
//!
//! # Turning it on
//!
//! The monitor is **off by default**, as gevent's is: it costs a thread and
//! its reports only help while hunting a stall. It is on for:
//!
//! * a [`Runtime`](crate::Runtime)'s hubs built with
//!   [`RuntimeBuilder::max_blocking_time`](crate::RuntimeBuilder::max_blocking_time);
//! * every hub created while the environment variable
//!   `VERDE_MAX_BLOCKING_TIME_MS` holds a number of milliseconds (`0`
//!   turns it off), including the hubs of plain threads;
//! * the calling thread's hub after [`set_max_blocking_time`].
//!
//! [`DEFAULT_MAX_BLOCKING_TIME`] (100 ms) is gevent's default, for callers
//! that want it.
//!
//! # Cost
//!
//! The hub pays one relaxed store per coroutine resume (which coroutine),
//! whether or not the monitor runs; its scheduling budget, which the
//! monitor also reads, it keeps anyway. Both live in the hub itself, so
//! neither costs a pointer to follow. The monitor thread wakes every
//! quarter of the smallest max blocking time (at least every 5 ms, at most
//! every second), reads those few words of each hub, and never touches
//! a coroutine's memory: names come from a registry of named coroutines
//! kept while the monitor is on. It counts as an idle helper thread, so it
//! never hides a main context that would block forever.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::hub::EVENT_INTERVAL;
use crate::sys;

/// gevent's default max blocking time: 100 ms.
pub const DEFAULT_MAX_BLOCKING_TIME: Duration = Duration::from_millis(100);

/// The environment variable that turns the monitor on for every hub, in
/// milliseconds.
pub const ENV_MAX_BLOCKING_TIME_MS: &str = "VERDE_MAX_BLOCKING_TIME_MS";

const MIN_TICK: Duration = Duration::from_millis(5);
const MAX_TICK: Duration = Duration::from_secs(1);

/// What a hub tells the monitor. Written only by the hub's thread, read by
/// the monitor thread. It is a field of the hub, which registers it once
/// the hub has its place (`register`) and unregisters it before the hub
/// goes (`unregister`).
pub(crate) struct Probe {
    /// Id of the coroutine the hub resumed last; 0 while the hub is idle or
    /// back in its thread's main context.
    running: AtomicU64,
    /// Coroutine runs left before the hub next polls for events. It counts
    /// down on every run and is reset at each poll, which `polls` counts,
    /// so between two looks at the pair the hub has switched unless both
    /// are unchanged. It is the hub's own scheduling budget, so watching
    /// costs the hub one store per resume (`running`).
    budget: AtomicU32,
    /// Polls so far.
    polls: AtomicU64,
    /// Nanoseconds; 0 means this hub is not watched.
    max_blocking_ns: AtomicU64,
    tid: i32,
    thread_name: Option<Box<str>>,
}

impl Probe {
    /// A probe for the calling thread's new hub, not registered yet.
    pub(crate) fn new(max_blocking_time: Option<Duration>) -> Probe {
        // SAFETY: gettid takes no arguments.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) } as i32;
        Probe {
            running: AtomicU64::new(0),
            budget: AtomicU32::new(EVENT_INTERVAL),
            polls: AtomicU64::new(0),
            max_blocking_ns: AtomicU64::new(max_blocking_ns(max_blocking_time)),
            tid,
            thread_name: std::thread::current().name().map(Into::into),
        }
    }

    /// Shows the probe to the monitor, and starts the monitor if the probe
    /// has a max blocking time.
    ///
    /// # Safety
    ///
    /// The probe must not move from now on. The monitor reads it through its
    /// address, under the registry's lock, until the probe's drop takes it
    /// out of the registry under the same lock.
    pub(crate) unsafe fn register(&self) {
        {
            let mut probes = lock(&registry().probes);
            let serial = probes.next_serial;
            probes.next_serial += 1;
            probes.list.push(Registered { probe: self, serial });
        }
        if self.max_blocking_ns.load(Ordering::Relaxed) != 0 {
            start();
        }
    }

    /// Hides the probe from the monitor: once this returns, the monitor no
    /// longer reads it.
    fn unregister(&self) {
        lock(&registry().probes).list.retain(|r| !std::ptr::eq(r.probe, self));
    }

    /// Records that the hub resumes coroutine `id`.
    #[inline(always)]
    pub(crate) fn resume(&self, id: u64) {
        self.running.store(id, Ordering::Relaxed);
    }

    /// Counts one coroutine run; true when it is time to poll for I/O and
    /// timers. Only the hub's thread writes the budget, so a plain load and
    /// store update it. The budget is never stored as 0: the run that
    /// spends it resets it.
    #[inline(always)]
    pub(crate) fn tick(&self) -> bool {
        let left = self.budget.load(Ordering::Relaxed) - 1;
        if left == 0 {
            self.budget.store(EVENT_INTERVAL, Ordering::Relaxed);
            true
        } else {
            self.budget.store(left, Ordering::Relaxed);
            false
        }
    }

    /// Makes the next [`tick`](Self::tick) say it is time to poll: for a
    /// tick that said so to someone who cannot poll, and hands it on.
    #[cold]
    pub(crate) fn poll_at_next_tick(&self) {
        self.budget.store(1, Ordering::Relaxed);
    }

    /// Records that the hub polled for events.
    #[inline]
    pub(crate) fn polled(&self) {
        self.polls.store(self.polls.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    /// What changes whenever the hub switches: its budget and poll count.
    fn activity(&self) -> (u32, u64) {
        (self.budget.load(Ordering::Relaxed), self.polls.load(Ordering::Relaxed))
    }

    /// Records that the hub runs no coroutine (it waits for events, or its
    /// thread's main context runs).
    #[inline]
    pub(crate) fn idle(&self) {
        self.running.store(0, Ordering::Relaxed);
    }

    fn set_max_blocking_time(&self, max: Option<Duration>) {
        let ns = max_blocking_ns(max);
        self.max_blocking_ns.store(ns, Ordering::Relaxed);
        if ns != 0 {
            start();
        }
    }
}

/// A max blocking time in nanoseconds, 0 for none.
fn max_blocking_ns(max: Option<Duration>) -> u64 {
    max.map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1))
}

/// A probe leaves the registry before its memory goes, however its hub is
/// dropped.
impl Drop for Probe {
    fn drop(&mut self) {
        self.unregister();
    }
}

/// The max blocking time from `VERDE_MAX_BLOCKING_TIME_MS`, if it is set
/// to a positive number of milliseconds.
pub(crate) fn max_blocking_time_from_env() -> Option<Duration> {
    let value = std::env::var(ENV_MAX_BLOCKING_TIME_MS).ok()?;
    match value.trim().parse::<u64>() {
        Ok(0) => None,
        Ok(ms) => Some(Duration::from_millis(ms)),
        Err(_) => {
            log::warn!(target: "verde::monitor", "ignoring {ENV_MAX_BLOCKING_TIME_MS}={value:?}: not a number of milliseconds");
            None
        }
    }
}

/// Watches the calling thread's hub (creating it if needed) with
/// `max_blocking_time`, or stops watching it with `None`. Starts the
/// monitor thread on first use.
///
/// ```
/// use std::time::Duration;
///
/// verde_runtime::monitor::set_max_blocking_time(Some(Duration::from_millis(250)));
/// // ... coroutines spawned on this thread are watched ...
/// verde_runtime::monitor::set_max_blocking_time(None);
/// ```
pub fn set_max_blocking_time(max_blocking_time: Option<Duration>) {
    crate::hub::current().probe.set_max_blocking_time(max_blocking_time);
}

/// Whether the monitor thread runs.
pub fn is_running() -> bool {
    registry().started.load(Ordering::Acquire)
}

/// Helper threads the monitor adds to the process: 1 once it runs, always
/// idle as far as waking a hub goes (see `deadlock`).
pub(crate) fn helper_threads() -> usize {
    usize::from(is_running())
}

/// Remembers a named coroutine's name for reports, while the monitor runs.
pub(crate) fn remember_name(id: u64, name: &str) {
    if is_running() {
        lock(&registry().names).insert(id, name.into());
    }
}

/// Forgets a named coroutine that is gone.
pub(crate) fn forget_name(id: u64) {
    if is_running() {
        lock(&registry().names).remove(&id);
    }
}

struct Registry {
    probes: Mutex<Probes>,
    names: Mutex<BTreeMap<u64, Box<str>>>,
    started: AtomicBool,
}

/// The probes of the hubs alive.
struct Probes {
    list: Vec<Registered>,
    next_serial: u64,
}

/// A hub's probe as the registry holds it.
struct Registered {
    probe: *const Probe,
    /// Tells this hub from an earlier one whose probe had the same address.
    serial: u64,
}

// SAFETY: the monitor thread dereferences `probe` only under the registry's
// lock, while it is registered, which keeps it alive (`Probe::register`);
// a Probe is Sync (atomics, and fields that never change).
unsafe impl Send for Registered {}

fn registry() -> &'static Registry {
    static REGISTRY: Registry = Registry {
        probes: Mutex::new(Probes { list: Vec::new(), next_serial: 0 }),
        names: Mutex::new(BTreeMap::new()),
        started: AtomicBool::new(false),
    };
    &REGISTRY
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn start() {
    if registry().started.swap(true, Ordering::AcqRel) {
        return;
    }
    let spawned = std::thread::Builder::new().name("verde-monitor".into()).spawn(watch);
    if let Err(e) = spawned {
        registry().started.store(false, Ordering::Release);
        log::error!(target: "verde::monitor", "cannot start the monitor thread: {e}");
    }
}

/// What the monitor last saw of one hub.
struct Seen {
    serial: u64,
    running: u64,
    activity: (u32, u64),
    since: Instant,
    reported: bool,
}

/// A stall to report: what `report` needs, copied out of the probe so that
/// the report is written without the registry's lock.
struct Stall {
    tid: i32,
    thread_name: Option<Box<str>>,
    id: u64,
    stalled: Duration,
}

fn watch() {
    let mut seen: Vec<Seen> = Vec::new();
    loop {
        let mut tick = MAX_TICK;
        let mut stalls = Vec::new();
        {
            let probes = lock(&registry().probes);
            seen.retain(|s| probes.list.iter().any(|r| r.serial == s.serial));
            let now = Instant::now();
            for r in &probes.list {
                // SAFETY: the probe is registered and the registry's lock is
                // held, so it is alive (`Probe::register`).
                let probe = unsafe { &*r.probe };
                let max_ns = probe.max_blocking_ns.load(Ordering::Relaxed);
                if max_ns == 0 {
                    continue;
                }
                let max = Duration::from_nanos(max_ns);
                tick = tick.min(max / 4);
                let running = probe.running.load(Ordering::Relaxed);
                let activity = probe.activity();
                let Some(s) = seen.iter_mut().find(|s| s.serial == r.serial) else {
                    seen.push(Seen { serial: r.serial, running, activity, since: now, reported: false });
                    continue;
                };
                if running == 0 || running != s.running || activity != s.activity {
                    *s = Seen { serial: r.serial, running, activity, since: now, reported: false };
                    continue;
                }
                let stalled = now - s.since;
                if stalled >= max && !s.reported {
                    s.reported = true;
                    stalls.push(Stall { tid: probe.tid, thread_name: probe.thread_name.clone(), id: running, stalled });
                }
            }
        }
        for stall in &stalls {
            log::warn!(target: "verde::monitor", "{}", report(stall));
        }
        std::thread::sleep(tick.clamp(MIN_TICK, MAX_TICK));
    }
}

/// The report of a hub stalled inside a coroutine.
fn report(stall: &Stall) -> String {
    let id = stall.id;
    let coroutine = match lock(&registry().names).get(&id) {
        Some(name) => format!("'{name}'"),
        None => format!("'coroutine-{id}'"),
    };
    let thread = stall.thread_name.as_deref().unwrap_or("<unnamed>");
    let mut msg = format!(
        "hub thread '{thread}' (tid {}) has been inside coroutine {coroutine} (id {id}) for at least {} ms without \
         switching: ",
        stall.tid,
        stall.stalled.as_millis()
    );
    let _ = write!(msg, "{}", Whereabouts::read(stall.tid));
    msg
}

/// Where a thread is, as `/proc/self/task/<tid>/` tells.
struct Whereabouts {
    state: Option<char>,
    syscall: Option<i64>,
    wchan: Option<String>,
}

impl Whereabouts {
    fn read(tid: i32) -> Whereabouts {
        let proc_file = |name: &str| read_proc(&format!("/proc/self/task/{tid}/{name}"));
        let state = proc_file("stat").and_then(|s| s[s.rfind(')')? + 1..].split_whitespace().next()?.chars().next());
        let syscall = proc_file("syscall").and_then(|s| s.split_whitespace().next()?.parse().ok()).filter(|&n| n >= 0);
        let wchan = proc_file("wchan").map(|w| w.trim().to_owned()).filter(|w| !w.is_empty() && w != "0");
        Whereabouts { state, syscall, wchan }
    }
}

impl std::fmt::Display for Whereabouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.map_or_else(|| "?".to_owned(), String::from);
        let wchan = self.wchan.as_deref().map(|w| format!(", wchan {w}")).unwrap_or_default();
        if self.state == Some('R') {
            return write!(f, "the thread is running on the CPU (state R): a loop that never reaches a park point");
        }
        let Some(nr) = self.syscall else {
            return write!(f, "the thread is not running (state {state}{wchan}); its system call is unknown");
        };
        let name = syscall_name(nr).map_or_else(|| format!("number {nr}"), str::to_owned);
        write!(f, "the thread is blocked in the system call {name} (state {state}{wchan})")?;
        if nr == libc::SYS_futex {
            write!(
                f,
                "; a futex wait is a std::sync lock, condvar or channel, or a thread join: verde::sync's types park \
                 instead"
            )
        } else {
            write!(f, "; {}", patch_hint(nr))
        }
    }
}

/// What the patch can do about a hub blocked in system call `nr`.
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
fn patch_hint(nr: i64) -> &'static str {
    if !crate::patch::covers_syscall(nr) {
        "the patch does not cover this call: run it with verde::blocking"
    } else if crate::patch::is_active() {
        "verde's patch is active, so this call came through a path it does not cover (a libc-internal call, a \
         raw syscall, or a shared library whose symbols bind past the executable)"
    } else {
        "verde::patch_all!() would make this call cooperative"
    }
}

/// What the patch can do about a hub blocked in system call `nr`: nothing
/// on this platform.
#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
fn patch_hint(_nr: i64) -> &'static str {
    "run this call with verde::blocking"
}

/// Reads a small /proc file with raw system calls.
fn read_proc(path: &str) -> Option<String> {
    let path = std::ffi::CString::new(path).ok()?;
    sys::read_small_file(&path)
}

/// Names of the system calls a stalled hub is likely to be in.
fn syscall_name(nr: i64) -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    let arch_specific: &[(i64, &str)] = &[
        (libc::SYS_poll, "poll"),
        (libc::SYS_select, "select"),
        (libc::SYS_epoll_wait, "epoll_wait"),
        (libc::SYS_pause, "pause"),
        (libc::SYS_wait4, "wait4"),
        (libc::SYS_accept, "accept"),
    ];
    #[cfg(not(target_arch = "x86_64"))]
    let arch_specific: &[(i64, &str)] = &[(libc::SYS_wait4, "wait4"), (libc::SYS_accept, "accept")];
    let common: &[(i64, &str)] = &[
        (libc::SYS_read, "read"),
        (libc::SYS_write, "write"),
        (libc::SYS_readv, "readv"),
        (libc::SYS_writev, "writev"),
        (libc::SYS_pread64, "pread64"),
        (libc::SYS_pwrite64, "pwrite64"),
        (libc::SYS_recvfrom, "recvfrom"),
        (libc::SYS_sendto, "sendto"),
        (libc::SYS_recvmsg, "recvmsg"),
        (libc::SYS_sendmsg, "sendmsg"),
        (libc::SYS_connect, "connect"),
        (libc::SYS_accept4, "accept4"),
        (libc::SYS_ppoll, "ppoll"),
        (libc::SYS_pselect6, "pselect6"),
        (libc::SYS_epoll_pwait, "epoll_pwait"),
        (libc::SYS_nanosleep, "nanosleep"),
        (libc::SYS_clock_nanosleep, "clock_nanosleep"),
        (libc::SYS_futex, "futex"),
        (libc::SYS_waitid, "waitid"),
        (libc::SYS_flock, "flock"),
        (libc::SYS_fcntl, "fcntl"),
        (libc::SYS_ioctl, "ioctl"),
        (libc::SYS_openat, "openat"),
        (libc::SYS_fsync, "fsync"),
        (libc::SYS_fdatasync, "fdatasync"),
        (libc::SYS_io_uring_enter, "io_uring_enter"),
    ];
    arch_specific.iter().chain(common).find(|(n, _)| *n == nr).map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_syscalls() {
        assert_eq!(syscall_name(libc::SYS_nanosleep), Some("nanosleep"));
        assert_eq!(syscall_name(libc::SYS_futex), Some("futex"));
        assert_eq!(syscall_name(-5), None);
    }

    #[test]
    fn reads_own_whereabouts() {
        // SAFETY: gettid takes no arguments.
        let tid = unsafe { libc::syscall(libc::SYS_gettid) } as i32;
        let w = Whereabouts::read(tid);
        assert_eq!(w.state, Some('R'), "a thread reading its own stat is running");
        assert!(w.to_string().contains("running on the CPU"));
    }
}
