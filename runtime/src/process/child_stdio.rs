//! [`ChildStdin`], [`ChildStdout`] and [`ChildStderr`]: std's pipe handles,
//! parking instead of blocking.
//!
//! Each wraps a [`Pipe`]; [`pipe_handle!`] gives every one the same fd
//! traits and conversions std gives its own: `AsFd`, `AsRawFd`,
//! `IntoRawFd`, from and into `OwnedFd`, from and into the std type, and
//! into [`Stdio`](std::process::Stdio), which is how one child's output
//! becomes another's input. Every conversion that gives the fd up
//! restores blocking mode on it.

use std::io::{self, Read, Write};

use super::pipe::Pipe;

macro_rules! pipe_handle {
    ($(#[$doc:meta])* $t:ident, $std:ty) => {
        $(#[$doc])*
        pub struct $t {
            pipe: Pipe,
        }

        impl $t {
            /// The pipe inside, still non-blocking, for verde's own use.
            pub(super) fn into_pipe(self) -> Pipe {
                self.pipe
            }
        }

        impl ::std::os::fd::AsFd for $t {
            fn as_fd(&self) -> ::std::os::fd::BorrowedFd<'_> {
                self.pipe.borrow_fd()
            }
        }

        impl ::std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> ::std::os::fd::RawFd {
                self.pipe.raw_fd()
            }
        }

        impl ::std::os::fd::IntoRawFd for $t {
            /// Releases the fd, in blocking mode again.
            fn into_raw_fd(self) -> ::std::os::fd::RawFd {
                ::std::os::fd::IntoRawFd::into_raw_fd(self.pipe.into_blocking_fd())
            }
        }

        impl From<::std::os::fd::OwnedFd> for $t {
            /// Adopts a pipe fd, switching it to non-blocking mode (which
            /// the process at the other end of the pipe does not see).
            fn from(fd: ::std::os::fd::OwnedFd) -> $t {
                $t { pipe: Pipe::new(fd) }
            }
        }

        impl From<$t> for ::std::os::fd::OwnedFd {
            /// Releases the fd, in blocking mode again.
            fn from(handle: $t) -> ::std::os::fd::OwnedFd {
                handle.pipe.into_blocking_fd()
            }
        }

        impl From<$std> for $t {
            #[doc = concat!("Makes a pipe std's `Command::spawn` opened cooperative, as [`Child::from`](super::Child) does for each of a std child's pipes.")]
            fn from(handle: $std) -> $t {
                $t::from(::std::os::fd::OwnedFd::from(handle))
            }
        }

        impl From<$t> for $std {
            /// Hands the pipe back to std, in blocking mode.
            fn from(handle: $t) -> $std {
                <$std>::from(::std::os::fd::OwnedFd::from(handle))
            }
        }

        impl From<$t> for ::std::process::Stdio {
            /// Passes the pipe to another child (std's conversion): the
            /// fd is put back in blocking mode first, so the child that
            /// inherits it sees std's blocking pipe.
            fn from(handle: $t) -> ::std::process::Stdio {
                ::std::process::Stdio::from(::std::os::fd::OwnedFd::from(handle))
            }
        }

        impl ::std::fmt::Debug for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($t)).field("fd", &self.pipe.raw_fd()).finish()
            }
        }
    };
}

pipe_handle!(
    /// The parent's end of a child's stdin: std's
    /// [`ChildStdin`](std::process::ChildStdin), whose writes park the
    /// calling coroutine while the pipe is full (a plain thread blocks).
    ///
    /// Dropping it closes the pipe, so the child reads an end of file.
    ChildStdin,
    ::std::process::ChildStdin
);

pipe_handle!(
    /// The parent's end of a child's stdout: std's
    /// [`ChildStdout`](std::process::ChildStdout), whose reads park the
    /// calling coroutine until the child writes (a plain thread blocks).
    ChildStdout,
    ::std::process::ChildStdout
);

pipe_handle!(
    /// The parent's end of a child's stderr: std's
    /// [`ChildStderr`](std::process::ChildStderr), whose reads park the
    /// calling coroutine until the child writes (a plain thread blocks).
    ChildStderr,
    ::std::process::ChildStderr
);

impl Write for ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pipe.write(buf, None)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pipe.write(buf, None)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for ChildStdout {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.pipe.read(buf, None)
    }
}

impl Read for ChildStderr {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.pipe.read(buf, None)
    }
}
