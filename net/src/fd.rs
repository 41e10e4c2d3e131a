//! The fd traits and std conversions every socket type implements.
//!
//! Each type is a struct with a `sock: Socket` field and a
//! `from_socket(Socket) -> Self` constructor; [`fd_conversions!`] gives it
//! `AsRawFd`, `AsFd`, `FromRawFd`, `IntoRawFd`, `From<OwnedFd>`,
//! `Into<OwnedFd>`, and conversions from and into its std counterpart.
//!
//! Adopting an fd (`FromRawFd`, `From<OwnedFd>`, `From<std type>`)
//! remembers the blocking mode and timeouts it had as the user's settings,
//! and switches a listener to non-blocking mode (other sockets need not be:
//! their calls pass `MSG_DONTWAIT`). Giving one up (`IntoRawFd`,
//! `Into<OwnedFd>`, `Into<std type>`) applies the user's blocking mode,
//! except to a listener a clone made by `try_clone` still shares.

macro_rules! fd_conversions {
    ($t:ident, $std:ty) => {
        impl ::std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> ::std::os::fd::RawFd {
                self.sock.fd()
            }
        }

        impl ::std::os::fd::AsFd for $t {
            fn as_fd(&self) -> ::std::os::fd::BorrowedFd<'_> {
                // SAFETY: the fd is open for as long as `self` is borrowed;
                // only dropping or consuming `self` closes or releases it.
                unsafe { ::std::os::fd::BorrowedFd::borrow_raw(self.sock.fd()) }
            }
        }

        impl ::std::os::fd::FromRawFd for $t {
            #[doc = concat!("Adopts `fd`, which must be an open socket of the kind a `", stringify!($t), "` holds,")]
            /// owned by the caller. Its blocking mode and timeouts become
            /// this value's settings; a listening socket is switched to
            /// non-blocking mode.
            unsafe fn from_raw_fd(fd: ::std::os::fd::RawFd) -> $t {
                $t::from_socket($crate::socket::Socket::from_foreign(fd))
            }
        }

        impl ::std::os::fd::IntoRawFd for $t {
            /// Releases the fd in the blocking mode the user asked for
            /// (except a listener a `try_clone` still shares, whose
            /// `accept` needs the fd to stay non-blocking).
            fn into_raw_fd(self) -> ::std::os::fd::RawFd {
                self.sock.into_raw()
            }
        }

        impl From<::std::os::fd::OwnedFd> for $t {
            /// Adopts the fd as [`FromRawFd`](::std::os::fd::FromRawFd)
            /// does.
            fn from(fd: ::std::os::fd::OwnedFd) -> $t {
                $t::from_socket($crate::socket::Socket::from_foreign(::std::os::fd::IntoRawFd::into_raw_fd(fd)))
            }
        }

        impl From<$t> for ::std::os::fd::OwnedFd {
            /// Releases the fd as [`IntoRawFd`](::std::os::fd::IntoRawFd)
            /// does.
            fn from(s: $t) -> ::std::os::fd::OwnedFd {
                let fd = ::std::os::fd::IntoRawFd::into_raw_fd(s);
                // SAFETY: `into_raw_fd` handed over ownership of an open fd.
                unsafe { ::std::os::fd::FromRawFd::from_raw_fd(fd) }
            }
        }

        impl From<$std> for $t {
            #[doc = concat!("Turns a std socket into a cooperative one, keeping its blocking mode and timeouts")]
            /// as this value's settings.
            fn from(s: $std) -> $t {
                $t::from(::std::os::fd::OwnedFd::from(s))
            }
        }

        impl From<$t> for $std {
            /// Hands the socket back to std, in the blocking mode the user
            /// asked for (see [`IntoRawFd`](::std::os::fd::IntoRawFd)).
            fn from(s: $t) -> $std {
                <$std>::from(::std::os::fd::OwnedFd::from(s))
            }
        }
    };
}

pub(crate) use fd_conversions;
