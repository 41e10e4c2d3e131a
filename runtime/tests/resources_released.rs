//! A thread's hub gives its fds back when the thread exits, whoever
//! waited for what on it. Its own test binary, because it counts the
//! process's open fds.

use std::thread;
use std::time::Duration;

use verde_runtime as verde;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

/// Runs `work` on 50 threads, one after another, and returns how many
/// more fds are open afterwards.
fn fds_left_by_threads(work: fn()) -> usize {
    // One thread first, so that whatever verde sets up once per process
    // (the blocking pool, say) is not counted.
    thread::spawn(work).join().unwrap();
    let before = open_fds();
    for _ in 0..50 {
        thread::spawn(work).join().unwrap();
    }
    open_fds().saturating_sub(before)
}

/// A join that parks: the joined coroutine is still sleeping.
fn join_a_sleeper() {
    let sleeper = verde::spawn(|| verde::sleep(Duration::from_millis(1)));
    sleeper.join().unwrap();
}

#[test]
fn threads_whose_main_context_or_coroutines_joined_give_their_hubs_fds_back() {
    let left = fds_left_by_threads(|| {
        join_a_sleeper();
        assert_eq!(verde::spawn(|| 1).join().unwrap(), 1);
    });
    assert!(left <= 2, "50 threads whose main context joined left {left} fds open");

    // The main context only yields here, so that only the coroutine parks
    // in a join.
    let left = fds_left_by_threads(|| {
        let joiner = verde::spawn(join_a_sleeper);
        while !joiner.is_finished() {
            verde::yield_now();
        }
        joiner.join().unwrap();
    });
    assert!(left <= 2, "50 threads whose coroutine joined left {left} fds open");
}
