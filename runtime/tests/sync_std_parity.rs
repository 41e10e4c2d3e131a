//! `verde_runtime::sync` against `std::sync`, side by side.
//!
//! `verde_runtime::sync` is meant to be a drop-in for `std::sync`'s locks,
//! `Condvar`, `Barrier` and `mpsc`. This file checks that claim in two ways:
//!
//! * **At compile time**: one macro body spelling out the stable API
//!   (signatures, `const` constructors, trait impls, variance) is expanded
//!   once against `std::sync` and once against `verde_runtime::sync`; and
//!   for every type and a set of probe payloads, each auto and std trait
//!   (Send, Sync, UnwindSafe, RefUnwindSafe, Unpin, Debug, ...) must be
//!   implemented by verde's type exactly when it is by std's.
//! * **At run time**: every scenario below is written once, generic over
//!   the module, and run three times: on std with plain threads, on verde
//!   inside a coroutine (helpers are coroutines of the same hub), and on
//!   verde from plain threads. The observations (results, orders, counts,
//!   `Display`/`Debug` strings) must be equal. Nothing asserts on timing:
//!   the few sleeps only give the other side a chance to go first.

// `std`'s side of the comparison uses std APIs newer than verde's MSRV
// (`RwLockWriteGuard::downgrade`, 1.92); verde's own code does not.
#![allow(clippy::incompatible_msrv)]

use std::any::Any;
use std::cell::Cell;
use std::marker::PhantomPinned;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::thread;
use std::time::Duration;

use verde_runtime as verde;

/// The module under test, std's side: `std::sync` (with its `mpsc`).
mod std_side {
    pub use std::sync::*;
}

/// The module under test, verde's side.
mod verde_side {
    pub use verde_runtime::sync::*;
}

// ---------------------------------------------------------------------------
// Compile time: the API surface.
// ---------------------------------------------------------------------------

/// The stable API of `std::sync`'s Mutex, RwLock, Condvar, Barrier, poison
/// types and mpsc on Rust 1.95, written once against the module `$s`. It
/// only has to compile: a missing item, a different signature, a constructor
/// that is not `const`, a missing trait impl or a variance difference is a
/// compile error.
macro_rules! api_surface {
    ($name:ident, $s:ident) => {
        #[allow(dead_code, deprecated, clippy::type_complexity, clippy::let_underscore_future)]
        mod $name {
            use crate::$s as s;
            use s::mpsc;
            use std::fmt::{Debug, Display};
            use std::time::Duration;

            // `const fn` constructors: usable in statics.
            static MUTEX: s::Mutex<Vec<u8>> = s::Mutex::new(Vec::new());
            static RWLOCK: s::RwLock<Vec<u8>> = s::RwLock::new(Vec::new());
            static CONDVAR: s::Condvar = s::Condvar::new();
            static BARRIER: s::Barrier = s::Barrier::new(1);

            fn mutex() {
                let _: fn(i32) -> s::Mutex<i32> = s::Mutex::new;
                let _: for<'a> fn(&'a s::Mutex<i32>) -> s::LockResult<s::MutexGuard<'a, i32>> = s::Mutex::lock;
                let _: for<'a> fn(&'a s::Mutex<i32>) -> s::TryLockResult<s::MutexGuard<'a, i32>> = s::Mutex::try_lock;
                let _: fn(&s::Mutex<i32>) -> bool = s::Mutex::is_poisoned;
                let _: fn(&s::Mutex<i32>) = s::Mutex::clear_poison;
                let _: fn(s::Mutex<i32>) -> s::LockResult<i32> = s::Mutex::into_inner;
                let _: for<'a> fn(&'a mut s::Mutex<i32>) -> s::LockResult<&'a mut i32> = s::Mutex::get_mut;
                let _: fn() -> s::Mutex<i32> = <s::Mutex<i32> as Default>::default;
                let _: fn(i32) -> s::Mutex<i32> = <s::Mutex<i32> as From<i32>>::from;
            }

            // Unsized data: everything but `new`/`into_inner` works on `T: ?Sized`.
            // (Only compiled, never run.)
            fn unsized_mutex(m: &mut s::Mutex<[u8]>) {
                let g: s::LockResult<s::MutexGuard<'_, [u8]>> = m.lock();
                drop(g);
                let g: s::TryLockResult<s::MutexGuard<'_, [u8]>> = m.try_lock();
                drop(g);
                let _: bool = m.is_poisoned();
                m.clear_poison();
                let _: s::LockResult<&mut [u8]> = m.get_mut();
            }

            fn unsized_rwlock(l: &mut s::RwLock<dyn Debug>) {
                let g: s::LockResult<s::RwLockReadGuard<'_, dyn Debug>> = l.read();
                drop(g);
                let g: s::TryLockResult<s::RwLockReadGuard<'_, dyn Debug>> = l.try_read();
                drop(g);
                let g: s::LockResult<s::RwLockWriteGuard<'_, dyn Debug>> = l.write();
                drop(g);
                let g: s::TryLockResult<s::RwLockWriteGuard<'_, dyn Debug>> = l.try_write();
                drop(g);
                let _: bool = l.is_poisoned();
                l.clear_poison();
                let _: s::LockResult<&mut dyn Debug> = l.get_mut();
            }

            fn guards(m: &s::Mutex<String>, l: &s::RwLock<String>) {
                let mut g = m.lock().unwrap();
                let _: &mut String = &mut g;
                let _ = format!("{g:?} {g}");
                let r = l.read().unwrap();
                let _: &String = &r;
                let _ = format!("{r:?} {r}");
                drop(r);
                let mut w = l.write().unwrap();
                let _: &mut String = &mut w;
                let _ = format!("{w:?} {w}");
            }

            fn rwlock() {
                let _: fn(i32) -> s::RwLock<i32> = s::RwLock::new;
                let _: for<'a> fn(&'a s::RwLock<i32>) -> s::LockResult<s::RwLockReadGuard<'a, i32>> = s::RwLock::read;
                let _: for<'a> fn(&'a s::RwLock<i32>) -> s::TryLockResult<s::RwLockReadGuard<'a, i32>> =
                    s::RwLock::try_read;
                let _: for<'a> fn(&'a s::RwLock<i32>) -> s::LockResult<s::RwLockWriteGuard<'a, i32>> = s::RwLock::write;
                let _: for<'a> fn(&'a s::RwLock<i32>) -> s::TryLockResult<s::RwLockWriteGuard<'a, i32>> =
                    s::RwLock::try_write;
                let _: fn(&s::RwLock<i32>) -> bool = s::RwLock::is_poisoned;
                let _: fn(&s::RwLock<i32>) = s::RwLock::clear_poison;
                let _: fn(s::RwLock<i32>) -> s::LockResult<i32> = s::RwLock::into_inner;
                let _: for<'a> fn(&'a mut s::RwLock<i32>) -> s::LockResult<&'a mut i32> = s::RwLock::get_mut;
                let _: fn() -> s::RwLock<i32> = <s::RwLock<i32> as Default>::default;
                let _: fn(i32) -> s::RwLock<i32> = <s::RwLock<i32> as From<i32>>::from;
            }

            // Stable since 1.92. (The lifetime is the impl's, so no `for<'a>`.)
            fn downgrade<'a>(w: s::RwLockWriteGuard<'a, i32>) -> s::RwLockReadGuard<'a, i32> {
                let _: fn(s::RwLockWriteGuard<'a, i32>) -> s::RwLockReadGuard<'a, i32> = s::RwLockWriteGuard::downgrade;
                s::RwLockWriteGuard::downgrade(w)
            }

            // Variance: every guard is covariant in its lifetime, and a read
            // guard (like `&T`) is covariant in `T` too.
            fn shorter_mutex_guard<'a>(g: s::MutexGuard<'static, i32>) -> s::MutexGuard<'a, i32> {
                g
            }
            fn shorter_write_guard<'a>(g: s::RwLockWriteGuard<'static, i32>) -> s::RwLockWriteGuard<'a, i32> {
                g
            }
            fn covariant_read_guard<'a>(
                g: s::RwLockReadGuard<'static, &'static str>,
            ) -> s::RwLockReadGuard<'a, &'a str> {
                g
            }

            fn condvar() {
                let _: fn() -> s::Condvar = s::Condvar::new;
                let _: fn() -> s::Condvar = <s::Condvar as Default>::default;
                let _: for<'a> fn(&s::Condvar, s::MutexGuard<'a, i32>) -> s::LockResult<s::MutexGuard<'a, i32>> =
                    s::Condvar::wait;
                let _: for<'a> fn(
                    &s::Condvar,
                    s::MutexGuard<'a, i32>,
                    fn(&mut i32) -> bool,
                ) -> s::LockResult<s::MutexGuard<'a, i32>> = s::Condvar::wait_while;
                let _: for<'a> fn(
                    &s::Condvar,
                    s::MutexGuard<'a, i32>,
                    Duration,
                ) -> s::LockResult<(s::MutexGuard<'a, i32>, s::WaitTimeoutResult)> = s::Condvar::wait_timeout;
                let _: for<'a> fn(
                    &s::Condvar,
                    s::MutexGuard<'a, i32>,
                    Duration,
                    fn(&mut i32) -> bool,
                ) -> s::LockResult<(s::MutexGuard<'a, i32>, s::WaitTimeoutResult)> = s::Condvar::wait_timeout_while;
                // Deprecated since 1.6, but stable: drop-in code may still call it.
                let _: for<'a> fn(
                    &s::Condvar,
                    s::MutexGuard<'a, i32>,
                    u32,
                ) -> s::LockResult<(s::MutexGuard<'a, i32>, bool)> = s::Condvar::wait_timeout_ms;
                let _: fn(&s::Condvar) = s::Condvar::notify_one;
                let _: fn(&s::Condvar) = s::Condvar::notify_all;
                let _: fn(&s::WaitTimeoutResult) -> bool = s::WaitTimeoutResult::timed_out;
            }

            fn barrier() {
                let _: fn(usize) -> s::Barrier = s::Barrier::new;
                let _: fn(&s::Barrier) -> s::BarrierWaitResult = s::Barrier::wait;
                let _: fn(&s::BarrierWaitResult) -> bool = s::BarrierWaitResult::is_leader;
            }

            fn poison(e: s::PoisonError<i32>, t: s::TryLockError<i32>) {
                let _: fn(i32) -> s::PoisonError<i32> = s::PoisonError::new;
                let _: &i32 = e.get_ref();
                let _: i32 = e.into_inner();
                match t {
                    s::TryLockError::Poisoned(p) => {
                        let _: s::PoisonError<i32> = p;
                    }
                    s::TryLockError::WouldBlock => {}
                }
                let _: s::TryLockError<i32> = s::PoisonError::new(1).into();
                let _: s::LockResult<i32> = Ok(1);
                let _: s::TryLockResult<i32> = Err(s::TryLockError::WouldBlock);
            }

            fn channels() {
                let _: fn() -> (mpsc::Sender<i32>, mpsc::Receiver<i32>) = mpsc::channel::<i32>;
                let _: fn(usize) -> (mpsc::SyncSender<i32>, mpsc::Receiver<i32>) = mpsc::sync_channel::<i32>;
                let _: fn(&mpsc::Sender<i32>, i32) -> Result<(), mpsc::SendError<i32>> = mpsc::Sender::send;
                let _: fn(&mpsc::SyncSender<i32>, i32) -> Result<(), mpsc::SendError<i32>> = mpsc::SyncSender::send;
                let _: fn(&mpsc::SyncSender<i32>, i32) -> Result<(), mpsc::TrySendError<i32>> =
                    mpsc::SyncSender::try_send;
                let _: fn(&mpsc::Receiver<i32>) -> Result<i32, mpsc::RecvError> = mpsc::Receiver::recv;
                let _: fn(&mpsc::Receiver<i32>) -> Result<i32, mpsc::TryRecvError> = mpsc::Receiver::try_recv;
                let _: fn(&mpsc::Receiver<i32>, Duration) -> Result<i32, mpsc::RecvTimeoutError> =
                    mpsc::Receiver::recv_timeout;
                let _: for<'a> fn(&'a mpsc::Receiver<i32>) -> mpsc::Iter<'a, i32> = mpsc::Receiver::iter;
                let _: for<'a> fn(&'a mpsc::Receiver<i32>) -> mpsc::TryIter<'a, i32> = mpsc::Receiver::try_iter;
                let _: fn(mpsc::Receiver<i32>) -> mpsc::IntoIter<i32> =
                    <mpsc::Receiver<i32> as IntoIterator>::into_iter;
                let _: fn(&mpsc::Sender<i32>) -> mpsc::Sender<i32> = <mpsc::Sender<i32> as Clone>::clone;
                let _: fn(&mpsc::SyncSender<i32>) -> mpsc::SyncSender<i32> = <mpsc::SyncSender<i32> as Clone>::clone;
            }

            fn borrowed_into_iter<'a>(rx: &'a mpsc::Receiver<i32>) -> mpsc::Iter<'a, i32> {
                <&'a mpsc::Receiver<i32> as IntoIterator>::into_iter(rx)
            }

            fn channel_errors(
                a: mpsc::SendError<i32>,
                b: mpsc::TrySendError<i32>,
                c: mpsc::RecvError,
                d: mpsc::TryRecvError,
                e: mpsc::RecvTimeoutError,
            ) {
                let mpsc::SendError(_value): mpsc::SendError<i32> = a;
                let _: mpsc::TrySendError<i32> = mpsc::SendError(1).into();
                match b {
                    mpsc::TrySendError::Full(_) | mpsc::TrySendError::Disconnected(_) => {}
                }
                let _: mpsc::TryRecvError = c.into();
                let _: mpsc::RecvTimeoutError = c.into();
                match d {
                    mpsc::TryRecvError::Empty | mpsc::TryRecvError::Disconnected => {}
                }
                match e {
                    mpsc::RecvTimeoutError::Timeout | mpsc::RecvTimeoutError::Disconnected => {}
                }
            }

            fn is_error<E: std::error::Error + Display + Debug + Send + Sync + 'static>() {}
            fn errors_are_errors() {
                is_error::<s::PoisonError<i32>>();
                is_error::<s::TryLockError<i32>>();
                is_error::<mpsc::SendError<i32>>();
                is_error::<mpsc::TrySendError<i32>>();
                is_error::<mpsc::RecvError>();
                is_error::<mpsc::TryRecvError>();
                is_error::<mpsc::RecvTimeoutError>();
            }
        }
    };
}

api_surface!(std_api, std_side);
api_surface!(verde_api, verde_side);

// ---------------------------------------------------------------------------
// Compile time: trait impls, std vs verde.
// ---------------------------------------------------------------------------

/// Whether `$ty` implements the trait bound, as a `const bool` (the `impls`
/// crate's trick: an inherent associated const with the bound wins over the
/// blanket trait's default when, and only when, the bound holds).
macro_rules! implements {
    ($ty:ty: $($bound:tt)+) => {{
        #[allow(dead_code)]
        trait DoesNotImpl {
            const IMPLS: bool = false;
        }
        impl<T: ?Sized> DoesNotImpl for T {}
        struct Wrapper<T: ?Sized>(std::marker::PhantomData<T>);
        #[allow(dead_code)]
        impl<T: ?Sized + $($bound)+> Wrapper<T> {
            const IMPLS: bool = true;
        }
        <Wrapper<$ty>>::IMPLS
    }};
}

/// Fails to compile unless `$a` and `$b` agree on every listed trait.
macro_rules! same_traits {
    ($a:ty, $b:ty) => {
        same_traits!(@each $a, $b; Send, Sync, std::panic::UnwindSafe, std::panic::RefUnwindSafe, Unpin,
            std::fmt::Debug, std::fmt::Display, Default, Clone, Copy, PartialEq, std::error::Error, Iterator,
            IntoIterator, std::ops::Deref, std::ops::DerefMut);
    };
    (@each $a:ty, $b:ty; $($tr:path),+) => {
        $(
            const _: () = assert!(
                implements!($a: $tr) == implements!($b: $tr),
                concat!(stringify!($b), " and ", stringify!($a), " disagree on ", stringify!($tr))
            );
        )+
    };
}

/// A payload with no impls but the auto traits.
#[allow(dead_code)]
struct Plain;
/// Sync but not Send.
type SyncNotSend = std::sync::MutexGuard<'static, i32>;

/// Every generic type of both modules, instantiated with the probe `$p`.
macro_rules! same_traits_with {
    ($p:ty) => {
        same_traits!(std::sync::Mutex<$p>, verde::sync::Mutex<$p>);
        same_traits!(std::sync::MutexGuard<'static, $p>, verde::sync::MutexGuard<'static, $p>);
        same_traits!(std::sync::RwLock<$p>, verde::sync::RwLock<$p>);
        same_traits!(std::sync::RwLockReadGuard<'static, $p>, verde::sync::RwLockReadGuard<'static, $p>);
        same_traits!(std::sync::RwLockWriteGuard<'static, $p>, verde::sync::RwLockWriteGuard<'static, $p>);
        same_traits!(std::sync::PoisonError<$p>, verde::sync::PoisonError<$p>);
        same_traits!(std::sync::TryLockError<$p>, verde::sync::TryLockError<$p>);
        same_traits!(std::sync::mpsc::Sender<$p>, verde::sync::mpsc::Sender<$p>);
        same_traits!(std::sync::mpsc::SyncSender<$p>, verde::sync::mpsc::SyncSender<$p>);
        same_traits!(std::sync::mpsc::Receiver<$p>, verde::sync::mpsc::Receiver<$p>);
        same_traits!(std::sync::mpsc::Iter<'static, $p>, verde::sync::mpsc::Iter<'static, $p>);
        same_traits!(std::sync::mpsc::TryIter<'static, $p>, verde::sync::mpsc::TryIter<'static, $p>);
        same_traits!(std::sync::mpsc::IntoIter<$p>, verde::sync::mpsc::IntoIter<$p>);
        same_traits!(std::sync::mpsc::SendError<$p>, verde::sync::mpsc::SendError<$p>);
        same_traits!(std::sync::mpsc::TrySendError<$p>, verde::sync::mpsc::TrySendError<$p>);
    };
}

same_traits_with!(i32);
same_traits_with!(String);
same_traits_with!(Plain);
same_traits_with!(Rc<i32>);
same_traits_with!(Cell<i32>);
same_traits_with!(&'static mut i32);
same_traits_with!(SyncNotSend);
same_traits_with!(PhantomPinned);
same_traits_with!(*const u8);

/// Unsized payloads, where the types allow them.
macro_rules! same_traits_unsized {
    ($p:ty) => {
        same_traits!(std::sync::Mutex<$p>, verde::sync::Mutex<$p>);
        same_traits!(std::sync::MutexGuard<'static, $p>, verde::sync::MutexGuard<'static, $p>);
        same_traits!(std::sync::RwLock<$p>, verde::sync::RwLock<$p>);
        same_traits!(std::sync::RwLockReadGuard<'static, $p>, verde::sync::RwLockReadGuard<'static, $p>);
        same_traits!(std::sync::RwLockWriteGuard<'static, $p>, verde::sync::RwLockWriteGuard<'static, $p>);
    };
}

same_traits_unsized!([u8]);
same_traits_unsized!(str);
same_traits_unsized!(dyn std::fmt::Debug);
same_traits_unsized!(dyn std::fmt::Debug + Send + Sync);

same_traits!(std::sync::Condvar, verde::sync::Condvar);
same_traits!(std::sync::WaitTimeoutResult, verde::sync::WaitTimeoutResult);
same_traits!(std::sync::Barrier, verde::sync::Barrier);
same_traits!(std::sync::BarrierWaitResult, verde::sync::BarrierWaitResult);
same_traits!(std::sync::mpsc::RecvError, verde::sync::mpsc::RecvError);
same_traits!(std::sync::mpsc::TryRecvError, verde::sync::mpsc::TryRecvError);
same_traits!(std::sync::mpsc::RecvTimeoutError, verde::sync::mpsc::RecvTimeoutError);
const _: () = assert!(implements!(verde::sync::WaitTimeoutResult: Eq));

/// The soundness-relevant facts, spelled out (the comparisons above already
/// imply them, as long as std keeps them).
macro_rules! assert_impl {
    ($ty:ty: $tr:path) => {
const _: () = assert!(implements!($ty: $tr), concat!(stringify!($ty), " must be ", stringify!($tr)));
    };
    ($ty:ty: !$tr:path) => {
const _: () = assert!(!implements!($ty: $tr), concat!(stringify!($ty), " must not be ", stringify!($tr)));
    };
}

use verde::sync::mpsc::{Receiver as VReceiver, Sender as VSender, SyncSender as VSyncSender};
use verde::sync::{Mutex as VMutex, MutexGuard as VMutexGuard, RwLock as VRwLock};
use verde::sync::{RwLockReadGuard as VReadGuard, RwLockWriteGuard as VWriteGuard};

assert_impl!(VMutex<Cell<i32>>: Sync); // T: Send is enough: one holder at a time.
assert_impl!(VMutex<Rc<i32>>: !Sync);
assert_impl!(VMutex<Rc<i32>>: !Send);
assert_impl!(VMutex<SyncNotSend>: !Sync);
assert_impl!(VMutexGuard<'static, i32>: !Send); // released by the coroutine that took it
assert_impl!(VMutexGuard<'static, Cell<i32>>: !Sync); // `&guard` gives `&T`
assert_impl!(VRwLock<Cell<i32>>: !Sync); // readers share `&T`: T must be Sync too
assert_impl!(VRwLock<SyncNotSend>: !Sync); // a writer gets `&mut T`: T must be Send too
assert_impl!(VRwLock<i32>: Sync);
assert_impl!(VReadGuard<'static, i32>: !Send);
assert_impl!(VWriteGuard<'static, i32>: !Send);
assert_impl!(VReadGuard<'static, Cell<i32>>: !Sync);
assert_impl!(VMutex<Cell<i32>>: std::panic::RefUnwindSafe); // poisoning covers it
assert_impl!(VRwLock<Cell<i32>>: std::panic::RefUnwindSafe);
assert_impl!(VSender<Cell<i32>>: Sync); // since 1.72, for T: Send
assert_impl!(VSender<Rc<i32>>: !Send);
assert_impl!(VSyncSender<Cell<i32>>: Sync);
assert_impl!(VReceiver<i32>: Send);
assert_impl!(VReceiver<i32>: !Sync); // one consumer
assert_impl!(VReceiver<Rc<i32>>: !Send);
assert_impl!(VReceiver<i32>: std::panic::RefUnwindSafe);

// ---------------------------------------------------------------------------
// Run time: the harness.
// ---------------------------------------------------------------------------

/// How a scenario runs its helpers, and how it lets them go first.
#[derive(Clone, Copy, Debug)]
enum Spawner {
    /// Plain OS threads.
    Threads,
    /// verde coroutines on the scenario's hub.
    Coroutines,
}

enum Joiner<R> {
    Thread(thread::JoinHandle<R>),
    Coroutine(verde::JoinHandle<R>),
}

impl<R> Joiner<R> {
    fn join(self) -> thread::Result<R> {
        match self {
            Joiner::Thread(h) => h.join(),
            Joiner::Coroutine(h) => h.join(),
        }
    }
}

impl Spawner {
    fn spawn<R: Send + 'static>(self, f: impl FnOnce() -> R + Send + 'static) -> Joiner<R> {
        match self {
            Spawner::Threads => Joiner::Thread(thread::spawn(f)),
            Spawner::Coroutines => Joiner::Coroutine(verde::spawn(f)),
        }
    }

    /// Gives the helpers time to run (never asserted on).
    fn pause(self) {
        let d = Duration::from_millis(20);
        match self {
            Spawner::Threads => thread::sleep(d),
            Spawner::Coroutines => verde::sleep(d),
        }
    }
}

/// Panics from the scenarios carry this message; the hook keeps them quiet.
const DELIBERATE: &str = "deliberate panic";

fn quiet_deliberate_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if payload_text(info.payload()) != DELIBERATE {
                default(info);
            }
        }));
    });
}

fn payload_text(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
}

/// Defines a test running `$body` against std (helpers on threads), verde
/// in a coroutine (helpers are coroutines) and verde on plain threads, and
/// asserting the three observations are equal. Inside `$body`, `$m` is the
/// module under test and `$sp` the [`Spawner`].
macro_rules! parity {
    ($(#[$attr:meta])* fn $name:ident($m:ident, $sp:ident) -> $ret:ty $body:block) => {
        $(#[$attr])*
        #[test]
        fn $name() {
            #[allow(unused_imports, unused_variables)]
            fn on_std($sp: Spawner) -> $ret {
                use crate::std_side as $m;
                $body
            }
            #[allow(unused_imports, unused_variables)]
            fn on_verde($sp: Spawner) -> $ret {
                use crate::verde_side as $m;
                $body
            }
            quiet_deliberate_panics();
            let expected = thread::spawn(|| on_std(Spawner::Threads)).join().expect("the std run panicked");
            if std::env::var_os("SYNC_PARITY_SHOW").is_some() {
                eprintln!("{}: std observed {:#?}", stringify!($name), expected);
            }
            let in_coroutine = thread::spawn(|| verde::spawn(|| on_verde(Spawner::Coroutines)).join())
                .join()
                .expect("the verde hub thread panicked")
                .expect("the verde coroutine run panicked");
            assert_eq!(in_coroutine, expected, "verde in coroutines differs from std");
            let on_threads =
                thread::spawn(|| on_verde(Spawner::Threads)).join().expect("the verde thread run panicked");
            assert_eq!(on_threads, expected, "verde on plain threads differs from std");
        }
    };
}

/// A lock result, as text: `Ok(v)` or `Poisoned(v)`.
macro_rules! lock_text {
    ($r:expr) => {
        match $r {
            Ok(g) => format!("Ok({:?})", &*g),
            Err(e) => format!("Poisoned({:?})", &*e.into_inner()),
        }
    };
}

/// A try-lock result, as text: `Ok(v)`, `Poisoned(v)` or `WouldBlock`.
macro_rules! try_lock_text {
    ($r:expr) => {
        match $r {
            Ok(g) => format!("Ok({:?})", &*g),
            Err(TryLockError::Poisoned(e)) => format!("Poisoned({:?})", &*e.into_inner()),
            Err(TryLockError::WouldBlock) => "WouldBlock".to_string(),
        }
    };
}

// ---------------------------------------------------------------------------
// Mutex.
// ---------------------------------------------------------------------------

parity! {
    fn mutex_poisoning_into_inner_get_mut_and_clear_poison(m, sp) -> Vec<String> {
        use m::{Arc, Mutex, TryLockError};
        let mut seen = Vec::new();
        let mutex = Arc::new(Mutex::new(1));
        seen.push(format!("fresh poisoned={}", mutex.is_poisoned()));
        let m2 = mutex.clone();
        let joined = sp.spawn(move || {
            let mut g = m2.lock().unwrap();
            *g = 2;
            panic!("{}", DELIBERATE);
        }).join();
        seen.push(format!("panicked helper: {}", payload_text(&*joined.unwrap_err())));
        seen.push(format!("poisoned={}", mutex.is_poisoned()));
        seen.push(format!("lock: {}", lock_text!(mutex.lock())));
        seen.push(format!("try_lock: {}", try_lock_text!(mutex.try_lock())));
        {
            // Held and poisoned: try_lock reports WouldBlock first.
            let g = mutex.lock().unwrap_err().into_inner();
            seen.push(format!("try_lock while held: {}", try_lock_text!(mutex.try_lock())));
            drop(g);
        }
        seen.push(format!("still poisoned={}", mutex.is_poisoned()));
        let mut owned = Arc::try_unwrap(mutex).map_err(|_| "shared").unwrap();
        match owned.get_mut() {
            Ok(v) => seen.push(format!("get_mut Ok({v})")),
            Err(e) => {
                let v = e.into_inner();
                *v += 10;
                seen.push(format!("get_mut Err({v})"));
            }
        }
        owned.clear_poison();
        seen.push(format!("cleared poisoned={}", owned.is_poisoned()));
        seen.push(format!("get_mut after clear: {:?}", owned.get_mut().map(|v| *v)));
        seen.push(format!("lock after clear: {}", lock_text!(owned.lock())));
        // Poison again, in place this time, then consume it.
        let caught = panic::catch_unwind(|| {
            let _g = owned.lock();
            panic!("{}", DELIBERATE);
        });
        seen.push(format!("caught={}", caught.is_err()));
        match owned.into_inner() {
            Ok(v) => seen.push(format!("into_inner Ok({v})")),
            Err(e) => seen.push(format!("into_inner Err({})", e.into_inner())),
        }
        seen
    }
}

parity! {
    fn mutex_try_lock_would_block_then_ok(m, sp) -> Vec<String> {
        use m::{Arc, Mutex, TryLockError};
        let mut seen = Vec::new();
        let mutex = Arc::new(Mutex::new(String::from("a")));
        let g = mutex.lock().unwrap();
        seen.push(try_lock_text!(mutex.try_lock()));
        // Another thread or coroutine sees it locked too.
        let m2 = mutex.clone();
        seen.push(sp.spawn(move || try_lock_text!(m2.try_lock())).join().unwrap());
        drop(g);
        seen.push(try_lock_text!(mutex.try_lock()));
        seen.push(format!("poisoned={}", mutex.is_poisoned()));
        seen
    }
}

parity! {
    /// A guard taken by a destructor while unwinding does not poison when
    /// released: the panic did not happen while it was held.
    fn a_guard_taken_during_unwinding_does_not_poison(m, sp) -> Vec<String> {
        use m::{Arc, Mutex, RwLock};
        struct LockOnDrop(Arc<Mutex<u32>>, Arc<RwLock<u32>>);
        impl Drop for LockOnDrop {
            fn drop(&mut self) {
                *self.0.lock().unwrap() += 1;
                *self.1.write().unwrap() += 1;
            }
        }
        let (mutex, rw) = (Arc::new(Mutex::new(0)), Arc::new(RwLock::new(0)));
        let (m2, r2) = (mutex.clone(), rw.clone());
        let joined = sp.spawn(move || {
            let _d = LockOnDrop(m2, r2);
            panic!("{}", DELIBERATE);
        }).join();
        vec![
            format!("helper err={}", joined.is_err()),
            format!("mutex poisoned={} value={}", mutex.is_poisoned(), lock_text!(mutex.lock())),
            format!("rwlock poisoned={} value={}", rw.is_poisoned(), lock_text!(rw.read())),
        ]
    }
}

// ---------------------------------------------------------------------------
// RwLock.
// ---------------------------------------------------------------------------

parity! {
    fn rwlock_a_write_guard_panic_poisons_a_read_guard_panic_does_not(m, sp) -> Vec<String> {
        use m::{Arc, RwLock, TryLockError};
        let mut seen = Vec::new();
        let lock = Arc::new(RwLock::new(vec![1]));
        let l2 = lock.clone();
        let joined = sp.spawn(move || {
            let _r = l2.read().unwrap();
            panic!("{}", DELIBERATE);
        }).join();
        seen.push(format!("reader panicked={} poisoned={}", joined.is_err(), lock.is_poisoned()));
        seen.push(format!("read: {}", lock_text!(lock.read())));
        let l2 = lock.clone();
        let joined = sp.spawn(move || {
            let mut w = l2.write().unwrap();
            w.push(2);
            panic!("{}", DELIBERATE);
        }).join();
        seen.push(format!("writer panicked={} poisoned={}", joined.is_err(), lock.is_poisoned()));
        seen.push(format!("read: {}", lock_text!(lock.read())));
        seen.push(format!("write: {}", lock_text!(lock.write())));
        seen.push(format!("try_read: {}", try_lock_text!(lock.try_read())));
        seen.push(format!("try_write: {}", try_lock_text!(lock.try_write())));
        {
            let r = lock.read().unwrap_err().into_inner();
            seen.push(format!("try_write with a reader: {}", try_lock_text!(lock.try_write())));
            seen.push(format!("try_read with a reader: {}", try_lock_text!(lock.try_read())));
            drop(r);
            let w = lock.write().unwrap_err().into_inner();
            seen.push(format!("try_read with a writer: {}", try_lock_text!(lock.try_read())));
            seen.push(format!("try_write with a writer: {}", try_lock_text!(lock.try_write())));
            drop(w);
        }
        let mut owned = Arc::try_unwrap(lock).map_err(|_| "shared").unwrap();
        seen.push(format!("get_mut: {:?}", owned.get_mut().map_err(|e| e.into_inner().clone())));
        owned.clear_poison();
        seen.push(format!("cleared: poisoned={} get_mut={:?}", owned.is_poisoned(), owned.get_mut().map(|v| v.len())));
        let caught = panic::catch_unwind(|| {
            let _w = owned.write();
            panic!("{}", DELIBERATE);
        });
        seen.push(format!("caught={}", caught.is_err()));
        seen.push(format!("into_inner: {:?}", owned.into_inner().map_err(|e| e.into_inner())));
        seen
    }
}

parity! {
    /// `RwLockWriteGuard::downgrade` (stable since 1.92): the writer keeps
    /// read access without a gap, other readers get in, writers wait, and a
    /// panic after the downgrade does not poison.
    fn rwlock_downgrade(m, sp) -> Vec<String> {
        use m::{Arc, RwLock, RwLockWriteGuard, TryLockError};
        let mut seen = Vec::new();
        let lock = Arc::new(RwLock::new(1));
        let mut w = lock.write().unwrap();
        *w = 2;
        // A writer queued behind us must see the downgraded value, and only
        // once every reader is gone.
        let l2 = lock.clone();
        let writer = sp.spawn(move || {
            let mut w = l2.write().unwrap();
            let before = *w;
            *w = 3;
            before
        });
        sp.pause();
        let r = RwLockWriteGuard::downgrade(w);
        seen.push(format!("downgraded reads {}", *r));
        seen.push(format!("try_write: {}", try_lock_text!(lock.try_write())));
        drop(r);
        seen.push(format!("writer saw {:?}", writer.join().unwrap()));
        seen.push(format!("now {}", lock_text!(lock.read())));
        // Downgrading uncontended lets other readers in.
        let r = RwLockWriteGuard::downgrade(lock.write().unwrap());
        seen.push(format!("try_read beside it: {}", try_lock_text!(lock.try_read())));
        drop(r);
        let l2 = lock.clone();
        let joined = sp.spawn(move || {
            let _r = RwLockWriteGuard::downgrade(l2.write().unwrap());
            panic!("{}", DELIBERATE);
        }).join();
        seen.push(format!("panicked after downgrade={} poisoned={}", joined.is_err(), lock.is_poisoned()));
        seen
    }
}

// ---------------------------------------------------------------------------
// Condvar.
// ---------------------------------------------------------------------------

parity! {
    fn condvar_wait_while_returns_once_the_condition_clears(m, sp) -> Vec<String> {
        use m::{Arc, Condvar, Mutex};
        let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
        let p2 = pair.clone();
        let helper = sp.spawn(move || {
            for _ in 0..5 {
                *p2.0.lock().unwrap() += 1;
                p2.1.notify_all();
            }
        });
        let (mutex, cv) = &*pair;
        let g = cv.wait_while(mutex.lock().unwrap(), |n| *n < 5).unwrap();
        let seen = vec![format!("value {}", *g)];
        drop(g);
        helper.join().unwrap();
        seen
    }
}

parity! {
    fn condvar_wait_timeout_and_wait_timeout_while_report_timeouts(m, sp) -> Vec<String> {
        use m::{Arc, Condvar, Mutex};
        let mut seen = Vec::new();
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let (mutex, cv) = &*pair;
        // Nobody notifies: times out, and the guard is usable again.
        let (mut g, r) = cv.wait_timeout(mutex.lock().unwrap(), Duration::from_millis(10)).unwrap();
        *g = false;
        seen.push(format!("wait_timeout timed_out={} {r:?}", r.timed_out()));
        // The condition never clears: times out.
        let (g, r) = cv.wait_timeout_while(g, Duration::from_millis(10), |ready| !*ready).unwrap();
        seen.push(format!("wait_timeout_while never: timed_out={} value={}", r.timed_out(), *g));
        // The condition is already false: returns at once, not timed out
        // (even with no time at all).
        let (mut g, r) = cv.wait_timeout_while(g, Duration::ZERO, |ready| *ready).unwrap();
        seen.push(format!("wait_timeout_while already: timed_out={}", r.timed_out()));
        // A helper clears it: not timed out.
        *g = false;
        drop(g);
        let p2 = pair.clone();
        let helper = sp.spawn(move || {
            *p2.0.lock().unwrap() = true;
            p2.1.notify_one();
        });
        let (g, r) = cv.wait_timeout_while(mutex.lock().unwrap(), Duration::from_secs(60), |ready| !*ready).unwrap();
        seen.push(format!("wait_timeout_while notified: timed_out={} value={}", r.timed_out(), *g));
        drop(g);
        helper.join().unwrap();
        // The deprecated form returns "not timed out" as a bool.
        #[allow(deprecated)]
        let (_g, notified) = cv.wait_timeout_ms(mutex.lock().unwrap(), 5).unwrap();
        seen.push(format!("wait_timeout_ms notified={notified}"));
        seen
    }
}

parity! {
    /// A mutex poisoned while a waiter waits: the wait reports it, with the
    /// re-taken guard (and, for the timed forms, the wait's own result).
    fn condvar_waits_report_poisoning(m, sp) -> Vec<String> {
        use m::{Arc, Condvar, Mutex};
        let mut seen = Vec::new();
        for form in ["wait_while", "wait_timeout_while", "wait_timeout"] {
            let pair = Arc::new((Mutex::new(false), Condvar::new()));
            let (mutex, cv) = &*pair;
            let g = mutex.lock().unwrap();
            let p2 = pair.clone();
            // It can only take the mutex once the waiter below has released it.
            let helper = sp.spawn(move || {
                let mut g = p2.0.lock().unwrap();
                *g = true;
                p2.1.notify_all();
                panic!("{}", DELIBERATE);
            });
            let text = match form {
                "wait_while" => match cv.wait_while(g, |ready| !*ready) {
                    Ok(g) => format!("Ok({})", *g),
                    Err(e) => format!("Poisoned({})", *e.into_inner()),
                },
                "wait_timeout_while" => {
                    match cv.wait_timeout_while(g, Duration::from_secs(60), |ready| !*ready) {
                        Ok((g, r)) => format!("Ok({}, {})", *g, r.timed_out()),
                        Err(e) => {
                            let (g, r) = e.into_inner();
                            format!("Poisoned({}, {})", *g, r.timed_out())
                        }
                    }
                }
                _ => {
                    // Loop over spurious wake-ups until the helper has run.
                    let mut g = g;
                    loop {
                        match cv.wait_timeout(g, Duration::from_secs(60)) {
                            Ok((again, _)) if !*again => g = again,
                            Ok((g, r)) => break format!("Ok({}, {})", *g, r.timed_out()),
                            Err(e) => {
                                let (g, r) = e.into_inner();
                                break format!("Poisoned({}, {})", *g, r.timed_out());
                            }
                        }
                    }
                }
            };
            seen.push(format!("{form}: {text}"));
            seen.push(format!("helper panicked={}", helper.join().is_err()));
        }
        seen
    }
}

parity! {
    /// A timed wait that runs out of time, then finds the mutex poisoned
    /// when it re-takes it: the error carries that wait's result, timed out.
    fn condvar_wait_timeout_while_poisoned_after_timing_out(m, sp) -> Vec<String> {
        use m::{Arc, Condvar, Mutex};
        let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
        let (mutex, cv) = &*pair;
        let mut g = mutex.lock().unwrap();
        let p2 = pair.clone();
        // Nobody ever notifies. The helper can only take the mutex while the
        // waiter is in a wait, holds it past that wait's (short) timeout, and
        // panics with it.
        let helper = sp.spawn(move || {
            let _g = p2.0.lock().unwrap();
            sp.pause();
            panic!("{}", DELIBERATE);
        });
        let mut rounds_before = Vec::new();
        let result = loop {
            match cv.wait_timeout_while(g, Duration::from_millis(1), |_| true) {
                Ok((again, r)) => {
                    rounds_before.push(r.timed_out());
                    g = again;
                }
                Err(e) => {
                    let (g, r) = e.into_inner();
                    break format!("Poisoned({}, timed_out={})", *g, r.timed_out());
                }
            }
        };
        rounds_before.dedup();
        vec![
            result,
            format!("earlier rounds all timed out: {}", rounds_before.iter().all(|t| *t)),
            format!("helper panicked={}", helper.join().is_err()),
        ]
    }
}

// ---------------------------------------------------------------------------
// Barrier.
// ---------------------------------------------------------------------------

parity! {
    fn barrier_one_leader_per_generation_and_reuse(m, sp) -> Vec<String> {
        use m::{Arc, Barrier, Mutex};
        const N: usize = 4;
        const ROUNDS: usize = 5;
        let barrier = Arc::new(Barrier::new(N));
        // Per round: how many passed, how many led, and how many passed
        // with all N arrived (all of them: nobody passes early).
        let log = Arc::new(Mutex::new(vec![(0usize, 0usize, 0usize); ROUNDS]));
        let arrived = Arc::new(Mutex::new(vec![0usize; ROUNDS]));
        let helpers: Vec<_> = (0..N)
            .map(|_| {
                let (barrier, log, arrived) = (barrier.clone(), log.clone(), arrived.clone());
                sp.spawn(move || {
                    for round in 0..ROUNDS {
                        arrived.lock().unwrap()[round] += 1;
                        let r = barrier.wait();
                        let seen_arrived = arrived.lock().unwrap()[round];
                        let mut log = log.lock().unwrap();
                        log[round].0 += 1;
                        log[round].1 += usize::from(r.is_leader());
                        log[round].2 += usize::from(seen_arrived == N);
                    }
                })
            })
            .collect();
        for h in helpers {
            h.join().unwrap();
        }
        let mut seen: Vec<String> = log.lock().unwrap().iter().map(|t| format!("{t:?}")).collect();
        // A barrier of 0 or 1 never waits, and everyone leads.
        for n in [0, 1] {
            let b = Barrier::new(n);
            seen.push(format!("n={n}: {:?} {:?}", b.wait().is_leader(), b.wait()));
        }
        seen
    }
}

// ---------------------------------------------------------------------------
// mpsc.
// ---------------------------------------------------------------------------

parity! {
    fn recv_drains_buffered_messages_before_reporting_disconnection(m, sp) -> Vec<String> {
        use m::mpsc;
        let mut seen = Vec::new();
        for bound in [None, Some(3)] {
            let (tx, rx) = match bound {
                None => {
                    let (tx, rx) = mpsc::channel();
                    (Box::new(move |v| tx.send(v)) as Box<dyn Fn(i32) -> Result<(), mpsc::SendError<i32>> + Send>, rx)
                }
                Some(n) => {
                    let (tx, rx) = mpsc::sync_channel(n);
                    (Box::new(move |v| tx.send(v)) as Box<dyn Fn(i32) -> Result<(), mpsc::SendError<i32>> + Send>, rx)
                }
            };
            let helper = sp.spawn(move || {
                for v in 1..=3 {
                    tx(v).unwrap();
                }
                // tx (the only sender) is dropped here.
            });
            helper.join().unwrap();
            let got: Vec<_> = (0..5).map(|_| rx.recv()).collect();
            seen.push(format!("{bound:?}: {got:?} then try_recv {:?} recv_timeout {:?}", rx.try_recv(), rx.recv_timeout(Duration::from_secs(60))));
        }
        seen
    }
}

parity! {
    fn try_recv_and_recv_timeout_tell_empty_from_disconnected(m, sp) -> Vec<String> {
        use m::mpsc;
        let mut seen = Vec::new();
        let (tx, rx) = mpsc::channel::<u8>();
        let tx2 = tx.clone();
        seen.push(format!("{:?}", rx.try_recv()));
        seen.push(format!("{:?}", rx.recv_timeout(Duration::from_millis(5))));
        drop(tx);
        // One sender left: still only empty.
        seen.push(format!("{:?}", rx.try_recv()));
        seen.push(format!("{:?}", rx.recv_timeout(Duration::from_millis(5))));
        let helper = sp.spawn(move || tx2.send(7).unwrap());
        seen.push(format!("{:?}", rx.recv_timeout(Duration::from_secs(60))));
        helper.join().unwrap();
        seen.push(format!("{:?}", rx.try_recv()));
        seen.push(format!("{:?}", rx.recv_timeout(Duration::from_millis(5))));
        seen.push(format!("{:?}", rx.recv_timeout(Duration::MAX)));
        seen.push(format!("{:?}", rx.recv()));
        // The same on a rendezvous channel.
        let (tx, rx) = mpsc::sync_channel::<u8>(0);
        seen.push(format!("{:?}", rx.try_recv()));
        seen.push(format!("{:?}", rx.recv_timeout(Duration::from_millis(5))));
        drop(tx);
        seen.push(format!("{:?}", rx.try_recv()));
        seen.push(format!("{:?}", rx.recv_timeout(Duration::from_millis(5))));
        seen
    }
}

parity! {
    fn sends_fail_once_the_receiver_is_gone_and_return_the_value(m, sp) -> Vec<String> {
        use m::{mpsc, Arc};
        let drops = Arc::new(AtomicUsize::new(0));
        #[derive(Debug)]
        struct Counted(u32, Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.1.fetch_add(1, Ordering::SeqCst);
            }
        }
        let mut seen = Vec::new();
        let c = |v| Counted(v, drops.clone());
        // Unbounded: buffered messages are dropped with the receiver.
        let (tx, rx) = mpsc::channel();
        tx.send(c(1)).unwrap();
        tx.send(c(2)).unwrap();
        drop(rx);
        seen.push(format!("dropped with the receiver: {}", drops.load(Ordering::SeqCst)));
        let err = tx.send(c(3)).unwrap_err();
        seen.push(format!("send: value {} / {err} / {err:?}", err.0 .0));
        drop(err);
        // Bounded.
        let (tx, rx) = mpsc::sync_channel(2);
        tx.send(c(4)).unwrap();
        drop(rx);
        let err = tx.send(c(5)).unwrap_err();
        seen.push(format!("sync send: value {}", err.0 .0));
        match tx.try_send(c(6)) {
            Err(mpsc::TrySendError::Disconnected(v)) => seen.push(format!("try_send Disconnected({})", v.0)),
            other => seen.push(format!("try_send {:?}", other.map_err(|e| e.to_string()))),
        }
        drop(err);
        // A sender blocked on a full (or rendezvous) channel gets its value
        // back when the receiver goes away.
        for bound in [0, 1] {
            let (tx, rx) = mpsc::sync_channel(bound);
            if bound == 1 {
                tx.send(c(7)).unwrap();
            }
            let v = c(8);
            let helper = sp.spawn(move || tx.send(v).map_err(|e| e.0 .0));
            sp.pause();
            drop(rx);
            seen.push(format!("blocked send, bound {bound}: {:?}", helper.join().unwrap()));
        }
        seen.push(format!("drops {}", drops.load(Ordering::SeqCst)));
        seen
    }
}

parity! {
    fn sync_channel_zero_is_a_rendezvous(m, sp) -> Vec<String> {
        use m::{mpsc, Arc, Mutex};
        let mut seen = Vec::new();
        let (tx, rx) = mpsc::sync_channel(0);
        // Nobody receiving: no room at all.
        seen.push(format!("try_send alone: {}", try_send_text(tx.try_send(1))));
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        let helper = sp.spawn(move || {
            for v in 10..13 {
                tx.send(v).unwrap();
                log2.lock().unwrap().push(format!("sent {v}"));
            }
        });
        sp.pause();
        // The send cannot have completed: nobody has received yet.
        log.lock().unwrap().push("receiving".to_string());
        for _ in 0..3 {
            let v = rx.recv().unwrap();
            log.lock().unwrap().push(format!("received {v}"));
        }
        helper.join().unwrap();
        let log = log.lock().unwrap();
        seen.push(format!("first event: {}", log[0]));
        seen.push(format!("events: {}", log.len()));
        let sent: Vec<_> = log.iter().filter(|e| e.starts_with("sent")).cloned().collect();
        seen.push(format!("{sent:?}"));
        // `sent v` is never logged before `received v`'s receive started:
        // the n-th send completes only after the n-th receive began.
        let position = |e: &str| log.iter().position(|x| x == e).unwrap();
        for v in 10..13 {
            seen.push(format!("{v}: sent after receiving began: {}", position(&format!("sent {v}")) > position("receiving")));
        }
        seen.push(format!("after: {:?}", rx.try_recv()));
        // try_send succeeds once the receiver is blocked in recv.
        let (tx, rx) = mpsc::sync_channel(0);
        let receiver = sp.spawn(move || rx.recv());
        let mut attempts = 0;
        let result = loop {
            attempts += 1;
            match tx.try_send(5) {
                Err(mpsc::TrySendError::Full(_)) if attempts < 500 => sp.pause(),
                other => break other,
            }
        };
        seen.push(format!("try_send to a waiting receiver: {result:?} -> {:?}", receiver.join().unwrap()));
        seen
    }
}

/// A `try_send` result with the value handed back (their `Debug` hides it).
fn try_send_text<T: std::fmt::Debug>(r: Result<(), std::sync::mpsc::TrySendError<T>>) -> String {
    use std::sync::mpsc::TrySendError;
    match r {
        Ok(()) => "Ok".to_string(),
        Err(TrySendError::Full(v)) => format!("Full({v:?})"),
        Err(TrySendError::Disconnected(v)) => format!("Disconnected({v:?})"),
    }
}

parity! {
    fn sync_channel_n_try_send_full_then_disconnected(m, sp) -> Vec<String> {
        use m::mpsc;
        let (tx, rx) = mpsc::sync_channel(2);
        let mut seen: Vec<String> = (1..=3).map(|v| try_send_text(tx.try_send(v))).collect();
        seen.push(format!("{:?}", rx.recv()));
        seen.push(try_send_text(tx.try_send(4)));
        seen.push(try_send_text(tx.try_send(5)));
        seen.push(format!("{:?}", rx.try_iter().collect::<Vec<_>>()));
        drop(rx);
        seen.push(try_send_text(tx.try_send(6)));
        seen.push(format!("{:?}", tx.send(7).map_err(|e| e.0)));
        seen
    }
}

parity! {
    fn iterators_end_at_disconnection_and_try_iter_does_not_block(m, sp) -> Vec<String> {
        use m::mpsc;
        let mut seen = Vec::new();
        let (tx, rx) = mpsc::channel();
        // Nothing ready: try_iter yields nothing, and does not wait.
        seen.push(format!("try_iter empty: {:?}", rx.try_iter().collect::<Vec<i32>>()));
        for v in 0..3 {
            tx.send(v).unwrap();
        }
        seen.push(format!("try_iter ready: {:?}", rx.try_iter().collect::<Vec<_>>()));
        seen.push(format!("try_iter again: {:?}", rx.try_iter().next()));
        let tx2 = tx.clone();
        let helper = sp.spawn(move || {
            for v in 3..6 {
                tx2.send(v).unwrap();
            }
        });
        drop(tx);
        seen.push(format!("iter: {:?}", rx.iter().collect::<Vec<_>>()));
        helper.join().unwrap();
        seen.push(format!("iter after the end: {:?}", rx.iter().next()));
        // `for x in &rx` and the owning iterator.
        let (tx, rx) = mpsc::sync_channel(1);
        let helper = sp.spawn(move || (0..4).try_for_each(|v| tx.send(v)));
        let mut borrowed = Vec::new();
        for v in &rx {
            borrowed.push(v);
            if v == 1 {
                break;
            }
        }
        seen.push(format!("borrowed: {borrowed:?} owned: {:?}", rx.into_iter().collect::<Vec<_>>()));
        seen.push(format!("sender: {:?}", helper.join().unwrap()));
        seen
    }
}

// ---------------------------------------------------------------------------
// Display and Debug.
// ---------------------------------------------------------------------------

parity! {
    /// Every error type's `Display` and `Debug`, and `source()`, from errors
    /// produced by real operations.
    fn error_strings(m, sp) -> Vec<String> {
        use m::{mpsc, Mutex, TryLockError};
        use std::error::Error;
        fn show(e: &(dyn Error + '_)) -> String {
            format!("{e} | {e:?} | source={:?}", e.source().map(|s| s.to_string()))
        }
        let mut seen = Vec::new();
        let mutex = Mutex::new(1);
        let _ = panic::catch_unwind(|| {
            let _g = mutex.lock();
            panic!("{}", DELIBERATE);
        });
        seen.push(show(&mutex.lock().unwrap_err()));
        seen.push(show(&mutex.try_lock().unwrap_err()));
        {
            let _g = mutex.lock();
            let e = mutex.try_lock().unwrap_err();
            assert!(matches!(e, TryLockError::WouldBlock));
            seen.push(show(&e));
        }
        let (tx, rx) = mpsc::sync_channel::<i32>(1);
        tx.send(1).unwrap();
        seen.push(show(&tx.try_send(2).unwrap_err()));
        seen.push(show(&rx.try_recv().map(|_| ()).and_then(|()| rx.try_recv()).unwrap_err()));
        seen.push(show(&rx.recv_timeout(Duration::from_millis(1)).unwrap_err()));
        drop(tx);
        seen.push(show(&rx.recv().unwrap_err()));
        seen.push(show(&rx.try_recv().unwrap_err()));
        seen.push(show(&rx.recv_timeout(Duration::from_millis(1)).unwrap_err()));
        let (tx, rx) = mpsc::sync_channel::<i32>(1);
        drop(rx);
        seen.push(show(&tx.send(3).unwrap_err()));
        seen.push(show(&tx.try_send(4).unwrap_err()));
        let (tx, rx) = mpsc::channel::<i32>();
        drop(rx);
        seen.push(show(&tx.send(5).unwrap_err()));
        // The conversions between them.
        seen.push(format!("{:?}", mpsc::TryRecvError::from(mpsc::RecvError)));
        seen.push(format!("{:?}", mpsc::RecvTimeoutError::from(mpsc::RecvError)));
        seen.push(format!("{:?}", mpsc::TrySendError::from(mpsc::SendError(6))));
        seen
    }
}

parity! {
    fn debug_and_display_of_the_primitives(m, sp) -> Vec<String> {
        use m::{mpsc, Arc, Barrier, Condvar, Mutex, RwLock};
        let mut seen = Vec::new();
        let mutex = Arc::new(Mutex::new(vec![1, 2]));
        seen.push(format!("{mutex:?}"));
        {
            let g = mutex.lock().unwrap();
            seen.push(format!("locked: {mutex:?} / guard {g:?}"));
            seen.push(format!("alternate: {mutex:#?}"));
        }
        let m2 = mutex.clone();
        let _ = sp.spawn(move || {
            let _g = m2.lock();
            panic!("{}", DELIBERATE);
        }).join();
        seen.push(format!("poisoned: {mutex:?}"));
        let text = Mutex::new(String::from("hi"));
        seen.push(format!("guard display: {}", text.lock().unwrap()));
        let rw = RwLock::new(String::from("rw"));
        seen.push(format!("{rw:?}"));
        {
            let r = rw.read().unwrap();
            seen.push(format!("read-locked: {rw:?} / {r:?} / {r}"));
        }
        {
            #[allow(clippy::readonly_write_lock)] // write-locked on purpose
            let w = rw.write().unwrap();
            seen.push(format!("write-locked: {rw:?} / {w:?} / {w}"));
        }
        let poisoned_rw = RwLock::new(3);
        let _ = panic::catch_unwind(AssertUnwindSafe(|| {
            let _w = poisoned_rw.write();
            panic!("{}", DELIBERATE);
        }));
        seen.push(format!("{poisoned_rw:?}"));
        let unsized_mutex: &Mutex<[u8]> = &Mutex::new([1, 2, 3]);
        seen.push(format!("{unsized_mutex:?}"));
        let cv = Condvar::new();
        seen.push(format!("{cv:?} / {:?}", Condvar::default()));
        let unit = Mutex::new(());
        let (g, r) = cv.wait_timeout(unit.lock().unwrap(), Duration::ZERO).unwrap();
        drop(g);
        let copy = r; // Copy, Clone, PartialEq
        seen.push(format!("{r:?} / {:?}", copy == r));
        let barrier = Barrier::new(1);
        seen.push(format!("{barrier:?} / {:?}", barrier.wait()));
        let (tx, rx) = mpsc::channel::<i32>();
        let (stx, srx) = mpsc::sync_channel::<i32>(3);
        seen.push(format!("{tx:?} / {stx:?} / {rx:?} / {srx:?}"));
        seen.push(format!("{:?} / {:?}", rx.iter(), rx.try_iter()));
        seen.push(format!("{:?}", srx.into_iter()));
        seen.push(format!("{:?} / {:?}", Mutex::<u8>::default(), RwLock::<u8>::from(4)));
        seen
    }
}

parity! {
    /// `&Mutex` and `&RwLock` may cross `catch_unwind` without
    /// `AssertUnwindSafe` (poisoning makes them unwind-safe), as with std.
    fn locks_are_unwind_safe(m, sp) -> Vec<String> {
        use m::{mpsc, Mutex, RwLock};
        let mutex = Mutex::new(0);
        let rw = RwLock::new(0);
        let (tx, rx) = mpsc::channel::<u8>();
        let r = panic::catch_unwind(|| {
            *mutex.lock().unwrap() += 1;
            *rw.write().unwrap() += 1;
            tx.send(1).unwrap();
            rx.recv().unwrap()
        });
        vec![format!("{r:?} {:?} {:?}", mutex.lock().map(|g| *g), rw.read().map(|g| *g))]
    }
}
