//! [`HttpOrigin`]: one entry of a plugin's HTTP allow-list, and the origin of a request URL,
//! compared exactly (scheme, host, port).

use std::fmt;
use std::str::FromStr;

use ureq::http::Uri;

/// A scheme the `http` capability speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// Where an HTTP request goes: a scheme (`http` or `https`), a host (lower-cased; an IPv6
/// address in brackets) and a port (the scheme's default when not written). Parsed from an
/// allow-list entry with [`FromStr`], which takes an origin and nothing else: no user, path,
/// query or fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOrigin {
    scheme: Scheme,
    host: String,
    port: u16,
}

impl HttpOrigin {
    /// The origin of a request URL, or why it has none this capability can reach.
    pub(crate) fn of_url(uri: &Uri) -> Result<HttpOrigin, &'static str> {
        let scheme = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("http") => Scheme::Http,
            Some(s) if s.eq_ignore_ascii_case("https") => Scheme::Https,
            Some(_) => return Err("its scheme is neither http nor https"),
            None => return Err("it is not an absolute URL"),
        };
        let authority = uri.authority().ok_or("it names no host")?;
        if authority.as_str().contains('@') {
            return Err("it carries a user name");
        }
        let host = authority.host();
        if host.is_empty() {
            return Err("it names no host");
        }
        Ok(HttpOrigin {
            scheme,
            host: host.to_ascii_lowercase(),
            port: authority.port_u16().unwrap_or(scheme.default_port()),
        })
    }
}

impl FromStr for HttpOrigin {
    type Err = String;

    /// `scheme://host[:port]`, a final `/` tolerated.
    fn from_str(entry: &str) -> Result<HttpOrigin, String> {
        let bad = |why: &str| format!("{entry:?} is not an origin (scheme://host[:port]): {why}");
        let uri: Uri = entry.parse().map_err(|e| bad(&format!("{e}")))?;
        let origin = HttpOrigin::of_url(&uri).map_err(bad)?;
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() || entry.contains('#') {
            return Err(bad("it has a path, a query or a fragment"));
        }
        if entry.trim() != entry {
            return Err(bad("it has spaces around it"));
        }
        Ok(origin)
    }
}

impl fmt::Display for HttpOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Result<HttpOrigin, &'static str> {
        HttpOrigin::of_url(&text.parse::<Uri>().unwrap())
    }

    #[test]
    fn origins_parse_with_default_ports_and_compare_exactly() {
        let local: HttpOrigin = "http://127.0.0.1:8080".parse().unwrap();
        assert_eq!(url("http://127.0.0.1:8080/auth?x=1"), Ok(local.clone()));
        assert_ne!(url("https://127.0.0.1:8080/auth"), Ok(local.clone()));
        assert_ne!(url("http://127.0.0.1:8081/auth"), Ok(local.clone()));
        assert_ne!(url("http://localhost:8080/auth"), Ok(local));
        let named: HttpOrigin = "https://Auth.Example.com/".parse().unwrap();
        assert_eq!(url("HTTPS://auth.example.COM:443/x"), Ok(named.clone()));
        assert_eq!(named.to_string(), "https://auth.example.com:443");
        let v6: HttpOrigin = "http://[::1]:9000".parse().unwrap();
        assert_eq!(url("http://[::1]:9000/"), Ok(v6));
        assert!(url("http://user@127.0.0.1:8080/").is_err());
        assert!(url("ftp://127.0.0.1/").is_err());
        assert!(url("/relative").is_err());
    }

    #[test]
    fn an_entry_that_is_not_a_bare_origin_is_refused_and_named() {
        for bad in [
            "",
            "127.0.0.1:8080",
            "ftp://files.example.com",
            "https://auth.example.com/path",
            "https://auth.example.com?q=1",
            "https://auth.example.com#f",
            "https://user@auth.example.com",
            " https://auth.example.com",
        ] {
            let error = bad.parse::<HttpOrigin>().unwrap_err();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
    }
}
