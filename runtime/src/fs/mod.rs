//! Files for blocking-style code: std's [`std::fs`] API, whose calls park
//! the calling coroutine instead of blocking its hub (gevent's
//! `gevent.fileobject.FileObjectThread`).
//!
//! A regular file is always "ready" for epoll, so a `std::fs::File::read`
//! in a coroutine blocks in the kernel, and with it every coroutine of its
//! hub, for as long as the disk (or the network file system, or the FIFO)
//! takes. Here every such system call runs on the
//! [`blocking`](crate::blocking) pool while only the caller parks. So does
//! a call from a thread's main context while its hub has coroutines, which
//! the main context's wait then lets run (a FIFO read waiting for one of
//! them to write would otherwise never return); on a thread with no
//! coroutines it is std's call, blocking the thread as std does. Change
//! the `use` line, keep the code:
//!
//! ```
//! use std::io::{Read, Write};
//! use verde_runtime::fs::{self, File};
//!
//! let dir = std::env::temp_dir().join(format!("verde-fs-doc-{}", std::process::id()));
//! fs::create_dir_all(&dir)?;
//! let path = dir.join("greeting");
//! let writer = verde_runtime::spawn(move || {
//!     let mut f = File::create(&path)?;
//!     f.write_all(b"hello from a coroutine")?;
//!     f.sync_all()?;
//!     let mut text = String::new();
//!     File::open(&path)?.read_to_string(&mut text)?;
//!     Ok::<_, std::io::Error>(text)
//! });
//! // Meanwhile the hub runs other coroutines (and this main context).
//! assert_eq!(writer.join().unwrap()?, "hello from a coroutine");
//! assert_eq!(fs::read_dir(&dir)?.count(), 1);
//! fs::remove_dir_all(&dir)?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # What it has
//!
//! * [`File`]: `open`, `create`, `create_new`, `options`, `Read`, `Write`
//!   and `Seek` (for `&File` too; `read_to_end` and `read_to_string` in
//!   one pool round trip), std's `FileExt` (`read_at`, `write_at`),
//!   `sync_all`, `sync_data`, `set_len`, `metadata`, `set_permissions`,
//!   `set_times`, `set_modified`, the locks (`lock`, `lock_shared`,
//!   `try_lock`, `try_lock_shared`, `unlock`; a waiting lock parks its
//!   caller and holds a pool thread), `try_clone`, and the conversions to
//!   and from std's `File` and file descriptors.
//! * [`OpenOptions`]: std's builder and its `OpenOptionsExt`; `open`
//!   returns a verde [`File`].
//! * The free functions: [`read`], [`read_to_string`], [`write()`],
//!   [`metadata`], [`symlink_metadata`], [`read_dir`] (a [`ReadDir`] of
//!   [`DirEntry`]s, fetched in batches), [`create_dir`],
//!   [`create_dir_all`], [`remove_file`], [`remove_dir`],
//!   [`remove_dir_all`], [`rename`], [`copy`], [`hard_link`],
//!   [`canonicalize`], [`read_link`], [`set_permissions`], [`exists`].
//! * std's [`Metadata`], [`Permissions`], [`FileType`], [`FileTimes`] and
//!   [`TryLockError`], re-exported, so whole `use std::fs::{...}` lines
//!   switch.
//!
//! # How it works
//!
//! * Data moves through an owned buffer (a pool thread cannot borrow the
//!   caller's slice): one read or write is at most [`MAX_CHUNK`] bytes,
//!   copied once; a `read_to_end` reads the rest of the file into a buffer
//!   of its size, in one round trip. On a thread with no coroutines, std
//!   reads into the caller's slice.
//! * A [`File`]'s operations run one at a time, in call order; a kill or a
//!   [`Timeout`](crate::Timeout) never loses what an operation did on its
//!   pool thread after its caller went away (read bytes, a write's error):
//!   see [File: when the caller goes away](File#when-the-caller-goes-away).
//! * A free function is one pool round trip, which completes even if its
//!   caller is killed: a `create_dir` still happens, only its result is
//!   dropped.
//!
//! # Differences from std and gevent
//!
//! * Opening a FIFO or a terminal works (on the pool). Reads and writes
//!   on them (and on other character devices and sockets opened by path)
//!   first wait on the hub's epoll, holding no thread, and then run on the
//!   pool, so waiting for a writer or a reader never ties up a pool thread.
//!   Pipes to child processes are [`process`](crate::process)'s, and other
//!   pipes and sockets park on readiness with
//!   [`io::wait_readable`](crate::io::wait_readable), like gevent's
//!   `FileObjectPosix`.
//! * A [`File`]'s `lock` (or `lock_shared`) tries first on the calling
//!   thread. One that must wait holds a pool thread until the lock comes,
//!   while lock waits hold fewer than a quarter of the pool; past that it
//!   polls, up to 50 ms late, so lock waits never starve the pool. This
//!   `File`'s later operations wait behind it (see [One operation at a
//!   time](File#one-operation-at-a-time)), where std's other threads would
//!   use the file meanwhile.

mod dir_entry;
mod file;
mod file_io;
mod file_lock;
#[cfg(test)]
mod file_lock_tests;
mod functions;
mod leftovers;
mod offload;
mod open_options;
#[cfg(test)]
mod orphan_write_tests;
#[cfg(test)]
mod read_ahead_tests;
mod read_dir;
#[cfg(test)]
mod read_to_end_tests;
mod readiness;
mod serial;

pub use std::fs::{FileTimes, FileType, Metadata, Permissions, TryLockError};

pub use dir_entry::DirEntry;
pub use file::File;
pub use functions::{
    canonicalize, copy, create_dir, create_dir_all, exists, hard_link, metadata, read, read_link, read_to_string,
    remove_dir, remove_dir_all, remove_file, rename, set_permissions, symlink_metadata, write,
};
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, ReadDir};

/// The most bytes one read or write of a [`File`] moves through the
/// blocking pool from a coroutine: 2 MiB. A larger buffer gets a short
/// count, which std's `Read` and `Write` allow (`read_exact` and
/// `write_all` loop). `read_to_end` and `read_to_string` are not chunked:
/// they read the whole rest of the file in one round trip.
pub const MAX_CHUNK: usize = 2 * 1024 * 1024;
