//! The `zentific` command: wiring only. It reads settings (command line, environment,
//! config file, defaults — in that order), opens the store, and runs the server or an
//! administrative command. The logic lives in `zentific-sql` and `zentific-xmlrpc`.

mod demo;
mod listener;
mod tls;
mod vnc_display;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use serde::Deserialize;
use zentific_sql::{NewUser, Role, Store, redact};
use zentific_xmlrpc::modules::ModuleHost;

/// Answers are built from many small strings; mimalloc serves them much faster than
/// the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Manager for Xen virtual machines.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Database URL: sqlite://PATH (default: zentific.db in the data dir) or postgres://…
    #[arg(long, global = true, env = "ZENTIFIC_DATABASE")]
    database: Option<String>,
    /// TOML file with settings (listen, database, max_body_bytes, tls_cert, tls_key,
    /// insecure_http, idle_timeout_secs); flags and environment win.
    #[arg(long, global = true, env = "ZENTIFIC_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the XML-RPC server (POST /RPC2).
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "ZENTIFIC_LISTEN")]
        listen: Option<SocketAddr>,
        /// Largest accepted request body in bytes [default: 8 MiB].
        #[arg(long, env = "ZENTIFIC_MAX_BODY_BYTES")]
        max_body_bytes: Option<usize>,
        #[command(flatten)]
        transport: TransportArgs,
        /// Register a demo node on libvirt's built-in test driver (four VMs) if missing.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        modules: ModuleArgs,
        #[command(flatten)]
        scheduler: SchedulerArgs,
    },
    /// Run scheduler workers only (more workers beside `serve`, on a shared PostgreSQL).
    Scheduler {
        #[command(flatten)]
        modules: ModuleArgs,
        #[command(flatten)]
        scheduler: SchedulerArgs,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users from the command line.
    #[command(subcommand)]
    User(UserCommand),
    /// Print the API reference (docs/api.md) generated from the method registry.
    ApiDoc,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password comes from ZENTIFIC_PASSWORD or one line of stdin.
    Add {
        /// Login name.
        username: String,
        /// Role: admin, operator or user.
        #[arg(long, default_value = "user")]
        role: String,
        /// E-mail address.
        #[arg(long, default_value = "")]
        email: String,
    },
    /// Set a user's password; it comes from ZENTIFIC_PASSWORD or one line of stdin.
    Passwd {
        /// Login name.
        username: String,
    },
}

/// How connections are secured and limited.
#[derive(clap::Args)]
struct TransportArgs {
    /// Serve HTTPS with this PEM certificate (chain) file; needs --tls-key.
    #[arg(long, env = "ZENTIFIC_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "ZENTIFIC_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (only behind a TLS proxy). Without it
    /// and without a certificate, such an address serves HTTPS with a self-signed
    /// certificate made in the data directory.
    #[arg(long, env = "ZENTIFIC_INSECURE_HTTP", conflicts_with = "tls_cert")]
    insecure_http: bool,
    /// Seconds an open connection may sit with no request and no bytes [default: 60].
    #[arg(long, env = "ZENTIFIC_IDLE_TIMEOUT_SECS")]
    idle_timeout_secs: Option<u64>,
}

/// Where modules come from.
#[derive(clap::Args)]
struct ModuleArgs {
    /// Directory of dynamic modules (libzentific_module_<name>.so; not writable by group
    /// or others) [default: <data dir>/modules].
    #[arg(long, env = "ZENTIFIC_MODULES_DIR")]
    modules_dir: Option<PathBuf>,
}

impl ModuleArgs {
    /// Load the modules directory.
    fn start(&self, store: &Store) -> anyhow::Result<Arc<ModuleHost>> {
        let dir = match &self.modules_dir {
            Some(dir) => dir.clone(),
            None => data_dir()?.join("modules"),
        };
        let host = ModuleHost::start(&dir, store.clone());
        tracing::info!(dir = %dir.display(), "modules directory");
        Ok(host)
    }
}

/// How the scheduler runs.
#[derive(clap::Args)]
struct SchedulerArgs {
    /// Worker threads dispatching jobs (0 runs no scheduler in this process).
    #[arg(long, env = "ZENTIFIC_WORKERS", default_value_t = 4)]
    workers: usize,
    /// Seconds between full inventory reconciliations of every node.
    #[arg(long, env = "ZENTIFIC_RECONCILE_SECS", default_value_t = 60)]
    reconcile_secs: u64,
    /// Seconds after which a running job whose scheduler stopped beating is resumed.
    #[arg(long, env = "ZENTIFIC_ORPHAN_SECS", default_value_t = 30)]
    orphan_secs: u64,
    /// First retry delay in seconds for jobs on unreachable nodes (doubles per attempt).
    #[arg(long, env = "ZENTIFIC_RETRY_SECS", default_value_t = 2)]
    retry_secs: u64,
    /// Longest retry delay in seconds.
    #[arg(long, env = "ZENTIFIC_RETRY_MAX_SECS", default_value_t = 300)]
    retry_max_secs: u64,
}

impl SchedulerArgs {
    fn settings(&self) -> zentific_scheduler::EngineSettings {
        zentific_scheduler::EngineSettings {
            workers: self.workers,
            reconcile_interval: std::time::Duration::from_secs(self.reconcile_secs.max(1)),
            orphan_after: std::time::Duration::from_secs(self.orphan_secs.max(1)),
            retry_base: std::time::Duration::from_secs(self.retry_secs.max(1)),
            retry_max: std::time::Duration::from_secs(self.retry_max_secs.max(1)),
            ..Default::default()
        }
    }

    /// Start the engine unless no workers were asked for; nodes may use the transports
    /// of `modules`. With `demo`, it samples nodes on libvirt's test driver itself.
    fn start(
        &self,
        store: &Store,
        modules: &Arc<ModuleHost>,
        demo: bool,
    ) -> anyhow::Result<Option<zentific_scheduler::EngineHandle>> {
        if self.workers == 0 {
            return Ok(None);
        }
        let settings = zentific_scheduler::EngineSettings {
            modules: Some(modules.transports()),
            module_actions: Some(modules.actions()),
            sample_test_driver: demo,
            ..self.settings()
        };
        Ok(Some(
            zentific_scheduler::start(store.clone(), settings)
                .context("cannot start the scheduler")?,
        ))
    }
}

/// Settings a config file may hold.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database: Option<String>,
    max_body_bytes: Option<usize>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    insecure_http: Option<bool>,
    idle_timeout_secs: Option<u64>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // A closed stderr must not bring the server down (the default reports, and panics).
        .log_internal_errors(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let file = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            toml::from_str(&text)
                .with_context(|| format!("invalid config file {}", path.display()))?
        }
        None => FileConfig::default(),
    };
    let database = match cli.database.clone().or(file.database.clone()) {
        Some(url) => url,
        None => default_database()?,
    };
    match cli.command {
        Command::ApiDoc => {
            print!("{}", zentific_xmlrpc::registry().markdown());
            Ok(())
        }
        Command::Migrate => {
            open(&database)?;
            println!("database {} is up to date", redact(&database));
            Ok(())
        }
        Command::User(command) => user_command(&open(&database)?, command),
        Command::Scheduler { modules, scheduler } => {
            let store = open(&database)?;
            let modules = modules.start(&store)?;
            let engine = scheduler
                .start(&store, &modules, false)?
                .context("give --workers 1 or more")?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                shutdown_signal()?.await;
                anyhow::Ok(())
            })?;
            engine.stop();
            tracing::info!("stopped");
            Ok(())
        }
        Command::Serve {
            listen,
            max_body_bytes,
            transport,
            demo,
            modules,
            scheduler,
        } => {
            let store = open(&database)?;
            first_start(&store)?;
            // The demo's consoles run until the server stops (dropped at the end).
            let _demo_consoles = if demo {
                match demo::start(&store, &database)? {
                    Ok(consoles) => Some(consoles),
                    Err(why) => {
                        zentific_xmlrpc::console::note_unavailable("demo", why);
                        None
                    }
                }
            } else {
                None
            };
            let modules = modules.start(&store)?;
            let engine = scheduler.start(&store, &modules, demo)?;
            let mut limits = zentific_xmlrpc::Limits::default();
            if let Some(max) = max_body_bytes.or(file.max_body_bytes) {
                limits.max_body_bytes = max;
            }
            let listen = listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
            let identity = identity(listen, &transport, &file)?;
            let settings = listener::Settings {
                tls: identity.as_ref().map(|i| i.config.clone()),
                idle_timeout: std::time::Duration::from_secs(
                    transport
                        .idle_timeout_secs
                        .or(file.idle_timeout_secs)
                        .unwrap_or(listener::DEFAULT_IDLE_TIMEOUT.as_secs())
                        .max(1),
                ),
            };
            let fingerprint = identity.map(|i| i.fingerprint);
            let served = serve(store, listen, limits, modules, settings, fingerprint);
            if let Some(engine) = engine {
                engine.stop();
            }
            served
        }
    }
}

/// The data directory: ZENTIFIC_DATA_DIR, or `zentific` in the user's.
fn data_dir() -> anyhow::Result<PathBuf> {
    Ok(match std::env::var_os("ZENTIFIC_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => dirs::data_dir()
            .context("no data directory; set ZENTIFIC_DATA_DIR (or --database and --modules-dir)")?
            .join("zentific"),
    })
}

/// `sqlite://<data dir>/zentific.db`.
fn default_database() -> anyhow::Result<String> {
    Ok(format!(
        "sqlite://{}",
        data_dir()?.join("zentific.db").display()
    ))
}

fn open(database: &str) -> anyhow::Result<Store> {
    let store = Store::open(database)?;
    tracing::info!(database = %redact(database), backend = ?store.backend(), "database ready");
    Ok(store)
}

/// On an empty database, create `admin` with ZENTIFIC_ADMIN_PASSWORD or a random password
/// printed once.
fn first_start(store: &Store) -> anyhow::Result<()> {
    if store.user_count()? > 0 {
        return Ok(());
    }
    let (password, generated) = match std::env::var("ZENTIFIC_ADMIN_PASSWORD") {
        Ok(password) => (password, false),
        Err(_) => (random_password(), true),
    };
    let admin = NewUser {
        username: "admin".into(),
        password: password.clone(),
        email: String::new(),
        role: Role::Admin,
        language: None,
    };
    store
        .create_user(None, &admin)
        .context("cannot create the first admin (check ZENTIFIC_ADMIN_PASSWORD)")?;
    if generated {
        eprintln!(
            "\nCreated user 'admin' with password: {password}\nIt is shown only this once; change it with user.setPassword or `zentific user passwd admin`.\n"
        );
    } else {
        tracing::info!("created user 'admin' with the password from ZENTIFIC_ADMIN_PASSWORD");
    }
    Ok(())
}

fn random_password() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 12];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_err()
    {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes.copy_from_slice(&nanos.to_le_bytes()[..12]);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("ZENTIFIC_PASSWORD") {
        return Ok(password);
    }
    eprint!("Password: ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password given: set ZENTIFIC_PASSWORD or type it on stdin");
    }
    Ok(password)
}

fn user_command(store: &Store, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            username,
            role,
            email,
        } => {
            let role = Role::parse(&role, "--role")?;
            let new = NewUser {
                username: username.clone(),
                password: read_password()?,
                email,
                role,
                language: None,
            };
            let id = store.create_user(None, &new)?;
            println!("created user '{username}' (id {id}, role {role})");
        }
        UserCommand::Passwd { username } => {
            let user = store
                .find_user(&username)?
                .with_context(|| format!("there is no user '{username}'"))?;
            store.set_password(None, user.id, &read_password()?)?;
            println!("password of '{username}' changed; their sessions have ended");
        }
    }
    Ok(())
}

/// The certificate to serve with: the one given; none on loopback or with
/// `--insecure-http`; else the self-signed one of the data directory (made on first
/// start, its fingerprint printed for pollers and browsers to pin).
fn identity(
    listen: SocketAddr,
    args: &TransportArgs,
    file: &FileConfig,
) -> anyhow::Result<Option<tls::Identity>> {
    let given = args
        .tls_cert
        .clone()
        .zip(args.tls_key.clone())
        .or_else(|| file.tls_cert.clone().zip(file.tls_key.clone()));
    if let Some((cert, key)) = given {
        let identity = tls::load(&cert, &key)?;
        tracing::info!(cert = %cert.display(), fingerprint = %identity.fingerprint, "serving HTTPS");
        return Ok(Some(identity));
    }
    if file.tls_cert.is_some() != file.tls_key.is_some() {
        bail!("the config file needs both tls_cert and tls_key, or neither");
    }
    let insecure = args.insecure_http || file.insecure_http.unwrap_or(false);
    if listen.ip().is_loopback() {
        return Ok(None);
    }
    if insecure {
        tracing::warn!(
            "serving plain HTTP on {listen} (--insecure-http): passwords and tokens cross the network in clear unless a TLS proxy is in front"
        );
        return Ok(None);
    }
    let (cert, key, made) = tls::self_signed(&data_dir()?, &tls::names_for(listen))?;
    let identity = tls::load(&cert, &key)?;
    if made {
        eprintln!(
            "\nMade a self-signed certificate for HTTPS: {}\nIts fingerprint (give it to pollers as --pin): {}\nReplace it with --tls-cert and --tls-key, or put a TLS proxy in front and use --insecure-http.\n",
            cert.display(),
            identity.fingerprint
        );
    }
    tracing::info!(cert = %cert.display(), fingerprint = %identity.fingerprint, "serving HTTPS with the self-signed certificate");
    Ok(Some(identity))
}

fn serve(
    store: Store,
    listen: SocketAddr,
    limits: zentific_xmlrpc::Limits,
    modules: Arc<ModuleHost>,
    settings: listener::Settings,
    tls_fingerprint: Option<String>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // Signal handlers first: a SIGTERM that arrives once we say we listen must find them.
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let local = listener.local_addr()?;
        let scheme = if settings.tls.is_some() { "https" } else { "http" };
        tracing::info!(
            "listening on {local} (XML-RPC at {scheme}://{local}/RPC2, the web page at {scheme}://{local}/)"
        );
        let (console_routes, consoles) =
            zentific_frontend::console::router(store.clone(), console_locator(&store, &modules));
        let app = zentific_xmlrpc::router(store, limits, Some(modules), tls_fingerprint)
            .merge(zentific_frontend::router())
            .merge(console_routes);
        listener::serve(listener, app, settings, shutdown).await;
        // Open consoles outlive the listener: close them, each with its audit line.
        consoles.stop(std::time::Duration::from_secs(5)).await;
        tracing::info!("stopped");
        Ok(())
    })
}

/// How the console proxy finds a redeemed ticket's console: through the VM's node's
/// transport, as `vm.console` did.
fn console_locator(
    store: &Store,
    modules: &Arc<ModuleHost>,
) -> zentific_frontend::console::Locator {
    let (store, modules) = (store.clone(), modules.clone());
    Arc::new(move |access| {
        zentific_xmlrpc::console::ConsoleOf {
            store: &store,
            modules: Some(&modules),
            node: &access.node,
            vm: &access.vm,
            kind: access.kind,
        }
        .locate()
        .map(|located| {
            (
                located.target,
                Box::new(located.dispatcher) as Box<dyn Send>,
            )
        })
        .map_err(|e| e.to_string())
    })
}

/// A future that completes on SIGTERM or Ctrl-C; the handlers are installed at once.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let mut interrupt =
        signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = interrupt.recv() => {},
        }
        tracing::info!("shutting down");
    })
}
