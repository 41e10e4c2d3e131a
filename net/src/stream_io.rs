//! `Read` and `Write` for a stream socket type and for a shared reference
//! to it, as std gives `TcpStream` and `UnixStream`.
//!
//! Each type is a struct with a `sock: Socket` field; [`stream_io!`]
//! forwards `read`, `read_vectored`, `write` and `write_vectored` to it, for
//! both `T` and `&T`, so a reader and a writer can share one socket.
//!
//! `stream_io!(T, tcp)` is for TCP streams, whose zero-length reads behave
//! differently (see `Socket::recv_empty_tcp`).

macro_rules! stream_io {
    ($t:ty) => {
        $crate::stream_io::stream_io!(@impl $t, read_stream);
        $crate::stream_io::stream_io!(@impl &$t, read_stream);
    };
    ($t:ty, tcp) => {
        $crate::stream_io::stream_io!(@impl $t, read_tcp);
        $crate::stream_io::stream_io!(@impl &$t, read_tcp);
    };
    (@impl $t:ty, $read:ident) => {
        impl ::std::io::Read for $t {
            #[inline]
            fn read(&mut self, buf: &mut [u8]) -> ::std::io::Result<usize> {
                self.sock.$read(buf)
            }

            fn read_vectored(&mut self, bufs: &mut [::std::io::IoSliceMut<'_>]) -> ::std::io::Result<usize> {
                self.sock.read_vectored(bufs)
            }
        }

        impl ::std::io::Write for $t {
            #[inline]
            fn write(&mut self, buf: &[u8]) -> ::std::io::Result<usize> {
                self.sock.write(buf)
            }

            fn write_vectored(&mut self, bufs: &[::std::io::IoSlice<'_>]) -> ::std::io::Result<usize> {
                self.sock.write_vectored(bufs)
            }

            fn flush(&mut self) -> ::std::io::Result<()> {
                Ok(())
            }
        }
    };
}

pub(crate) use stream_io;
