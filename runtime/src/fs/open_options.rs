//! [`OpenOptions`]: std's builder, opening a [`File`] on the blocking pool.

use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::offload::offload;
use super::readiness::has_readiness;
use super::File;

/// How to open a file: [`std::fs::OpenOptions`]'s builder, whose
/// [`open`](Self::open) runs on the blocking pool from a coroutine (opening
/// a FIFO, or a file on a slow disk, blocks) and returns a verde [`File`].
///
/// ```
/// use std::io::Write;
/// use verde_runtime::fs::OpenOptions;
///
/// let path = std::env::temp_dir().join(format!("verde-fs-options-doc-{}", std::process::id()));
/// let mut f = OpenOptions::new().append(true).create(true).open(&path)?;
/// f.write_all(b"one line\n")?;
/// verde_runtime::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// Options with everything off, as [`std::fs::OpenOptions::new`].
    ///
    /// ```
    /// let opts = verde_runtime::fs::OpenOptions::new();
    /// # let _ = opts;
    /// ```
    #[allow(clippy::new_without_default)] // std's OpenOptions has no Default either
    pub fn new() -> Self {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Read access, as [`std::fs::OpenOptions::read`].
    ///
    /// ```
    /// let f = verde_runtime::fs::OpenOptions::new().read(true).open("/dev/null")?;
    /// # let _ = f;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read(&mut self, read: bool) -> &mut Self {
        self.0.read(read);
        self
    }

    /// Write access, as [`std::fs::OpenOptions::write`].
    ///
    /// ```
    /// let f = verde_runtime::fs::OpenOptions::new().write(true).open("/dev/null")?;
    /// # let _ = f;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write(&mut self, write: bool) -> &mut Self {
        self.0.write(write);
        self
    }

    /// Appending writes, as [`std::fs::OpenOptions::append`].
    ///
    /// ```
    /// let f = verde_runtime::fs::OpenOptions::new().append(true).open("/dev/null")?;
    /// # let _ = f;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn append(&mut self, append: bool) -> &mut Self {
        self.0.append(append);
        self
    }

    /// Truncating to length 0, as [`std::fs::OpenOptions::truncate`].
    ///
    /// ```
    /// let f = verde_runtime::fs::OpenOptions::new().write(true).truncate(true).open("/dev/null")?;
    /// # let _ = f;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn truncate(&mut self, truncate: bool) -> &mut Self {
        self.0.truncate(truncate);
        self
    }

    /// Creating the file if it is missing, as
    /// [`std::fs::OpenOptions::create`].
    ///
    /// ```
    /// let f = verde_runtime::fs::OpenOptions::new().write(true).create(true).open("/dev/null")?;
    /// # let _ = f;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.0.create(create);
        self
    }

    /// Creating the file, failing if it exists, as
    /// [`std::fs::OpenOptions::create_new`].
    ///
    /// ```
    /// let err = verde_runtime::fs::OpenOptions::new().write(true).create_new(true).open("/dev/null").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    /// ```
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.0.create_new(create_new);
        self
    }

    /// Opens `path` with these options, as [`std::fs::OpenOptions::open`],
    /// with std's errors.
    ///
    /// ```
    /// let err = verde_runtime::fs::OpenOptions::new().open("/dev/null").unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput); // no access mode
    /// ```
    pub fn open<P: AsRef<Path>>(&self, path: P) -> io::Result<File> {
        let options = self.0.clone();
        let path = path.as_ref().to_owned();
        let (file, readiness) = offload(move || {
            let file = options.open(path)?;
            let readiness = has_readiness(&file);
            io::Result::Ok((file, readiness))
        })?;
        Ok(File::with_readiness(file, readiness))
    }
}

/// std's Unix options: the mode bits of a created file and extra `open`
/// flags.
///
/// ```
/// use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
/// use verde_runtime::fs::OpenOptions;
///
/// let path = std::env::temp_dir().join(format!("verde-fs-mode-doc-{}", std::process::id()));
/// let f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
/// assert_eq!(f.metadata()?.permissions().mode() & 0o077, 0); // nothing for group and others
/// verde_runtime::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl OpenOptionsExt for OpenOptions {
    fn mode(&mut self, mode: u32) -> &mut Self {
        self.0.mode(mode);
        self
    }

    fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.0.custom_flags(flags);
        self
    }
}

/// Wraps std's options.
///
/// ```
/// let mut std_opts = std::fs::OpenOptions::new();
/// std_opts.read(true);
/// let f = verde_runtime::fs::OpenOptions::from(std_opts).open("/dev/null")?;
/// # let _ = f;
/// # Ok::<(), std::io::Error>(())
/// ```
impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(options: std::fs::OpenOptions) -> Self {
        OpenOptions(options)
    }
}
