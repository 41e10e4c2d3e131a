//! [`DirEntry`]: std's directory entry, whose `metadata` runs on the
//! blocking pool.

use std::ffi::OsString;
use std::fmt;
use std::fs::{FileType, Metadata};
use std::io;
use std::os::unix::fs::DirEntryExt;
use std::path::PathBuf;
use std::sync::Arc;

use super::offload::offload;

/// An entry of a [`ReadDir`](super::ReadDir), as [`std::fs::DirEntry`].
///
/// Its file type is found when the entry is fetched (on the pool), so
/// `file_type` does not block; `metadata` runs on the pool from a
/// coroutine.
///
/// ```
/// for entry in verde_runtime::fs::read_dir("/proc/self")? {
///     let entry = entry?;
///     if entry.file_name() == "stat" {
///         assert!(entry.file_type()?.is_file());
///         assert_eq!(entry.path(), std::path::Path::new("/proc/self/stat"));
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct DirEntry {
    inner: Arc<std::fs::DirEntry>,
    file_type: Option<FileType>,
}

impl DirEntry {
    /// Wraps a std entry, finding its file type (which may take an `lstat`).
    pub(super) fn new(entry: std::fs::DirEntry) -> DirEntry {
        let file_type = entry.file_type().ok();
        DirEntry { inner: Arc::new(entry), file_type }
    }

    /// The directory's path joined with the entry's name, as
    /// [`std::fs::DirEntry::path`].
    ///
    /// ```
    /// let entry = verde_runtime::fs::read_dir("/proc/self")?.next().unwrap()?;
    /// assert!(entry.path().starts_with("/proc/self"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn path(&self) -> PathBuf {
        self.inner.path()
    }

    /// The entry's name, as [`std::fs::DirEntry::file_name`].
    ///
    /// ```
    /// let entry = verde_runtime::fs::read_dir("/proc/self")?.next().unwrap()?;
    /// assert!(!entry.file_name().is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn file_name(&self) -> OsString {
        self.inner.file_name()
    }

    /// The entry's metadata, not following a symlink, as
    /// [`std::fs::DirEntry::metadata`].
    ///
    /// ```
    /// let entry = verde_runtime::fs::read_dir("/proc/self")?.next().unwrap()?;
    /// let meta = entry.metadata()?;
    /// assert_eq!(meta.file_type(), entry.file_type()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metadata(&self) -> io::Result<Metadata> {
        let entry = Arc::clone(&self.inner);
        offload(move || entry.metadata())
    }

    /// The entry's file type, not following a symlink, as
    /// [`std::fs::DirEntry::file_type`].
    ///
    /// ```
    /// let entry = verde_runtime::fs::read_dir("/proc/self")?.next().unwrap()?;
    /// let file_type = entry.file_type()?;
    /// # let _ = file_type;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn file_type(&self) -> io::Result<FileType> {
        match self.file_type {
            Some(file_type) => Ok(file_type),
            None => {
                // Finding it failed at fetch time: try again, for std's error.
                let entry = Arc::clone(&self.inner);
                offload(move || entry.file_type())
            }
        }
    }
}

/// The entry's inode number, as std's.
///
/// ```
/// use std::os::unix::fs::{DirEntryExt, MetadataExt};
///
/// let dir = std::env::temp_dir().join(format!("verde-fs-ino-doc-{}", std::process::id()));
/// verde_runtime::fs::create_dir(&dir)?;
/// verde_runtime::fs::write(dir.join("f"), "")?;
/// let entry = verde_runtime::fs::read_dir(&dir)?.next().unwrap()?;
/// assert_eq!(entry.ino(), entry.metadata()?.ino());
/// verde_runtime::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl DirEntryExt for DirEntry {
    fn ino(&self) -> u64 {
        self.inner.ino()
    }
}

impl fmt::Debug for DirEntry {
    /// Formats as std's `DirEntry` does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
