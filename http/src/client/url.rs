//! The parts of an `http://` URL the client needs.

use std::io;

use http::Uri;

/// Where a request goes and what it asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub host: String,
    pub port: u16,
    /// The `Host` header value.
    pub authority: String,
    /// The request target: path and query.
    pub path: String,
}

impl Target {
    /// Parses an absolute `http://` URL.
    pub fn parse(url: &str) -> io::Result<Target> {
        let uri: Uri = url.parse().map_err(|e| invalid(format!("invalid URL {url:?}: {e}")))?;
        Target::from_uri(&uri)
    }

    /// Takes the target from an absolute URI.
    pub fn from_uri(uri: &Uri) -> io::Result<Target> {
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => return Err(invalid(format!("unsupported scheme {other:?}: only http is supported"))),
            None => return Err(invalid(format!("URL {uri} has no scheme"))),
        }
        let authority = uri.authority().ok_or_else(|| invalid(format!("URL {uri} has no host")))?;
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_string();
        let port = authority.port_u16().unwrap_or(80);
        let path = uri.path_and_query().map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
        let path = if path.is_empty() { "/".to_string() } else { path };
        // The Host header carries host and port only, never userinfo.
        let authority = authority.as_str().rsplit_once('@').map_or(authority.as_str(), |(_, hostport)| hostport);
        Ok(Target { host, port, authority: authority.to_string(), path })
    }

    /// Resolves `location` (from a redirect) against this target.
    pub fn join(&self, location: &str) -> io::Result<Target> {
        if location.starts_with("http://") || location.starts_with("https://") {
            return Target::parse(location);
        }
        if let Some(rest) = location.strip_prefix("//") {
            return Target::parse(&format!("http://{rest}"));
        }
        let path = if location.starts_with('/') {
            location.to_string()
        } else {
            let dir = self.path.split('?').next().unwrap_or("/");
            let dir = &dir[..dir.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}")
        };
        Ok(Target { path, ..self.clone() })
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("http://example.com:8080/a/b?c=1").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("example.com", 8080, "/a/b?c=1"));
        assert_eq!(t.authority, "example.com:8080");
        let t = Target::parse("http://127.0.0.1").unwrap();
        assert_eq!((t.port, t.path.as_str()), (80, "/"));
        let t = Target::parse("http://[::1]:9/").unwrap();
        assert_eq!(t.host, "::1");
        let t = Target::parse("http://user:pw@example.com:81/").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.authority.as_str()), ("example.com", 81, "example.com:81"));
        assert!(Target::parse("https://example.com/").is_err());
        assert!(Target::parse("/relative").is_err());
    }

    #[test]
    fn joins_redirect_locations() {
        let t = Target::parse("http://h/a/b?q").unwrap();
        assert_eq!(t.join("/x").unwrap().path, "/x");
        assert_eq!(t.join("c").unwrap().path, "/a/c");
        assert_eq!(t.join("http://o:81/y").unwrap().port, 81);
    }
}
