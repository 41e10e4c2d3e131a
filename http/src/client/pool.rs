//! Idle keep-alive connections, kept per hub (per thread).
//!
//! A connection's socket is registered with the epoll of the hub that used
//! it, so idle connections stay with their hub: each thread has its own
//! pool and never contends with others for it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use verde_net::TcpStream;

/// What identifies interchangeable connections.
pub(crate) type Key = (String, u16);

struct Idle {
    stream: TcpStream,
    since: Instant,
}

thread_local! {
    static POOL: RefCell<HashMap<Key, Vec<Idle>>> = RefCell::new(HashMap::new());
}

/// Takes an idle connection to `key` that is still open, if any.
pub(crate) fn checkout(key: &Key, max_idle_time: Duration) -> Option<TcpStream> {
    loop {
        let idle = POOL.with(|p| p.borrow_mut().get_mut(key).and_then(Vec::pop))?;
        if idle.since.elapsed() < max_idle_time && still_open(&idle.stream) {
            return Some(idle.stream);
        }
    }
}

/// Returns a connection whose last response was read to the end.
pub(crate) fn checkin(key: Key, stream: TcpStream, max_per_host: usize) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let list = p.entry(key).or_default();
        if list.len() < max_per_host {
            list.push(Idle { stream, since: Instant::now() });
        }
    });
}

/// Whether the server has not closed an idle connection: nothing must be
/// readable on it (an EOF or unexpected bytes both mean it is unusable).
fn still_open(stream: &TcpStream) -> bool {
    let mut byte = 0u8;
    // SAFETY: a one-byte peek into a valid local buffer, on an fd the
    // stream owns; MSG_DONTWAIT keeps it from blocking.
    let n = unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            stream.as_raw_fd(),
            &mut byte as *mut u8,
            1usize,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
            std::ptr::null_mut::<libc::sockaddr>(),
            std::ptr::null_mut::<libc::socklen_t>(),
        )
    };
    n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::WouldBlock
}
