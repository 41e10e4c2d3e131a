//! The read-ahead rules of [`File`] (see its docs), with the read-ahead
//! that a read whose caller went away leaves put there directly: a kill
//! cannot be timed to land while a regular file's read runs.

use std::io::{Read, Seek, SeekFrom, Write};

use super::leftovers::orphan_read;
use super::File;

/// A file holding `0123456789`, read up to 4 by its caller and up to 8 by
/// a read whose caller went away.
fn file_with_read_ahead(name: &str) -> (File, std::path::PathBuf) {
    let path = std::env::temp_dir().join(format!("verde-fs-read-ahead-{}-{name}", std::process::id()));
    std::fs::write(&path, b"0123456789").unwrap();
    let mut f = File::options().read(true).write(true).open(&path).unwrap();
    let mut first = [0; 4];
    f.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"0123");
    {
        let mut turn = f.turn();
        let mut ahead = vec![0; 4];
        let mut file = turn.resource();
        let result = file.read(&mut ahead);
        orphan_read((ahead, result), &mut turn.leftovers);
    }
    (f, path)
}

/// Runs `check` in a coroutine and on a plain thread.
fn both_ways(check: fn(&str)) {
    crate::spawn(move || check("coroutine")).join().unwrap();
    std::thread::spawn(move || check("thread")).join().unwrap();
}

#[test]
fn the_next_reads_return_the_read_ahead_first() {
    both_ways(|how| {
        let (mut f, path) = file_with_read_ahead(&format!("read-{how}"));
        let mut buf = [0; 3];
        assert_eq!(f.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf, b"456");
        let mut rest = String::new();
        f.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "789");
        std::fs::remove_file(path).unwrap();
    });
}

#[test]
fn a_seek_counts_from_where_the_callers_reads_left_off() {
    both_ways(|how| {
        let (mut f, path) = file_with_read_ahead(&format!("seek-{how}"));
        assert_eq!(f.stream_position().unwrap(), 4);
        let mut rest = String::new();
        f.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "456789");
        let (mut f, _) = file_with_read_ahead(&format!("seek-{how}"));
        assert_eq!(f.seek(SeekFrom::Current(1)).unwrap(), 5);
        assert_eq!(f.seek(SeekFrom::Start(1)).unwrap(), 1);
        let mut rest = String::new();
        f.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "123456789");
        std::fs::remove_file(path).unwrap();
    });
}

#[test]
fn a_write_lands_where_the_callers_reads_left_off() {
    both_ways(|how| {
        let (mut f, path) = file_with_read_ahead(&format!("write-{how}"));
        f.write_all(b"ab").unwrap();
        let mut rest = String::new();
        f.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "6789");
        assert_eq!(std::fs::read(&path).unwrap(), b"0123ab6789");
        std::fs::remove_file(path).unwrap();
    });
}

#[test]
fn into_std_gives_the_read_ahead_back() {
    both_ways(|how| {
        let (f, path) = file_with_read_ahead(&format!("into-std-{how}"));
        let mut rest = String::new();
        f.into_std().read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "456789");
        std::fs::remove_file(path).unwrap();
    });
}
