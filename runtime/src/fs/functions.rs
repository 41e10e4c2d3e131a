//! std's free file system functions, each made on the blocking pool from a
//! coroutine (see [`offload`]).

use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

use super::offload::{offload, use_pool};

/// Reads a whole file, as [`std::fs::read`], in one pool round trip.
///
/// ```
/// let bytes = verde_runtime::fs::read("/proc/self/stat")?;
/// assert!(!bytes.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read<P: AsRef<Path>>(path: P) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::read(path))
}

/// Reads a whole file as UTF-8, as [`std::fs::read_to_string`] (with its
/// `InvalidData` error for other bytes).
///
/// ```
/// let stat = verde_runtime::fs::read_to_string("/proc/self/stat")?;
/// assert!(stat.contains(')'));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_to_string<P: AsRef<Path>>(path: P) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::read_to_string(path))
}

/// Creates or truncates a file and writes `contents`, as
/// [`std::fs::write`]. From a coroutine, `contents` is copied and written
/// in one pool round trip, which completes even if the caller is killed.
///
/// ```
/// let path = std::env::temp_dir().join(format!("verde-fs-write-doc-{}", std::process::id()));
/// verde_runtime::fs::write(&path, "hi")?;
/// assert_eq!(verde_runtime::fs::read_to_string(&path)?, "hi");
/// verde_runtime::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    if !use_pool() {
        return std::fs::write(path, contents);
    }
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_vec();
    offload(move || std::fs::write(path, contents))
}

/// A path's metadata, following symlinks, as [`std::fs::metadata`].
///
/// ```
/// assert!(verde_runtime::fs::metadata("/")?.is_dir());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::metadata(path))
}

/// A path's metadata, not following a final symlink, as
/// [`std::fs::symlink_metadata`].
///
/// ```
/// assert!(verde_runtime::fs::symlink_metadata("/proc/self")?.file_type().is_symlink());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn symlink_metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::symlink_metadata(path))
}

/// Creates a directory, as [`std::fs::create_dir`].
///
/// ```
/// let dir = std::env::temp_dir().join(format!("verde-fs-create-dir-doc-{}", std::process::id()));
/// verde_runtime::fs::create_dir(&dir)?;
/// assert_eq!(verde_runtime::fs::create_dir(&dir).unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
/// verde_runtime::fs::remove_dir(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn create_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::create_dir(path))
}

/// Creates a directory and its missing parents, as
/// [`std::fs::create_dir_all`].
///
/// ```
/// let top = std::env::temp_dir().join(format!("verde-fs-create-dir-all-doc-{}", std::process::id()));
/// verde_runtime::fs::create_dir_all(top.join("a/b"))?;
/// assert!(verde_runtime::fs::metadata(top.join("a/b"))?.is_dir());
/// verde_runtime::fs::remove_dir_all(&top)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn create_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::create_dir_all(path))
}

/// Removes a file, as [`std::fs::remove_file`].
///
/// ```
/// let err = verde_runtime::fs::remove_file("/no/such/file").unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// ```
pub fn remove_file<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::remove_file(path))
}

/// Removes an empty directory, as [`std::fs::remove_dir`].
///
/// ```
/// let err = verde_runtime::fs::remove_dir("/no/such/dir").unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// ```
pub fn remove_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::remove_dir(path))
}

/// Removes a directory and everything in it, as
/// [`std::fs::remove_dir_all`], in one pool round trip.
///
/// ```
/// let top = std::env::temp_dir().join(format!("verde-fs-remove-dir-all-doc-{}", std::process::id()));
/// verde_runtime::fs::create_dir_all(top.join("x"))?;
/// verde_runtime::fs::write(top.join("x/f"), "f")?;
/// verde_runtime::fs::remove_dir_all(&top)?;
/// assert!(!verde_runtime::fs::exists(&top)?);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn remove_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::remove_dir_all(path))
}

/// Renames a file or directory, replacing `to` if it is a file, as
/// [`std::fs::rename`].
///
/// ```
/// let a = std::env::temp_dir().join(format!("verde-fs-rename-doc-a-{}", std::process::id()));
/// let b = a.with_extension("b");
/// verde_runtime::fs::write(&a, "x")?;
/// verde_runtime::fs::rename(&a, &b)?;
/// assert_eq!(verde_runtime::fs::read(&b)?, b"x");
/// verde_runtime::fs::remove_file(&b)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn rename<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    offload(move || std::fs::rename(from, to))
}

/// Copies a file's contents and permissions, as [`std::fs::copy`]; the
/// number of bytes copied. The whole copy is one pool round trip.
///
/// ```
/// let a = std::env::temp_dir().join(format!("verde-fs-copy-doc-a-{}", std::process::id()));
/// let b = a.with_extension("b");
/// verde_runtime::fs::write(&a, "abc")?;
/// assert_eq!(verde_runtime::fs::copy(&a, &b)?, 3);
/// verde_runtime::fs::remove_file(&a)?;
/// verde_runtime::fs::remove_file(&b)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn copy<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    offload(move || std::fs::copy(from, to))
}

/// Makes `link` a new name for `original`, as [`std::fs::hard_link`].
///
/// ```
/// let a = std::env::temp_dir().join(format!("verde-fs-hard-link-doc-a-{}", std::process::id()));
/// let b = a.with_extension("b");
/// verde_runtime::fs::write(&a, "x")?;
/// verde_runtime::fs::hard_link(&a, &b)?;
/// assert_eq!(verde_runtime::fs::metadata(&a)?.len(), verde_runtime::fs::metadata(&b)?.len());
/// verde_runtime::fs::remove_file(&a)?;
/// verde_runtime::fs::remove_file(&b)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn hard_link<P: AsRef<Path>, Q: AsRef<Path>>(original: P, link: Q) -> io::Result<()> {
    let (original, link) = (original.as_ref().to_owned(), link.as_ref().to_owned());
    offload(move || std::fs::hard_link(original, link))
}

/// The absolute path with every symlink, `.` and `..` resolved, as
/// [`std::fs::canonicalize`].
///
/// ```
/// assert_eq!(verde_runtime::fs::canonicalize("/proc/../proc/.")?, std::path::Path::new("/proc"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn canonicalize<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::canonicalize(path))
}

/// Where a symlink points, as [`std::fs::read_link`].
///
/// ```
/// let target = verde_runtime::fs::read_link("/proc/self")?;
/// assert_eq!(target, std::path::Path::new(&std::process::id().to_string()));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_link<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::read_link(path))
}

/// Changes a path's permissions, as [`std::fs::set_permissions`].
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// use verde_runtime::fs::Permissions;
///
/// let path = std::env::temp_dir().join(format!("verde-fs-set-perm-doc-{}", std::process::id()));
/// verde_runtime::fs::write(&path, "x")?;
/// verde_runtime::fs::set_permissions(&path, Permissions::from_mode(0o640))?;
/// assert_eq!(verde_runtime::fs::metadata(&path)?.permissions().mode() & 0o777, 0o640);
/// verde_runtime::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_permissions<P: AsRef<Path>>(path: P, perm: Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::set_permissions(path, perm))
}

/// Whether a path exists (following symlinks), as [`std::fs::exists`]:
/// `Ok(false)` if it does not, an error if that cannot be told (a
/// permission error on the way, say).
///
/// ```
/// assert!(verde_runtime::fs::exists("/")?);
/// assert!(!verde_runtime::fs::exists("/no/such/file")?);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn exists<P: AsRef<Path>>(path: P) -> io::Result<bool> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::exists(path))
}
