//! Reading a child's stdout and stderr to their ends at the same time.
//!
//! A child blocks once a pipe's buffer (64 KiB on Linux) is full. Reading
//! one pipe to its end before the other would deadlock with a child that
//! fills the other one meanwhile, so stderr is read by a helper coroutine
//! on the caller's hub while the caller reads stdout: no OS thread, and
//! both pipes drain as data comes.

use std::io::{self, Read};

use super::{ChildStderr, ChildStdout};
use crate::{Builder, JoinHandle};

/// Everything the child writes to `stdout` and `stderr` until it closes
/// them; a missing pipe reads as empty. If the caller is killed or times
/// out, the helper is killed too and both pipes are closed.
pub(super) fn read_both(stdout: Option<ChildStdout>, stderr: Option<ChildStderr>) -> io::Result<(Vec<u8>, Vec<u8>)> {
    match (stdout, stderr) {
        (Some(out), Some(err)) => {
            let helper = Builder::new().name("verde-process-stderr".into()).spawn(move || read_all(err))?;
            let helper = KillOnDrop(Some(helper));
            let out = read_all(out)?;
            let err = match helper.join() {
                Ok(result) => result?,
                Err(payload) => crate::resume_unwind(payload),
            };
            Ok((out, err))
        }
        (out, err) => Ok((read_all_opt(out)?, read_all_opt(err)?)),
    }
}

fn read_all(mut pipe: impl Read) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    pipe.read_to_end(&mut buf)?;
    Ok(buf)
}

fn read_all_opt(pipe: Option<impl Read>) -> io::Result<Vec<u8>> {
    pipe.map_or_else(|| Ok(Vec::new()), read_all)
}

/// Kills the helper coroutine unless it was joined: the caller gave up (an
/// error, a kill, a timeout), so nobody will read what it collects.
struct KillOnDrop<T>(Option<JoinHandle<T>>);

impl<T> KillOnDrop<T> {
    fn join(mut self) -> std::thread::Result<T> {
        self.0.take().expect("joined once").join()
    }
}

impl<T> Drop for KillOnDrop<T> {
    fn drop(&mut self) {
        if let Some(helper) = self.0.take() {
            helper.kill();
        }
    }
}
