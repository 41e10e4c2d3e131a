//! The seeds' C extension that blocks in `sleep(2)` (004), under verde.
//!
//! Ten request handlers each call `verde_ffi_sleep(2)`, a C function from
//! `examples/ffi/blocking.c` (built by the root `build.rs`) that knows
//! nothing about verde and calls libc's `sleep`. The example times the ten
//! handlers three ways, in one process:
//!
//! 1. **patched**: this binary has `verde::patch_all!()`, so the C code's
//!    `sleep` is verde's and parks the coroutine: about 2 s in all;
//! 2. **`verde::blocking`**: the call runs on the blocking pool while the
//!    coroutine parks (the fix that needs no patch): about 2 s;
//! 3. **neither**: the patch switched off with
//!    `verde::patch::set_enabled(false)`, the way an unpatched binary
//!    behaves: the hub blocks in each call in turn, about 20 s.
//!
//! ```sh
//! cargo run --release --example blocking_ffi        # or: -- SECONDS per call
//! ```

verde::patch_all!();

use std::time::{Duration, Instant};

const HANDLERS: usize = 10;

#[link(name = "verde_ffi", kind = "static")]
extern "C" {
    /// Blocks in libc's `sleep(seconds)`.
    fn verde_ffi_sleep(seconds: std::ffi::c_uint) -> std::ffi::c_uint;
}

/// A request handler: calls into the C library.
fn handle(seconds: u32) {
    // SAFETY: the C function takes an integer and has no other contract.
    unsafe { verde_ffi_sleep(seconds) };
}

/// Runs the ten handlers as coroutines and returns how long all took.
fn time_handlers(body: impl Fn() + Clone + Send + 'static) -> Duration {
    let start = Instant::now();
    let handles: Vec<_> = (0..HANDLERS).map(|_| verde::spawn(body.clone())).collect();
    for r in verde::joinall(handles) {
        r.unwrap();
    }
    start.elapsed()
}

fn main() {
    let seconds: u32 = std::env::args().nth(1).map_or(2, |s| s.parse().expect("seconds per call"));
    println!("{HANDLERS} handlers, each calling C code that blocks in sleep({seconds}):");

    let patched = time_handlers(move || handle(seconds));
    println!("  patched (verde::patch_all!):            {:5.2} s", patched.as_secs_f64());

    verde::patch::set_enabled(false);
    let pooled = time_handlers(move || verde::blocking(move || handle(seconds)));
    println!("  unpatched, through verde::blocking:     {:5.2} s", pooled.as_secs_f64());

    let serial = time_handlers(move || handle(seconds));
    verde::patch::set_enabled(true);
    println!("  unpatched, called directly:             {:5.2} s", serial.as_secs_f64());
}
