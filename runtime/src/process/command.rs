//! [`Command`]: std's process builder, whose `output` and `status` park.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::Path;
use std::process::{CommandArgs, CommandEnvs, ExitStatus, Output, Stdio};

use super::Child;

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

    /// What the stream is when nobody set it: std's defaults for
    /// [`Command::output`] (no input, both outputs captured) or for
    /// [`Command::spawn`] and [`Command::status`] (all inherited).
    fn default_for(self, capture: bool) -> Stdio {
        match (self, capture) {
            (_, false) => Stdio::inherit(),
            (Stream::Stdin, true) => Stdio::null(),
            (_, true) => Stdio::piped(),
        }
    }
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
        self.fill_in_defaults(false);
        self.inner.spawn().map(Child::from)
    }

    /// Runs the child to its end and collects its output (std's
    /// [`output`](std::process::Command::output)): by default stdin is
    /// empty and stdout and stderr are captured, read both at once (see
    /// [`Child::wait_with_output`]).
    pub fn output(&mut self) -> io::Result<Output> {
        self.fill_in_defaults(true);
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
        self.fill_in_defaults(false);
        std::os::unix::process::CommandExt::exec(&mut self.inner)
    }

    /// Gives each stream the user did not set the default for `output`
    /// (`capture`) or for the other ways to start the child.
    fn fill_in_defaults(&mut self, capture: bool) {
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
                set_stream(&mut self.inner, stream, stream.default_for(capture));
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
