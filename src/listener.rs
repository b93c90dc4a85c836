//! Accepting connections: plain HTTP or HTTPS (rustls), the time limits of a connection,
//! the headers every answer carries, and the client's address for the API.
//!
//! Each connection is served by hyper's HTTP/1.1 server with upgrades (the console
//! websockets). Limits: a client has [`HEADER_TIMEOUT`] to send a request's headers and
//! [`HANDSHAKE_TIMEOUT`] to finish a TLS handshake; a connection with no request in
//! progress and no bytes for the idle limit is closed. On an HTTPS port, a plain-HTTP
//! request is answered in plain HTTP, saying to use `https://`.
//!
//! Every answer gets `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and,
//! when the route set none, `Content-Security-Policy: default-src 'none';
//! frame-ancestors 'none'` (the pages set their own, stricter for scripts); over TLS also
//! `Strict-Transport-Security`. No `Server` header names the software or its version.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// How long a client may take to send the headers of a request.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an open connection may sit with no request and no bytes, by default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the server waits for requests in progress when it stops.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// HSTS on HTTPS answers: a year.
const HSTS: &str = "max-age=31536000";

/// The policy of answers whose route set none (XML-RPC answers, assets, refusals).
const DEFAULT_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// How connections are served.
#[derive(Clone)]
pub struct Settings {
    /// TLS, when the port speaks HTTPS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// How long a connection may be idle.
    pub idle_timeout: Duration,
}

/// Serve `app` on `listener` until `shutdown` completes, then let requests in progress
/// finish (at most [`DRAIN_LIMIT`]).
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let (stopping, _) = tokio::sync::watch::channel(false);
    let open = Arc::new(AtomicUsize::new(0));
    let (closed_tx, mut closed) = tokio::sync::mpsc::unbounded_channel::<()>();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (app, settings, stop) = (app.clone(), settings.clone(), stopping.subscribe());
        let (open, closed_tx) = (open.clone(), closed_tx.clone());
        open.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            connection(stream, peer, app, settings, stop).await;
            open.fetch_sub(1, Ordering::SeqCst);
            let _ = closed_tx.send(());
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    let drained = async {
        while open.load(Ordering::SeqCst) > 0 {
            closed.recv().await;
        }
    };
    let _ = tokio::time::timeout(DRAIN_LIMIT, drained).await;
}

/// One connection, from its first byte to its close.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: axum::Router,
    settings: Settings,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let Some(tls) = settings.tls.clone() else {
        http(stream, peer, app, settings, stop).await;
        return;
    };
    // A TLS connection opens with a handshake record (0x16); anything else is plain HTTP.
    let mut first = [0u8; 1];
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) if first[0] == 0x16 => {}
        Ok(Ok(1)) => return plain_http_on_https_port(stream).await,
        _ => return,
    }
    let accepted = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        tokio_rustls::TlsAcceptor::from(tls).accept(stream),
    )
    .await;
    match accepted {
        Ok(Ok(stream)) => http(stream, peer, app, settings, stop).await,
        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

/// Serve HTTP/1.1 on `io` (plain or TLS) until the client leaves, the connection idles
/// out, or the server stops.
async fn http<I>(
    io: I,
    peer: SocketAddr,
    app: axum::Router,
    settings: Settings,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let tls = settings.tls.is_some();
    let activity = Arc::new(Activity::new());
    let io = Watched {
        inner: io,
        activity: activity.clone(),
    };
    let in_flight = Arc::new(AtomicUsize::new(0));
    let service = {
        let in_flight = in_flight.clone();
        hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            let guard = InFlight::enter(&in_flight);
            async move {
                let mut response = app.oneshot(request.map(axum::body::Body::new)).await?;
                drop(guard);
                secure_headers(response.headers_mut(), tls);
                Ok::<_, std::convert::Infallible>(response)
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true);
    let connection = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(connection);
    let mut check = tokio::time::interval(Duration::from_secs(1).min(settings.idle_timeout));
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended");
                }
                return;
            }
            _ = check.tick(), if !closing => {
                if in_flight.load(Ordering::SeqCst) == 0
                    && activity.idle() >= settings.idle_timeout
                {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
            _ = stop.changed(), if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// The headers every answer carries (see the module notes).
fn secure_headers(headers: &mut axum::http::HeaderMap, tls: bool) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(DEFAULT_POLICY));
    headers.remove(header::SERVER);
    if tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}

/// A plain-HTTP request on an HTTPS port: read its head and say where to go instead.
async fn plain_http_on_https_port(mut stream: TcpStream) {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    let read = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(HEADER_TIMEOUT, read).await;
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, path) = (
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or("/"),
    );
    let host = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("host"))
        .map(|(_, value)| value.trim())
        .filter(|host| {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    let path = if path.starts_with('/') && path.bytes().all(|b| b.is_ascii_graphic()) {
        path
    } else {
        "/"
    };
    let answer = match host {
        // A browser follows the redirect; a script reads the sentence.
        Some(host) if method == "GET" || method == "HEAD" => {
            let location = format!("https://{host}{path}");
            let body = format!("This port speaks HTTPS: use {location}\n");
            format!(
                "HTTP/1.1 301 Moved Permanently\r\nLocation: {location}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
        _ => {
            let body = match host {
                Some(host) => format!("This port speaks HTTPS: use https://{host}{path}\n"),
                None => "This port speaks HTTPS: use https:// instead of http://\n".to_owned(),
            };
            format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
    };
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// When a connection last moved a byte.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn idle(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// Counts a request in progress while alive.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> InFlight {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection's stream that notes each byte it moves in its [`Activity`].
struct Watched<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
