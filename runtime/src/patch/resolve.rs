//! Name resolution: `getaddrinfo` on the blocking pool.
//!
//! glibc's resolver cannot be made cooperative from outside (it talks to
//! DNS servers, nscd and NSS modules through internal calls the patch never
//! sees), so a coroutine's `getaddrinfo` runs libc's on a
//! [`blocking`](crate::blocking) pool thread while the coroutine parks. The
//! request is copied first, so the pool thread never reads the caller's
//! memory; the coroutine still waits for the job to finish even when a kill
//! or `Timeout` arrives, then frees the answer and reports `EAI_SYSTEM`
//! with `errno` `ECANCELED`. Outside coroutines it is libc's call.

use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::sync::OnceLock;

use super::call::{Scope, INTERRUPTED};
use super::raw;

type GetAddrInfo =
    unsafe extern "C" fn(*const c_char, *const c_char, *const libc::addrinfo, *mut *mut libc::addrinfo) -> libc::c_int;

/// libc's `getaddrinfo`: the next definition after this executable's.
fn libc_getaddrinfo() -> Option<GetAddrInfo> {
    static REAL: OnceLock<Option<GetAddrInfo>> = OnceLock::new();
    *REAL.get_or_init(|| {
        // SAFETY: RTLD_NEXT with a NUL-terminated name; dlsym has no other
        // preconditions.
        let sym = unsafe { libc::dlsym(libc::RTLD_NEXT, c"getaddrinfo".as_ptr()) };
        // SAFETY: the symbol named getaddrinfo in libc has this signature.
        (!sym.is_null()).then(|| unsafe { std::mem::transmute::<*mut libc::c_void, GetAddrInfo>(sym) })
    })
}

/// The fields of `hints` a caller may set; POSIX requires the rest zero.
#[derive(Clone, Copy)]
struct Hints {
    flags: libc::c_int,
    family: libc::c_int,
    socktype: libc::c_int,
    protocol: libc::c_int,
}

/// A resolver answer handed back from the pool thread.
struct Answer {
    status: libc::c_int,
    errno: libc::c_int,
    list: *mut libc::addrinfo,
}

// SAFETY: the list is owned by whoever holds the Answer; libc's
// `freeaddrinfo` may free it on any thread.
unsafe impl Send for Answer {}

/// `getaddrinfo(3)`.
///
/// # Safety
///
/// `node` and `service` must be null or NUL-terminated strings, `hints`
/// null or a valid `addrinfo`, and `res` a writable pointer, as for libc's
/// `getaddrinfo`.
pub unsafe fn getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const libc::addrinfo,
    res: *mut *mut libc::addrinfo,
) -> libc::c_int {
    let Some(real) = libc_getaddrinfo() else {
        raw::set_errno(libc::ENOSYS);
        return libc::EAI_SYSTEM;
    };
    let scope = match Scope::enter() {
        Some(scope) if scope.in_coroutine() => scope,
        // SAFETY: forwarded from the caller to libc's function.
        _ => return unsafe { real(node, service, hints, res) },
    };
    // SAFETY: the caller guarantees the strings and `hints`.
    let (node, service, hints) = unsafe {
        (
            (!node.is_null()).then(|| CStr::from_ptr(node).to_owned()),
            (!service.is_null()).then(|| CStr::from_ptr(service).to_owned()),
            hints.as_ref().map(|h| Hints {
                flags: h.ai_flags,
                family: h.ai_family,
                socktype: h.ai_socktype,
                protocol: h.ai_protocol,
            }),
        )
    };
    let answer = scope.parked(|| crate::blocking(move || resolve(real, node, service, hints)));
    if scope.cancelled() {
        if answer.status == 0 {
            // SAFETY: a successful answer's list, owned here and never
            // handed out.
            unsafe { libc::freeaddrinfo(answer.list) };
        }
        raw::set_errno(INTERRUPTED.0);
        return libc::EAI_SYSTEM;
    }
    if answer.status == 0 {
        // SAFETY: the caller guarantees `res` is writable.
        unsafe { *res = answer.list };
    } else if answer.status == libc::EAI_SYSTEM {
        raw::set_errno(answer.errno);
    }
    answer.status
}

/// Runs libc's resolver on owned copies of the request.
fn resolve(real: GetAddrInfo, node: Option<CString>, service: Option<CString>, hints: Option<Hints>) -> Answer {
    let hints = hints.map(|h| {
        // SAFETY: addrinfo is a C struct of integers and pointers; all
        // zeroes is the empty hint POSIX asks for.
        let mut ai: libc::addrinfo = unsafe { std::mem::zeroed() };
        ai.ai_flags = h.flags;
        ai.ai_family = h.family;
        ai.ai_socktype = h.socktype;
        ai.ai_protocol = h.protocol;
        ai
    });
    let mut list = ptr::null_mut();
    // SAFETY: the strings are NUL-terminated and owned by this frame, the
    // hints (if any) a valid addrinfo, and `list` a writable pointer.
    let status = unsafe {
        real(
            node.as_ref().map_or(ptr::null(), |s| s.as_ptr()),
            service.as_ref().map_or(ptr::null(), |s| s.as_ptr()),
            hints.as_ref().map_or(ptr::null(), ptr::from_ref),
            &mut list,
        )
    };
    Answer { status, errno: raw::errno(), list }
}
