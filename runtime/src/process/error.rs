//! The errors gevent's `subprocess` raises, as payloads of an
//! [`io::Error`]: [`CalledProcessError`] (a child that failed) and
//! [`CommunicateTimeout`] (a [`Child::communicate`](super::Child::communicate)
//! that ran out of time).
//!
//! Both keep what the child wrote, so a caller that gives up on the child
//! still has its output. Get one back with
//! `err.get_ref().and_then(|e| e.downcast_ref::<T>())`, or take it with
//! `err.into_inner().and_then(|e| e.downcast::<T>().ok())`.

use std::error::Error;
use std::ffi::OsString;
use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Output};
use std::time::Duration;

/// A child exited with a nonzero code or was killed by a signal: the
/// payload of the error of kind [`Other`](std::io::ErrorKind::Other) that
/// [`Command::check_output`](super::Command::check_output) and
/// [`Command::check_status`](super::Command::check_status) return (gevent's
/// `subprocess.CalledProcessError`).
///
/// It shows as Python's message: `Command 'false' returned non-zero exit
/// status 1.`, or `Command 'sleep 60' died with signal 9.`
///
/// ```
/// use verde_runtime::process::{CalledProcessError, Command, Stdio};
///
/// let err = Command::new("sh").args(["-c", "echo oops >&2; exit 3"]).stderr(Stdio::piped()).check_output().unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::Other);
/// assert_eq!(err.to_string(), "Command 'sh -c echo oops >&2; exit 3' returned non-zero exit status 3.");
/// let failed = err.get_ref().and_then(|e| e.downcast_ref::<CalledProcessError>()).unwrap();
/// assert_eq!(failed.status.code(), Some(3));
/// assert_eq!(failed.program, "sh");
/// assert_eq!(failed.stderr, b"oops\n");
/// ```
#[non_exhaustive]
pub struct CalledProcessError {
    /// How the child ended (Python's `returncode`).
    pub status: ExitStatus,
    /// The program that ran.
    pub program: OsString,
    /// Its arguments, without the program (with `program`, Python's `cmd`).
    pub args: Vec<OsString>,
    /// What the child wrote to stdout, if it was captured (Python's
    /// `output`); empty otherwise.
    pub stdout: Vec<u8>,
    /// What the child wrote to stderr, if it was captured; empty otherwise.
    pub stderr: Vec<u8>,
}

impl CalledProcessError {
    /// The error for `program` run with `args`, which ended as `output`
    /// tells.
    pub(super) fn new(program: OsString, args: Vec<OsString>, output: Output) -> CalledProcessError {
        let Output { status, stdout, stderr } = output;
        CalledProcessError { status, program, args, stdout, stderr }
    }
}

impl fmt::Display for CalledProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut command = self.program.to_string_lossy().into_owned();
        for arg in &self.args {
            command.push(' ');
            command.push_str(&arg.to_string_lossy());
        }
        match (self.status.code(), self.status.signal()) {
            (Some(code), _) => write!(f, "Command '{command}' returned non-zero exit status {code}."),
            (None, Some(signal)) => write!(f, "Command '{command}' died with signal {signal}."),
            (None, None) => write!(f, "Command '{command}' failed with {}.", self.status),
        }
    }
}

impl fmt::Debug for CalledProcessError {
    /// The fields, with the output shown as (lossy) text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CalledProcessError")
            .field("status", &self.status)
            .field("program", &self.program)
            .field("args", &self.args)
            .field("stdout", &String::from_utf8_lossy(&self.stdout))
            .field("stderr", &String::from_utf8_lossy(&self.stderr))
            .finish()
    }
}

impl Error for CalledProcessError {}

/// A [`Child::communicate`](super::Child::communicate) ran out of time: the
/// payload of its error of kind [`TimedOut`](std::io::ErrorKind::TimedOut),
/// with the output read until then (gevent's `subprocess.TimeoutExpired`,
/// named apart from [`verde_runtime::TimeoutExpired`](crate::TimeoutExpired),
/// the payload of an expired [`Timeout`](crate::Timeout)).
///
/// The child keeps that output too: the next `communicate` returns it
/// again, followed by the rest. See
/// [`Child::communicate`](super::Child::communicate) for an example.
#[non_exhaustive]
pub struct CommunicateTimeout {
    /// The time the call was given (Python's `timeout`).
    pub timeout: Duration,
    /// What the child wrote to stdout so far (Python's `output`).
    pub stdout: Vec<u8>,
    /// What the child wrote to stderr so far.
    pub stderr: Vec<u8>,
}

impl fmt::Display for CommunicateTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the child process did not finish within {:?}", self.timeout)
    }
}

impl fmt::Debug for CommunicateTimeout {
    /// The fields, with the output shown as (lossy) text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommunicateTimeout")
            .field("timeout", &self.timeout)
            .field("stdout", &String::from_utf8_lossy(&self.stdout))
            .field("stderr", &String::from_utf8_lossy(&self.stderr))
            .finish()
    }
}

impl Error for CommunicateTimeout {}
