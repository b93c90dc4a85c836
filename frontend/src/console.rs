//! The console proxy: `GET /console/{vm}/{kind}?ticket=…` upgrades to a websocket and
//! relays bytes both ways between the browser and the VM's console — a VNC server on the
//! node, or a program (`ssh -W`, `xl console` on a terminal) whose standard input and
//! output are the console. The ticket comes from `vm.console`.
//!
//! Refused before the upgrade with HTTP 403, and logged: no ticket, or an unknown, used,
//! expired or forged one, one for another VM or kind, a session that ended, and an
//! `Origin` other than the server's own. Once open, a console closes when its session ends,
//! its user loses the `console` permission or the VM stops (checked every
//! [`RECHECK`]), after the `console_idle_secs` option without a byte either way, or when
//! either side closes, or when the server stops ([`Consoles::stop`]). Each console
//! session is audited: `console.open`, then `console.close` with how long it lasted, the
//! bytes each way and why it closed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use zentific_scheduler::dispatch::ConsoleTarget;
use zentific_sql::{ConsoleAccess, Store};

/// How often an open console re-checks its session, permission and VM.
pub const RECHECK: Duration = Duration::from_secs(5);

/// How long connecting to a console may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Finds a redeemed ticket's console (blocking: it connects to the node). Returns the
/// target and whatever must stay alive while the console is open (the node's dispatcher),
/// or why the console cannot be reached.
pub type Locator =
    Arc<dyn Fn(&ConsoleAccess) -> Result<(ConsoleTarget, Box<dyn Send>), String> + Send + Sync>;

#[derive(Clone)]
struct Proxy {
    store: Store,
    locate: Locator,
    consoles: Arc<Consoles>,
}

/// The consoles open now, and the signal that the server stops.
pub struct Consoles {
    stopping: tokio::sync::watch::Sender<bool>,
    open: tokio::sync::watch::Sender<usize>,
}

impl Consoles {
    /// Close every open console ("the server is stopping") and wait, at most `limit`,
    /// until each has closed and written its `console.close` audit line.
    pub async fn stop(&self, limit: Duration) {
        let _ = self.stopping.send(true);
        let mut open = self.open.subscribe();
        let _ = tokio::time::timeout(limit, open.wait_for(|n| *n == 0)).await;
    }
}

/// The route of the console proxy, and its consoles (to stop them with the server).
pub fn router(store: Store, locate: Locator) -> (axum::Router, Arc<Consoles>) {
    let consoles = Arc::new(Consoles {
        stopping: tokio::sync::watch::Sender::new(false),
        open: tokio::sync::watch::Sender::new(0),
    });
    let router = axum::Router::new()
        .route("/console/{vm}/{kind}", axum::routing::get(open))
        .with_state(Proxy {
            store,
            locate,
            consoles: consoles.clone(),
        });
    (router, consoles)
}

#[derive(serde::Deserialize)]
struct TicketQuery {
    ticket: Option<String>,
}

/// A refusal before the upgrade: 403 with the reason, logged.
fn refuse(vm: &str, reason: &str) -> Response {
    tracing::warn!(vm, reason, "console refused");
    (
        StatusCode::FORBIDDEN,
        format!("console refused: {reason}\n"),
    )
        .into_response()
}

/// Whether the request comes from a page of this server: its `Origin` is this `Host`.
fn same_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = text(header::ORIGIN).ok_or("no Origin header")?;
    let host = text(header::HOST).ok_or("no Host header")?;
    let own = ["http://", "https://"]
        .iter()
        .any(|scheme| origin.strip_prefix(scheme) == Some(host));
    if own {
        Ok(())
    } else {
        Err("the Origin is not this server")
    }
}

async fn open(
    State(proxy): State<Proxy>,
    Path((vm, kind)): Path<(String, String)>,
    Query(query): Query<TicketQuery>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    if let Err(reason) = same_origin(&headers) {
        return refuse(&vm, reason);
    }
    let Some(ticket) = query.ticket else {
        return refuse(&vm, "no ticket (ask vm.console for one)");
    };
    let Ok(upgrade) = upgrade else {
        return (StatusCode::BAD_REQUEST, "a console is a websocket\n").into_response();
    };
    let store = proxy.store.clone();
    let redeemed = tokio::task::spawn_blocking(move || store.redeem_console_ticket(&ticket)).await;
    let access = match redeemed {
        Ok(Ok(access)) => access,
        Ok(Err(error)) => return refuse(&vm, &error.to_string()),
        Err(_) => return refuse(&vm, "the ticket could not be checked"),
    };
    if access.vm.id.to_string() != vm || access.kind.as_str() != kind {
        return refuse(&vm, "the ticket is for another console");
    }
    let locate = proxy.locate.clone();
    let located = {
        let access = access.clone();
        tokio::task::spawn_blocking(move || locate(&access))
            .await
            .unwrap_or_else(|_| Err("the console could not be located".into()))
    };
    let connected = match located {
        Ok((target, keep)) => connect(&target).await.map(|io| (io, keep)),
        Err(reason) => Err(reason),
    };
    let idle = proxy
        .store
        .global_options()
        .map_or(900, |o| o.console_idle_secs.max(1));
    let store = proxy.store.clone();
    let consoles = proxy.consoles.clone();
    upgrade
        .protocols(["binary"])
        .on_upgrade(move |socket| async move {
            match connected {
                Ok((io, keep)) => {
                    consoles.open.send_modify(|n| *n += 1);
                    let stopping = consoles.stopping.subscribe();
                    let idle = Duration::from_secs(idle as u64);
                    relay(socket, io, &store, &access, idle, stopping).await;
                    consoles.open.send_modify(|n| *n -= 1);
                    // The dispatcher may block when it closes (an SSH master and its runtime):
                    // on a plain thread.
                    std::thread::spawn(move || drop(keep));
                }
                Err(reason) => {
                    tracing::warn!(vm = access.vm.id, %reason, "console unreachable");
                    close(
                        socket,
                        UNREACHABLE,
                        &format!("console unreachable: {reason}"),
                    )
                    .await;
                }
            }
        })
}

/// The close code for a console that cannot be reached (the application range).
pub const UNREACHABLE: u16 = 4001;
/// The close code for a console closed by the server: session, permission, VM, idle.
pub const ENDED: u16 = 4000;

/// The console's two directions.
struct ConsoleIo {
    from: Box<dyn AsyncRead + Unpin + Send>,
    to: Box<dyn AsyncWrite + Unpin + Send>,
    _child: Option<tokio::process::Child>,
}

async fn connect(target: &ConsoleTarget) -> Result<ConsoleIo, String> {
    match target {
        ConsoleTarget::Tcp { host, port } => {
            let (from, to) = tcp(host, *port).await?.into_split();
            Ok(ConsoleIo {
                from: Box::new(from),
                to: Box::new(to),
                _child: None,
            })
        }
        ConsoleTarget::HttpConnect {
            host,
            port,
            tls,
            target,
            session,
        } => {
            let stream = tcp(host, *port).await?;
            let request = format!(
                "CONNECT {target} HTTP/1.0\r\nHost: {host}\r\nCookie: session_id={session}\r\n\r\n"
            );
            if *tls {
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|_| format!("{host} is not a name a certificate can carry"))?;
                let stream =
                    tokio::time::timeout(CONNECT_TIMEOUT, tls_connector().connect(name, stream))
                        .await
                        .map_err(|_| format!("{host}:{port} did not finish the TLS handshake"))?
                        .map_err(|e| format!("{host}:{port}: TLS: {e}"))?;
                tunnel(stream, &request, host).await
            } else {
                tunnel(stream, &request, host).await
            }
        }
        ConsoleTarget::Program { program, args } => {
            let mut child = tokio::process::Command::new(program)
                .args(args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("cannot run {program}: {e}"))?;
            let (Some(from), Some(to)) = (child.stdout.take(), child.stdin.take()) else {
                return Err(format!("{program} has no pipes"));
            };
            Ok(ConsoleIo {
                from: Box::new(from),
                to: Box::new(to),
                _child: Some(child),
            })
        }
    }
}

async fn tcp(host: &str, port: u16) -> Result<tokio::net::TcpStream, String> {
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    .map_err(|_| format!("{host}:{port} did not answer"))?
    .map_err(|e| format!("{host}:{port}: {e}"))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// The longest answer head a `CONNECT` may get.
const MAX_CONNECT_HEAD: usize = 16 * 1024;

/// Send `request` (a `CONNECT`) and read the answer's head: after `200` the stream is the
/// console (with whatever followed the head); any other answer is why it is not.
async fn tunnel<S>(mut stream: S, request: &str, host: &str) -> Result<ConsoleIo, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let exchange = async {
        stream.write_all(request.as_bytes()).await?;
        let mut head = Vec::new();
        let mut chunk = [0u8; 2048];
        loop {
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(std::io::Error::other(
                    "closed the connection without answering",
                ));
            }
            head.extend_from_slice(&chunk[..read]);
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                let rest = head.split_off(end + 4);
                return Ok((head, rest));
            }
            if head.len() > MAX_CONNECT_HEAD {
                return Err(std::io::Error::other("answered with an endless header"));
            }
        }
    };
    let (head, rest) = tokio::time::timeout(CONNECT_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{host} did not answer the console request"))?
        .map_err(|e| format!("{host}: {e}"))?;
    let status = String::from_utf8_lossy(&head);
    let status = status.lines().next().unwrap_or_default().trim();
    let code = status.split_whitespace().nth(1);
    if !status.starts_with("HTTP/1.") || code != Some("200") {
        return Err(format!("{host} refused the console: {}", cut(status, 80)));
    }
    let (from, to) = tokio::io::split(stream);
    Ok(ConsoleIo {
        from: Box::new(std::io::Cursor::new(rest).chain(from)),
        to: Box::new(to),
        _child: None,
    })
}

/// TLS to consoles, with the certificates of the Mozilla root store (as the XenAPI
/// transport's calls).
fn tls_connector() -> tokio_rustls::TlsConnector {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        Arc::new(config)
    });
    tokio_rustls::TlsConnector::from(Arc::clone(config))
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        // A close reason is at most 123 bytes.
        reason: cut(reason, 123).into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Relay until either side closes or the server ends the console; audits both ends.
async fn relay(
    mut socket: WebSocket,
    mut io: ConsoleIo,
    store: &Store,
    access: &ConsoleAccess,
    idle_limit: Duration,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let kind = access.kind;
    let audit = |action: &'static str, detail: String| {
        let (store, access) = (store.clone(), access.clone());
        tokio::task::spawn_blocking(move || {
            if let Err(e) = store.audit_console(&access, action, &detail) {
                tracing::error!(error = %e, "console audit failed");
            }
        })
    };
    let _ = audit("console.open", format!("{kind} console opened")).await;
    tracing::info!(vm = access.vm.id, user = %access.caller.username(), %kind, "console opened");
    let opened = Instant::now();
    let (mut to_vm, mut from_vm) = (0u64, 0u64);
    let mut last_traffic = Instant::now();
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    let mut buffer = vec![0u8; 64 * 1024];
    let why = loop {
        tokio::select! {
            message = socket.recv() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    if io.to.write_all(&bytes).await.is_err() { break "the console closed".to_string(); }
                    to_vm += bytes.len() as u64;
                    last_traffic = Instant::now();
                }
                Some(Ok(Message::Text(text))) => {
                    if io.to.write_all(text.as_bytes()).await.is_err() { break "the console closed".to_string(); }
                    to_vm += text.len() as u64;
                    last_traffic = Instant::now();
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break "the browser closed it".to_string(),
            },
            read = io.from.read(&mut buffer) => match read {
                Ok(0) | Err(_) => {
                    close(socket, ENDED, "the console closed").await;
                    break "the console closed".to_string();
                }
                Ok(n) => {
                    if socket.send(Message::Binary(buffer[..n].to_vec().into())).await.is_err() {
                        break "the browser went away".to_string();
                    }
                    from_vm += n as u64;
                    last_traffic = Instant::now();
                }
            },
            // (The guard wait_for gives is dropped inside: it must not live across an await.)
            _ = async { stopping.wait_for(|stop| *stop).await.map(|_| ()) } => {
                let reason = "the server is stopping".to_string();
                close(socket, ENDED, &reason).await;
                break reason;
            }
            _ = recheck.tick() => {
                let (store, checked) = (store.clone(), access.clone());
                let allowed = tokio::task::spawn_blocking(move || store.console_still_allowed(&checked)).await;
                let ended = match allowed {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e.to_string()),
                    Err(_) => Some("the console could not be re-checked".to_string()),
                };
                if let Some(reason) = ended {
                    close(socket, ENDED, &reason).await;
                    break reason;
                }
                if last_traffic.elapsed() >= idle_limit {
                    let reason = format!("idle for {} s (option console_idle_secs)", idle_limit.as_secs());
                    close(socket, ENDED, &reason).await;
                    break reason;
                }
            }
        }
    };
    let _ = io.to.shutdown().await;
    let seconds = opened.elapsed().as_secs();
    tracing::info!(vm = access.vm.id, %kind, seconds, to_vm, from_vm, why = %why, "console closed");
    let _ = audit(
        "console.close",
        format!("{kind} console closed after {seconds} s: {to_vm} bytes to the VM, {from_vm} from it ({why})"),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-connection server: reads the request head, writes `answer`, then echoes.
    async fn answering(answer: &'static [u8]) -> (u16, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let served = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                stream.read_exact(&mut byte).await.unwrap();
                head.push(byte[0]);
            }
            stream.write_all(answer).await.unwrap();
            let mut echo = [0u8; 64];
            if let Ok(n) = stream.read(&mut echo).await {
                let _ = stream.write_all(&echo[..n]).await;
            }
            String::from_utf8(head).unwrap()
        });
        (port, served)
    }

    fn target(port: u16) -> ConsoleTarget {
        ConsoleTarget::HttpConnect {
            host: "127.0.0.1".into(),
            port,
            tls: false,
            target: "/console?uuid=u1&session_id=OpaqueRef:s".into(),
            session: "OpaqueRef:s".into(),
        }
    }

    #[tokio::test]
    async fn a_connect_tunnel_keeps_the_bytes_that_came_with_the_answer() {
        let (port, served) = answering(b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\nRFB 003.008\n").await;
        let mut io = connect(&target(port)).await.expect("a tunnel");
        let mut greeting = [0u8; 12];
        io.from.read_exact(&mut greeting).await.unwrap();
        assert_eq!(&greeting, b"RFB 003.008\n");
        io.to.write_all(b"typed").await.unwrap();
        let mut echoed = [0u8; 5];
        io.from.read_exact(&mut echoed).await.unwrap();
        assert_eq!(&echoed, b"typed");
        let head = served.await.unwrap();
        assert!(
            head.starts_with("CONNECT /console?uuid=u1&session_id=OpaqueRef:s HTTP/1.0\r\n"),
            "{head}"
        );
        assert!(
            head.contains("\r\nCookie: session_id=OpaqueRef:s\r\n"),
            "{head}"
        );
    }

    #[tokio::test]
    async fn a_refused_connect_says_what_the_host_answered() {
        let (port, _served) = answering(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
        let Err(reason) = connect(&target(port)).await else {
            panic!("a refused tunnel opened");
        };
        assert_eq!(
            reason,
            "127.0.0.1 refused the console: HTTP/1.1 403 Forbidden"
        );
        let (port, _served) = answering(b"SSH-2.0-OpenSSH\r\n\r\n").await;
        let Err(reason) = connect(&target(port)).await else {
            panic!("a tunnel to something else opened");
        };
        assert!(reason.contains("refused the console: SSH-2.0"), "{reason}");
    }

    #[test]
    fn the_session_stays_out_of_debug_output() {
        let shown = format!("{:?}", target(1));
        assert!(!shown.contains("OpaqueRef:s"), "{shown}");
    }
}
