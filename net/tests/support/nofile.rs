//! Raising RLIMIT_NOFILE for the tests that hold 10,000 connections. Shared
//! by `net/tests/ten_thousand.rs` and `http/tests/ten_thousand.rs`, which
//! include it with `#[path]`.

/// Raises RLIMIT_NOFILE's soft limit to at least `need`, and the hard limit
/// too if the process may.
pub fn raise_nofile_limit(need: libc::rlim_t) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid rlimit for the kernel to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    if lim.rlim_cur >= need {
        return;
    }
    let new = libc::rlimit { rlim_cur: need, rlim_max: lim.rlim_max.max(need) };
    // SAFETY: `new` is a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } != 0 {
        panic!(
            "this test needs RLIMIT_NOFILE >= {need} (soft {}, hard {}) and could not raise it: {}; \
             raise `ulimit -n` (or run with CAP_SYS_RESOURCE)",
            lim.rlim_cur,
            lim.rlim_max,
            std::io::Error::last_os_error()
        );
    }
}
