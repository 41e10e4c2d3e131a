//! Child processes for blocking-style code: std's
//! [`std::process`] API, waiting cooperatively (gevent's
//! `gevent.subprocess`).
//!
//! `std::process::Child::wait`, `Command::output` and reads from a child's
//! pipes block the thread, and with it every coroutine of its hub. The
//! types here have std's names, methods and errors, but a wait parks only
//! the calling coroutine; on a plain thread it blocks the thread, as std
//! does. Change the `use` line, keep the code:
//!
//! ```
//! use std::io::{Read, Write};
//! use verde_runtime::process::{Command, Stdio};
//!
//! // Two children run at once; each wait parks only its coroutine.
//! let sorter = verde_runtime::spawn(|| {
//!     let mut child = Command::new("sort").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
//!     child.stdin.take().unwrap().write_all(b"b\na\n")?;
//!     let mut sorted = String::new();
//!     child.stdout.take().unwrap().read_to_string(&mut sorted)?;
//!     child.wait()?;
//!     Ok::<_, std::io::Error>(sorted)
//! });
//! let out = Command::new("sh").args(["-c", "sleep 0.05; echo done"]).output()?;
//! assert_eq!(out.stdout, b"done\n");
//! assert_eq!(sorter.join().unwrap()?, "a\nb\n");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # What it has
//!
//! * [`Command`]: std's builder (`arg`, `env`, `current_dir`, `stdin`,
//!   ..., `spawn`, `output`, `status`, the getters), made from or turned
//!   into a std `Command`. The Unix extensions (`uid`, `pre_exec`,
//!   `process_group`, ...) are there as methods or through
//!   [`Command::as_std_mut`].
//! * [`Child`]: std's fields (`stdin`, `stdout`, `stderr`) and methods
//!   (`id`, `kill`, `wait`, `try_wait`, `wait_with_output`), plus
//!   [`Child::wait_timeout`] (gevent's `Popen.wait(timeout)`); made from a
//!   child std spawned too.
//! * [`ChildStdin`], [`ChildStdout`], [`ChildStderr`]: `Write` or `Read`
//!   that park on a full or empty pipe; `Stdio::from(child.stdout.take()
//!   .unwrap())` pipes one child into another, as with std.
//! * std's [`Stdio`], [`ExitStatus`], [`Output`], [`ExitCode`] and the
//!   rest, re-exported, so whole `use std::process::{...}` lines switch.
//!
//! # How waiting works
//!
//! * **Exit.** A pidfd (`pidfd_open(2)`, Linux 5.3 and later) turns
//!   readable when the child exits; the waiter parks on it like on a
//!   socket, then std's `try_wait` reaps the child, once. Where the kernel
//!   refuses pidfds (`ENOSYS` on older kernels, `EPERM` under some seccomp
//!   filters), a [`blocking`](crate::blocking) pool thread waits for the
//!   exit instead (`waitid` with `WNOWAIT`), one per waited-on child, until
//!   that child exits. Setting `VERDE_PROCESS_NO_PIDFD=1` (read once, at
//!   the first wait) forces that path, to test it.
//! * **Pipes.** The parent's end of each pipe is non-blocking (the child's
//!   end is left as it was); reads and writes park on `EAGAIN`. Handing
//!   one to another child, or taking its fd, puts it back in blocking mode.
//! * **Output.** [`Command::output`] and [`Child::wait_with_output`] read
//!   stdout and stderr at the same time (stderr in a helper coroutine), so
//!   a child that writes more than a pipe holds to both cannot deadlock.
//! * **Interrupts.** A kill or [`Timeout`](crate::Timeout) interrupts
//!   every wait: for the exit, a pipe read, a pipe write. The child keeps
//!   running, as it does with std when the waiting thread goes away.
//!
//! # Differences from std and gevent
//!
//! * Dropping a [`Child`] neither kills nor waits for it (std's rule, not
//!   gevent's, whose `Popen` reaps in the background): an exited child
//!   nobody waits for stays a zombie until this process ends.
//! * std's `CommandExt` is sealed, so the Unix extensions are inherent
//!   methods (or [`Command::as_std_mut`]), not the trait.
//! * gevent's `communicate(input, timeout)`, `check_output` and
//!   `check_call` are not here: write stdin from one coroutine while
//!   [`Child::wait_with_output`] runs in another, and check
//!   `status.success()`; bound any of it with a [`Timeout`](crate::Timeout).

mod child;
mod child_stdio;
mod command;
mod exit;
mod output;
mod pipe;

pub use child::Child;
pub use child_stdio::{ChildStderr, ChildStdin, ChildStdout};
pub use command::Command;
pub use std::process::{abort, exit, id, CommandArgs, CommandEnvs, ExitCode, ExitStatus, Output, Stdio, Termination};
