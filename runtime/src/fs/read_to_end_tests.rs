//! `read_to_end` and `read_to_string` of [`File`]: one pool round trip
//! from a coroutine (counted by the turns' test-only counter), none on a
//! plain thread, and read-ahead bytes first (put there directly, as in
//! `read_ahead_tests`).

use std::io::{ErrorKind, Read};
use std::path::PathBuf;

use super::leftovers::{orphan_read_to_end, Leftovers};
use super::serial::pool_trips;
use super::{File, MAX_CHUNK};

/// A file in the temp dir holding `contents`.
fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("verde-fs-read-to-end-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

/// `len` bytes of a pattern that does not repeat every power of two.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Opens `path` and gives it `ahead` as the read-ahead bytes of a
/// `read_to_end` whose caller went away (read on the calling thread).
fn open_with_read_ahead(path: &PathBuf, ahead: usize) -> File {
    let f = File::open(path).unwrap();
    {
        let mut turn = f.turn();
        let mut bytes = vec![0; ahead];
        let result = turn.resource().read_exact(&mut bytes).map(|()| ahead);
        orphan_read_to_end((bytes, result), &mut turn.leftovers);
    }
    f
}

/// Runs `check` in a coroutine and on a plain thread.
fn both_ways(check: fn(&str)) {
    crate::spawn(move || check("coroutine")).join().unwrap();
    std::thread::spawn(move || check("thread")).join().unwrap();
}

#[test]
fn a_coroutine_reads_a_file_bigger_than_a_chunk_in_one_pool_trip() {
    crate::spawn(|| {
        let data = pattern(5 * MAX_CHUNK / 2 + 7);
        let path = temp_file("one-trip", &data);
        let mut f = File::open(&path).unwrap();
        let mut back = b"head".to_vec();
        let before = pool_trips();
        assert_eq!(f.read_to_end(&mut back).unwrap(), data.len());
        assert_eq!(pool_trips() - before, 1);
        assert!(back[..4] == *b"head" && back[4..] == data[..]);

        let text = "verde ".repeat(MAX_CHUNK / 2);
        std::fs::write(&path, &text).unwrap();
        let mut f = File::open(&path).unwrap();
        let mut read_text = String::new();
        let before = pool_trips();
        assert_eq!(f.read_to_string(&mut read_text).unwrap(), text.len());
        assert_eq!(pool_trips() - before, 1);
        assert!(read_text == text);
        std::fs::remove_file(path).unwrap();
    })
    .join()
    .unwrap();
}

#[test]
fn a_plain_thread_makes_no_pool_trip() {
    std::thread::spawn(|| {
        let data = pattern(MAX_CHUNK + 3);
        let path = temp_file("no-trip", &data);
        let mut back = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut back).unwrap();
        assert!(back == data);
        assert_eq!(pool_trips(), 0);
        std::fs::remove_file(path).unwrap();
    })
    .join()
    .unwrap();
}

#[test]
fn read_to_end_returns_the_read_ahead_then_the_rest() {
    both_ways(|how| {
        let path = temp_file(&format!("ahead-{how}"), b"0123456789");
        let mut f = open_with_read_ahead(&path, 4);
        let mut back = b"x".to_vec();
        assert_eq!(f.read_to_end(&mut back).unwrap(), 10);
        assert_eq!(back, b"x0123456789");
        assert_eq!(f.read(&mut [0; 4]).unwrap(), 0);
        std::fs::remove_file(path).unwrap();
    });
}

#[test]
fn read_to_string_checks_the_read_ahead_and_the_rest_as_one() {
    both_ways(|how| {
        // `é` is two bytes: the read-ahead ends inside it.
        let path = temp_file(&format!("utf8-{how}"), "é!".as_bytes());
        let mut text = String::from("x");
        assert_eq!(open_with_read_ahead(&path, 1).read_to_string(&mut text).unwrap(), 3);
        assert_eq!(text, "xé!");

        std::fs::write(&path, b"\xc3x").unwrap();
        let mut f = open_with_read_ahead(&path, 1);
        let mut text = String::from("keep");
        assert_eq!(f.read_to_string(&mut text).unwrap_err().kind(), ErrorKind::InvalidData);
        assert_eq!(text, "keep");
        // As std's: the bytes were read, and are gone.
        assert_eq!(f.read(&mut [0; 4]).unwrap(), 0);
        std::fs::remove_file(path).unwrap();
    });
}

#[test]
fn read_ahead_appended_after_bytes_not_returned_yet() {
    let mut leftovers = Leftovers::default();
    leftovers.append_read_ahead(b"ab".to_vec());
    let mut first = [0; 1];
    assert_eq!(leftovers.read_buffered(&mut first), Some(1));
    leftovers.append_read_ahead(b"cd".to_vec());
    let mut rest = b"a".to_vec();
    assert_eq!(leftovers.take_read_ahead(&mut rest).unwrap(), 3);
    assert_eq!(rest, b"abcd");
    assert_eq!(leftovers.read_ahead_len(), 0);
}
