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
//!   [`Command::as_std_mut`]. gevent's checking calls are
//!   [`Command::check_output`] (`check_output`) and
//!   [`Command::check_status`] (`check_call`), and
//!   [`Command::output_timeout`] is `subprocess.run(timeout=...)`'s
//!   output, killing a child that takes too long.
//! * [`Child`]: std's fields (`stdin`, `stdout`, `stderr`) and methods
//!   (`id`, `kill`, `wait`, `try_wait`, `wait_with_output`), plus
//!   [`Child::wait_timeout`] (gevent's `Popen.wait(timeout)`) and
//!   [`Child::communicate`] (`Popen.communicate(input, timeout)`); made
//!   from a child std spawned too.
//! * [`ChildStdin`], [`ChildStdout`], [`ChildStderr`]: `Write` or `Read`
//!   that park on a full or empty pipe; `Stdio::from(child.stdout.take()
//!   .unwrap())` pipes one child into another, as with std.
//! * std's [`Stdio`], [`ExitStatus`], [`Output`], [`ExitCode`] and the
//!   rest, re-exported, so whole `use std::process::{...}` lines switch.
//! * gevent's errors, as payloads of an `io::Error`:
//!   [`CalledProcessError`] (kind `Other`) for a child that failed,
//!   [`CommunicateTimeout`] (kind `TimedOut`, Python's
//!   `subprocess.TimeoutExpired`) for a `communicate` out of time; both
//!   carry the output. `err.get_ref().and_then(|e| e.downcast_ref::<T>())`
//!   gets one:
//!
//! ```
//! use verde_runtime::process::{CalledProcessError, Command, Stdio};
//!
//! let listing = Command::new("ls").arg("/").check_output()?;
//! assert!(!listing.is_empty());
//! let err = Command::new("ls").arg("/no/such/dir").stderr(Stdio::piped()).check_output().unwrap_err();
//! let failed = err.get_ref().and_then(|e| e.downcast_ref::<CalledProcessError>()).unwrap();
//! assert!(!failed.status.success());
//! assert!(!failed.stderr.is_empty());
//! # Ok::<(), std::io::Error>(())
//! ```
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
//! * **Output.** [`Child::communicate`] writes stdin and reads stdout and
//!   stderr at the same time (stdin and stderr in helper coroutines on the
//!   caller's hub), so a child that writes more than a pipe holds to both
//!   before it reads its input cannot deadlock; [`Command::output`],
//!   [`Child::wait_with_output`] and the checking calls are built on it.
//!   Out of time, it keeps what it moved in the [`Child`] for the next
//!   call; interrupted, too.
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
//! * As in Python, a `communicate` out of time does not kill the child:
//!   call it again to go on, or [`Child::kill`] first (only
//!   [`Command::output_timeout`] kills, as `subprocess.run` does).
//!   Python's `TimeoutExpired` is named [`CommunicateTimeout`] here, apart
//!   from [`TimeoutExpired`](crate::TimeoutExpired), the payload of an
//!   expired [`Timeout`](crate::Timeout).
//! * A stream not piped comes back from `communicate` as an empty
//!   `Vec`, not Python's `None`; input for a stdin that is not piped is an
//!   `InvalidInput` error, where Python drops it.
//! * `check_output` gets Python's defaults for unset streams (stdout
//!   captured, stdin and stderr inherited), not `output`'s; pipe stderr to
//!   have it in the [`CalledProcessError`].

mod child;
mod child_stdio;
mod command;
mod communicate;
mod error;
mod exit;
mod pipe;

pub use child::Child;
pub use child_stdio::{ChildStderr, ChildStdin, ChildStdout};
pub use command::Command;
pub use error::{CalledProcessError, CommunicateTimeout};
pub use std::process::{abort, exit, id, CommandArgs, CommandEnvs, ExitCode, ExitStatus, Output, Stdio, Termination};
