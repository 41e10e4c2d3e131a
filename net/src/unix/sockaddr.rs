//! Conversions between paths or [`SocketAddr`]s and the kernel's
//! `sockaddr_un`: pathname, abstract (Linux) and unnamed addresses.

use std::ffi::OsStr;
use std::io;
use std::mem;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::ptr;

use crate::sockaddr::zeroed_storage;

/// Offset of `sun_path` in `sockaddr_un`: an address this long is unnamed.
const PATH_OFFSET: usize = mem::offset_of!(libc::sockaddr_un, sun_path);

/// Room in `sun_path`.
const PATH_CAPACITY: usize = mem::size_of::<libc::sockaddr_un>() - PATH_OFFSET;

/// A filesystem path as the kernel takes it (NUL-terminated).
pub(crate) fn path_to_raw(path: &Path) -> io::Result<(libc::sockaddr_storage, libc::socklen_t)> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "paths must not contain interior null bytes"));
    }
    if bytes.len() >= PATH_CAPACITY {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "path must be shorter than SUN_LEN"));
    }
    // An empty path stays unnamed (binding it autobinds an abstract name).
    let terminator = usize::from(!bytes.is_empty());
    Ok(build(bytes, bytes.len() + terminator))
}

/// A std [`SocketAddr`] as the kernel takes it.
pub(crate) fn addr_to_raw(addr: &SocketAddr) -> io::Result<(libc::sockaddr_storage, libc::socklen_t)> {
    if let Some(path) = addr.as_pathname() {
        return path_to_raw(path);
    }
    match addr.as_abstract_name() {
        Some(name) => {
            let mut bytes = Vec::with_capacity(name.len() + 1);
            bytes.push(0);
            bytes.extend_from_slice(name);
            if bytes.len() > PATH_CAPACITY {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "abstract name must be shorter than SUN_LEN"));
            }
            Ok(build(&bytes, bytes.len()))
        }
        None => Ok(build(&[], 0)),
    }
}

/// A `sockaddr_un` with `bytes` at the start of `sun_path` (the rest
/// zeroed) and a length covering `path_len` bytes of it.
fn build(bytes: &[u8], path_len: usize) -> (libc::sockaddr_storage, libc::socklen_t) {
    debug_assert!(bytes.len() <= path_len && path_len <= PATH_CAPACITY);
    // SAFETY: sockaddr_un is a C struct of integers; zeroes are valid.
    let mut sun: libc::sockaddr_un = unsafe { mem::zeroed() };
    sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, &src) in sun.sun_path.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    let mut storage = zeroed_storage();
    // SAFETY: sockaddr_storage is larger than sockaddr_un and at least as
    // aligned (it is built to hold any socket address).
    unsafe { ptr::write(ptr::from_mut(&mut storage).cast::<libc::sockaddr_un>(), sun) };
    (storage, (PATH_OFFSET + path_len) as libc::socklen_t)
}

/// The std [`SocketAddr`] the kernel returned in `storage`.
pub(crate) fn from_raw(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> io::Result<SocketAddr> {
    let len = len as usize;
    if len != 0 && libc::c_int::from(storage.ss_family) != libc::AF_UNIX {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "file descriptor did not correspond to a Unix socket"));
    }
    // SAFETY: the storage is aligned for and at least as large as a
    // sockaddr_un, and any bytes are a valid one.
    let sun = unsafe { ptr::read(ptr::from_ref(storage).cast::<libc::sockaddr_un>()) };
    let path_len = len.saturating_sub(PATH_OFFSET).min(PATH_CAPACITY);
    let mut bytes = [0u8; PATH_CAPACITY];
    for (dst, &src) in bytes.iter_mut().zip(&sun.sun_path[..path_len]) {
        *dst = src as u8;
    }
    let path = &bytes[..path_len];
    match path.split_first() {
        None => SocketAddr::from_pathname(""),
        Some((0, name)) => SocketAddr::from_abstract_name(name),
        Some(_) => {
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            SocketAddr::from_pathname(Path::new(OsStr::from_bytes(&path[..end])))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind() {
        let named = SocketAddr::from_pathname("/tmp/verde.sock").unwrap();
        let (raw, len) = addr_to_raw(&named).unwrap();
        assert_eq!(from_raw(&raw, len).unwrap().as_pathname(), Some(Path::new("/tmp/verde.sock")));

        let abstract_ = SocketAddr::from_abstract_name(b"verde").unwrap();
        let (raw, len) = addr_to_raw(&abstract_).unwrap();
        assert_eq!(from_raw(&raw, len).unwrap().as_abstract_name(), Some(&b"verde"[..]));

        let unnamed = SocketAddr::from_pathname("").unwrap();
        assert!(unnamed.is_unnamed());
        let (raw, len) = addr_to_raw(&unnamed).unwrap();
        assert_eq!(len as usize, PATH_OFFSET);
        assert!(from_raw(&raw, len).unwrap().is_unnamed());
    }

    #[test]
    fn rejects_bad_paths() {
        assert_eq!(path_to_raw(Path::new("a\0b")).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        let long = "x".repeat(PATH_CAPACITY);
        assert_eq!(path_to_raw(Path::new(&long)).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }
}
