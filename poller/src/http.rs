//! A blocking HTTP/1.1 client for one thing: `POST` a body to one `http://` URL and read the
//! answer, over `std::net::TcpStream`.
//!
//! It keeps the connection open between pushes when the server allows it (`Connection:
//! close` and HTTP/1.0 answers end it); a kept connection the server has meanwhile closed
//! is noticed on the next request, which is then sent once more on a fresh connection
//! (`stats.push` is idempotent by its `seq`). Every connect, read and write has a timeout.
//!
//! TLS is out of scope: the poller speaks plain HTTP. To cross an untrusted network, point
//! it at a local end of an encrypted tunnel — `stunnel` in client mode
//! (`accept = 127.0.0.1:8081`, `connect = backend:443`) or `ssh -N -L 8081:127.0.0.1:8080
//! backend` — and use `--server http://127.0.0.1:8081/RPC2`.

use std::fmt;
use std::io::{self, BufRead, BufReader, IoSlice, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Largest answer body accepted; a `stats.push` answer is a few hundred bytes.
const MAX_BODY: usize = 1 << 20;
/// Longest status or header line accepted.
const MAX_LINE: usize = 8 * 1024;
/// Most header lines accepted.
const MAX_HEADERS: usize = 100;

/// Where requests go: the parts of an `http://host[:port][/path]` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name or address (brackets of an IPv6 literal removed).
    pub host: String,
    /// TCP port (80 when the URL names none).
    pub port: u16,
    /// Request target; `/RPC2` when the URL has no path.
    pub path: String,
}

impl Endpoint {
    /// Parses `http://host[:port][/path]`; `https://` and anything else is refused with a
    /// sentence saying why.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => {
                return Err(format!(
                    "`{url}`: the poller speaks plain http:// only; reach an https backend \
                     through a local stunnel or ssh tunnel (see --help)"
                ));
            }
            _ => return Err(format!("`{url}` is not an http://host[:port]/path URL")),
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], &rest[i..]),
            Some(_) => return Err(format!("`{url}`: a query or fragment needs a path first")),
            None => (rest, "/RPC2"),
        };
        if authority.contains('@') {
            return Err(format!("`{url}`: user info in the URL is not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("`{url}`: unclosed [ in the host"))?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(format!("`{url}`: junk after the IPv6 address")),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(format!("`{url}` names no host"));
        }
        let port = match port {
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("`{url}`: `{p}` is not a TCP port"))?,
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(format!(
                "`{url}`: the path contains spaces or control characters"
            ));
        }
        Ok(Endpoint {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    /// The `Host:` header value.
    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.host_header(), self.path)
    }
}

/// Why a request got no usable answer.
#[derive(Debug)]
pub enum HttpError {
    /// No connection could be made (refused, unreachable, name not resolved, timed out).
    Connect(io::Error),
    /// The connection broke or timed out while the request or answer was in flight.
    Io(io::Error),
    /// The server answered with a status other than 200.
    Status(u16, String),
    /// The answer is not HTTP/1.x as this client reads it.
    Malformed(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Connect(e) => write!(f, "cannot connect: {e}"),
            HttpError::Io(e) if e.kind() == io::ErrorKind::WouldBlock => {
                write!(f, "no answer within the timeout")
            }
            HttpError::Io(e) => write!(f, "connection failed: {e}"),
            HttpError::Status(code, reason) => write!(f, "HTTP {code} {reason}"),
            HttpError::Malformed(why) => write!(f, "bad HTTP answer: {why}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// A client for one endpoint, holding at most one kept-alive connection.
pub struct Client {
    endpoint: Endpoint,
    host_header: String,
    timeout: Duration,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    /// A client that gives each connect, write and read `timeout`.
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Client {
        Client {
            host_header: endpoint.host_header(),
            endpoint,
            timeout,
            conn: None,
        }
    }

    /// The endpoint this client posts to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// POSTs the concatenation of `body` (sent without copying it into one buffer) and
    /// returns the body of a `200` answer.
    pub fn post(&mut self, content_type: &str, body: &[&[u8]]) -> Result<Vec<u8>, HttpError> {
        if let Some(conn) = self.conn.take() {
            match self.exchange(conn, content_type, body) {
                Err(Retry::Stale) => {} // the server closed the idle connection: reconnect
                Err(Retry::No(e)) => return Err(e),
                Ok(answer) => return Ok(answer),
            }
        }
        let conn = self.connect()?;
        self.exchange(conn, content_type, body)
            .map_err(|e| match e {
                Retry::Stale => HttpError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection without answering",
                )),
                Retry::No(e) => e,
            })
    }

    fn connect(&self) -> Result<BufReader<TcpStream>, HttpError> {
        let addrs = (self.endpoint.host.as_str(), self.endpoint.port)
            .to_socket_addrs()
            .map_err(HttpError::Connect)?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the host name has no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(stream) => {
                    let setup = stream
                        .set_read_timeout(Some(self.timeout))
                        .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
                        .and_then(|()| stream.set_nodelay(true));
                    setup.map_err(HttpError::Connect)?;
                    return Ok(BufReader::with_capacity(4096, stream));
                }
                Err(e) => last = e,
            }
        }
        Err(HttpError::Connect(last))
    }

    /// One request and answer on `conn`; puts the connection back when it may be reused.
    fn exchange(
        &mut self,
        mut conn: BufReader<TcpStream>,
        content_type: &str,
        body: &[&[u8]],
    ) -> Result<Vec<u8>, Retry> {
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: zentific-poller/{}\r\n\
             Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            self.endpoint.path,
            self.host_header,
            env!("CARGO_PKG_VERSION"),
            body.iter().map(|part| part.len()).sum::<usize>(),
        );
        let mut parts = Vec::with_capacity(body.len() + 1);
        parts.push(IoSlice::new(head.as_bytes()));
        parts.extend(body.iter().map(|part| IoSlice::new(part)));
        if let Err(e) = write_all_vectored(conn.get_mut(), &mut parts) {
            return Err(stale_or(e));
        }
        let status_line = match read_line(&mut conn) {
            Ok(line) if line.is_empty() => return Err(Retry::Stale),
            Ok(line) => line,
            Err(e) => return Err(stale_or(e)),
        };
        let answer = read_answer(&mut conn, &status_line).map_err(Retry::No)?;
        if answer.keep_alive {
            self.conn = Some(conn);
        }
        if answer.status != 200 {
            return Err(Retry::No(HttpError::Status(answer.status, answer.reason)));
        }
        Ok(answer.body)
    }
}

/// Writes every slice, in as few system calls as the kernel allows.
fn write_all_vectored(stream: &mut TcpStream, mut parts: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !parts.is_empty() {
        match stream.write_vectored(parts) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut parts, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

enum Retry {
    /// The connection was closed before any answer: worth one more try on a new one.
    Stale,
    No(HttpError),
}

fn stale_or(e: io::Error) -> Retry {
    match e.kind() {
        io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::UnexpectedEof => Retry::Stale,
        _ => Retry::No(HttpError::Io(e)),
    }
}

struct Answer {
    status: u16,
    reason: String,
    keep_alive: bool,
    body: Vec<u8>,
}

/// Reads one CRLF- (or LF-) terminated line without its terminator; empty at end of stream.
fn read_line(conn: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    let n = conn
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)?;
    if n > MAX_LINE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "header line too long",
        ));
    }
    if n > 0 && !line.ends_with(b"\n") {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the connection closed in the middle of a line",
        ));
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    String::from_utf8(line).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
}

fn read_answer(conn: &mut impl BufRead, status_line: &str) -> Result<Answer, HttpError> {
    let malformed = |why: &str| HttpError::Malformed(why.to_owned());
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| malformed(&format!("status line `{status_line}`")))?;
    let reason = parts.next().unwrap_or_default().to_owned();
    let mut keep_alive = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(malformed(&format!("status line `{status_line}`"))),
    };
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut headers = 0;
    loop {
        let line = read_line(conn).map_err(HttpError::Io)?;
        if line.is_empty() {
            break;
        }
        headers += 1;
        if headers > MAX_HEADERS {
            return Err(malformed("too many header lines"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(malformed(&format!("header line `{line}`")));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse::<usize>()
                .map_err(|_| malformed(&format!("Content-Length `{value}`")))?;
            if length.is_some_and(|l| l != n) {
                return Err(malformed("two different Content-Length headers"));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            if !chunked {
                return Err(malformed(&format!("Transfer-Encoding `{value}`")));
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',') {
                let token = token.trim();
                if token.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        }
    }
    let body = if chunked {
        read_chunked(conn)?
    } else if let Some(n) = length {
        if n > MAX_BODY {
            return Err(malformed(&format!("a {n}-byte body is more than expected")));
        }
        let mut body = vec![0; n];
        conn.read_exact(&mut body).map_err(HttpError::Io)?;
        body
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else {
        // No length: the body runs to the end of the connection.
        keep_alive = false;
        let mut body = Vec::new();
        conn.take(MAX_BODY as u64 + 1)
            .read_to_end(&mut body)
            .map_err(HttpError::Io)?;
        if body.len() > MAX_BODY {
            return Err(malformed("the body is more than expected"));
        }
        body
    };
    Ok(Answer {
        status,
        reason,
        keep_alive,
        body,
    })
}

fn read_chunked(conn: &mut impl BufRead) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(conn).map_err(HttpError::Io)?;
        let size_hex = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| HttpError::Malformed(format!("chunk size `{line}`")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(conn).map_err(HttpError::Io)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(HttpError::Malformed(
                "the body is more than expected".into(),
            ));
        }
        let start = body.len();
        body.resize(start + size, 0);
        conn.read_exact(&mut body[start..]).map_err(HttpError::Io)?;
        if !read_line(conn).map_err(HttpError::Io)?.is_empty() {
            return Err(HttpError::Malformed("chunk longer than its size".into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    #[test]
    fn parses_urls() {
        let e = Endpoint::parse("http://backend.example:8080/RPC2").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("backend.example", 8080, "/RPC2")
        );
        let e = Endpoint::parse("HTTP://10.0.0.1").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("10.0.0.1", 80, "/RPC2")
        );
        let e = Endpoint::parse("http://[::1]:9/x?y=1").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("::1", 9, "/x?y=1")
        );
        assert_eq!(e.to_string(), "http://[::1]:9/x?y=1");
        for bad in [
            "https://b/RPC2",
            "backend:8080",
            "ftp://b/",
            "http://",
            "http://b:0/",
            "http://b:99999/",
            "http://u@b/",
            "http://b/a b",
            "http://[::1/",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        assert!(
            Endpoint::parse("https://b/")
                .unwrap_err()
                .contains("stunnel")
        );
    }

    /// A server thread answering each request on one connection with `answers` in turn.
    fn serve(answers: Vec<&'static str>) -> (Endpoint, thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let mut requests = Vec::new();
            let mut answers = answers.into_iter();
            'conns: while let Some(mut answer) = answers.next() {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut head = String::new();
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap() == 0 {
                            continue 'conns;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                        head.push_str(&line);
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    requests.push(head + &String::from_utf8(body).unwrap());
                    (&stream).write_all(answer.as_bytes()).unwrap();
                    if answer.contains("close") {
                        continue 'conns;
                    }
                    match answers.next() {
                        Some(next) => answer = next,
                        None => break 'conns,
                    }
                }
            }
            requests
        });
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/RPC2")).unwrap();
        (endpoint, handle)
    }

    #[test]
    fn posts_and_keeps_the_connection() {
        let (endpoint, server) = serve(vec![
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nsec\r\n3\r\nond\r\n0\r\n\r\n",
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            "HTTP/1.0 200 OK\r\n\r\nto the end",
        ]);
        let mut client = Client::new(endpoint, Duration::from_secs(10));
        assert_eq!(
            client.post("text/xml", &[&b"o"[..], &b"ne"[..]]).unwrap(),
            b"first"
        );
        assert_eq!(client.post("text/xml", &[b"two"]).unwrap(), b"second");
        match client.post("text/xml", &[b"three"]) {
            Err(HttpError::Status(500, reason)) => assert_eq!(reason, "Internal Server Error"),
            other => panic!("{other:?}"),
        }
        assert_eq!(client.post("text/xml", &[b"four"]).unwrap(), b"to the end");
        let requests = server.join().unwrap();
        assert_eq!(requests.len(), 4);
        assert!(
            requests[0].starts_with("POST /RPC2 HTTP/1.1\r\n"),
            "{}",
            requests[0]
        );
        assert!(requests[0].contains(&format!(
            "\r\nHost: 127.0.0.1:{}\r\n",
            client.endpoint().port
        )));
        assert!(requests[0].contains("\r\nContent-Type: text/xml\r\n"));
        assert!(requests[0].ends_with("\r\nContent-Length: 3\r\n\r\none"));
        assert!(requests[3].ends_with("four"));
    }

    #[test]
    fn reconnects_when_a_kept_connection_was_closed() {
        // The server closes the first connection after answering, without saying so.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            for answer in ["a", "b"] {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while line != "\r\n" {
                    line.clear();
                    reader.read_line(&mut line).unwrap();
                }
                let mut body = [0; 1];
                reader.read_exact(&mut body).unwrap();
                let reply = format!("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n{answer}");
                (&stream).write_all(reply.as_bytes()).unwrap();
                stream.shutdown(std::net::Shutdown::Both).unwrap();
            }
        });
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let mut client = Client::new(endpoint, Duration::from_secs(10));
        assert_eq!(client.post("text/xml", &[b"1"]).unwrap(), b"a");
        assert_eq!(client.post("text/xml", &[b"2"]).unwrap(), b"b");
        server.join().unwrap();
    }

    #[test]
    fn connection_refused_is_a_connect_error() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/RPC2")).unwrap();
        let mut client = Client::new(endpoint, Duration::from_secs(5));
        assert!(matches!(
            client.post("text/xml", &[b"x"]),
            Err(HttpError::Connect(_))
        ));
    }

    #[test]
    fn rejects_malformed_answers() {
        for raw in [
            "garbage\r\n\r\n",
            "HTTP/1.1 abc OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        ] {
            let mut reader = io::Cursor::new(raw.as_bytes());
            let status = read_line(&mut reader).unwrap();
            assert!(read_answer(&mut reader, &status).is_err(), "{raw}");
        }
    }
}
