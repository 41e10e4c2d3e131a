//! The patched libc functions against libc's own: the same results and
//! errno in blocking, non-blocking and error cases, inside coroutines and
//! outside them. This binary carries `patch_all!()`, so `libc::read` and
//! friends here are the patch; libc's originals are looked up with
//! `dlsym(RTLD_NEXT)`.

verde_runtime::patch_all!();

use std::ffi::CStr;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use verde_runtime as verde;

/// libc's own definition of `name`, past this executable's.
fn libc_fn<F: Copy>(name: &CStr) -> F {
    // SAFETY: RTLD_NEXT with a NUL-terminated name.
    let p = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) };
    assert!(!p.is_null(), "libc has no {name:?}");
    assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut libc::c_void>());
    // SAFETY: F is the function pointer type of that libc function (each
    // caller names the matching signature).
    unsafe { std::mem::transmute_copy(&p) }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap()
}

/// Runs `f` in a coroutine, then on the thread itself.
fn in_both(f: impl Fn(&str) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let g = f.clone();
    verde::spawn(move || g("coroutine")).join().unwrap();
    f("thread");
}

/// A connected TCP pair on 127.0.0.1.
fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (b, _) = l.accept().unwrap();
    (a, b)
}

/// Counts ticks of a coroutine that sleeps `step` in a loop until stopped:
/// proof that the hub kept running while another coroutine waited.
struct Ticker {
    ticks: Arc<AtomicUsize>,
    handle: verde::JoinHandle<()>,
}

impl Ticker {
    fn start() -> Ticker {
        let ticks = Arc::new(AtomicUsize::new(0));
        let t = ticks.clone();
        let handle = verde::spawn(move || loop {
            verde::sleep(Duration::from_millis(5));
            t.fetch_add(1, Ordering::SeqCst);
        });
        Ticker { ticks, handle }
    }

    fn stop(self) -> usize {
        self.handle.kill();
        self.ticks.load(Ordering::SeqCst)
    }
}

#[test]
fn bad_fds_fail_like_libc() {
    type Read = unsafe extern "C" fn(libc::c_int, *mut libc::c_void, libc::size_t) -> libc::ssize_t;
    type Recv = unsafe extern "C" fn(libc::c_int, *mut libc::c_void, libc::size_t, libc::c_int) -> libc::ssize_t;
    let real_read: Read = libc_fn(c"read");
    let real_recv: Recv = libc_fn(c"recv");
    in_both(move |ctx| {
        let mut buf = [0u8; 4];
        let p = buf.as_mut_ptr().cast();
        for fd in [-1, 1_000_000, 999] {
            // SAFETY: `buf` is writable for 4 bytes.
            let (ours, our_errno) = (unsafe { libc::read(fd, p, 4) }, errno());
            // SAFETY: as above.
            let (theirs, their_errno) = (unsafe { real_read(fd, p, 4) }, errno());
            assert_eq!((ours, our_errno), (theirs, their_errno), "read({fd}) in {ctx}");
            assert_eq!(our_errno, libc::EBADF);
            // SAFETY: as above.
            let (ours, our_errno) = (unsafe { libc::recv(fd, p, 4, 0) }, errno());
            // SAFETY: as above.
            let (theirs, their_errno) = (unsafe { real_recv(fd, p, 4, 0) }, errno());
            assert_eq!((ours, our_errno), (theirs, their_errno), "recv({fd}) in {ctx}");
            // SAFETY: `buf` is readable for 4 bytes.
            assert_eq!(unsafe { libc::send(fd, p, 4, 0) }, -1);
            assert_eq!(errno(), libc::EBADF, "send in {ctx}");
            // SAFETY: plain integer arguments.
            assert_eq!(unsafe { libc::close(fd) }, -1);
            assert_eq!(errno(), libc::EBADF, "close in {ctx}");
            // SAFETY: as above.
            assert_eq!(unsafe { libc::fcntl(fd, libc::F_GETFL) }, -1);
            assert_eq!(errno(), libc::EBADF, "fcntl in {ctx}");
            // SAFETY: as above.
            assert_eq!(unsafe { libc::dup(fd) }, -1);
            assert_eq!(errno(), libc::EBADF, "dup in {ctx}");
        }
        // A pipe is not a socket: recv says so, read works.
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for two fds.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: `buf` is writable for 4 bytes.
        assert_eq!(unsafe { libc::recv(fds[0], p, 4, 0) }, -1);
        assert_eq!(errno(), libc::ENOTSOCK, "recv on a pipe in {ctx}");
        // SAFETY: readable 4 bytes; then writable 4 bytes.
        assert_eq!(unsafe { libc::write(fds[1], b"abcd".as_ptr().cast(), 4) }, 4);
        // SAFETY: `buf` is writable for 4 bytes.
        assert_eq!(unsafe { libc::read(fds[0], p, 4) }, 4);
        assert_eq!(&buf, b"abcd");
        for fd in fds {
            // SAFETY: our own pipe fds.
            unsafe { libc::close(fd) };
        }
    });
}

#[test]
fn success_leaves_errno_alone() {
    in_both(|ctx| {
        let (mut a, mut b) = tcp_pair();
        let writer = verde::spawn(move || {
            verde::sleep(Duration::from_millis(20));
            b.write_all(b"x").unwrap();
            b
        });
        // SAFETY: errno is the thread's own.
        unsafe { *libc::__errno_location() = 1234 };
        let mut buf = [0u8; 1];
        if ctx == "coroutine" {
            assert_eq!(a.read(&mut buf).unwrap(), 1);
        } else {
            writer.join().unwrap();
            assert_eq!(a.read(&mut buf).unwrap(), 1);
        }
        assert_eq!(errno(), 1234, "a successful read after EAGAIN in {ctx}");
    });
}

#[test]
fn blocking_read_parks_only_the_coroutine() {
    let (mut a, mut b) = tcp_pair();
    let ticker = Ticker::start();
    let writer = verde::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        b.write_all(b"hello").unwrap();
        b
    });
    let reader = verde::spawn(move || {
        let mut buf = [0u8; 5];
        a.read_exact(&mut buf).unwrap();
        buf
    });
    assert_eq!(&reader.join().unwrap(), b"hello");
    drop(writer.join().unwrap());
    assert!(ticker.stop() >= 5, "the ticker ran while the reader and the writer waited");
}

#[test]
fn nonblocking_mode_is_the_programs() {
    in_both(|ctx| {
        let (mut a, _b) = tcp_pair();
        a.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(a.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock, "{ctx}");
        // SAFETY: an integer command.
        let flags = unsafe { libc::fcntl(a.as_raw_fd(), libc::F_GETFL) };
        assert_ne!(flags & libc::O_NONBLOCK, 0, "{ctx}");
        a.set_nonblocking(false).unwrap();
        // SAFETY: an integer command.
        let flags = unsafe { libc::fcntl(a.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(flags & libc::O_NONBLOCK, 0, "the program's mode, whatever the fd's, in {ctx}");
        // F_SETFL too.
        // SAFETY: integer arguments.
        assert_eq!(unsafe { libc::fcntl(a.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) }, 0);
        assert_eq!(a.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock, "{ctx}");
        // MSG_DONTWAIT on a blocking socket.
        a.set_nonblocking(false).unwrap();
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::recv(a.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        assert_eq!((n, errno()), (-1, libc::EAGAIN), "{ctx}");
    });
}

#[test]
fn adopted_sockets_stay_blocking_outside_coroutines() {
    let (a, mut b) = tcp_pair();
    // Adopt `a` in a coroutine (its fd becomes O_NONBLOCK underneath).
    let mut a = verde::spawn(move || {
        let mut a = a;
        b.write_all(b"1").unwrap();
        let mut buf = [0u8; 1];
        a.read_exact(&mut buf).unwrap();
        (a, b)
    })
    .join()
    .unwrap();
    // SAFETY: an integer command; the raw syscall shows the kernel's flags.
    let kernel = unsafe { libc::syscall(libc::SYS_fcntl, a.0.as_raw_fd(), libc::F_GETFL) } as i32;
    assert_ne!(kernel & libc::O_NONBLOCK, 0, "adopted");
    // A plain thread's read still blocks until data comes.
    let mut writer = a.1;
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        writer.write_all(b"2").unwrap();
        writer
    });
    let start = Instant::now();
    let mut buf = [0u8; 1];
    a.0.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"2");
    assert!(start.elapsed() >= Duration::from_millis(40));
    drop(t.join().unwrap());
    // EOF.
    assert_eq!(a.0.read(&mut buf).unwrap(), 0);
}

#[test]
fn receive_timeout_gives_eagain() {
    in_both(|ctx| {
        let (mut a, _b) = tcp_pair();
        a.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let ticker = (ctx == "coroutine").then(Ticker::start);
        let start = Instant::now();
        let err = a.read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EAGAIN), "{ctx}");
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(45) && waited < Duration::from_secs(5), "{ctx}: {waited:?}");
        if let Some(t) = ticker {
            assert!(t.stop() >= 3, "other coroutines ran");
        }
        // The kernel keeps the timeout in clock ticks.
        let kept = a.read_timeout().unwrap().unwrap();
        assert!(kept >= Duration::from_millis(50) && kept < Duration::from_millis(60), "{ctx}: {kept:?}");
    });
    // A socket adopted with a timeout already set, used from a thread.
    let (mut a, _b) = tcp_pair();
    a.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
    let mut a = verde::spawn(move || {
        assert_eq!(a.read(&mut [0u8; 1]).unwrap_err().kind(), ErrorKind::WouldBlock);
        a
    })
    .join()
    .unwrap();
    assert_eq!(a.read(&mut [0u8; 1]).unwrap_err().kind(), ErrorKind::WouldBlock);
}

#[test]
fn connection_refused() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    in_both(move |ctx| {
        let err = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{ctx}");
        let err = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(5)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "connect_timeout in {ctx}");
    });
}

#[test]
fn connect_timeout_and_accept() {
    in_both(|ctx| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let mut c = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        assert!(!c.nonblocking_flag(), "{ctx}: connect_timeout restores blocking mode");
        let (mut s, peer) = l.accept().unwrap();
        assert_eq!(peer, c.local_addr().unwrap(), "{ctx}");
        c.write_all(b"ok").unwrap();
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ok", "{ctx}");
    });
}

/// The program's O_NONBLOCK as `fcntl` reports it.
trait NonblockingFlag {
    fn nonblocking_flag(&self) -> bool;
}

impl<T: AsRawFd> NonblockingFlag for T {
    fn nonblocking_flag(&self) -> bool {
        // SAFETY: an integer command.
        unsafe { libc::fcntl(self.as_raw_fd(), libc::F_GETFL) & libc::O_NONBLOCK != 0 }
    }
}

#[test]
fn accept_timeout_and_inherited_timeouts() {
    in_both(|ctx| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let tv = libc::timeval { tv_sec: 0, tv_usec: 40_000 };
        // SAFETY: `tv` is a valid timeval of the given size.
        let r = unsafe {
            libc::setsockopt(
                l.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                std::ptr::from_ref(&tv).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
        assert_eq!(r, 0);
        let err = l.accept().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EAGAIN), "accept timeout in {ctx}");
        let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        assert_eq!(s.read_timeout().unwrap(), Some(Duration::from_millis(40)), "inherited in {ctx}");
        assert_eq!(s.read(&mut [0u8; 1]).unwrap_err().kind(), ErrorKind::WouldBlock, "{ctx}");
    });
}

#[test]
fn large_writes_complete() {
    const LEN: usize = 8 << 20;
    let (mut a, mut b) = tcp_pair();
    let reader = verde::spawn(move || {
        let mut got = Vec::with_capacity(LEN);
        let mut buf = vec![0u8; 64 << 10];
        while got.len() < LEN {
            let n = b.read(&mut buf).unwrap();
            assert_ne!(n, 0);
            got.extend_from_slice(&buf[..n]);
            verde::sleep(Duration::from_millis(1));
        }
        got
    });
    let writer = verde::spawn(move || {
        let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
        // One write call: the patched write sends all of it, as a blocking
        // socket's write does.
        assert_eq!(a.write(&data).unwrap(), LEN);
        // SAFETY: `data` is readable for its length; a 2-entry iovec.
        let iov = [
            libc::iovec { iov_base: data.as_ptr().cast_mut().cast(), iov_len: 10 },
            libc::iovec { iov_base: data.as_ptr().cast_mut().cast(), iov_len: 0 },
        ];
        // SAFETY: as above.
        assert_eq!(unsafe { libc::writev(a.as_raw_fd(), iov.as_ptr(), 2) }, 10);
    });
    writer.join().unwrap();
    let got = reader.join().unwrap();
    assert!(got[..LEN].iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
}

#[test]
fn poll_select_and_epoll_wait_park() {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two fds.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: fresh fds we own.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let (rfd, wfd) = (r.as_raw_fd(), w.as_raw_fd());
    let ticker = Ticker::start();
    let writer = verde::spawn(move || {
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(40));
            // SAFETY: one readable byte.
            assert_eq!(unsafe { libc::write(wfd, b"x".as_ptr().cast(), 1) }, 1);
        }
    });
    let waiter = verde::spawn(move || {
        let mut p = [libc::pollfd { fd: rfd, events: libc::POLLIN, revents: 0 }];
        // SAFETY: one valid pollfd.
        assert_eq!(unsafe { libc::poll(p.as_mut_ptr(), 1, 5000) }, 1);
        assert_eq!(p[0].revents, libc::POLLIN);
        drain(rfd);
        // select, with its timeout updated to the time left.
        // SAFETY: fd_set is plain data; FD_ZERO/FD_SET fill it.
        let mut set: libc::fd_set = unsafe { std::mem::zeroed() };
        // SAFETY: `rfd` < FD_SETSIZE.
        unsafe { libc::FD_SET(rfd, &mut set) };
        let mut tv = libc::timeval { tv_sec: 5, tv_usec: 0 };
        // SAFETY: valid set and timeval.
        let n = unsafe { libc::select(rfd + 1, &mut set, std::ptr::null_mut(), std::ptr::null_mut(), &mut tv) };
        assert_eq!(n, 1);
        // SAFETY: a valid set.
        assert!(unsafe { libc::FD_ISSET(rfd, &set) });
        assert!(tv.tv_sec < 5 || tv.tv_usec > 0, "time left written back");
        drain(rfd);
        // epoll_wait on an epoll fd of our own.
        // SAFETY: plain integer argument.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: 7 };
        // SAFETY: a valid event.
        assert_eq!(unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, rfd, &mut ev) }, 0);
        let mut out = [libc::epoll_event { events: 0, u64: 0 }; 4];
        // SAFETY: room for 4 events.
        assert_eq!(unsafe { libc::epoll_wait(ep, out.as_mut_ptr(), 4, 5000) }, 1);
        assert_eq!({ out[0].u64 }, 7);
        // SAFETY: our epoll fd.
        unsafe { libc::close(ep) };
    });
    waiter.join().unwrap();
    writer.join().unwrap();
    assert!(ticker.stop() >= 10, "the hub kept running through three 40 ms waits");
    drop((r, w));
}

fn drain(fd: RawFd) {
    let mut buf = [0u8; 16];
    // SAFETY: `buf` is writable for its length.
    assert!(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } > 0);
}

#[test]
fn waits_time_out_and_report_like_libc() {
    in_both(|ctx| {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for two fds.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let mut p = [
            libc::pollfd { fd: fds[0], events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: -1, events: libc::POLLIN, revents: 0 },
        ];
        let start = Instant::now();
        // SAFETY: two valid pollfds.
        assert_eq!(unsafe { libc::poll(p.as_mut_ptr(), 2, 30) }, 0, "{ctx}");
        assert!(start.elapsed() >= Duration::from_millis(25), "{ctx}");
        // A closed fd: POLLNVAL at once.
        // SAFETY: our own fd.
        unsafe { libc::close(fds[1]) };
        // SAFETY: as above.
        let dead = fds[1];
        let mut q = [libc::pollfd { fd: dead, events: libc::POLLIN, revents: 0 }];
        // SAFETY: one valid pollfd.
        assert_eq!(unsafe { libc::poll(q.as_mut_ptr(), 1, 5000) }, 1, "{ctx}");
        assert_eq!(q[0].revents, libc::POLLNVAL, "{ctx}");
        // The write end closed: POLLHUP.
        // SAFETY: two valid pollfds.
        assert_eq!(unsafe { libc::poll(p.as_mut_ptr(), 2, 5000) }, 1, "{ctx}");
        assert_eq!(p[0].revents, libc::POLLHUP, "{ctx}");
        // select's timeout and EBADF.
        let mut tv = libc::timeval { tv_sec: 0, tv_usec: 20_000 };
        // SAFETY: a null set and a valid timeval.
        let n = unsafe { libc::select(0, std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), &mut tv) };
        assert_eq!((n, tv.tv_sec, tv.tv_usec), (0, 0, 0), "{ctx}");
        // SAFETY: fd_set is plain data.
        let mut set: libc::fd_set = unsafe { std::mem::zeroed() };
        // SAFETY: `dead` < FD_SETSIZE.
        unsafe { libc::FD_SET(dead, &mut set) };
        // SAFETY: a valid set, no timeout.
        let n = unsafe {
            libc::select(dead + 1, &mut set, std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut())
        };
        assert_eq!((n, errno()), (-1, libc::EBADF), "{ctx}");
        // epoll_wait with a timeout, and on a bad fd.
        // SAFETY: plain integer argument.
        let ep = unsafe { libc::epoll_create1(0) };
        let mut out = [libc::epoll_event { events: 0, u64: 0 }; 1];
        // SAFETY: room for one event.
        assert_eq!(unsafe { libc::epoll_wait(ep, out.as_mut_ptr(), 1, 20) }, 0, "{ctx}");
        // SAFETY: as above.
        assert_eq!((unsafe { libc::epoll_wait(-1, out.as_mut_ptr(), 1, 20) }, errno()), (-1, libc::EBADF));
        // SAFETY: our own fds.
        unsafe {
            libc::close(ep);
            libc::close(fds[0]);
        }
    });
}

#[test]
fn sleeps_overlap_and_validate_like_libc() {
    let start = Instant::now();
    let hs: Vec<_> = (0..4)
        .map(|i| {
            verde::spawn(move || match i {
                0 => std::thread::sleep(Duration::from_millis(100)),
                // SAFETY: integer argument.
                1 => assert_eq!(unsafe { libc::usleep(100_000) }, 0),
                2 => {
                    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
                    // SAFETY: a valid timespec to fill.
                    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
                    let at = libc::timespec {
                        tv_sec: now.tv_sec + (now.tv_nsec + 100_000_000) / 1_000_000_000,
                        tv_nsec: (now.tv_nsec + 100_000_000) % 1_000_000_000,
                    };
                    let r = unsafe {
                        // SAFETY: a valid request, no remainder.
                        libc::clock_nanosleep(libc::CLOCK_MONOTONIC, libc::TIMER_ABSTIME, &at, std::ptr::null_mut())
                    };
                    assert_eq!(r, 0);
                }
                _ => {
                    let ts = libc::timespec { tv_sec: 0, tv_nsec: 100_000_000 };
                    // SAFETY: a valid request.
                    assert_eq!(unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) }, 0);
                }
            })
        })
        .collect();
    for r in verde::joinall(hs) {
        r.unwrap();
    }
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(95) && took < Duration::from_millis(380), "{took:?}");
    in_both(|ctx| {
        let bad = libc::timespec { tv_sec: 0, tv_nsec: 2_000_000_000 };
        // SAFETY: a readable timespec.
        assert_eq!((unsafe { libc::nanosleep(&bad, std::ptr::null_mut()) }, errno()), (-1, libc::EINVAL), "{ctx}");
        // SAFETY: errno is the thread's own.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: a readable timespec.
        let r = unsafe { libc::clock_nanosleep(libc::CLOCK_MONOTONIC, 0, &bad, std::ptr::null_mut()) };
        assert_eq!((r, errno()), (libc::EINVAL, 0), "clock_nanosleep returns its error in {ctx}");
        // SAFETY: integer argument.
        assert_eq!(unsafe { libc::sleep(0) }, 0, "{ctx}");
    });
}

extern "C" fn on_signal(_: libc::c_int) {}

fn install_handler_without_restart() {
    // SAFETY: sigaction is plain data; the handler does nothing.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
}

#[test]
fn signals_interrupt_threads_not_coroutines() {
    install_handler_without_restart();
    // A thread blocked in read on a socket the patch adopted: EINTR, as a
    // blocking read gives when a handler without SA_RESTART runs.
    let (a, mut b) = tcp_pair();
    b.write_all(b"x").unwrap();
    let mut a = verde::spawn(move || {
        assert_eq!(a.peek(&mut [0u8; 1]).unwrap(), 1);
        a
    })
    .join()
    .unwrap();
    a.read_exact(&mut [0u8; 1]).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        // SAFETY: pthread_self has no preconditions.
        tx.send(unsafe { libc::pthread_self() }).unwrap();
        let mut buf = [0u8; 1];
        // SAFETY: `buf` is writable for one byte.
        let n = unsafe { libc::read(a.as_raw_fd(), buf.as_mut_ptr().cast(), 1) };
        (n, errno())
    });
    let thread = rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    // SAFETY: the thread is alive until it returns from read.
    unsafe { libc::pthread_kill(thread, libc::SIGUSR1) };
    assert_eq!(t.join().unwrap(), (-1, libc::EINTR));
    // A coroutine's read is not interrupted: it parks on, until data.
    let (mut c, mut d) = tcp_pair();
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() };
    let reader = verde::spawn(move || {
        let mut buf = [0u8; 1];
        c.read_exact(&mut buf).map(|()| buf)
    });
    let kicker = verde::spawn(move || {
        verde::sleep(Duration::from_millis(30));
        // SAFETY: signals this very thread, whose handler does nothing.
        unsafe { libc::pthread_kill(me, libc::SIGUSR1) };
        verde::sleep(Duration::from_millis(30));
        d.write_all(b"y").unwrap();
        d
    });
    assert_eq!(&reader.join().unwrap().unwrap(), b"y");
    drop((kicker.join().unwrap(), b));
}

#[test]
fn kill_and_timeout_end_a_patched_wait_with_ecanceled() {
    let (a, b) = tcp_pair();
    let h = verde::spawn(move || {
        let mut a = a;
        let err = a.read(&mut [0u8; 1]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ECANCELED));
        // verde's own park point unwinds with the kill, still pending.
        verde::sleep(Duration::from_secs(3600));
        unreachable!("killed: {err}");
    });
    verde::sleep(Duration::from_millis(20));
    let start = Instant::now();
    h.kill();
    assert!(h.join().unwrap_err().is::<verde::Killed>());
    assert!(start.elapsed() < Duration::from_secs(10));

    // A Timeout ends the wait the same way and is withdrawn when its
    // closure returns.
    let (mut c, _d) = tcp_pair();
    let r = verde::spawn(move || {
        let r = verde::with_timeout(Duration::from_millis(30), || c.read(&mut [0u8; 1]));
        // No interrupt pending any more: this sleep completes.
        std::thread::sleep(Duration::from_millis(10));
        r
    })
    .join()
    .unwrap();
    assert_eq!(r.unwrap().unwrap_err().raw_os_error(), Some(libc::ECANCELED));
    drop(b);
}

#[test]
fn a_coroutine_ignoring_ecanceled_parks_until_killed_again() {
    let (a, b) = tcp_pair();
    let cancels = Arc::new(AtomicUsize::new(0));
    let n = cancels.clone();
    // The coroutine owns the peer too, so its reads never see end of
    // stream, even while the hub's teardown leaks it.
    let h = verde::spawn(move || loop {
        let _peer = &b;
        if let Err(e) = (&a).read(&mut [0u8; 1]) {
            assert_eq!(e.raw_os_error(), Some(libc::ECANCELED));
            n.fetch_add(1, Ordering::SeqCst);
        }
    });
    verde::sleep(Duration::from_millis(10));
    for round in 1..=2 {
        h.kill_nowait();
        verde::sleep(Duration::from_millis(30));
        assert_eq!(cancels.load(Ordering::SeqCst), round, "one ECANCELED per kill, no spinning");
    }
    assert!(!h.is_finished());
    // The hub's teardown at thread exit kills it a few more times, then
    // leaks it with a warning; it does not hang.
}

#[test]
fn duplicates_share_the_programs_settings() {
    in_both(|ctx| {
        let (a, _b) = tcp_pair();
        let (a, _b) = verde::spawn(move || {
            a.set_nonblocking(true).unwrap();
            (a, _b)
        })
        .join()
        .unwrap();
        let c = a.try_clone().unwrap();
        assert!(c.nonblocking_flag(), "{ctx}: F_DUPFD_CLOEXEC shares the mode");
        // SAFETY: integer arguments.
        let d = unsafe { libc::dup(a.as_raw_fd()) };
        // SAFETY: `d` is ours.
        let d = unsafe { TcpStream::from_raw_fd(d) };
        assert!(d.nonblocking_flag(), "{ctx}: dup shares the mode");
        let mut on: libc::c_int = 0;
        // SAFETY: FIONBIO with a pointer to an int.
        assert_eq!(unsafe { libc::ioctl(d.as_raw_fd(), libc::FIONBIO, &mut on) }, 0);
        assert!(!a.nonblocking_flag(), "{ctx}: FIONBIO changes the shared mode");
        // dup2 over `c` replaces it with a duplicate of `d`.
        // SAFETY: both fds are open and ours.
        assert_eq!(unsafe { libc::dup2(d.as_raw_fd(), c.as_raw_fd()) }, c.as_raw_fd());
        // SAFETY: as above; dup2 onto itself checks the fd.
        assert_eq!(unsafe { libc::dup2(c.as_raw_fd(), c.as_raw_fd()) }, c.as_raw_fd());
        drop(d);
        let mut c = c;
        c.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
        assert_eq!(c.read(&mut [0u8; 1]).unwrap_err().kind(), ErrorKind::WouldBlock, "{ctx}");
    });
}

#[test]
fn getaddrinfo_answers_like_libc() {
    use std::net::ToSocketAddrs;
    let thread: Vec<_> = ("localhost", 80).to_socket_addrs().unwrap().collect();
    let coroutine = verde::spawn(|| ("localhost", 80).to_socket_addrs().unwrap().collect::<Vec<_>>()).join().unwrap();
    assert_eq!(coroutine, thread);
    assert!(!coroutine.is_empty());
    let bad = verde::spawn(|| "no-such-host.invalid:80".to_socket_addrs().map(|_| ()).unwrap_err().to_string())
        .join()
        .unwrap();
    let bad_thread = "no-such-host.invalid:80".to_socket_addrs().map(|_| ()).unwrap_err().to_string();
    assert_eq!(bad, bad_thread);
}

/// `(result, errno)` of a call, errno read right after it.
fn outcome(r: impl TryInto<i64>) -> (i64, i32) {
    let e = errno();
    (r.try_into().unwrap_or(i64::MIN), e)
}

#[test]
fn datagram_calls_match_libc() {
    type RecvFrom = unsafe extern "C" fn(
        libc::c_int,
        *mut libc::c_void,
        libc::size_t,
        libc::c_int,
        *mut libc::sockaddr,
        *mut libc::socklen_t,
    ) -> libc::ssize_t;
    type RecvMsg = unsafe extern "C" fn(libc::c_int, *mut libc::msghdr, libc::c_int) -> libc::ssize_t;
    type SendTo = unsafe extern "C" fn(
        libc::c_int,
        *const libc::c_void,
        libc::size_t,
        libc::c_int,
        *const libc::sockaddr,
        libc::socklen_t,
    ) -> libc::ssize_t;
    let real_recvfrom: RecvFrom = libc_fn(c"recvfrom");
    let real_recvmsg: RecvMsg = libc_fn(c"recvmsg");
    let real_sendto: SendTo = libc_fn(c"sendto");
    in_both(move |ctx| {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let (fa, fb) = (a.as_raw_fd(), b.as_raw_fd());
        let b_addr = sockaddr_of(b.local_addr().unwrap());
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;

        // sendto, then a blocking recvfrom with data waiting: the sender's
        // address comes back.
        // SAFETY: a readable 4-byte buffer and a valid address.
        let sent = unsafe { libc::sendto(fa, b"ping".as_ptr().cast(), 4, 0, (&raw const b_addr).cast(), len) };
        assert_eq!(sent, 4, "{ctx}");
        let mut buf = [0u8; 8];
        // SAFETY: zeroed sockaddr_in is valid.
        let mut from: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut from_len = len;
        // SAFETY: writable buffer and address of the given sizes.
        let n = unsafe { libc::recvfrom(fb, buf.as_mut_ptr().cast(), 8, 0, (&raw mut from).cast(), &mut from_len) };
        assert_eq!((n, &buf[..4]), (4, &b"ping"[..]), "{ctx}");
        let want = sockaddr_of(a.local_addr().unwrap());
        assert_eq!((from.sin_port, from.sin_addr.s_addr), (want.sin_port, want.sin_addr.s_addr), "{ctx}");

        // Nothing waiting: MSG_DONTWAIT fails as libc's does.
        let p = buf.as_mut_ptr().cast();
        // SAFETY: a writable buffer; no address.
        let ours = outcome(unsafe { libc::recvfrom(fb, p, 8, libc::MSG_DONTWAIT, ptr_null(), ptr_null()) });
        // SAFETY: as above.
        let theirs = outcome(unsafe { real_recvfrom(fb, p, 8, libc::MSG_DONTWAIT, ptr_null(), ptr_null()) });
        assert_eq!(ours, theirs, "recvfrom in {ctx}");
        assert_eq!(ours, (-1, libc::EAGAIN));

        // sendmsg gathers, recvmsg scatters.
        let (mut x, mut y) = ([0u8; 1], [0u8; 3]);
        let out = [iovec(b"ab"), iovec(b"cd")];
        // SAFETY: a zeroed msghdr is valid.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&raw const b_addr).cast_mut().cast();
        msg.msg_namelen = len;
        msg.msg_iov = out.as_ptr().cast_mut();
        msg.msg_iovlen = 2;
        // SAFETY: the msghdr points to live buffers.
        assert_eq!(unsafe { libc::sendmsg(fa, &msg, 0) }, 4, "{ctx}");
        let into = [iovec_mut(&mut x), iovec_mut(&mut y)];
        // SAFETY: a zeroed msghdr is valid.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = into.as_ptr().cast_mut();
        msg.msg_iovlen = 2;
        // SAFETY: the msghdr points to live, writable buffers.
        assert_eq!(unsafe { libc::recvmsg(fb, &mut msg, 0) }, 4, "{ctx}");
        assert_eq!((&x, &y), (b"a", b"bcd"), "{ctx}");
        assert_eq!(msg.msg_flags, 0, "{ctx}");
        // SAFETY: as above.
        let ours = outcome(unsafe { libc::recvmsg(fb, &mut msg, libc::MSG_DONTWAIT) });
        // SAFETY: as above.
        let theirs = outcome(unsafe { real_recvmsg(fb, &mut msg, libc::MSG_DONTWAIT) });
        assert_eq!(ours, theirs, "recvmsg in {ctx}");
        assert_eq!(ours, (-1, libc::EAGAIN));

        // Errors: a bad fd, and a pipe that is not a socket.
        // SAFETY: a readable buffer; the fd is bad.
        let ours = outcome(unsafe { libc::sendto(-1, b"x".as_ptr().cast(), 1, 0, ptr_null(), 0) });
        // SAFETY: as above.
        let theirs = outcome(unsafe { real_sendto(-1, b"x".as_ptr().cast(), 1, 0, ptr_null(), 0) });
        assert_eq!(ours, theirs, "sendto(-1) in {ctx}");
        let mut fds = [0; 2];
        // SAFETY: room for two fds.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: the msghdr points to live, writable buffers.
        let ours = outcome(unsafe { libc::recvmsg(fds[0], &mut msg, libc::MSG_DONTWAIT) });
        // SAFETY: as above.
        let theirs = outcome(unsafe { real_recvmsg(fds[0], &mut msg, libc::MSG_DONTWAIT) });
        assert_eq!(ours, theirs, "recvmsg on a pipe in {ctx}");
        assert_eq!(ours.1, libc::ENOTSOCK);
        for fd in fds {
            // SAFETY: our own fd.
            unsafe { libc::close(fd) };
        }
    });
}

#[test]
fn vector_socket_and_dup3_calls_match_libc() {
    type Readv = unsafe extern "C" fn(libc::c_int, *const libc::iovec, libc::c_int) -> libc::ssize_t;
    type Socket = unsafe extern "C" fn(libc::c_int, libc::c_int, libc::c_int) -> libc::c_int;
    type Dup3 = unsafe extern "C" fn(libc::c_int, libc::c_int, libc::c_int) -> libc::c_int;
    type Accept4 =
        unsafe extern "C" fn(libc::c_int, *mut libc::sockaddr, *mut libc::socklen_t, libc::c_int) -> libc::c_int;
    type Connect = unsafe extern "C" fn(libc::c_int, *const libc::sockaddr, libc::socklen_t) -> libc::c_int;
    let real_readv: Readv = libc_fn(c"readv");
    let real_socket: Socket = libc_fn(c"socket");
    let real_dup3: Dup3 = libc_fn(c"dup3");
    let real_accept4: Accept4 = libc_fn(c"accept4");
    let real_connect: Connect = libc_fn(c"connect");
    let closed_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    in_both(move |ctx| {
        // writev gathers, readv scatters.
        let (a, b) = tcp_pair();
        let out = [iovec(b"hel"), iovec(b"lo")];
        // SAFETY: live iovecs.
        assert_eq!(unsafe { libc::writev(a.as_raw_fd(), out.as_ptr(), 2) }, 5, "{ctx}");
        let (mut x, mut y) = ([0u8; 2], [0u8; 8]);
        let into = [iovec_mut(&mut x), iovec_mut(&mut y)];
        let mut got = 0;
        while got < 5 {
            // SAFETY: live, writable iovecs.
            let n = unsafe { libc::readv(b.as_raw_fd(), into.as_ptr(), 2) };
            assert!(n > 0, "{ctx}");
            got += n;
        }
        assert_eq!((&x, &y[..3]), (b"he", &b"llo"[..]), "{ctx}");
        b.set_nonblocking(true).unwrap();
        // SAFETY: as above.
        let ours = outcome(unsafe { libc::readv(b.as_raw_fd(), into.as_ptr(), 2) });
        // SAFETY: as above.
        let theirs = outcome(unsafe { real_readv(b.as_raw_fd(), into.as_ptr(), 2) });
        assert_eq!(ours, theirs, "readv on an empty non-blocking socket in {ctx}");
        assert_eq!(ours, (-1, libc::EAGAIN));

        // socket: an unknown family fails alike.
        // SAFETY: integer arguments.
        let ours = outcome(unsafe { libc::socket(12345, libc::SOCK_STREAM, 0) });
        // SAFETY: as above.
        let theirs = outcome(unsafe { real_socket(12345, libc::SOCK_STREAM, 0) });
        assert_eq!(ours, theirs, "socket in {ctx}");

        // connect to a closed port: refused alike.
        let addr = sockaddr_of(closed_port);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // Each side's socket comes from its own `socket`: the patch's, in a
        // coroutine, is non-blocking underneath, where libc's connect
        // would say EINPROGRESS.
        let results: Vec<_> = [(libc::socket as Socket, libc::connect as Connect), (real_socket, real_connect)]
            .into_iter()
            .map(|(socket, connect)| {
                // SAFETY: integer arguments.
                let fd = unsafe { socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
                // SAFETY: a valid address of `len` bytes.
                let r = outcome(unsafe { connect(fd, (&raw const addr).cast(), len) });
                // SAFETY: our own fd.
                unsafe { libc::close(fd) };
                r
            })
            .collect();
        assert_eq!(results[0], results[1], "connect in {ctx}");
        assert_eq!(results[0], (-1, libc::ECONNREFUSED));

        // accept4 on a non-blocking listener with nobody waiting.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let (fd, flags) = (l.as_raw_fd(), libc::SOCK_CLOEXEC);
        // SAFETY: no address wanted.
        let ours = outcome(unsafe { libc::accept4(fd, ptr_null(), ptr_null(), flags) });
        // SAFETY: as above.
        let theirs = outcome(unsafe { real_accept4(fd, ptr_null(), ptr_null(), flags) });
        assert_eq!(ours, theirs, "accept4 in {ctx}");
        assert_eq!(ours, (-1, libc::EAGAIN));

        // dup3: the same fd twice is EINVAL; O_CLOEXEC is honoured.
        // SAFETY: integer arguments.
        let ours = outcome(unsafe { libc::dup3(fd, fd, 0) });
        // SAFETY: as above.
        let theirs = outcome(unsafe { real_dup3(fd, fd, 0) });
        assert_eq!(ours, theirs, "dup3 in {ctx}");
        assert_eq!(ours.1, libc::EINVAL);
        // SAFETY: integer arguments; the new fd is ours and closed below.
        let copy = unsafe { libc::dup3(a.as_raw_fd(), 900, libc::O_CLOEXEC) };
        assert_eq!(copy, 900, "{ctx}");
        // SAFETY: integer arguments.
        assert_eq!(unsafe { libc::fcntl(copy, libc::F_GETFD) } & libc::FD_CLOEXEC, libc::FD_CLOEXEC, "{ctx}");
        // SAFETY: our own fd.
        assert_eq!(unsafe { libc::close(copy) }, 0);
    });
}

fn ptr_null<T>() -> *mut T {
    std::ptr::null_mut()
}

fn iovec(data: &[u8]) -> libc::iovec {
    libc::iovec { iov_base: data.as_ptr().cast_mut().cast(), iov_len: data.len() }
}

fn iovec_mut(data: &mut [u8]) -> libc::iovec {
    libc::iovec { iov_base: data.as_mut_ptr().cast(), iov_len: data.len() }
}

/// An IPv4 socket address as the kernel takes it.
fn sockaddr_of(addr: std::net::SocketAddr) -> libc::sockaddr_in {
    let std::net::SocketAddr::V4(v4) = addr else { panic!("IPv4 only") };
    // SAFETY: a zeroed sockaddr_in is valid.
    let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_port = v4.port().to_be();
    sa.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
    sa
}

/// verde's signal handler writes its eventfd with the system call itself,
/// so a patched `write` (which is not async-signal-safe) never runs in it.
#[test]
fn signals_reach_their_waiters_in_a_patched_binary() {
    let signal = libc::SIGRTMIN() + 20;
    let signals = verde::signal::Signals::new([signal]).unwrap();
    let waiter = verde::spawn(move || signals.wait().unwrap());
    verde::yield_now();
    // SAFETY: raising a signal this process now catches.
    unsafe { libc::raise(signal) };
    assert_eq!(waiter.join().unwrap(), signal);
}
