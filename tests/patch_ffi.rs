//! C code that knows nothing about verde, under `patch_all!()`: the
//! functions of `examples/ffi/blocking.c` block in libc's `sleep` and do
//! socket I/O with `socket`/`connect`/`send`/`recv`/`close`. Linked in
//! statically and loaded with `dlopen` (the build script links tests with
//! `--export-dynamic`), their calls park only their coroutine.

verde::patch_all!();

use std::ffi::{c_char, c_long, c_uint, c_ushort, CStr, CString};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

const HANDLERS: usize = 10;

#[link(name = "verde_ffi", kind = "static")]
extern "C" {
    fn verde_ffi_sleep(seconds: c_uint) -> c_uint;
    fn verde_ffi_fetch(port: c_ushort, request: *const c_char, reply: *mut c_char, cap: usize) -> c_long;
}

type SleepFn = unsafe extern "C" fn(c_uint) -> c_uint;

/// `verde_ffi_sleep` from the shared library built by build.rs, loaded
/// with `dlopen`: its `sleep` binds at run time, to this executable's.
fn shared_library_sleep() -> SleepFn {
    let path = CString::new(env!("VERDE_FFI_SO")).unwrap();
    // SAFETY: a NUL-terminated path; the library has no initialisers.
    let lib = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!lib.is_null(), "dlopen {path:?}");
    // SAFETY: a handle from dlopen and a NUL-terminated name.
    let sym = unsafe { libc::dlsym(lib, c"verde_ffi_sleep".as_ptr()) };
    assert!(!sym.is_null());
    // SAFETY: the symbol is `unsigned int verde_ffi_sleep(unsigned int)`.
    unsafe { std::mem::transmute::<*mut libc::c_void, SleepFn>(sym) }
}

/// Runs `HANDLERS` coroutines that each call `sleep_fn(1)` and returns how
/// long they took together.
fn handlers_sleeping_in(sleep_fn: SleepFn) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..HANDLERS)
        .map(|_| {
            verde::spawn(move || {
                // SAFETY: the C function takes an integer and has no other
                // contract.
                assert_eq!(unsafe { sleep_fn(1) }, 0);
            })
        })
        .collect();
    for r in verde::joinall(handles) {
        r.unwrap();
    }
    start.elapsed()
}

/// Serially the handlers take `HANDLERS` seconds; overlapping, about one.
fn assert_concurrent(what: &str, elapsed: Duration) {
    eprintln!("{what}: {HANDLERS} handlers in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(HANDLERS as u64 / 2), "{what}: took {elapsed:?}");
}

#[test]
fn statically_linked_c_sleeps_overlap() {
    assert_concurrent("static C sleep", handlers_sleeping_in(verde_ffi_sleep));
}

#[test]
fn dlopened_c_sleeps_overlap() {
    assert_concurrent("dlopen'ed C sleep", handlers_sleeping_in(shared_library_sleep()));
}

#[test]
fn c_socket_io_parks_only_its_coroutine() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = verde::spawn(move || {
        let mut served = 0;
        for conn in listener.incoming().take(HANDLERS) {
            let mut conn = conn.unwrap();
            drop(verde::spawn(move || {
                let mut request = [0u8; 16];
                let n = conn.read(&mut request).unwrap();
                std::thread::sleep(Duration::from_millis(300));
                conn.write_all(&request[..n]).unwrap();
            }));
            served += 1;
        }
        served
    });
    let start = Instant::now();
    let handles: Vec<_> = (0..HANDLERS)
        .map(|i| {
            verde::spawn(move || {
                let request = CString::new(format!("ping {i}")).unwrap();
                let mut reply = [0 as c_char; 32];
                // SAFETY: a NUL-terminated request and a buffer of
                // `reply.len() - 1` bytes, leaving a terminating NUL.
                let n = unsafe { verde_ffi_fetch(port, request.as_ptr(), reply.as_mut_ptr(), reply.len() - 1) };
                assert_eq!(n, request.as_bytes().len() as c_long);
                // SAFETY: zero-initialised, at most `len - 1` bytes written.
                let reply = unsafe { CStr::from_ptr(reply.as_ptr()) };
                assert_eq!(reply, request.as_c_str());
            })
        })
        .collect();
    for r in verde::joinall(handles) {
        r.unwrap();
    }
    let elapsed = start.elapsed();
    assert_eq!(server.join().unwrap(), HANDLERS);
    eprintln!("C socket I/O: {HANDLERS} fetches of 300 ms in {elapsed:?}");
    assert!(elapsed < Duration::from_millis(300) * HANDLERS as u32 / 2, "took {elapsed:?}");
}
