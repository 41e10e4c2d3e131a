//! [`read_dir`] and [`ReadDir`]: a directory listing fetched in batches on
//! the blocking pool.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::path::Path;

use parking_lot::Mutex;

use super::offload::offload;
use super::serial::Serial;
use super::DirEntry;

/// How many entries one pool round trip fetches.
const BATCH: usize = 256;

/// The entries of a directory, as [`std::fs::read_dir`]: opening it runs
/// on the blocking pool from a coroutine, and so does each batch of
/// entries [`ReadDir`] fetches.
///
/// ```
/// let names: Vec<_> = verde_runtime::fs::read_dir("/proc/self")?
///     .map(|entry| entry.map(|e| e.file_name()))
///     .collect::<Result<_, _>>()?;
/// assert!(names.iter().any(|n| n == "stat"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_dir<P: AsRef<Path>>(path: P) -> io::Result<ReadDir> {
    let path = path.as_ref().to_owned();
    offload(move || std::fs::read_dir(path)).map(|dir| ReadDir { serial: Serial::new(Mutex::new(dir)) })
}

/// An iterator over a directory's entries, as [`std::fs::ReadDir`], in
/// no particular order, without `.` and `..`.
///
/// `next` returns an entry fetched before, or fetches the next batch (up
/// to 256 entries) on the blocking pool from a coroutine, on the calling
/// thread otherwise. A batch whose caller is killed or times out is kept
/// for the next `next`, which waits for it: no entry is skipped.
pub struct ReadDir {
    serial: Serial<Mutex<std::fs::ReadDir>, Fetched>,
}

/// Entries fetched and not returned yet.
#[derive(Default)]
struct Fetched {
    entries: VecDeque<io::Result<DirEntry>>,
    ended: bool,
}

impl Iterator for ReadDir {
    type Item = io::Result<DirEntry>;

    fn next(&mut self) -> Option<io::Result<DirEntry>> {
        let mut turn = self.serial.turn();
        if turn.leftovers.entries.is_empty() && !turn.leftovers.ended {
            let batch = turn.run(|dir| fetch(&mut dir.lock()), keep);
            keep(batch, &mut turn.leftovers);
        }
        turn.leftovers.entries.pop_front()
    }
}

/// Up to [`BATCH`] entries, ending early after an error (std's listing
/// ends after one); whether the listing ended.
fn fetch(dir: &mut std::fs::ReadDir) -> (Vec<io::Result<DirEntry>>, bool) {
    let mut entries = Vec::with_capacity(BATCH);
    while entries.len() < BATCH {
        match dir.next() {
            None => return (entries, true),
            Some(Ok(entry)) => entries.push(Ok(DirEntry::new(entry))),
            Some(Err(e)) => {
                entries.push(Err(e));
                break;
            }
        }
    }
    (entries, false)
}

fn keep((entries, ended): (Vec<io::Result<DirEntry>>, bool), fetched: &mut Fetched) {
    fetched.entries.extend(entries);
    fetched.ended |= ended;
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").finish_non_exhaustive()
    }
}
