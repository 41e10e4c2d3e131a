//! Builds `examples/ffi/blocking.c`, a C library that blocks in libc (the
//! seeds' `sleep.so`), for the examples and tests that show what
//! `verde::patch_all!()` does to C code:
//!
//! * a static library, `libverde_ffi.a`, which a target links by declaring
//!   `#[link(name = "verde_ffi", kind = "static")]`; nothing else links it;
//! * a shared library, `libverde_ffi.so`, whose path is in the
//!   `VERDE_FFI_SO` compile-time environment variable, for loading with
//!   `dlopen`.
//!
//! The tests also get `-Wl,--export-dynamic`, so that the shared library's
//! calls to `sleep` and friends bind to the executable's patched symbols.

use std::path::PathBuf;

fn main() {
    let source = "examples/ffi/blocking.c";
    println!("cargo:rerun-if-changed={source}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    cc::Build::new().file(source).warnings(true).cargo_metadata(false).compile("verde_ffi");
    println!("cargo:rustc-link-search=native={}", out.display());

    let so = out.join("libverde_ffi.so");
    let compiler = cc::Build::new().get_compiler();
    let status = compiler
        .to_command()
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&so)
        .arg(source)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {:?}: {e}", compiler.path()));
    assert!(status.success(), "building {} failed", so.display());
    println!("cargo:rustc-env=VERDE_FFI_SO={}", so.display());
    println!("cargo:rustc-link-arg-tests=-Wl,--export-dynamic");
}
