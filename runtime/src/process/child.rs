//! [`Child`]: std's running child process, waited on cooperatively.

use std::fmt;
use std::io;
use std::process::{ExitStatus, Output};
use std::time::{Duration, Instant};

use super::communicate::Exchange;
use super::exit::ExitWatch;
use super::{ChildStderr, ChildStdin, ChildStdout, CommunicateTimeout};

/// A running or exited child process: std's
/// [`Child`](std::process::Child), whose waits park the calling coroutine
/// instead of blocking its hub (a plain thread blocks, as with std).
///
/// Made by [`Command::spawn`](super::Command::spawn), or from a child std
/// spawned ([`From<std::process::Child>`](#impl-From%3CChild%3E-for-Child)).
///
/// A kill or a [`Timeout`](crate::Timeout) interrupts every wait (for the
/// exit, a pipe read, a pipe write); the child keeps running, as it does
/// with std when the waiting thread goes away.
///
/// # Dropping
///
/// As with std, dropping a `Child` neither kills it nor waits for it: it
/// keeps running, and once it exits it stays a zombie (its process table
/// entry held for its status) until this process ends, since nothing is
/// left to reap it. Call [`wait`](Self::wait) (after [`kill`](Self::kill)
/// if need be) to release it.
pub struct Child {
    /// The parent's end of the child's stdin, if it was
    /// [`piped`](std::process::Stdio::piped). Take it (`child.stdin.take()`)
    /// to write while also waiting or reading.
    pub stdin: Option<ChildStdin>,
    /// The parent's end of the child's stdout, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The parent's end of the child's stderr, if it was piped.
    pub stderr: Option<ChildStderr>,
    /// std's child, with its pipes taken out: it kills and reaps.
    inner: std::process::Child,
    /// Made on the first wait that has to wait.
    watch: Option<ExitWatch>,
    /// What [`communicate`](Self::communicate) has moved so far, from its
    /// first call until one returns the output.
    exchange: Option<Exchange>,
}

impl Child {
    /// The child's process id (std's [`id`](std::process::Child::id)).
    ///
    /// ```
    /// let mut child = verde_runtime::process::Command::new("true").spawn().unwrap();
    /// assert!(child.id() > 0);
    /// child.wait().unwrap();
    /// ```
    pub fn id(&self) -> u32 {
        self.inner.id()
    }

    /// Sends `SIGKILL` to the child, as std's
    /// [`kill`](std::process::Child::kill) does; it does not wait. A child
    /// that has exited already is not an error.
    pub fn kill(&mut self) -> io::Result<()> {
        self.inner.kill()
    }

    /// Waits for the child to exit and returns its status, parking the
    /// calling coroutine meanwhile. As with std, the child's stdin is
    /// closed first, so a child that reads to the end of its input can
    /// finish; once it has exited, later calls return the same status.
    ///
    /// ```
    /// let status = verde_runtime::process::Command::new("sh").args(["-c", "exit 3"]).spawn()?.wait()?;
    /// assert_eq!(status.code(), Some(3));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        self.close_stdin();
        let status = self.wait_for_exit(None)?;
        Ok(status.expect("a wait with no time limit ends with the exit status"))
    }

    /// Waits at most `timeout` for the child to exit: `Ok(Some(status))` if
    /// it has, `Ok(None)` if it is still running (gevent's
    /// `Popen.wait(timeout)`, which std lacks). Unlike
    /// [`wait`](Self::wait), it leaves the child's stdin open.
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use std::time::Duration;
    ///
    /// let mut child = verde_runtime::process::Command::new("sleep").arg("60").spawn()?;
    /// assert!(child.wait_timeout(Duration::from_millis(10))?.is_none());
    /// child.kill()?;
    /// let status = child.wait_timeout(Duration::from_secs(60))?.unwrap();
    /// assert_eq!(status.signal(), Some(libc::SIGKILL));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        self.wait_for_exit(Some(timeout))
    }

    /// The exit status if the child has exited, `None` if it is still
    /// running; never waits (std's [`try_wait`](std::process::Child::try_wait)).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.inner.try_wait()
    }

    /// Closes stdin, reads all of stdout and stderr, and waits for the
    /// child to exit (std's
    /// [`wait_with_output`](std::process::Child::wait_with_output)). Both
    /// pipes are read at once, by this coroutine and a helper one, so a
    /// child that fills one pipe while the parent reads the other cannot
    /// deadlock. A stream that was not piped comes back empty.
    ///
    /// ```
    /// use verde_runtime::process::{Command, Stdio};
    ///
    /// let child = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn()?;
    /// assert_eq!(child.wait_with_output()?.stdout, b"hi\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        self.close_stdin();
        let (stdout, stderr) = self.communicate(None, None)?;
        let status = self.wait()?;
        Ok(Output { status, stdout, stderr })
    }

    /// Writes `input` to the child's stdin and closes it, reads its stdout
    /// and stderr to their ends, and waits for it to exit, all within
    /// `timeout` if one is given; returns `(stdout, stderr)` (gevent's
    /// `Popen.communicate(input, timeout)`, which std lacks).
    ///
    /// Stdin, stdout and stderr are served at once (by this coroutine and
    /// helper ones on its hub), so a child that writes a lot to both
    /// outputs before it has read all its input cannot deadlock. An output
    /// that was not [`piped`](std::process::Stdio::piped) comes back empty;
    /// without input, stdin is closed at once. A child that exits or
    /// closes its stdin without reading all the input is not an error
    /// (the `EPIPE` is ignored, as in Python).
    ///
    /// The first call takes over the pipes: `self.stdin`, `self.stdout`
    /// and `self.stderr` are `None` from then on.
    ///
    /// # Timeouts
    ///
    /// When `timeout` runs out first, the error is of kind
    /// [`TimedOut`](io::ErrorKind::TimedOut) and carries a
    /// [`CommunicateTimeout`] with the output read so far (Python's
    /// `subprocess.TimeoutExpired`). The child is **not** killed (Python's
    /// rule): call `communicate` again, without input, to go on where the
    /// first call stopped (the rest of the input is still written), or
    /// [`kill`](Self::kill) the child first. The call that finishes returns
    /// all the output, including what the timed-out calls read.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verde_runtime::process::{Command, CommunicateTimeout, Stdio};
    ///
    /// let mut child = Command::new("sh")
    ///     .args(["-c", "echo early; exec sleep 60"])
    ///     .stdout(Stdio::piped())
    ///     .spawn()?;
    /// let err = child.communicate(None, Some(Duration::from_millis(200))).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// let so_far = err.get_ref().and_then(|e| e.downcast_ref::<CommunicateTimeout>()).unwrap();
    /// assert!(b"early\n".starts_with(&so_far.stdout)); // all of it, unless the child is slow
    /// child.kill()?;
    /// let (stdout, _) = child.communicate(None, None)?;
    /// assert_eq!(stdout, b"early\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// A kill or a [`Timeout`](crate::Timeout) interrupts the call the same
    /// way (by unwinding): what was moved stays with the child for the next
    /// call.
    ///
    /// # Errors
    ///
    /// Besides a failed read or write, an error of kind
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) if `input` is not
    /// empty but the child's stdin is not piped, or if a call after the
    /// first one gives input (as Python refuses it).
    ///
    /// ```
    /// use verde_runtime::process::{Command, Stdio};
    ///
    /// let mut child = Command::new("sort").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// let (sorted, _) = child.communicate(Some(b"b\na\n"), None)?;
    /// assert_eq!(sorted, b"a\nb\n");
    /// assert!(child.wait()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn communicate(&mut self, input: Option<&[u8]>, timeout: Option<Duration>) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let deadline = timeout.map(crate::park::deadline_after);
        let input = input.unwrap_or_default();
        let exchange = match &mut self.exchange {
            Some(_) if !input.is_empty() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "communicate: input given after the communication started",
                ))
            }
            Some(exchange) => exchange,
            None if !input.is_empty() && self.stdin.is_none() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "communicate: input given, but the child's stdin is not piped",
                ))
            }
            None => {
                self.exchange.insert(Exchange::new(self.stdin.take(), self.stdout.take(), self.stderr.take(), input))
            }
        };
        if exchange.run(deadline)? {
            let time_left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if self.wait_for_exit(time_left)?.is_some() {
                return Ok(self.exchange.take().expect("the exchange that just ran").into_output());
            }
        }
        let (stdout, stderr) = self.exchange.as_ref().expect("the exchange that just ran").output();
        let timeout = timeout.expect("only a call with a timeout runs out of time");
        Err(io::Error::new(io::ErrorKind::TimedOut, CommunicateTimeout { timeout, stdout, stderr }))
    }

    /// Closes the child's stdin, wherever it is.
    fn close_stdin(&mut self) {
        drop(self.stdin.take());
        if let Some(exchange) = &mut self.exchange {
            exchange.close_stdin();
        }
    }

    fn wait_for_exit(&mut self, timeout: Option<Duration>) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.inner.try_wait()? {
            return Ok(Some(status));
        }
        let inner = &mut self.inner;
        let watch = self.watch.get_or_insert_with(|| ExitWatch::new(inner.id()));
        watch.wait(timeout, || inner.try_wait())
    }
}

impl From<std::process::Child> for Child {
    /// Takes over a child std spawned, so it can be waited on
    /// cooperatively; its pipes become verde's.
    ///
    /// ```
    /// let std_child = std::process::Command::new("true").spawn()?;
    /// let mut child = verde_runtime::process::Child::from(std_child);
    /// assert!(child.wait()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn from(mut inner: std::process::Child) -> Child {
        Child {
            stdin: inner.stdin.take().map(ChildStdin::from),
            stdout: inner.stdout.take().map(ChildStdout::from),
            stderr: inner.stderr.take().map(ChildStderr::from),
            inner,
            watch: None,
            exchange: None,
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish_non_exhaustive()
    }
}
