//! AddressSanitizer's fiber annotations around every coroutine switch.
//!
//! ASan keeps a shadow of every stack: each instrumented frame poisons the
//! red zones around its locals on entry and clears them on return. A frame
//! left by unwinding never returns, so before a panic unwinds, the compiler
//! calls `__asan_handle_no_return`, which clears the whole stack from the
//! stack pointer up to the stack's top. ASan knows only the thread's own
//! stack, though: on a coroutine stack it refuses ("ASan is ignoring
//! requested `__asan_handle_no_return`"), the unwound frames' poison stays,
//! and the next coroutine to reuse that pooled stack trips over it as a
//! false `stack-buffer-overflow`.
//!
//! Announcing each switch with `__sanitizer_start_switch_fiber` and
//! `__sanitizer_finish_switch_fiber` tells ASan which stack is running, so
//! the clearing works on coroutine stacks too, and real stack errors on
//! them are reported against the right stack.
//!
//! A coroutine that ends normally leaves poison behind as well: corosensei's
//! entry frame never returns, so its red zones outlive the coroutine, and the
//! next coroutine on the pooled stack, whose entry frame has another layout,
//! writes into them. [`Fiber::set_stack`] clears a stack's shadow when a new
//! coroutine takes it.
//!
//! The annotations are compiled in only when the crate is built with
//! `--cfg verde_asan` (which `scripts/asan.sh` passes along with
//! `-Zsanitizer=address`); otherwise every type here is zero-sized and
//! every function an empty inline one.
//!
//! The protocol, for one coroutine:
//!
//! * whoever resumes it (its hub, or a coroutine hosting it) brackets the
//!   resume with [`Resume::start`] and [`Resume::finish`];
//! * the coroutine, on its own stack, calls [`Fiber::entered`] first thing
//!   (which learns the resumer's stack), brackets every suspend with
//!   [`Fiber::suspend`], and drops the guard `entered` returned as its
//!   body ends, which tells ASan the stack is done with.

#[cfg(verde_asan)]
mod imp {
    use std::cell::Cell;
    use std::ffi::c_void;
    use std::ptr;

    use crate::stack::Stack;

    extern "C" {
        fn __sanitizer_start_switch_fiber(fake_stack_save: *mut *mut c_void, bottom: *const c_void, size: usize);
        fn __sanitizer_finish_switch_fiber(
            fake_stack_save: *mut c_void,
            bottom_old: *mut *const c_void,
            size_old: *mut usize,
        );
        fn __asan_unpoison_memory_region(addr: *const c_void, size: usize);
    }

    /// The resumer's side of one resume: its fake stack, kept across it.
    pub(crate) struct Resume {
        fake_stack: *mut c_void,
    }

    impl Resume {
        /// Announces a switch to the stack of the coroutine `to`.
        #[inline(always)]
        pub(crate) fn start(to: &Fiber) -> Resume {
            let mut fake_stack = ptr::null_mut();
            // SAFETY: ASan's documented protocol: called just before the
            // switch, with the target stack's bounds; `fake_stack` outlives
            // the switch and is handed back in `finish`.
            unsafe { __sanitizer_start_switch_fiber(&mut fake_stack, to.bottom.get(), to.size.get()) };
            Resume { fake_stack }
        }

        /// Announces that the switch back to the resumer has happened.
        #[inline(always)]
        pub(crate) fn finish(self) {
            // SAFETY: called just after the switch back, with what `start`
            // saved on this side.
            unsafe { __sanitizer_finish_switch_fiber(self.fake_stack, ptr::null_mut(), ptr::null_mut()) };
        }
    }

    /// A coroutine's side: its own stack, its fake stack while suspended,
    /// and the stack of whoever resumed it last, which its next suspend
    /// switches to.
    pub(crate) struct Fiber {
        bottom: Cell<*const c_void>,
        size: Cell<usize>,
        fake_stack: Cell<*mut c_void>,
        resumer_bottom: Cell<*const c_void>,
        resumer_size: Cell<usize>,
    }

    impl Fiber {
        pub(crate) const fn new() -> Fiber {
            Fiber {
                bottom: Cell::new(ptr::null()),
                size: Cell::new(0),
                fake_stack: Cell::new(ptr::null_mut()),
                resumer_bottom: Cell::new(ptr::null()),
                resumer_size: Cell::new(0),
            }
        }

        /// Records the stack the coroutine will run on, and clears what
        /// ASan remembers of the stack's last coroutine.
        ///
        /// corosensei's entry frame never returns (the coroutine's last
        /// switch leaves from inside it), so the red zones it poisoned stay
        /// poisoned after the coroutine ends. The next coroutine on this
        /// pooled stack has another closure type, so another frame layout,
        /// and would trip over them.
        pub(crate) fn set_stack(&self, stack: &Stack) {
            let bottom = stack.guard_range().1 as *const c_void;
            self.bottom.set(bottom);
            self.size.set(stack.size());
            // SAFETY: `[bottom, bottom + size)` is the usable memory of a
            // stack no coroutine runs on: it was just taken from the pool,
            // before the new coroutine's entry frame is written to it.
            unsafe { __asan_unpoison_memory_region(bottom, stack.size()) };
        }

        /// Completes a switch onto this coroutine's stack and records the
        /// resumer's stack.
        #[inline(always)]
        fn arrived(&self) {
            let mut bottom = ptr::null();
            let mut size = 0;
            // SAFETY: called on the coroutine's stack just after the switch
            // onto it, with the fake stack saved when it last left (null
            // on its first entry).
            unsafe { __sanitizer_finish_switch_fiber(self.fake_stack.get(), &mut bottom, &mut size) };
            self.resumer_bottom.set(bottom);
            self.resumer_size.set(size);
        }

        /// The coroutine's first instructions: returns the guard that marks
        /// the stack done with when the body ends.
        #[inline(always)]
        pub(crate) fn entered(&self) -> Finished<'_> {
            self.arrived();
            Finished(self)
        }

        /// Runs `switch`, the coroutine's suspend, announced to ASan.
        #[inline(always)]
        pub(crate) fn suspend<R>(&self, switch: impl FnOnce() -> R) -> R {
            let mut fake_stack = ptr::null_mut();
            // SAFETY: called just before switching back to the resumer,
            // whose stack `arrived` recorded.
            unsafe {
                __sanitizer_start_switch_fiber(&mut fake_stack, self.resumer_bottom.get(), self.resumer_size.get())
            };
            self.fake_stack.set(fake_stack);
            let r = switch();
            self.arrived();
            r
        }
    }

    /// Marks the coroutine's stack done with when dropped, as its body ends.
    pub(crate) struct Finished<'a>(&'a Fiber);

    impl Drop for Finished<'_> {
        #[inline(always)]
        fn drop(&mut self) {
            // SAFETY: the body is ending and its last switch, back to the
            // resumer, follows; a null save tells ASan this stack's fake
            // frames can go.
            unsafe {
                __sanitizer_start_switch_fiber(ptr::null_mut(), self.0.resumer_bottom.get(), self.0.resumer_size.get())
            };
        }
    }
}

#[cfg(not(verde_asan))]
mod imp {
    use std::marker::PhantomData;

    use crate::stack::Stack;

    /// The resumer's side of one resume (nothing without ASan).
    pub(crate) struct Resume;

    impl Resume {
        #[inline(always)]
        pub(crate) fn start(_to: &Fiber) -> Resume {
            Resume
        }

        #[inline(always)]
        pub(crate) fn finish(self) {}
    }

    /// A coroutine's side (nothing without ASan).
    pub(crate) struct Fiber;

    impl Fiber {
        pub(crate) const fn new() -> Fiber {
            Fiber
        }

        #[inline(always)]
        pub(crate) fn set_stack(&self, _stack: &Stack) {}

        #[inline(always)]
        pub(crate) fn entered(&self) -> Finished<'_> {
            Finished(PhantomData)
        }

        #[inline(always)]
        pub(crate) fn suspend<R>(&self, switch: impl FnOnce() -> R) -> R {
            switch()
        }
    }

    /// The end-of-body guard (nothing without ASan).
    pub(crate) struct Finished<'a>(PhantomData<&'a Fiber>);
}

pub(crate) use imp::{Fiber, Resume};
