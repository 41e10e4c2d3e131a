//! The process's address space, and a limit on it (RLIMIT_AS), for tests
//! that run out of memory for coroutine stacks in a child process.

use std::io;

/// The process's address space in bytes (VmSize).
pub fn address_space() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("VmSize in /proc/self/status");
    kib * 1024
}

/// Lowers RLIMIT_AS's soft limit to `bytes` (no privilege needed).
pub fn limit_address_space(bytes: usize) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid rlimit for the kernel to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) }, 0);
    lim.rlim_cur = bytes as libc::rlim_t;
    // SAFETY: `lim` is a valid rlimit.
    let r = unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) };
    assert_eq!(r, 0, "setting RLIMIT_AS to {bytes}: {}", io::Error::last_os_error());
}
