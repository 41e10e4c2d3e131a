//! Unmodified sync database clients under `patch_all!()`: 100 coroutines
//! on one hub drive real Redis and PostgreSQL servers through the `redis`
//! and `postgres` crates, and finish in about the time of one round of
//! queries, not a hundred.
//!
//! The servers come from `scripts/services.sh`, which `scripts/test.sh`
//! runs before the tests; it exports `VERDE_TEST_REDIS` and
//! `VERDE_TEST_POSTGRES`. Without them these tests say so and pass
//! without running; with them, a server that does not answer fails the
//! test.

verde::patch_all!();

mod common;

use std::time::Duration;

const CLIENTS: usize = 100;

/// Each query makes the server wait this long before answering.
const QUERY_DELAY: Duration = Duration::from_millis(500);

/// The address of a test server from the environment, or `None` (with a
/// note on stderr) when the variable is not set.
fn service(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(addr) => Some(addr),
        Err(_) => {
            eprintln!("skipped: {var} is not set; run scripts/test.sh (it starts the servers and sets it)");
            None
        }
    }
}

/// Runs `client(i)` in `CLIENTS` coroutines on this thread's hub and
/// returns how long they took together.
fn all_at_once(client: impl Fn(usize) + Clone + Send + 'static) -> Duration {
    common::all_at_once(CLIENTS, client).1
}

/// One round takes `QUERY_DELAY`; a hundred in turn would take 100 times
/// that. Anything under a quarter of that shows the clients overlapped,
/// on however busy a machine.
fn assert_concurrent(what: &str, elapsed: Duration) {
    let serial = QUERY_DELAY * CLIENTS as u32;
    eprintln!("{what}: {CLIENTS} clients in {elapsed:?} (one round: {QUERY_DELAY:?})");
    assert!(elapsed < serial / 4, "{what}: {CLIENTS} clients took {elapsed:?}; serially they would take {serial:?}");
}

#[test]
fn redis_clients_overlap() {
    let Some(url) = service("VERDE_TEST_REDIS") else { return };
    if let Err(e) = redis::Client::open(url.as_str()).and_then(|c| c.get_connection()) {
        panic!("cannot reach Redis at {url} ({e}); scripts/services.sh starts it");
    }
    let elapsed = all_at_once(move |i| {
        let mut con = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
        let list = format!("verde:patch:list:{i}");
        let key = format!("verde:patch:value:{i}");
        let () = redis::cmd("DEL").arg(&list).arg(&key).query(&mut con).unwrap();
        // BLPOP on an empty list blocks in the server for its timeout:
        // the connection waits QUERY_DELAY for its answer.
        let popped: Option<(String, String)> =
            redis::cmd("BLPOP").arg(&list).arg(QUERY_DELAY.as_secs_f64()).query(&mut con).unwrap();
        assert_eq!(popped, None);
        let () = redis::cmd("SET").arg(&key).arg(i).arg("EX").arg(60).query(&mut con).unwrap();
        let got: usize = redis::cmd("GET").arg(&key).query(&mut con).unwrap();
        assert_eq!(got, i);
    });
    assert_concurrent("redis", elapsed);
}

/// Connection parameters of the test database, checked to answer.
fn postgres_params() -> Option<String> {
    let params = service("VERDE_TEST_POSTGRES")?;
    if let Err(e) = postgres::Client::connect(&params, postgres::NoTls) {
        panic!("cannot reach PostgreSQL with {params:?} ({e}); scripts/services.sh starts it");
    }
    Some(params)
}

/// One query that the server answers after `QUERY_DELAY`.
fn slow_query(client: &mut postgres::Client, i: usize) {
    let row =
        client.query_one("SELECT pg_sleep($1), $2::int4 + 1", &[&QUERY_DELAY.as_secs_f64(), &(i as i32)]).unwrap();
    assert_eq!(row.get::<_, i32>(1), i as i32 + 1);
}

/// The sync postgres client runs a tokio runtime inside; under the patch
/// its wait (tokio's `epoll_wait`) parks the coroutine, so a query leaves
/// the hub to the other coroutines, here 99 sleeping through std.
#[test]
fn a_postgres_query_parks_its_coroutine() {
    let Some(params) = postgres_params() else { return };
    let elapsed = all_at_once(move |i| {
        if i == 0 {
            let mut client = postgres::Client::connect(&params, postgres::NoTls).unwrap();
            slow_query(&mut client, i);
        } else {
            std::thread::sleep(QUERY_DELAY);
        }
    });
    assert_concurrent("postgres beside sleepers", elapsed);
}

/// Two coroutines of one hub cannot be inside the sync postgres client at
/// once: each client's tokio runtime refuses to start on a thread where
/// another runtime is entered (see the `patch` module's limits). Each call
/// on the blocking pool overlaps them: 100 clients, one round.
#[test]
fn postgres_clients_overlap_on_the_blocking_pool() {
    let Some(params) = postgres_params() else { return };
    let elapsed = all_at_once(move |i| {
        let params = params.clone();
        let mut client = verde::blocking(move || postgres::Client::connect(&params, postgres::NoTls)).unwrap();
        verde::blocking(move || slow_query(&mut client, i));
    });
    assert_concurrent("postgres", elapsed);
}
