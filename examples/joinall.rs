//! gevent's foo/bar from the seeds: two coroutines hand control back and
//! forth with `yield_now` (gevent's `sleep(0)`), joined with `joinall`.

fn foo() {
    println!("Running in foo");
    verde::yield_now();
    println!("Explicit context switch to foo again");
}

fn bar() {
    println!("Explicit context to bar");
    verde::yield_now();
    println!("Implicit context switch back to bar");
}

fn main() {
    for result in verde::joinall([verde::spawn(foo), verde::spawn(bar)]) {
        result.expect("coroutine panicked");
    }
}
