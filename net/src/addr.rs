//! [`ToSocketAddrs`]: std's address conversion, with name resolution that
//! never blocks the hub.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::{iter, option, slice, vec};

/// Values that convert to one or more [`SocketAddr`]s: verde's counterpart
/// of [`std::net::ToSocketAddrs`], with the same shape and the same
/// implementations (`SocketAddr`, `SocketAddrV4`, `SocketAddrV6`,
/// `(IpAddr, u16)`, `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)`, `(&str, u16)`,
/// `(String, u16)`, `str`, `String`, `&[SocketAddr]` and `&T`).
///
/// Why a trait of its own: a host name has to be looked up with
/// `getaddrinfo`, which blocks its thread for as long as DNS takes. verde
/// runs that lookup on its blocking pool (see
/// [`verde_runtime::blocking`]) while the calling coroutine parks, so the
/// hub keeps serving; std's trait could not offer that for an arbitrary
/// implementation, which need not be `Send`. Literal addresses (`"1.2.3.4:80"`,
/// `("::1", 80)`) are parsed in place and never touch the pool.
///
/// Calls such as `TcpStream::connect("example.com:80")` compile unchanged:
/// only code that names the trait, such as a generic
/// `fn f<A: std::net::ToSocketAddrs>`, has to name this one instead.
///
/// ```
/// use verde_net::ToSocketAddrs;
///
/// let addrs: Vec<_> = ("127.0.0.1", 80).to_socket_addrs().unwrap().collect();
/// assert_eq!(addrs, ["127.0.0.1:80".parse().unwrap()]);
/// let local: Vec<_> = "localhost:80".to_socket_addrs().unwrap().collect();
/// assert!(local.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
/// ```
pub trait ToSocketAddrs {
    /// The iterator of addresses this value converts to.
    type Iter: Iterator<Item = SocketAddr>;

    /// Converts this value to socket addresses, resolving host names on
    /// verde's blocking pool. An error means no address could be found.
    fn to_socket_addrs(&self) -> io::Result<Self::Iter>;
}

impl ToSocketAddrs for SocketAddr {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(Some(*self).into_iter())
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::V4(*self).to_socket_addrs()
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::V6(*self).to_socket_addrs()
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::new(self.0, self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddrV4::new(self.0, self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddrV6::new(self.0, self.1, 0, 0).to_socket_addrs()
    }
}

impl ToSocketAddrs for (&str, u16) {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        let (host, port) = *self;
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)].into_iter());
        }
        resolve(host, port)
    }
}

impl ToSocketAddrs for (String, u16) {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        (self.0.as_str(), self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for str {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Ok(vec![addr].into_iter());
        }
        let (host, port) = self
            .rsplit_once(':')
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "invalid socket address"))?;
        let port: u16 = port.parse().map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "invalid port value"))?;
        (host, port).to_socket_addrs()
    }
}

impl ToSocketAddrs for String {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        self.as_str().to_socket_addrs()
    }
}

impl<'a> ToSocketAddrs for &'a [SocketAddr] {
    type Iter = iter::Cloned<slice::Iter<'a, SocketAddr>>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(self.iter().cloned())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    type Iter = T::Iter;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        (**self).to_socket_addrs()
    }
}

/// Looks `host` up with the system resolver on the blocking pool.
fn resolve(host: &str, port: u16) -> io::Result<vec::IntoIter<SocketAddr>> {
    let host = host.to_owned();
    verde_runtime::blocking(move || {
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port)).map(Iterator::collect::<Vec<_>>)
    })
    .map(Vec::into_iter)
}

/// Runs `f` on each address `addr` converts to until one succeeds, and
/// returns that result or the last error, as std's socket constructors do.
pub(crate) fn each_addr<A: ToSocketAddrs + ?Sized, T>(
    addr: &A,
    mut f: impl FnMut(&SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(&a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "could not resolve to any addresses")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all<A: ToSocketAddrs + ?Sized>(a: &A) -> io::Result<Vec<SocketAddr>> {
        a.to_socket_addrs().map(Iterator::collect)
    }

    #[test]
    fn literals_parse_without_resolving() {
        let v4: SocketAddr = "10.0.0.1:5".parse().unwrap();
        let v6: SocketAddr = "[::1]:6".parse().unwrap();
        assert_eq!(all("10.0.0.1:5").unwrap(), [v4]);
        assert_eq!(all(&String::from("[::1]:6")).unwrap(), [v6]);
        assert_eq!(all(&("10.0.0.1", 5)).unwrap(), [v4]);
        assert_eq!(all(&("::1".to_owned(), 6)).unwrap(), [v6]);
        assert_eq!(all(&(Ipv4Addr::new(10, 0, 0, 1), 5)).unwrap(), [v4]);
        assert_eq!(all(&(IpAddr::V6(Ipv6Addr::LOCALHOST), 6)).unwrap(), [v6]);
        assert_eq!(all(&&[v4, v6][..]).unwrap(), [v4, v6]);
    }

    #[test]
    fn malformed_strings_are_invalid_input() {
        for s in ["no-port", "host:notaport", "host:70000"] {
            assert_eq!(all(s).unwrap_err().kind(), io::ErrorKind::InvalidInput, "{s}");
        }
    }

    #[test]
    fn each_addr_returns_the_last_error() {
        let addrs: [SocketAddr; 2] = ["127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap()];
        let mut seen = Vec::new();
        let r: io::Result<()> = each_addr(&&addrs[..], |a| {
            seen.push(a.port());
            Err(io::Error::other(format!("fail {}", a.port())))
        });
        assert_eq!(seen, [1, 2]);
        assert_eq!(r.unwrap_err().to_string(), "fail 2");
        let none: &[SocketAddr] = &[];
        assert_eq!(each_addr(&none, |_| Ok(())).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }
}
