//! The process-wide part of signal handling: verde's `sigaction` handler
//! and the table it reads, which says which [`Signals`](super::Signals)
//! want which signal and where to notify them.
//!
//! The handler may run on any thread, at any instruction, so it touches
//! only atomics and makes only the `write(2)` system call (directly: the
//! libc function may be verde's patched one), `sigaction(2)` and
//! `raise(3)`, all async-signal-safe, and it keeps `errno`. A registration is a slot
//! of the fixed table (no allocation in the handler): a mask of signals,
//! a mask of those pending, and the eventfd to write. A slot is released
//! only after its mask and fd are cleared and no handler is still running
//! (`IN_FLIGHT`), so a handler never writes to an fd that was closed and
//! perhaps reused.
//!
//! verde installs its handler for a signal when the first registration
//! wants it, saving the previous action, and puts that action back when
//! the last one goes, unless someone installed another handler over
//! verde's meanwhile (theirs may call verde's: it then stays, with no
//! registrations, and passes signals on as below). The handler passes
//! every signal on to the previous action when that was a handler (a
//! library's, or verde's own HTTP server's SIGTERM handler). When the
//! previous action was the default one and no registration took the
//! signal (a signal that came as the last registration was leaving), a
//! signal whose default is to end the process still ends it.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;
use std::{mem, ptr};

/// How many [`Signals`](super::Signals) may exist at once.
pub(super) const SLOTS: usize = 128;

/// The highest signal number Linux delivers.
const MAX_SIGNAL: i32 = 64;

/// One registration.
struct Slot {
    used: AtomicBool,
    /// The eventfd to write to, or -1.
    fd: AtomicI32,
    /// Bit `n - 1` for each signal `n` it wants.
    mask: AtomicU64,
    /// Bit `n - 1` for each signal `n` delivered and not yet taken.
    pending: AtomicU64,
}

static TABLE: [Slot; SLOTS] = [const {
    Slot { used: AtomicBool::new(false), fd: AtomicI32::new(-1), mask: AtomicU64::new(0), pending: AtomicU64::new(0) }
}; SLOTS];

/// Handlers running now, on any thread.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// The action verde's handler replaced, per signal, for the handler to
/// pass signals on: `sa_sigaction`, and `sa_flags`.
static PREV_HANDLER: [AtomicUsize; MAX_SIGNAL as usize + 1] = [const { AtomicUsize::new(0) }; MAX_SIGNAL as usize + 1];
static PREV_FLAGS: [AtomicI32; MAX_SIGNAL as usize + 1] = [const { AtomicI32::new(0) }; MAX_SIGNAL as usize + 1];

/// Per signal: how many registrations want it, and, while verde's handler
/// is installed, the action it replaced.
struct Installed {
    count: [usize; MAX_SIGNAL as usize + 1],
    previous: [Option<libc::sigaction>; MAX_SIGNAL as usize + 1],
}

static INSTALLED: Mutex<Installed> =
    Mutex::new(Installed { count: [0; MAX_SIGNAL as usize + 1], previous: [None; MAX_SIGNAL as usize + 1] });

fn bit(signal: i32) -> u64 {
    1 << (signal - 1)
}

/// Checks that verde may handle `signal`: a real signal number, one that
/// can be caught, and not a fault signal (verde's stack-overflow report
/// owns SIGSEGV and SIGBUS; a handler that returns from SIGILL or SIGFPE
/// runs the faulting instruction again, forever).
pub(super) fn check(signal: i32) -> io::Result<()> {
    let refused = match signal {
        libc::SIGKILL | libc::SIGSTOP => Some("it cannot be caught"),
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE => {
            Some("it reports a fault in the thread that raised it")
        }
        s if !(1..=MAX_SIGNAL).contains(&s) => Some("there is no such signal"),
        s if (32..libc::SIGRTMIN()).contains(&s) => Some("the C library reserves it"),
        _ => None,
    };
    match refused {
        Some(why) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("verde::signal: cannot handle {}: {why}", name(signal)),
        )),
        None => Ok(()),
    }
}

/// A signal's name, for messages: `SIGTERM`, or `signal 40`.
pub(super) fn name(signal: i32) -> String {
    let known = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        libc::SIGURG => "SIGURG",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGWINCH => "SIGWINCH",
        libc::SIGIO => "SIGIO",
        libc::SIGPWR => "SIGPWR",
        libc::SIGSYS => "SIGSYS",
        _ => return format!("signal {signal}"),
    };
    known.to_string()
}

/// A claimed slot of the table, wanting the signals of `mask` and
/// notified through `fd`. Dropping it releases the slot (and verde's
/// handler for signals nobody else wants) and guarantees that no handler
/// writes to `fd` any more.
pub(super) struct Entry {
    index: usize,
    signals: Vec<i32>,
}

impl Entry {
    /// Claims a slot for `signals` (already [`check`]ed, no duplicates),
    /// notified by a write to the eventfd `fd`, and installs verde's
    /// handler where it is not yet.
    pub fn new(signals: Vec<i32>, fd: i32) -> io::Result<Entry> {
        let index = TABLE
            .iter()
            .position(|s| s.used.compare_exchange(false, true, SeqCst, SeqCst).is_ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    format!("verde::signal: more than {SLOTS} `Signals` exist at once (its fixed table is full)"),
                )
            })?;
        let slot = &TABLE[index];
        slot.pending.store(0, SeqCst);
        slot.fd.store(fd, SeqCst);
        slot.mask.store(signals.iter().fold(0, |m, &s| m | bit(s)), SeqCst);
        let mut entry = Entry { index, signals: Vec::with_capacity(signals.len()) };
        let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        for signal in signals {
            install(&mut installed, signal)?;
            entry.signals.push(signal);
        }
        Ok(entry)
    }

    /// The signals it wants.
    pub fn signals(&self) -> &[i32] {
        &self.signals
    }

    /// Takes one pending signal, the lowest-numbered, if any.
    pub fn take_pending(&self) -> Option<i32> {
        let pending = &TABLE[self.index].pending;
        loop {
            let p = pending.load(SeqCst);
            if p == 0 {
                return None;
            }
            let lowest = p & p.wrapping_neg();
            if pending.fetch_and(!lowest, SeqCst) & lowest != 0 {
                return Some(lowest.trailing_zeros() as i32 + 1);
            }
        }
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.signals.iter().map(|&s| name(s))).finish()
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let slot = &TABLE[self.index];
        slot.mask.store(0, SeqCst);
        slot.fd.store(-1, SeqCst);
        // A handler that read the old fd is counted in IN_FLIGHT; one that
        // starts from now on reads -1.
        while IN_FLIGHT.load(SeqCst) != 0 {
            std::thread::yield_now();
        }
        let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        for &signal in &self.signals {
            uninstall(&mut installed, signal);
        }
        slot.used.store(false, SeqCst);
    }
}

/// Counts one more registration for `signal`, installing verde's handler
/// if it is not there.
fn install(installed: &mut Installed, signal: i32) -> io::Result<()> {
    let s = signal as usize;
    if installed.previous[s].is_none() {
        // SAFETY: a zeroed sigaction is a valid value; `handler` has the
        // SA_SIGINFO signature and is async-signal-safe; `previous` is a
        // valid out-pointer.
        let previous = unsafe {
            let mut action: libc::sigaction = mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let mut previous: libc::sigaction = mem::zeroed();
            // Publish where to pass signals on before the handler can run:
            // read the current action first.
            if libc::sigaction(signal, ptr::null(), &mut previous) != 0 {
                return Err(io::Error::last_os_error());
            }
            PREV_HANDLER[s].store(previous.sa_sigaction, SeqCst);
            PREV_FLAGS[s].store(previous.sa_flags, SeqCst);
            if libc::sigaction(signal, &action, ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            previous
        };
        installed.previous[s] = Some(previous);
    }
    installed.count[s] += 1;
    Ok(())
}

/// Counts one registration less for `signal`; with none left, puts the
/// previous action back if verde's handler is still the one installed.
fn uninstall(installed: &mut Installed, signal: i32) {
    let s = signal as usize;
    installed.count[s] -= 1;
    if installed.count[s] > 0 {
        return;
    }
    let Some(previous) = installed.previous[s] else { return };
    // SAFETY: querying the current action into a valid out-pointer, then
    // restoring the action saved by `install`.
    unsafe {
        let mut current: libc::sigaction = mem::zeroed();
        if libc::sigaction(signal, ptr::null(), &mut current) != 0
            || current.sa_sigaction != handler as *const () as usize
        {
            // Someone installed a handler over verde's and may pass
            // signals on to it: verde's stays, passing them on in turn.
            return;
        }
        libc::sigaction(signal, &previous, ptr::null_mut());
    }
    installed.previous[s] = None;
}

/// Whether a signal's default action ends the process.
fn default_ends_process(signal: i32) -> bool {
    !matches!(
        signal,
        libc::SIGCHLD
            | libc::SIGCONT
            | libc::SIGURG
            | libc::SIGWINCH
            | libc::SIGSTOP
            | libc::SIGTSTP
            | libc::SIGTTIN
            | libc::SIGTTOU
    )
}

extern "C" fn handler(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: __errno_location returns this thread's errno, valid for the
    // thread's lifetime; it is restored before returning, as a handler
    // must.
    let errno = unsafe { *libc::__errno_location() };
    IN_FLIGHT.fetch_add(1, SeqCst);
    let b = bit(signal);
    let mut taken = false;
    for slot in &TABLE {
        if slot.mask.load(SeqCst) & b == 0 {
            continue;
        }
        let fd = slot.fd.load(SeqCst);
        if fd >= 0 {
            slot.pending.fetch_or(b, SeqCst);
            let one = 1u64.to_ne_bytes();
            // SAFETY: `fd` stays open while IN_FLIGHT counts this handler
            // (see `Entry::drop`); 8 bytes from a local buffer. The system
            // call itself, not libc's `write`, which `patch_all!` replaces
            // with a function that is not async-signal-safe.
            unsafe { libc::syscall(libc::SYS_write, fd, one.as_ptr(), one.len()) };
            taken = true;
        }
    }
    IN_FLIGHT.fetch_sub(1, SeqCst);
    let previous = PREV_HANDLER[signal as usize].load(SeqCst);
    let flags = PREV_FLAGS[signal as usize].load(SeqCst);
    if previous == libc::SIG_DFL {
        if !taken && default_ends_process(signal) {
            // SAFETY: sigaction and raise are async-signal-safe; the signal
            // is blocked while this handler runs, so it is delivered, with
            // its default action, when the handler returns.
            unsafe {
                let mut dfl: libc::sigaction = mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(signal, &dfl, ptr::null_mut());
                libc::raise(signal);
            }
        }
    } else if previous != libc::SIG_IGN {
        if flags & libc::SA_SIGINFO != 0 {
            // SAFETY: the previous handler was installed as a three-argument
            // SA_SIGINFO handler, so this is its signature.
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { mem::transmute(previous) };
            f(signal, info, context);
        } else {
            // SAFETY: a classic one-argument handler.
            let f: extern "C" fn(libc::c_int) = unsafe { mem::transmute(previous) };
            f(signal);
        }
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}
