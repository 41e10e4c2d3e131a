//! verde's HTTP/1.1 server and client, for plain blocking handlers.
//!
//! The role of gevent's pywsgi, gunicorn and meinheld: every connection is
//! a coroutine, a handler is ordinary blocking code, and one thread serves
//! thousands of connections.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod body;
pub mod client;
mod date;
mod handler;
mod limits;
mod rate;
mod request;
mod response;
pub mod server;
mod transport;

pub use body::{Body, BodyError};
pub use client::{Client, ClientBuilder, ClientResponse, RequestBuilder};
pub use handler::{from_http, Handler};
pub use limits::{Limits, Timeouts};
pub use request::Request;
pub use response::{Response, ResponseBody};
pub use server::{ListenAddr, Listener, Server, ServerBuilder, ShutdownHandle};
pub use transport::Transport;

pub use http::{header, HeaderName, HeaderValue, Method, StatusCode, Version};
