//! verde::fs: std::fs's API on the blocking pool.

use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use verde::fs::{self, File, OpenOptions};
use verde_runtime as verde;

#[path = "common/fifo.rs"]
mod fifo;
#[path = "common/temp_dir.rs"]
mod temp_dir;
use fifo::make_fifo;
use temp_dir::TempDir;

/// `len` bytes of a pattern that does not repeat every power of two.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Runs a coroutine that yields 20 times on the caller's hub to its end:
/// proof that the hub keeps running while another coroutine waits.
fn run_a_ticker_to_its_end() {
    let ticks = Arc::new(AtomicUsize::new(0));
    let t = ticks.clone();
    let ticker = verde::spawn(move || {
        for _ in 0..20 {
            verde::yield_now();
            t.fetch_add(1, Ordering::SeqCst);
        }
    });
    ticker.join().unwrap();
    assert_eq!(ticks.load(Ordering::SeqCst), 20);
}

/// Yields until `flag` is set (by a coroutine of this hub or another thread).
fn wait_for(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        verde::sleep(Duration::from_millis(1));
    }
}

/// A thread that opens `fifo` for writing (which waits for a reader), then
/// writes each message it is sent, and closes the FIFO when the sender
/// goes.
fn fifo_writer(fifo: &Path) -> (std::sync::mpsc::Sender<&'static [u8]>, std::thread::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel::<&'static [u8]>();
    let fifo = fifo.to_owned();
    let writer = std::thread::spawn(move || {
        let mut w = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
        for msg in rx {
            w.write_all(msg).unwrap();
        }
    });
    (tx, writer)
}

#[test]
fn file_is_send_and_sync_like_std() {
    fn check<T: Send + Sync>() {}
    check::<File>();
    check::<OpenOptions>();
    check::<fs::ReadDir>();
    check::<fs::DirEntry>();
}

#[test]
fn write_then_read_round_trip_in_a_coroutine() {
    let dir = TempDir::new("round-trip");
    let path = dir.path("f");
    let h = verde::spawn(move || {
        let mut f = File::create(&path).unwrap();
        f.write_all(b"hello, verde").unwrap();
        f.flush().unwrap();
        drop(f);
        let mut text = String::new();
        File::open(&path).unwrap().read_to_string(&mut text).unwrap();
        text
    });
    assert_eq!(h.join().unwrap(), "hello, verde");
}

#[test]
fn a_read_into_an_empty_buffer_returns_zero() {
    let h = verde::spawn(|| File::open("/dev/zero").unwrap().read(&mut []).unwrap());
    assert_eq!(h.join().unwrap(), 0);
}

#[test]
fn seek_then_read() {
    let dir = TempDir::new("seek");
    let path = dir.path("f");
    std::fs::write(&path, b"0123456789").unwrap();
    let h = verde::spawn(move || {
        let mut f = File::open(&path).unwrap();
        let mut buf = [0; 3];
        assert_eq!(f.seek(SeekFrom::Start(4)).unwrap(), 4);
        f.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"456");
        assert_eq!(f.seek(SeekFrom::Current(-5)).unwrap(), 2);
        f.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"234");
        assert_eq!(f.seek(SeekFrom::End(-1)).unwrap(), 9);
        assert_eq!(f.stream_position().unwrap(), 9);
        let mut rest = Vec::new();
        f.read_to_end(&mut rest).unwrap();
        rest
    });
    assert_eq!(h.join().unwrap(), b"9");
}

#[test]
fn read_to_end_and_read_to_string_of_a_multi_mib_file() {
    let dir = TempDir::new("big");
    let path = dir.path("f");
    let len = 5 * fs::MAX_CHUNK / 2 + 12345;
    let data = pattern(len);
    let expected = data.clone();
    let h = verde::spawn(move || {
        let mut f = File::create_new(&path).unwrap();
        f.write_all(&data).unwrap();
        f.sync_all().unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        let mut back = Vec::new();
        assert_eq!(f.read_to_end(&mut back).unwrap(), len);
        let text = "verde ".repeat(len / 6);
        fs::write(&path, &text).unwrap();
        let mut read_text = String::new();
        File::open(&path).unwrap().read_to_string(&mut read_text).unwrap();
        assert_eq!(read_text, text);
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
        back
    });
    assert!(h.join().unwrap() == expected);
}

#[test]
fn one_read_or_write_moves_at_most_a_chunk() {
    let dir = TempDir::new("chunk");
    let path = dir.path("f");
    let h = verde::spawn(move || {
        let f = File::options().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        let big = pattern(fs::MAX_CHUNK + 10);
        assert_eq!((&f).write(&big).unwrap(), fs::MAX_CHUNK);
        (&f).rewind().unwrap();
        let mut back = vec![0; fs::MAX_CHUNK + 10];
        assert_eq!((&f).read(&mut back).unwrap(), fs::MAX_CHUNK);
        assert!(back[..fs::MAX_CHUNK] == big[..fs::MAX_CHUNK]);
    });
    h.join().unwrap();
}

#[test]
fn the_main_context_does_not_stall_its_own_coroutines() {
    let dir = TempDir::new("fifo-main");
    let fifo = make_fifo(dir.path("p"));
    let path = fifo.clone();
    let writer = verde::spawn(move || {
        let mut w = OpenOptions::new().write(true).open(path).unwrap();
        w.write_all(b"from a coroutine").unwrap();
    });
    // Opening for reading waits for the writer, a coroutine of this very
    // thread's hub: a call that blocked the thread would never return.
    let mut f = File::open(&fifo).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "from a coroutine");
    writer.join().unwrap();
}

#[test]
fn the_hub_keeps_running_while_a_fifo_read_waits() {
    let dir = TempDir::new("fifo-hub");
    let fifo = make_fifo(dir.path("p"));
    let (tx, writer) = fifo_writer(&fifo);
    let reading = Arc::new(AtomicBool::new(false));
    let r = reading.clone();
    let reader = verde::spawn(move || {
        // Opening a FIFO waits for its writer: on the pool too.
        let mut f = File::open(&fifo).unwrap();
        r.store(true, Ordering::SeqCst);
        let mut buf = [0; 16];
        let n = f.read(&mut buf).unwrap();
        buf[..n].to_vec()
    });
    wait_for(&reading);
    // The reader waits for data nobody has written yet; the ticker, on the
    // same hub, runs to its end meanwhile.
    run_a_ticker_to_its_end();
    assert!(!reader.is_finished());
    tx.send(b"ping").unwrap();
    assert_eq!(reader.join().unwrap(), b"ping");
    drop(tx);
    writer.join().unwrap();
}

/// Starts a read of `f` in a coroutine, waits until it is parked (on the
/// pool, or behind another operation), and returns its handle.
fn pending_read(f: &Arc<File>) -> verde::JoinHandle<std::io::Result<usize>> {
    let started = Arc::new(AtomicBool::new(false));
    let (f, s) = (f.clone(), started.clone());
    let h = verde::spawn(move || {
        s.store(true, Ordering::SeqCst);
        (&*f).read(&mut [0; 64])
    });
    wait_for(&started);
    // The reader ran until it parked in its read: one hub, so once this
    // context runs again it is parked there.
    verde::yield_now();
    h
}

#[test]
fn a_read_killed_while_pending_loses_nothing() {
    let dir = TempDir::new("fifo-kill");
    let fifo = make_fifo(dir.path("p"));
    let (tx, writer) = fifo_writer(&fifo);
    let f = Arc::new(verde::spawn(move || File::open(fifo).unwrap()).join().unwrap());
    let first = pending_read(&f);
    first.kill();
    assert!(first.join().is_err(), "the first read was killed");
    // The killed read is still waiting on its pool thread; this data, and
    // then the end of the FIFO, is what it gets.
    tx.send(b"for the killed read").unwrap();
    drop(tx);
    writer.join().unwrap();
    let second = verde::spawn(move || {
        let mut buf = [0; 64];
        let first = (&*f).read(&mut buf).unwrap();
        let then = (&*f).read(&mut [0; 8]).unwrap();
        (buf[..first].to_vec(), then)
    });
    assert_eq!(second.join().unwrap(), (b"for the killed read".to_vec(), 0));
}

#[test]
fn operations_on_one_file_run_in_call_order() {
    let dir = TempDir::new("fifo-order");
    let fifo = make_fifo(dir.path("p"));
    let (tx, writer) = fifo_writer(&fifo);
    let f = Arc::new(verde::spawn(move || File::open(fifo).unwrap()).join().unwrap());
    let first = pending_read(&f);
    // These wait for the first read to end, not on the FIFO: the second is
    // killed while it waits, the third reads after the first.
    let second = pending_read(&f);
    let third = pending_read(&f);
    second.kill();
    assert!(second.join().is_err());
    tx.send(b"one").unwrap();
    drop(tx);
    writer.join().unwrap();
    assert_eq!(first.join().unwrap().unwrap(), 3);
    assert_eq!(third.join().unwrap().unwrap(), 0, "the end of the FIFO, after the first read");
}

#[test]
fn a_read_that_times_out_loses_nothing() {
    let dir = TempDir::new("fifo-timeout");
    let fifo = make_fifo(dir.path("p"));
    let (tx, writer) = fifo_writer(&fifo);
    let f = Arc::new(verde::spawn(move || File::open(fifo).unwrap()).join().unwrap());
    let f1 = f.clone();
    let timed = verde::spawn(move || {
        let mut buf = [0; 64];
        verde::with_timeout(Duration::from_millis(20), || (&*f1).read(&mut buf)).is_err()
    });
    assert!(timed.join().unwrap(), "nothing was written, so the read timed out");
    tx.send(b"late").unwrap();
    drop(tx);
    writer.join().unwrap();
    let reader = verde::spawn(move || {
        let mut got = Vec::new();
        (&*f).read_to_end(&mut got).unwrap();
        got
    });
    assert_eq!(reader.join().unwrap(), b"late");
}

#[test]
fn a_write_to_a_full_fifo_waits_holding_no_thread_and_a_kill_leaves_nothing_written() {
    let dir = TempDir::new("fifo-write-kill");
    let fifo = make_fifo(dir.path("p"));
    // A reader that reads only at the end, opened without waiting for a
    // writer.
    let mut reader = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&fifo).unwrap();
    let w = Arc::new(verde::spawn(move || File::options().write(true).open(fifo).unwrap()).join().unwrap());
    // SAFETY: F_GETPIPE_SZ on an open pipe fd.
    let capacity = unsafe { libc::fcntl(w.as_raw_fd(), libc::F_GETPIPE_SZ) };
    assert!(capacity > 0);
    let w1 = w.clone();
    let filled = verde::spawn(move || (&*w1).write_all(&pattern(capacity as usize)).unwrap());
    filled.join().unwrap();
    // The pipe is full: this write waits for room on the hub's epoll.
    let started = Arc::new(AtomicBool::new(false));
    let (w2, s) = (w.clone(), started.clone());
    let writing = verde::spawn(move || {
        s.store(true, Ordering::SeqCst);
        let _ = (&*w2).write(b"x");
    });
    wait_for(&started);
    verde::yield_now();
    run_a_ticker_to_its_end();
    assert!(!writing.is_finished());
    writing.kill();
    assert!(writing.join().is_err(), "the writer was killed");
    // Nothing of the killed write reached the pipe, and it left no error.
    let mut got = Vec::new();
    assert_eq!(reader.read_to_end(&mut got).map_err(|e| e.kind()), Err(ErrorKind::WouldBlock));
    assert_eq!(got, pattern(capacity as usize));
    let w3 = w.clone();
    assert!(verde::spawn(move || (&*w3).flush()).join().unwrap().is_ok());
}

#[test]
fn concurrent_read_at_from_two_coroutines() {
    let dir = TempDir::new("read-at");
    let path = dir.path("f");
    let data = pattern(3 << 20);
    std::fs::write(&path, &data).unwrap();
    let f = Arc::new(verde::spawn(move || File::open(path).unwrap()).join().unwrap());
    let offsets = [0u64, 1 << 20];
    let handles: Vec<_> = offsets
        .iter()
        .map(|&offset| {
            let f = f.clone();
            verde::spawn(move || {
                let mut buf = vec![0; 1 << 20];
                f.read_exact_at(&mut buf, offset).unwrap();
                buf
            })
        })
        .collect();
    for (offset, result) in offsets.iter().zip(verde::joinall(handles)) {
        let offset = *offset as usize;
        assert!(result.unwrap() == data[offset..offset + (1 << 20)]);
    }
    // Positional reads leave the position alone.
    let pos = verde::spawn(move || (&*f).stream_position().unwrap()).join().unwrap();
    assert_eq!(pos, 0);
}

#[test]
fn read_dir_lists_every_entry_across_batches() {
    let dir = TempDir::new("read-dir");
    let top = dir.as_ref().to_path_buf();
    let h = verde::spawn(move || {
        for i in 0..300 {
            fs::write(top.join(format!("file-{i:03}")), i.to_string()).unwrap();
        }
        fs::create_dir(top.join("sub")).unwrap();
        let mut names = Vec::new();
        for entry in fs::read_dir(&top).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            assert_eq!(entry.file_type().unwrap().is_dir(), name == "sub");
            assert_eq!(entry.metadata().unwrap().is_dir(), name == "sub");
            assert_eq!(entry.path(), top.join(&name));
            names.push(name);
        }
        names.sort();
        names
    });
    let mut expected: Vec<String> = (0..300).map(|i| format!("file-{i:03}")).collect();
    expected.push("sub".into());
    assert_eq!(h.join().unwrap(), expected);
}

#[test]
fn std_error_kinds() {
    let dir = TempDir::new("errors");
    let missing = dir.path("missing");
    let existing = dir.path("existing");
    std::fs::write(&existing, b"x").unwrap();
    let h = verde::spawn(move || {
        assert_eq!(File::open(&missing).unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(fs::metadata(&missing).unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(fs::remove_file(&missing).unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(fs::read_dir(&missing).unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(fs::read(&missing).unwrap_err().kind(), ErrorKind::NotFound);
        assert!(!fs::exists(&missing).unwrap());
        assert_eq!(File::create_new(&existing).unwrap_err().kind(), ErrorKind::AlreadyExists);
        assert_eq!(fs::create_dir(existing.parent().unwrap()).unwrap_err().kind(), ErrorKind::AlreadyExists);
        assert_eq!(fs::read_dir(&existing).unwrap_err().kind(), ErrorKind::NotADirectory);
        assert_eq!(OpenOptions::new().open(&existing).unwrap_err().kind(), ErrorKind::InvalidInput);
        // A write on a file opened for reading only fails as std's does.
        let mut ro = File::open(&existing).unwrap();
        assert_eq!(ro.write(b"y").unwrap_err().raw_os_error(), Some(libc::EBADF));
    });
    h.join().unwrap();
}

#[test]
fn free_functions_from_a_coroutine() {
    let dir = TempDir::new("functions");
    let top = dir.as_ref().to_path_buf();
    let h = verde::spawn(move || {
        let a = top.join("a");
        fs::create_dir_all(top.join("x/y/z")).unwrap();
        fs::write(&a, b"abc").unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"abc");
        assert_eq!(fs::copy(&a, top.join("b")).unwrap(), 3);
        fs::rename(top.join("b"), top.join("c")).unwrap();
        fs::hard_link(&a, top.join("d")).unwrap();
        std::os::unix::fs::symlink(&a, top.join("e")).unwrap();
        assert_eq!(fs::read_link(top.join("e")).unwrap(), a);
        assert!(fs::symlink_metadata(top.join("e")).unwrap().file_type().is_symlink());
        assert_eq!(fs::metadata(top.join("e")).unwrap().len(), 3);
        assert_eq!(fs::canonicalize(top.join("x/y/../y/z")).unwrap(), fs::canonicalize(top.join("x/y/z")).unwrap());
        let mut perm = fs::metadata(&a).unwrap().permissions();
        perm.set_readonly(true);
        fs::set_permissions(&a, perm).unwrap();
        assert!(fs::metadata(&a).unwrap().permissions().readonly());
        fs::remove_file(top.join("c")).unwrap();
        fs::remove_dir(top.join("x/y/z")).unwrap();
        fs::remove_dir_all(top.join("x")).unwrap();
        assert!(!fs::exists(top.join("x")).unwrap());
        let mut names: Vec<_> = fs::read_dir(&top).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        names
    });
    assert_eq!(h.join().unwrap(), ["a", "d", "e"]);
}

#[test]
fn file_methods_and_conversions() {
    let dir = TempDir::new("methods");
    let path = dir.path("f");
    let h = verde::spawn(move || {
        let f = File::create(&path).unwrap();
        f.set_len(100).unwrap();
        assert_eq!(f.metadata().unwrap().len(), 100);
        f.sync_data().unwrap();
        f.write_all_at(b"tail", 96).unwrap();
        let clone = f.try_clone().unwrap();
        (&clone).seek(SeekFrom::Start(10)).unwrap();
        // A clone shares the position, as with std.
        assert_eq!((&f).stream_position().unwrap(), 10);
        let mut std_file = f.into_std();
        std_file.seek(SeekFrom::Start(96)).unwrap();
        let mut back = File::from(std_file);
        let mut tail = String::new();
        assert!(back.read_to_string(&mut tail).is_err(), "opened for writing only");
        let std_file = std::fs::File::open(&path).unwrap();
        let mut back = File::from(std_file);
        back.seek(SeekFrom::Start(96)).unwrap();
        back.read_to_string(&mut tail).unwrap();
        tail
    });
    assert_eq!(h.join().unwrap(), "tail");
}

#[test]
fn a_plain_thread_uses_std_calls() {
    let dir = TempDir::new("thread");
    let top = dir.as_ref().to_path_buf();
    let names = std::thread::spawn(move || {
        let path = top.join("f");
        let mut f = File::options().read(true).write(true).create_new(true).open(&path).unwrap();
        f.write_all(b"from a thread").unwrap();
        f.seek(SeekFrom::Start(5)).unwrap();
        let mut rest = String::new();
        f.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "a thread");
        let mut buf = [0; 4];
        f.read_exact_at(&mut buf, 0).unwrap();
        assert_eq!(&buf, b"from");
        assert_eq!(fs::read_to_string(&path).unwrap(), "from a thread");
        assert_eq!(File::create_new(&path).unwrap_err().kind(), ErrorKind::AlreadyExists);
        fs::read_dir(&top).unwrap().map(|e| e.unwrap().file_name()).collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    assert_eq!(names, ["f"]);
}

#[test]
fn set_times_and_set_modified_show_in_metadata() {
    let dir = TempDir::new("times");
    let path = dir.path("f");
    let h = verde::spawn(move || {
        let at = |secs| std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        let f = File::create(&path).unwrap();
        f.set_times(fs::FileTimes::new().set_accessed(at(1_000_000_000)).set_modified(at(1_100_000_000))).unwrap();
        let meta = f.metadata().unwrap();
        assert_eq!((meta.accessed().unwrap(), meta.modified().unwrap()), (at(1_000_000_000), at(1_100_000_000)));
        f.set_modified(at(1_200_000_000)).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!((meta.accessed().unwrap(), meta.modified().unwrap()), (at(1_000_000_000), at(1_200_000_000)));
    });
    h.join().unwrap();
}

/// Runs `f` with `file` in a coroutine of this thread's hub, to its end.
fn on_coroutine<T: Send + 'static>(file: &Arc<File>, f: impl FnOnce(&File) -> T + Send + 'static) -> T {
    let file = file.clone();
    verde::spawn(move || f(&file)).join().unwrap()
}

#[test]
fn read_to_end_appends_a_multi_mib_file_to_the_buffer() {
    let dir = TempDir::new("read-to-end");
    let path = dir.path("f");
    let data = pattern(5 << 20);
    std::fs::write(&path, &data).unwrap();
    let h = verde::spawn(move || {
        let mut back = b"already here".to_vec();
        let n = File::open(&path).unwrap().read_to_end(&mut back).unwrap();
        let f = File::open(&path).unwrap();
        let mut again = Vec::new();
        (&f).read_to_end(&mut again).unwrap();
        (n, back, again)
    });
    let (n, back, again) = h.join().unwrap();
    assert_eq!(n, data.len());
    assert!(back[..12] == *b"already here" && back[12..] == data[..]);
    assert!(again == data);
}

#[test]
fn read_to_string_of_invalid_utf8_leaves_the_buffer_unchanged() {
    let dir = TempDir::new("invalid-utf8");
    let path = dir.path("f");
    std::fs::write(&path, b"valid, then \xff").unwrap();
    let check = move || {
        let mut text = String::from("keep");
        let err = File::open(&path).unwrap().read_to_string(&mut text).unwrap_err();
        (err.kind(), text)
    };
    let expected = (ErrorKind::InvalidData, "keep".to_owned());
    assert_eq!(verde::spawn(check.clone()).join().unwrap(), expected);
    assert_eq!(std::thread::spawn(check).join().unwrap(), expected);
}

#[test]
fn read_to_end_after_a_killed_read_returns_every_byte() {
    let dir = TempDir::new("fifo-kill-then-all");
    let fifo = make_fifo(dir.path("p"));
    let (tx, writer) = fifo_writer(&fifo);
    let f = Arc::new(verde::spawn(move || File::open(fifo).unwrap()).join().unwrap());
    let killed = pending_read(&f);
    killed.kill();
    assert!(killed.join().is_err());
    tx.send(b"first, ").unwrap();
    tx.send(b"then the rest").unwrap();
    drop(tx);
    writer.join().unwrap();
    let all = on_coroutine(&f, |mut f| {
        let mut all = Vec::new();
        f.read_to_end(&mut all).map(|_| all)
    });
    assert_eq!(all.unwrap(), b"first, then the rest");
}

#[test]
fn a_read_to_end_killed_while_pending_loses_nothing() {
    let dir = TempDir::new("fifo-kill-all");
    let fifo = make_fifo(dir.path("p"));
    let (tx, writer) = fifo_writer(&fifo);
    let f = Arc::new(verde::spawn(move || File::open(fifo).unwrap()).join().unwrap());
    let started = Arc::new(AtomicBool::new(false));
    let (f1, s) = (f.clone(), started.clone());
    let killed = verde::spawn(move || {
        s.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        (&*f1).read_to_end(&mut all)
    });
    wait_for(&started);
    verde::yield_now();
    killed.kill();
    assert!(killed.join().is_err());
    // The killed read_to_end reads all of this on its pool thread.
    tx.send(b"every ").unwrap();
    tx.send(b"byte").unwrap();
    drop(tx);
    writer.join().unwrap();
    let all = on_coroutine(&f, |mut f| {
        let mut all = b">".to_vec();
        f.read_to_end(&mut all).map(|n| (n, all))
    });
    assert_eq!(all.unwrap(), (10, b">every byte".to_vec()));
}

/// `n` opens of one fresh file in `dir`: separate handles, each with its
/// own locks.
fn lock_handles<const N: usize>(dir: &TempDir) -> [Arc<File>; N] {
    let path = dir.path("lock");
    std::fs::write(&path, b"").unwrap();
    std::array::from_fn(|_| Arc::new(File::open(&path).unwrap()))
}

/// Starts `lock` of `file` in a coroutine and returns once it is parked in
/// the call.
fn pending_lock(file: &Arc<File>) -> verde::JoinHandle<std::io::Result<()>> {
    let started = Arc::new(AtomicBool::new(false));
    let (f, s) = (file.clone(), started.clone());
    let h = verde::spawn(move || {
        s.store(true, Ordering::SeqCst);
        f.lock()
    });
    wait_for(&started);
    verde::yield_now();
    h
}

#[test]
fn a_waiting_lock_parks_only_its_coroutine() {
    let dir = TempDir::new("lock-wait");
    let [a, b, probe] = lock_handles(&dir);
    let (locked, release) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let (a1, l, r) = (a.clone(), locked.clone(), release.clone());
    let holder = verde::spawn(move || {
        a1.lock().unwrap();
        l.store(true, Ordering::SeqCst);
        wait_for(&r);
        a1.unlock().unwrap();
    });
    wait_for(&locked);
    assert!(matches!(on_coroutine(&probe, |f| f.try_lock()), Err(fs::TryLockError::WouldBlock)));
    let waiter = pending_lock(&b);
    // The waiter waits for the holder; the ticker, on the same hub, runs to
    // its end meanwhile.
    run_a_ticker_to_its_end();
    assert!(!waiter.is_finished());
    release.store(true, Ordering::SeqCst);
    holder.join().unwrap();
    waiter.join().unwrap().unwrap();
    assert!(matches!(on_coroutine(&probe, |f| f.try_lock()), Err(fs::TryLockError::WouldBlock)));
    on_coroutine(&b, |f| f.unlock()).unwrap();
    on_coroutine(&probe, |f| f.try_lock()).unwrap();
}

#[test]
fn shared_locks_coexist() {
    let dir = TempDir::new("lock-shared");
    let [a, b, c] = lock_handles(&dir);
    on_coroutine(&a, |f| f.lock_shared()).unwrap();
    on_coroutine(&b, |f| f.lock_shared()).unwrap();
    assert!(matches!(on_coroutine(&c, |f| f.try_lock()), Err(fs::TryLockError::WouldBlock)));
    on_coroutine(&c, |f| f.try_lock_shared()).unwrap();
    for f in [&a, &b, &c] {
        on_coroutine(f, |f| f.unlock()).unwrap();
    }
    on_coroutine(&c, |f| f.try_lock()).unwrap();
}

#[test]
fn a_locker_killed_while_waiting_leaves_the_file_unlocked() {
    let dir = TempDir::new("lock-kill");
    let [a, b, probe] = lock_handles(&dir);
    on_coroutine(&a, |f| f.lock()).unwrap();
    let killed = pending_lock(&b);
    killed.kill();
    assert!(killed.join().is_err(), "the locker was killed");
    // Its pool thread still waits for the lock, and gets it now.
    on_coroutine(&a, |f| f.unlock()).unwrap();
    // `b`'s next operation waits for that lock's release.
    on_coroutine(&b, |f| f.metadata()).unwrap();
    on_coroutine(&probe, |f| f.try_lock()).unwrap();
    on_coroutine(&probe, |f| f.unlock()).unwrap();
    on_coroutine(&b, |f| f.lock()).unwrap();
}

#[test]
fn a_lock_that_times_out_leaves_the_file_unlocked() {
    let dir = TempDir::new("lock-timeout");
    let [a, b, probe] = lock_handles(&dir);
    on_coroutine(&a, |f| f.lock()).unwrap();
    let timed_out = on_coroutine(&b, |f| verde::with_timeout(Duration::from_millis(20), || f.lock()).is_err());
    assert!(timed_out, "the lock is held, so the wait timed out");
    on_coroutine(&a, |f| f.unlock()).unwrap();
    on_coroutine(&b, |f| f.metadata()).unwrap();
    on_coroutine(&probe, |f| f.try_lock()).unwrap();
}
