//! Making FIFOs for the fs tests.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Makes a FIFO at `path` (which must not exist yet) and returns the path.
pub fn make_fifo(path: PathBuf) -> PathBuf {
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "{}", std::io::Error::last_os_error());
    path
}
