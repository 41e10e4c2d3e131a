//! Coroutine stacks: carved from large slabs, guarded, and pooled per hub.
//!
//! # Why slabs
//!
//! A stack whose guard is a separate `PROT_NONE` mapping costs two memory
//! mappings, and Linux caps a process at `vm.max_map_count` mappings (65530 by
//! default), so one private guarded stack per coroutine stops near 32k live
//! coroutines. verde maps stacks in slabs of many stacks and installs each
//! stack's guard *inside* the slab with `MADV_GUARD_INSTALL` (Linux 6.13+),
//! which marks the guard pages in the page tables without splitting the
//! mapping. A slab is one mapping whatever the number of stacks in it, so a
//! hundred thousand coroutines cost a few thousand mappings and every stack
//! still ends in a guard that faults.
//!
//! On older kernels the guards fall back to `mprotect`, two mappings per
//! stack, and stack allocation is charged against a budget derived from
//! `vm.max_map_count`. When the budget is spent, spawning fails with an error
//! that names the limit instead of letting `mmap` abort the process.
//!
//! # Layout of a slab
//!
//! ```text
//! low addresses                                              high addresses
//! | guard | stack 0 ...... top | guard | stack 1 ...... top | guard | ...
//! ```
//!
//! Stacks grow down, so each stack's guard sits just below its lowest usable
//! byte.
//!
//! # Pooling
//!
//! A finished coroutine's stack goes back to its hub's pool and the next spawn
//! takes it without a system call. Stacks the hub has not needed for a while
//! (beyond [`HOT_STACKS`]) have their pages returned to the kernel with
//! `MADV_DONTNEED` when the hub goes idle, so a burst of coroutines does not
//! pin its memory forever.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use corosensei::stack::{StackPointer, MIN_STACK_SIZE};

/// Default usable size of a coroutine stack: 256 KiB.
///
/// Only the pages a coroutine touches cost memory: a parked coroutine that
/// used one page of its stack holds one page of RSS. The virtual size matters
/// only for deep recursion. Change it with `Builder::stack_size`,
/// `RuntimeBuilder::stack_size`, or the `VERDE_STACK_SIZE` environment
/// variable (in bytes) for hubs that are not part of a `Runtime`.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// Size of the guard region below every stack: 64 KiB.
///
/// Rust code probes every page of a large frame, so one page would do for it;
/// the wider guard also catches C code that moves the stack pointer by up to
/// 64 KiB at once. In-place guards cost no mappings, whatever their size.
pub const GUARD_SIZE: usize = 64 * 1024;

/// Stacks a hub keeps with their pages resident for immediate reuse.
pub const HOT_STACKS: usize = 256;

/// Largest slab, in stacks. Slabs start small and double up to this.
const MAX_STACKS_PER_SLAB: usize = 128;

const MADV_GUARD_INSTALL: libc::c_int = 102;

/// How guard pages are made on this kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GuardMode {
    /// `MADV_GUARD_INSTALL`: guards live inside the slab's one mapping.
    InPlace,
    /// `mprotect(PROT_NONE)`: each guard splits the slab, two mappings a stack.
    Mprotect,
}

fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize)
}

fn guard_mode() -> GuardMode {
    static MODE: OnceLock<GuardMode> = OnceLock::new();
    *MODE.get_or_init(|| {
        let page = page_size();
        // SAFETY: a fresh private anonymous mapping; we only madvise and
        // unmap it.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return GuardMode::Mprotect;
            }
            let ok = libc::madvise(p, page, MADV_GUARD_INSTALL) == 0;
            libc::munmap(p, 2 * page);
            if ok {
                GuardMode::InPlace
            } else {
                GuardMode::Mprotect
            }
        }
    })
}

/// The kernel's `vm.max_map_count`, or its default if it cannot be read.
pub fn max_map_count() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/vm/max_map_count").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(65530)
    })
}

/// Mappings currently held by stack slabs, across all hubs.
static STACK_MAPPINGS: AtomicUsize = AtomicUsize::new(0);

/// The share of `vm.max_map_count` that stacks may use; the rest stays free
/// for the allocator, libraries and files.
fn mapping_budget() -> usize {
    max_map_count() / 4 * 3
}

fn charge_mappings(n: usize) -> io::Result<()> {
    let budget = mapping_budget();
    let prev = STACK_MAPPINGS.fetch_add(n, Ordering::Relaxed);
    if prev + n > budget {
        STACK_MAPPINGS.fetch_sub(n, Ordering::Relaxed);
        return Err(io::Error::new(
            io::ErrorKind::OutOfMemory,
            format!(
                "cannot allocate a coroutine stack: the kernel limit vm.max_map_count ({}) \
                 is nearly used up by guarded stacks ({} mappings held, budget {}); this kernel \
                 lacks MADV_GUARD_INSTALL, so each stack costs two mappings. Raise the limit with \
                 `sysctl vm.max_map_count=<n>` or run fewer coroutines at once",
                max_map_count(),
                prev,
                budget
            ),
        ));
    }
    Ok(())
}

/// A coroutine stack carved from a hub's slab.
///
/// The memory belongs to the slab, which belongs to the hub's [`StackPool`];
/// a `Stack` is only a pair of addresses and must go back to the pool it came
/// from.
#[derive(Debug)]
pub struct Stack {
    /// Highest address (exclusive): where the stack starts growing down.
    top: usize,
    /// Lowest usable address; the guard lies just below it.
    bottom: usize,
}

impl Stack {
    /// Usable size in bytes, excluding the guard.
    pub fn size(&self) -> usize {
        self.top - self.bottom
    }

    /// The guard region below this stack, as `[start, end)`.
    pub fn guard_range(&self) -> (usize, usize) {
        (self.bottom - GUARD_SIZE, self.bottom)
    }
}

// SAFETY: `top` and `bottom` delimit `size` bytes of read-write memory, page
// aligned (so aligned to STACK_ALIGNMENT), with a GUARD_SIZE guard just below
// `bottom` that faults on any access; `limit` reports the guard's start as
// the trait requires. The memory stays mapped while the stack is in use
// because the pool only unmaps slabs none of whose stacks are out.
unsafe impl corosensei::stack::Stack for Stack {
    #[inline]
    fn base(&self) -> StackPointer {
        StackPointer::new(self.top).expect("stack top is never null")
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        StackPointer::new(self.bottom - GUARD_SIZE).expect("stack limit is never null")
    }
}

/// One mapping holding `count` guarded stacks of one size.
struct Slab {
    addr: usize,
    len: usize,
    mappings: usize,
}

impl Drop for Slab {
    fn drop(&mut self) {
        // SAFETY: the pool drops a slab only when none of its stacks is out,
        // so nothing refers to this memory any more.
        unsafe { libc::munmap(self.addr as *mut libc::c_void, self.len) };
        STACK_MAPPINGS.fetch_sub(self.mappings, Ordering::Relaxed);
    }
}

/// Stacks of one usable size.
struct SizeClass {
    size: usize,
    /// Recently freed stacks, coldest first; their pages are resident.
    hot: VecDeque<Stack>,
    /// Freed stacks whose pages were returned to the kernel.
    clean: Vec<Stack>,
    /// Slabs, and the next unused stack in the newest one.
    slabs: Vec<Slab>,
    next_in_slab: usize,
    slab_stacks: usize,
    /// Stacks handed out and not yet returned.
    outstanding: usize,
}

impl SizeClass {
    fn new(size: usize) -> Self {
        SizeClass {
            size,
            hot: VecDeque::new(),
            clean: Vec::new(),
            slabs: Vec::new(),
            next_in_slab: 0,
            slab_stacks: 0,
            outstanding: 0,
        }
    }

    fn stride(&self) -> usize {
        self.size + GUARD_SIZE
    }

    fn acquire(&mut self) -> io::Result<Stack> {
        let stack = match self.hot.pop_back().or_else(|| self.clean.pop()) {
            Some(s) => s,
            None => self.carve()?,
        };
        self.outstanding += 1;
        Ok(stack)
    }

    fn carve(&mut self) -> io::Result<Stack> {
        if self.next_in_slab == self.slab_stacks {
            self.map_slab()?;
        }
        let slab = self.slabs.last().expect("map_slab pushed a slab");
        let bottom = slab.addr + self.next_in_slab * self.stride() + GUARD_SIZE;
        self.next_in_slab += 1;
        Ok(Stack { top: bottom + self.size, bottom })
    }

    fn map_slab(&mut self) -> io::Result<()> {
        let count = (self.slab_stacks * 2).clamp(4, MAX_STACKS_PER_SLAB);
        let len = count * self.stride();
        let mode = guard_mode();
        let mappings = match mode {
            GuardMode::InPlace => 1,
            GuardMode::Mprotect => 2 * count,
        };
        charge_mappings(mappings)?;
        // SAFETY: a fresh private anonymous mapping, owned by the new Slab.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            let err = io::Error::last_os_error();
            STACK_MAPPINGS.fetch_sub(mappings, Ordering::Relaxed);
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!(
                    "cannot map {len} bytes of coroutine stacks: {err} (limits: vm.max_map_count = {}, \
                     RLIMIT_AS, and vm.overcommit_memory)",
                    max_map_count()
                ),
            ));
        }
        let slab = Slab { addr: addr as usize, len, mappings };
        for i in 0..count {
            let guard = slab.addr + i * self.stride();
            // SAFETY: `guard..guard + GUARD_SIZE` lies inside the mapping we
            // just created and holds no data yet.
            let rc = unsafe {
                match mode {
                    GuardMode::InPlace => libc::madvise(guard as *mut libc::c_void, GUARD_SIZE, MADV_GUARD_INSTALL),
                    GuardMode::Mprotect => libc::mprotect(guard as *mut libc::c_void, GUARD_SIZE, libc::PROT_NONE),
                }
            };
            if rc != 0 {
                let err = io::Error::last_os_error();
                drop(slab);
                return Err(io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    format!("cannot install a stack guard page: {err} (vm.max_map_count = {})", max_map_count()),
                ));
            }
        }
        self.slabs.push(slab);
        self.slab_stacks = count;
        self.next_in_slab = 0;
        Ok(())
    }

    fn release(&mut self, stack: Stack) {
        self.outstanding -= 1;
        self.hot.push_back(stack);
    }

    /// Returns the pages of the coldest stacks beyond `HOT_STACKS`.
    fn trim(&mut self) {
        while self.hot.len() > HOT_STACKS {
            let stack = self.hot.pop_front().expect("len checked");
            // SAFETY: the stack is free: no coroutine runs on it, so its
            // contents may be discarded. The guard below it is not touched.
            unsafe {
                libc::madvise(stack.bottom as *mut libc::c_void, stack.size(), libc::MADV_DONTNEED);
            }
            self.clean.push(stack);
        }
    }
}

/// A hub's pool of coroutine stacks, one size class per requested size.
pub struct StackPool {
    classes: Vec<SizeClass>,
}

impl StackPool {
    /// An empty pool; slabs are mapped on first use.
    pub fn new() -> Self {
        StackPool { classes: Vec::new() }
    }

    /// Rounds a requested size up to whole pages, at least corosensei's
    /// minimum.
    pub fn round_size(size: usize) -> usize {
        let page = page_size();
        size.max(MIN_STACK_SIZE).div_ceil(page) * page
    }

    /// Takes a stack of at least `size` usable bytes.
    pub fn acquire(&mut self, size: usize) -> io::Result<Stack> {
        let size = Self::round_size(size);
        let idx = match self.classes.iter().position(|c| c.size == size) {
            Some(i) => i,
            None => {
                self.classes.push(SizeClass::new(size));
                self.classes.len() - 1
            }
        };
        self.classes[idx].acquire()
    }

    /// Gives a stack back for reuse.
    pub fn release(&mut self, stack: Stack) {
        let size = stack.size();
        let class = self.classes.iter_mut().find(|c| c.size == size).expect("a stack returns to the pool that made it");
        class.release(stack);
    }

    /// Returns resident pages of stacks the hub has not reused recently.
    /// Called when the hub is about to sleep.
    pub fn trim(&mut self) {
        for class in &mut self.classes {
            class.trim();
        }
    }

    /// Stacks handed out and not yet returned.
    #[cfg(test)]
    pub fn outstanding(&self) -> usize {
        self.classes.iter().map(|c| c.outstanding).sum()
    }
}

impl Default for StackPool {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for StackPool {
    fn drop(&mut self) {
        for class in &mut self.classes {
            if class.outstanding != 0 {
                // A coroutine that could not be unwound still owns a stack in
                // these slabs; unmapping them would pull memory out from under
                // it. Leak the slabs instead.
                log::warn!(
                    "verde: leaking {} stack slab(s): {} coroutine(s) could not be unwound",
                    class.slabs.len(),
                    class.outstanding
                );
                std::mem::forget(std::mem::take(&mut class.slabs));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_stacks() {
        let mut pool = StackPool::new();
        let a = pool.acquire(64 * 1024).unwrap();
        let top = a.top;
        pool.release(a);
        let b = pool.acquire(64 * 1024).unwrap();
        assert_eq!(b.top, top);
        pool.release(b);
        assert_eq!(pool.outstanding(), 0);
    }

    #[test]
    fn stacks_do_not_overlap_and_are_writable() {
        let mut pool = StackPool::new();
        let stacks: Vec<Stack> = (0..20).map(|_| pool.acquire(16 * 1024).unwrap()).collect();
        for s in &stacks {
            assert_eq!(s.size(), 16 * 1024);
            // SAFETY: the whole usable range of an acquired stack is mapped
            // read-write and not in use.
            unsafe {
                std::ptr::write_bytes(s.bottom as *mut u8, 0xAB, s.size());
            }
        }
        let mut ranges: Vec<(usize, usize)> = stacks.iter().map(|s| (s.guard_range().0, s.top)).collect();
        ranges.sort();
        for w in ranges.windows(2) {
            assert!(w[0].1 <= w[1].0);
        }
        for s in stacks {
            pool.release(s);
        }
    }

    #[test]
    fn trim_keeps_stacks_usable() {
        let mut pool = StackPool::new();
        let stacks: Vec<Stack> = (0..HOT_STACKS + 10).map(|_| pool.acquire(4096).unwrap()).collect();
        for s in stacks {
            pool.release(s);
        }
        pool.trim();
        let s = pool.acquire(4096).unwrap();
        // SAFETY: an acquired stack is mapped read-write.
        unsafe { std::ptr::write_bytes(s.bottom as *mut u8, 1, s.size()) };
        pool.release(s);
    }
}
