//! [`Command`]: std's process builder, whose `output` and `status` park.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::Path;
use std::process::{CommandArgs, CommandEnvs, ExitStatus, Output, Stdio};
use std::time::Duration;

use super::{CalledProcessError, Child};

/// The three standard streams, as indexes into [`Command::origins`].
#[derive(Clone, Copy)]
enum Stream {
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
}

impl Stream {
    const ALL: [Stream; 3] = [Stream::Stdin, Stream::Stdout, Stream::Stderr];

    fn name(self) -> &'static str {
        match self {
            Stream::Stdin => "stdin",
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    /// What the stream is when nobody set it, for a way of starting the
    /// child.
    fn default_for(self, start: Start) -> Stdio {
        match (start, self) {
            (Start::Output, Stream::Stdin) => Stdio::null(),
            (Start::Output, _) | (Start::CheckOutput, Stream::Stdout) => Stdio::piped(),
            _ => Stdio::inherit(),
        }
    }
}

/// A way of starting the child, each with its defaults for the streams
/// nobody set.
#[derive(Clone, Copy)]
enum Start {
    /// [`Command::spawn`], [`Command::status`] and the calls built on them:
    /// all three inherited (std's).
    Spawn,
    /// [`Command::output`]: no stdin, stdout and stderr captured (std's).
    Output,
    /// [`Command::check_output`]: stdout captured, stdin and stderr
    /// inherited (Python's).
    CheckOutput,
}

/// A process builder: std's [`Command`](std::process::Command), whose
/// [`output`](Self::output) and [`status`](Self::status) park the calling
/// coroutine instead of blocking its hub, and whose [`spawn`](Self::spawn)
/// returns a cooperative [`Child`].
///
/// ```
/// use verde_runtime::process::Command;
///
/// let out = Command::new("sh").arg("-c").arg("echo $GREETING").env("GREETING", "hi").output()?;
/// assert!(out.status.success());
/// assert_eq!(out.stdout, b"hi\n");
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Unix extensions
///
/// std's [`CommandExt`](std::os::unix::process::CommandExt) cannot be
/// implemented outside std. [`uid`](Self::uid), [`gid`](Self::gid),
/// [`process_group`](Self::process_group), [`arg0`](Self::arg0),
/// [`pre_exec`](Self::pre_exec) and [`exec`](Self::exec) are methods of
/// their own here, so calls keep compiling; for the rest use
/// [`as_std_mut`](Self::as_std_mut).
///
/// # Standard streams
///
/// Streams left unset get std's defaults: inherited for `spawn` and
/// `status`; for `output`, no stdin and captured stdout and stderr. A
/// [`From<std::process::Command>`](#impl-From%3CCommand%3E-for-Command)
/// command keeps what was set on it (verde reads that from std's `{:#?}`
/// form, the only place std shows it). Set streams through this type's
/// [`stdin`](Self::stdin), [`stdout`](Self::stdout) and
/// [`stderr`](Self::stderr) rather than through
/// [`as_std_mut`](Self::as_std_mut) after a call to `output`, which may
/// have filled in its defaults.
pub struct Command {
    inner: std::process::Command,
    /// Who chose each stream's setting in `inner`.
    origins: [Origin; 3],
}

/// Who chose a stream's setting in a std command.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Nobody, or verde as a default for how the child was last started.
    Default,
    /// The user, through [`Command::stdin`] and its siblings.
    User,
    /// Not known yet: the command came from std.
    Unknown,
}

impl Command {
    /// A command that runs `program` (a path, or a name looked up in
    /// `PATH`), with no arguments, the parent's environment and working
    /// directory, as std's [`new`](std::process::Command::new).
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command { inner: std::process::Command::new(program), origins: [Origin::Default; 3] }
    }

    /// Adds an argument (std's [`arg`](std::process::Command::arg)).
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.inner.arg(arg);
        self
    }

    /// Adds arguments (std's [`args`](std::process::Command::args)).
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.inner.args(args);
        self
    }

    /// Sets an environment variable for the child (std's
    /// [`env`](std::process::Command::env)).
    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.inner.env(key, val);
        self
    }

    /// Sets several environment variables (std's
    /// [`envs`](std::process::Command::envs)).
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.inner.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment (std's
    /// [`env_remove`](std::process::Command::env_remove)).
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.inner.env_remove(key);
        self
    }

    /// Starts the child with an empty environment plus what
    /// [`env`](Self::env) adds (std's
    /// [`env_clear`](std::process::Command::env_clear)).
    pub fn env_clear(&mut self) -> &mut Command {
        self.inner.env_clear();
        self
    }

    /// Sets the child's working directory (std's
    /// [`current_dir`](std::process::Command::current_dir)).
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.inner.current_dir(dir);
        self
    }

    /// Sets the child's stdin (std's [`stdin`](std::process::Command::stdin)).
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stdin(cfg);
        self.origins[Stream::Stdin as usize] = Origin::User;
        self
    }

    /// Sets the child's stdout (std's
    /// [`stdout`](std::process::Command::stdout)).
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stdout(cfg);
        self.origins[Stream::Stdout as usize] = Origin::User;
        self
    }

    /// Sets the child's stderr (std's
    /// [`stderr`](std::process::Command::stderr)).
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stderr(cfg);
        self.origins[Stream::Stderr as usize] = Origin::User;
        self
    }

    /// Starts the child (std's [`spawn`](std::process::Command::spawn));
    /// unset streams are inherited. A program that cannot be found is an
    /// error of kind `NotFound`, as with std.
    ///
    /// Starting a process does not wait for it; std's spawn returns once
    /// the child has executed the program (or failed to), which takes
    /// little time and is not a park point.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use verde_runtime::process::Command;
    ///
    /// let err = Command::new("/no/such/program").spawn().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NotFound);
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        self.fill_in_defaults(Start::Spawn);
        self.inner.spawn().map(Child::from)
    }

    /// Runs the child to its end and collects its output (std's
    /// [`output`](std::process::Command::output)): by default stdin is
    /// empty and stdout and stderr are captured, read both at once (see
    /// [`Child::wait_with_output`]).
    pub fn output(&mut self) -> io::Result<Output> {
        self.fill_in_defaults(Start::Output);
        self.inner.spawn().map(Child::from)?.wait_with_output()
    }

    /// Runs the child to its end and returns its exit status (std's
    /// [`status`](std::process::Command::status)); unset streams are
    /// inherited.
    ///
    /// ```
    /// let status = verde_runtime::process::Command::new("false").status()?;
    /// assert_eq!(status.code(), Some(1));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait()
    }

    /// Like [`output`](Self::output), but the child must get done within
    /// `timeout` (Python's `subprocess.run(timeout=...)`). If it does not,
    /// it is killed and reaped, and the error is of kind
    /// [`TimedOut`](io::ErrorKind::TimedOut) with a
    /// [`CommunicateTimeout`](super::CommunicateTimeout) holding the output
    /// read until then. A kill or a [`Timeout`](crate::Timeout) of the
    /// caller, on the other hand, leaves the child running, as with
    /// `output`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verde_runtime::process::Command;
    ///
    /// let out = Command::new("echo").arg("quick").output_timeout(Duration::from_secs(60))?;
    /// assert_eq!(out.stdout, b"quick\n");
    /// let err = Command::new("sleep").arg("60").output_timeout(Duration::from_millis(50)).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn output_timeout(&mut self, timeout: Duration) -> io::Result<Output> {
        self.fill_in_defaults(Start::Output);
        let mut child = self.inner.spawn().map(Child::from)?;
        match child.communicate(None, Some(timeout)) {
            Ok((stdout, stderr)) => Ok(Output { status: child.wait()?, stdout, stderr }),
            Err(e) => {
                if e.kind() == io::ErrorKind::TimedOut {
                    child.kill()?;
                    child.wait()?;
                }
                Err(e)
            }
        }
    }

    /// Runs the child to its end and returns its stdout, or an error if it
    /// did not exit with status 0 (gevent's `subprocess.check_output`).
    ///
    /// Streams left unset are Python's: stdout is captured, stdin and
    /// stderr are inherited (where [`output`](Self::output) gives no stdin
    /// and captures stderr). Set [`stderr`](Self::stderr) to
    /// [`Stdio::piped()`] to have the child's stderr in the error; on
    /// success it is dropped.
    ///
    /// # Errors
    ///
    /// Those of [`output`](Self::output), and for a child that exits with
    /// a nonzero code or is killed by a signal, an error of kind
    /// [`Other`](io::ErrorKind::Other) whose payload is a
    /// [`CalledProcessError`] with the exit status, the command and the
    /// captured output:
    ///
    /// ```
    /// use verde_runtime::process::{CalledProcessError, Command};
    ///
    /// assert_eq!(Command::new("echo").arg("hi").check_output()?, b"hi\n");
    ///
    /// let err = Command::new("sh").args(["-c", "echo partial; exit 2"]).check_output().unwrap_err();
    /// let failed = err.get_ref().and_then(|e| e.downcast_ref::<CalledProcessError>()).unwrap();
    /// assert_eq!(failed.status.code(), Some(2));
    /// assert_eq!(failed.stdout, b"partial\n");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn check_output(&mut self) -> io::Result<Vec<u8>> {
        self.fill_in_defaults(Start::CheckOutput);
        let output = self.inner.spawn().map(Child::from)?.wait_with_output()?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(self.failure(output))
        }
    }

    /// Runs the child to its end, as [`status`](Self::status) does, and
    /// fails unless it exited with status 0 (gevent's
    /// `subprocess.check_call`: gevent's `call` is std's `status`, so its
    /// checking form is `check_status`). Streams left unset are inherited.
    ///
    /// # Errors
    ///
    /// Those of [`status`](Self::status), and for a child that exits with
    /// a nonzero code or is killed by a signal, an error of kind
    /// [`Other`](io::ErrorKind::Other) whose payload is a
    /// [`CalledProcessError`] (with empty `stdout` and `stderr`: nothing
    /// is captured).
    ///
    /// ```
    /// use verde_runtime::process::{CalledProcessError, Command};
    ///
    /// Command::new("true").check_status()?;
    /// let err = Command::new("false").check_status().unwrap_err();
    /// assert_eq!(err.to_string(), "Command 'false' returned non-zero exit status 1.");
    /// assert!(err.get_ref().and_then(|e| e.downcast_ref::<CalledProcessError>()).is_some());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn check_status(&mut self) -> io::Result<()> {
        let status = self.status()?;
        if status.success() {
            Ok(())
        } else {
            Err(self.failure(Output { status, stdout: Vec::new(), stderr: Vec::new() }))
        }
    }

    /// The error for this command having ended as `output` tells.
    fn failure(&self, output: Output) -> io::Error {
        let args = self.get_args().map(OsStr::to_os_string).collect();
        io::Error::other(CalledProcessError::new(self.get_program().to_os_string(), args, output))
    }

    /// The program (std's [`get_program`](std::process::Command::get_program)).
    pub fn get_program(&self) -> &OsStr {
        self.inner.get_program()
    }

    /// The arguments, without the program (std's
    /// [`get_args`](std::process::Command::get_args)).
    pub fn get_args(&self) -> CommandArgs<'_> {
        self.inner.get_args()
    }

    /// The environment changes set on this command, `None` for a removal
    /// (std's [`get_envs`](std::process::Command::get_envs)).
    pub fn get_envs(&self) -> CommandEnvs<'_> {
        self.inner.get_envs()
    }

    /// The working directory, if one was set (std's
    /// [`get_current_dir`](std::process::Command::get_current_dir)).
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.inner.get_current_dir()
    }

    /// The std command inside, for reading what the accessors above do not
    /// show.
    pub fn as_std(&self) -> &std::process::Command {
        &self.inner
    }

    /// The std command inside, for std's
    /// [`CommandExt`](std::os::unix::process::CommandExt) and other
    /// extensions (see the [type's docs](Self)).
    ///
    /// ```
    /// use std::os::unix::process::CommandExt;
    /// use verde_runtime::process::Command;
    ///
    /// let mut cmd = Command::new("true");
    /// cmd.as_std_mut().process_group(0);
    /// assert!(cmd.status()?.success());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.inner
    }

    /// Sets the child's user id (std's
    /// [`CommandExt::uid`](std::os::unix::process::CommandExt::uid)).
    pub fn uid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::uid(&mut self.inner, id);
        self
    }

    /// Sets the child's group id (std's
    /// [`CommandExt::gid`](std::os::unix::process::CommandExt::gid)).
    pub fn gid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::gid(&mut self.inner, id);
        self
    }

    /// Puts the child in process group `pgroup`, 0 for a new one (std's
    /// [`CommandExt::process_group`](std::os::unix::process::CommandExt::process_group)).
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        std::os::unix::process::CommandExt::process_group(&mut self.inner, pgroup);
        self
    }

    /// Sets the child's `argv[0]` (std's
    /// [`CommandExt::arg0`](std::os::unix::process::CommandExt::arg0)).
    pub fn arg0<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        std::os::unix::process::CommandExt::arg0(&mut self.inner, arg);
        self
    }

    /// Runs `f` in the child between `fork` and `exec` (std's
    /// [`CommandExt::pre_exec`](std::os::unix::process::CommandExt::pre_exec)).
    ///
    /// # Safety
    ///
    /// As for std's: `f` runs in a forked copy of a possibly multithreaded
    /// process and may only do what is safe there (async-signal-safe
    /// calls; no allocation, no locks, no verde calls).
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: the caller upholds std's contract for `f`, stated above.
        unsafe { std::os::unix::process::CommandExt::pre_exec(&mut self.inner, f) };
        self
    }

    /// Replaces this process with the command (std's
    /// [`CommandExt::exec`](std::os::unix::process::CommandExt::exec));
    /// returns only on failure. Unset streams are inherited.
    pub fn exec(&mut self) -> io::Error {
        self.fill_in_defaults(Start::Spawn);
        std::os::unix::process::CommandExt::exec(&mut self.inner)
    }

    /// Gives each stream the user did not set its default for `start`.
    fn fill_in_defaults(&mut self, start: Start) {
        if self.origins.contains(&Origin::Unknown) {
            let shown = format!("{:#?}", self.inner);
            for stream in Stream::ALL {
                let origin = &mut self.origins[stream as usize];
                if *origin == Origin::Unknown {
                    let set = shown.contains(&format!("\n    {}: Some(", stream.name()));
                    *origin = if set { Origin::User } else { Origin::Default };
                }
            }
        }
        for stream in Stream::ALL {
            if self.origins[stream as usize] == Origin::Default {
                set_stream(&mut self.inner, stream, stream.default_for(start));
            }
        }
    }
}

fn set_stream(cmd: &mut std::process::Command, stream: Stream, cfg: Stdio) {
    match stream {
        Stream::Stdin => cmd.stdin(cfg),
        Stream::Stdout => cmd.stdout(cfg),
        Stream::Stderr => cmd.stderr(cfg),
    };
}

impl From<std::process::Command> for Command {
    /// Wraps a std command, keeping everything set on it.
    fn from(inner: std::process::Command) -> Command {
        Command { inner, origins: [Origin::Unknown; 3] }
    }
}

impl From<Command> for std::process::Command {
    /// The std command inside. A stream this command left unset but
    /// started a child with has the default of that start filled in.
    fn from(cmd: Command) -> std::process::Command {
        cmd.inner
    }
}

impl fmt::Debug for Command {
    /// std's form: the program and its arguments (`{:#?}` shows more).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}
