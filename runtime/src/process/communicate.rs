//! Moving data through a child's three pipes at once: the engine of
//! [`Child::communicate`](super::Child::communicate) and
//! [`Child::wait_with_output`](super::Child::wait_with_output).
//!
//! A child blocks once a pipe's buffer (64 KiB on Linux) is full. Writing
//! all its input before reading, or reading one output to its end before
//! the other, would deadlock with a child that fills the other pipe
//! meanwhile. So each pipe is served by a coroutine of its own: the caller
//! reads stdout, helper coroutines on its hub write stdin and read stderr
//! (no OS thread), and all three move data as the child does.
//!
//! What has moved lives in an [`Exchange`] that the child keeps between
//! calls: the output read so far, the input not yet written and the pipes
//! not yet finished. A call whose deadline passes leaves it there for the
//! next call. A helper's part comes back to it even when the helper is
//! killed because its caller was (a kill or a [`Timeout`](crate::Timeout)),
//! so nothing read is lost.

use std::io::{self, ErrorKind, Read};
use std::mem;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::pipe::Pipe;
use super::{ChildStderr, ChildStdin, ChildStdout};
use crate::sync::state_mutex::{lock, StateMutex};
use crate::{Builder, JoinHandle};

/// Everything a communication with a child has moved so far, and the
/// pipes it still has to finish.
#[derive(Debug, Default)]
pub(super) struct Exchange {
    stdin: Feed,
    stdout: Drain,
    stderr: Drain,
}

impl Exchange {
    /// Takes over the child's pipes: `input` is to go to stdin, which is
    /// closed at once if there is no input.
    pub(super) fn new(
        stdin: Option<ChildStdin>,
        stdout: Option<ChildStdout>,
        stderr: Option<ChildStderr>,
        input: &[u8],
    ) -> Exchange {
        let stdin = match stdin {
            Some(pipe) if !input.is_empty() => Feed { pipe: Some(pipe.into_pipe()), input: input.to_vec(), written: 0 },
            _ => Feed::default(),
        };
        Exchange {
            stdin,
            stdout: Drain { pipe: stdout.map(ChildStdout::into_pipe), buf: Vec::new() },
            stderr: Drain { pipe: stderr.map(ChildStderr::into_pipe), buf: Vec::new() },
        }
    }

    /// Closes stdin, giving up on the input not written yet.
    pub(super) fn close_stdin(&mut self) {
        self.stdin = Feed::default();
    }

    /// Moves data until every pipe is finished (`Ok(true)`: all input
    /// written or refused, both outputs read to their ends) or `deadline`
    /// passes (`Ok(false)`). Stdout is served by the caller, stdin and
    /// stderr by helper coroutines.
    pub(super) fn run(&mut self, deadline: Option<Instant>) -> io::Result<bool> {
        let Exchange { stdin, stdout, stderr } = self;
        let feeder = Helper::start(stdin, "verde-process-stdin", deadline)?;
        let stderr_reader = Helper::start(stderr, "verde-process-stderr", deadline)?;
        stdout.run(deadline)?;
        feeder.map_or(Ok(()), Helper::finish)?;
        stderr_reader.map_or(Ok(()), Helper::finish)?;
        Ok(self.stdin.is_done() && self.stdout.is_done() && self.stderr.is_done())
    }

    /// A copy of the stdout and stderr read so far.
    pub(super) fn output(&self) -> (Vec<u8>, Vec<u8>) {
        (self.stdout.buf.clone(), self.stderr.buf.clone())
    }

    /// The stdout and stderr read.
    pub(super) fn into_output(self) -> (Vec<u8>, Vec<u8>) {
        (self.stdout.buf, self.stderr.buf)
    }
}

/// One pipe's share of an exchange, which a helper coroutine can serve.
trait Job: Default + Send + 'static {
    /// Moves data until the pipe is finished or `deadline` passes; a
    /// passed deadline is not an error.
    fn run(&mut self, deadline: Option<Instant>) -> io::Result<()>;

    /// Whether the pipe is finished (or was never there).
    fn is_done(&self) -> bool;
}

/// Writing the input to the child's stdin, then closing it.
#[derive(Debug, Default)]
struct Feed {
    /// Open until all of `input` is written or the child closed its end.
    pipe: Option<Pipe>,
    input: Vec<u8>,
    /// How much of `input` the child has been given.
    written: usize,
}

impl Job for Feed {
    fn run(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        let Some(pipe) = &self.pipe else { return Ok(()) };
        while self.written < self.input.len() {
            match pipe.write(&self.input[self.written..], deadline) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                // The child exited or closed its stdin without reading
                // everything: not an error, as in Python.
                Err(e) if e.kind() == ErrorKind::BrokenPipe => break,
                Err(e) if e.kind() == ErrorKind::TimedOut => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        *self = Feed::default();
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.pipe.is_none()
    }
}

/// Reading one of the child's outputs to its end.
#[derive(Debug, Default)]
struct Drain {
    /// Open until the end of the stream.
    pipe: Option<Pipe>,
    /// Everything read so far.
    buf: Vec<u8>,
}

impl Job for Drain {
    fn run(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        let Some(pipe) = &self.pipe else { return Ok(()) };
        // On an error, read_to_end leaves in `buf` what it read before.
        let read = ReadUntil { pipe, deadline }.read_to_end(&mut self.buf);
        match read {
            Ok(_) => self.pipe = None,
            Err(e) if e.kind() == ErrorKind::TimedOut => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.pipe.is_none()
    }
}

/// Reads that fail with `TimedOut` once `deadline` has passed.
struct ReadUntil<'a> {
    pipe: &'a Pipe,
    deadline: Option<Instant>,
}

impl Read for ReadUntil<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.pipe.read(buf, self.deadline)
    }
}

/// A [`Job`] running in a helper coroutine on the caller's hub, taken out
/// of `home` and put back there when it is over: when the helper
/// finishes, or when the caller gives up on it (an error, a kill, a
/// `Timeout`), which kills the helper first.
struct Helper<'a, J: Job> {
    home: &'a mut J,
    /// Where the helper leaves the job when it ends, however it ends.
    returned: Arc<StateMutex<Option<J>>>,
    /// `None` once joined.
    handle: Option<JoinHandle<io::Result<()>>>,
}

impl<'a, J: Job> Helper<'a, J> {
    /// Starts a helper named `name` on the job in `home`, unless that job
    /// is done already.
    fn start(home: &'a mut J, name: &str, deadline: Option<Instant>) -> io::Result<Option<Helper<'a, J>>> {
        if home.is_done() {
            return Ok(None);
        }
        let returned = Arc::new(StateMutex::new(None));
        let job = ReturnOnDrop { job: mem::take(home), to: Arc::clone(&returned) };
        let mut helper = Helper { home, returned, handle: None };
        // If the spawn fails, the closure is dropped and with it `job`,
        // which the helper's own drop then puts back.
        let handle = Builder::new().name(name.into()).spawn(move || {
            let mut job = job;
            job.job.run(deadline)
        })?;
        helper.handle = Some(handle);
        Ok(Some(helper))
    }

    /// Waits for the helper to finish its job and returns how it went.
    fn finish(mut self) -> io::Result<()> {
        let running = self.handle.as_ref().expect("a started helper is joined once");
        // Waited for with the handle kept, so that a kill or a Timeout
        // interrupting the wait still kills the helper (in `drop`).
        while !running.wait_timeout(Duration::MAX) {}
        let handle = self.handle.take().expect("a started helper is joined once");
        match handle.join() {
            Ok(result) => result,
            Err(payload) => crate::resume_unwind(payload),
        }
    }
}

impl<J: Job> Drop for Helper<'_, J> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.kill();
        }
        if let Some(job) = lock(&self.returned).take() {
            *self.home = job;
        }
    }
}

/// A job that leaves itself in `to` when dropped: at the end of its
/// helper, whether the helper returned, failed or was killed.
struct ReturnOnDrop<J: Job> {
    job: J,
    to: Arc<StateMutex<Option<J>>>,
}

impl<J: Job> Drop for ReturnOnDrop<J> {
    fn drop(&mut self) {
        *lock(&self.to) = Some(mem::take(&mut self.job));
    }
}
