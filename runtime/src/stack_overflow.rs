//! Reporting a coroutine stack overflow by name.
//!
//! Every coroutine stack ends in a guard region that faults (see
//! [`stack`](crate::stack)). verde installs a `SIGSEGV`/`SIGBUS` handler that
//! runs on an alternate signal stack, so it still has a stack to run on when
//! the coroutine's is exhausted. If the faulting address lies in the running
//! coroutine's guard, it writes
//!
//! ```text
//! verde: coroutine 'name' (id 7) has overflowed its stack of 262144 bytes
//! ```
//!
//! to stderr and aborts. It uses only `write(2)` and `abort(3)` and reads
//! only a const-initialised thread-local pointer, so it is async-signal-safe.
//! Any other fault is passed to the handler that was installed before
//! verde's (Rust's own, which reports overflows of thread stacks), or to the
//! default action.

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::Once;

use crate::task::Header;

static INSTALL: Once = Once::new();
static mut PREV_SEGV: MaybeUninit<libc::sigaction> = MaybeUninit::uninit();
static mut PREV_BUS: MaybeUninit<libc::sigaction> = MaybeUninit::uninit();

const ALTSTACK_SIZE: usize = 64 * 1024;

/// Installs the fault handler once per process.
pub(crate) fn install_handler() {
    // Miri runs no signal handlers, and its stacks have no guard pages.
    if cfg!(miri) {
        return;
    }
    INSTALL.call_once(|| {
        // SAFETY: sigaction with a valid handler; the PREV_* statics are
        // written here once, inside call_once, before the handler can run,
        // and only read afterwards.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGSEGV, &action, (&raw mut PREV_SEGV).cast());
            libc::sigaction(libc::SIGBUS, &action, (&raw mut PREV_BUS).cast());
        }
    });
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(task) = running_coroutine() {
        let (lo, hi) = task.guard.get();
        if addr >= lo && addr < hi {
            report(task);
            // SAFETY: abort is async-signal-safe.
            unsafe { libc::abort() };
        }
    }
    // Not ours: hand over to whoever handled this signal before us.
    // SAFETY: the PREV_* statics were initialised before this handler was
    // installed and are never written again.
    let prev = unsafe {
        let p: *const MaybeUninit<libc::sigaction> =
            if sig == libc::SIGSEGV { &raw const PREV_SEGV } else { &raw const PREV_BUS };
        (*p).assume_init_ref()
    };
    if prev.sa_sigaction == libc::SIG_DFL || prev.sa_sigaction == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction
        // runs again and the kernel applies it (core dump).
        // SAFETY: resetting a signal to its default disposition.
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &dfl, ptr::null_mut());
        }
    } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was registered as a three-argument
        // SA_SIGINFO handler, so this is its real signature.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(sig, info, ctx);
    } else {
        // SAFETY: a classic one-argument handler.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(prev.sa_sigaction) };
        f(sig);
    }
}

/// The coroutine running on this thread, read without allocating or
/// locking.
fn running_coroutine() -> Option<&'static Header> {
    crate::hub::running_coroutine()
}

fn report(task: &Header) {
    let mut buf = [0u8; 512];
    let mut w = Writer { buf: &mut buf, len: 0 };
    w.put(b"\nverde: coroutine '");
    match &task.name {
        Some(name) => w.put(name.as_bytes()),
        None => {
            w.put(b"coroutine-");
            w.num(task.id);
        }
    }
    w.put(b"' (id ");
    w.num(task.id);
    w.put(b") has overflowed its stack of ");
    w.num(task.stack_size as u64);
    w.put(b" bytes\nfatal runtime error: coroutine stack overflow, aborting\n");
    let len = w.len;
    // SAFETY: write(2) is async-signal-safe and `buf[..len]` is initialised.
    unsafe { libc::syscall(libc::SYS_write, 2, buf.as_ptr(), len) };
}

/// Formats into a fixed buffer without allocating.
struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    fn num(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.put(&digits[i..]);
    }
}

/// A thread's alternate signal stack, installed by verde if the thread had
/// none (Rust gives its own threads one; threads started by C code may not).
pub(crate) struct AltStack {
    mapping: Option<(usize, usize)>,
}

impl AltStack {
    /// Makes sure the calling thread has an alternate signal stack.
    pub fn ensure() -> AltStack {
        if cfg!(miri) {
            return AltStack { mapping: None };
        }
        // SAFETY: querying and setting the calling thread's sigaltstack with
        // valid pointers; the new stack is a fresh mapping we own.
        unsafe {
            let mut old: libc::stack_t = std::mem::zeroed();
            libc::sigaltstack(ptr::null(), &mut old);
            if old.ss_flags & libc::SS_DISABLE == 0 {
                return AltStack { mapping: None };
            }
            let page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
            let len = ALTSTACK_SIZE + page;
            let p = libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return AltStack { mapping: None };
            }
            libc::mprotect(p, page, libc::PROT_NONE);
            let st = libc::stack_t { ss_sp: p.add(page), ss_flags: 0, ss_size: ALTSTACK_SIZE };
            libc::sigaltstack(&st, ptr::null_mut());
            AltStack { mapping: Some((p as usize, len)) }
        }
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        if let Some((addr, len)) = self.mapping {
            // SAFETY: disable the alternate stack before unmapping it; no
            // signal handler runs on it now since we are in normal code.
            unsafe {
                let st = libc::stack_t { ss_sp: ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
                libc::sigaltstack(&st, ptr::null_mut());
                libc::munmap(addr as *mut libc::c_void, len);
            }
        }
    }
}
