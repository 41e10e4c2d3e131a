//! The acceptors: one coroutine per listener and hub, spawning a
//! coroutine for each connection it accepts.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use verde_runtime::lock::Semaphore;
use verde_runtime::{Builder, SpawnBackoff};

use crate::server::conn::{self, Shared};
use crate::server::listener::Listener;
use crate::server::registry::Registry;
use crate::Transport;

/// What every acceptor of a server shares.
#[derive(Clone)]
pub(crate) struct Serving {
    pub shared: Arc<Shared>,
    pub registry: Arc<Registry>,
    /// The connection slots of [`max_connections`](crate::ServerBuilder::max_connections).
    pub limit: Option<Arc<Semaphore>>,
}

/// Accepts connections on `listener` until killed. Several acceptors, on
/// several hubs, may share one listener.
pub(crate) fn accept_loop(listener: Arc<Listener>, serving: Serving) {
    match &*listener {
        Listener::Tcp(l) => accept_each(
            || {
                let (stream, peer) = l.accept()?;
                let _ = stream.set_nodelay(true);
                Ok((stream, Some(peer)))
            },
            &serving,
        ),
        // A Unix peer has no address worth keeping (it is unnamed, as a
        // rule): the request's peer_addr is None and the access log's host
        // is "-".
        Listener::Unix(l) => accept_each(|| l.accept().map(|(stream, _)| (stream, None)), &serving),
    }
}

/// Releases a connection slot when the connection ends.
struct Permit(Arc<Semaphore>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Removes a connection from the registry when its coroutine ends, however
/// it ends.
struct Deregister(Arc<Registry>, u64);

impl Drop for Deregister {
    fn drop(&mut self) {
        self.0.remove(self.1);
    }
}

fn accept_each<T, F>(mut accept: F, serving: &Serving)
where
    T: Transport + Send + 'static,
    F: FnMut() -> io::Result<(T, Option<SocketAddr>)>,
{
    let mut backoff = SpawnBackoff::new();
    loop {
        let (stream, peer) = match accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                log::warn!(target: "verde_http", "accept failed: {e}");
                continue;
            }
        };
        // A slot is taken only once a connection is here: an acceptor
        // waiting on a quiet listener must not hold one that connections
        // queued on another worker's listener need.
        let permit = serving.limit.as_ref().map(|s| {
            s.acquire(true, None);
            Permit(s.clone())
        });
        let (id, idle) = serving.registry.reserve();
        let (shared, registry, conn_idle) = (serving.shared.clone(), serving.registry.clone(), idle.clone());
        let spawned = Builder::new().spawn(move || {
            let _permit = permit;
            let _deregister = Deregister(registry, id);
            conn::serve(stream, peer, &shared, &conn_idle);
        });
        // On a failure the closure, dropped, closed the connection and gave
        // back its slot; its `Deregister` left the id for a later `insert`.
        match backoff.after(spawned, "verde-http server", "connection") {
            Some(handle) => serving.registry.insert(id, handle, idle),
            None => serving.registry.unreserve(id),
        }
    }
}
