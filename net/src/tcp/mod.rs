//! TCP: [`TcpListener`] and [`TcpStream`].

mod listener;
mod stream;

pub use listener::{Incoming, IntoIncoming, TcpListener};
pub use stream::TcpStream;
