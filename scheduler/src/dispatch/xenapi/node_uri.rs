//! Parsing a XenAPI node URI (`http://user:password@host:port/`) into the endpoint the
//! XML-RPC calls go to and the credentials `session.login_with_password` takes.

use std::fmt;

/// Where a XenAPI host listens and who to log in as.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct NodeUri {
    /// `http://host:port/` or `https://host/`: the URI without its user information.
    pub endpoint: String,
    /// The account name (`root` on a stock XCP-ng host), percent-decoded.
    pub username: String,
    /// Its password, percent-decoded.
    pub password: String,
}

impl fmt::Debug for NodeUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeUri")
            .field("endpoint", &self.endpoint)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Why a node URI was refused. The message never repeats the password.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(super) enum NodeUriError {
    /// The scheme is neither `http` nor `https`.
    #[error("XenAPI node URIs start with http:// or https://, not {scheme:?}")]
    Scheme {
        /// What the URI started with.
        scheme: String,
    },
    /// No `user:password@` before the host.
    #[error("XenAPI node URI {shown} carries no user:password@ (xapi needs both to log in)")]
    MissingCredentials {
        /// The URI with any user information removed.
        shown: String,
    },
    /// The host part is empty or malformed.
    #[error("XenAPI node URI {shown} names no usable host")]
    Host {
        /// The URI with any user information removed.
        shown: String,
    },
    /// A path other than `/`, a query or a fragment: xapi serves XML-RPC on `/` only.
    #[error("XenAPI node URI {shown} must end at the host or its port, or with a single /")]
    Path {
        /// The URI with any user information removed.
        shown: String,
    },
    /// A `%` escape that is not two hex digits, or that decodes to invalid UTF-8.
    #[error("XenAPI node URI {shown} has a malformed percent-escape in its user information")]
    Escape {
        /// The URI with any user information removed.
        shown: String,
    },
}

/// The forms [`parse`] accepts, for error messages.
pub(super) const ACCEPTED_FORMS: &str =
    "http://user:password@host:port/ or https://user:password@host/";

/// Split `uri` into endpoint and credentials.
///
/// Accepted: `http://user:password@host[:port][/]` and the same with `https`. Characters
/// that are special in URIs (`@`, `:`, `/`, `%`) must be percent-encoded in the user name
/// and password. IPv6 hosts go in brackets: `http://root:pw@[fd00::1]:80/`.
pub(super) fn parse(uri: &str) -> Result<NodeUri, NodeUriError> {
    let (scheme, rest) = match uri.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => ("http", rest),
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => ("https", rest),
        Some((scheme, _)) => {
            return Err(NodeUriError::Scheme {
                scheme: scheme.to_owned(),
            });
        }
        None => {
            return Err(NodeUriError::Scheme {
                scheme: uri.split(':').next().unwrap_or_default().to_owned(),
            });
        }
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let shown = format!("{scheme}://{host}{tail}");
    if !(tail.is_empty() || tail == "/") {
        return Err(NodeUriError::Path { shown });
    }
    if !is_valid_host(host) {
        return Err(NodeUriError::Host { shown });
    }
    let Some((username, password)) = userinfo.and_then(|info| info.split_once(':')) else {
        return Err(NodeUriError::MissingCredentials { shown });
    };
    let (Some(username), Some(password)) = (percent_decode(username), percent_decode(password))
    else {
        return Err(NodeUriError::Escape { shown });
    };
    if username.is_empty() {
        return Err(NodeUriError::MissingCredentials { shown });
    }
    Ok(NodeUri {
        endpoint: format!("{scheme}://{host}/"),
        username,
        password,
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`, with a numeric port.
fn is_valid_host(host: &str) -> bool {
    let (name, port) = if let Some(bracketed) = host.strip_prefix('[') {
        let Some((address, after)) = bracketed.split_once(']') else {
            return false;
        };
        if address.is_empty() || !address.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return false;
        }
        match after {
            "" => (address, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (address, Some(port)),
                None => return false,
            },
        }
    } else {
        match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'));
    let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|p| p != 0));
    name_ok && port_ok
}

/// Decode `%XX` escapes; `None` when one is malformed or the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(byte);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(uri: &str) -> NodeUri {
        match parse(uri) {
            Ok(node) => node,
            Err(error) => panic!("{uri}: {error}"),
        }
    }

    #[test]
    fn http_with_port() {
        let node = ok("http://root:secret@10.0.0.5:8080/");
        assert_eq!(node.endpoint, "http://10.0.0.5:8080/");
        assert_eq!(node.username, "root");
        assert_eq!(node.password, "secret");
    }

    #[test]
    fn https_without_port_or_slash() {
        let node = ok("https://admin:pw@xcp1.example.org");
        assert_eq!(node.endpoint, "https://xcp1.example.org/");
    }

    #[test]
    fn percent_escapes_and_colons_in_the_password() {
        let node = ok("http://root:p%40ss:w%2Frd@host/");
        assert_eq!(node.password, "p@ss:w/rd");
    }

    #[test]
    fn ipv6_host() {
        let node = ok("http://root:pw@[fd00::1]:80/");
        assert_eq!(node.endpoint, "http://[fd00::1]:80/");
    }

    #[test]
    fn refusals_never_show_the_password() {
        for uri in [
            "xen+ssh://root:hunter2@host/",
            "http://host:80/",
            "http://root@host/",
            "http://:hunter2@host/",
            "http://root:hunter2@host/RPC2",
            "http://root:hunter2@host/?x=1",
            "http://root:hunter2@/",
            "http://root:hunter2@host:notaport/",
            "http://root:hunter2%zz@host/",
            "host.example.org",
        ] {
            let error = parse(uri).expect_err(uri);
            assert!(!error.to_string().contains("hunter2"), "{uri}: {error}");
        }
    }

    #[test]
    fn debug_redacts_the_password() {
        let node = ok("http://root:hunter2@host/");
        assert!(!format!("{node:?}").contains("hunter2"));
    }
}
