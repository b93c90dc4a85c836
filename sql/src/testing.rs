//! Throwaway databases for tests: a real PostgreSQL 15 server and SQLite files.
//!
//! [`fresh_postgres_database`] starts one PostgreSQL server per test process the
//! first time it is called, then hands out a brand-new, empty database on every
//! call (`test_1`, `test_2`, …). Tests running in parallel threads share the server
//! and each get their own database, so they never see each other's tables.
//!
//! # How the cluster lives
//!
//! * The server binaries come from the directory named by the `ZENTIFIC_PG_BIN`
//!   environment variable, else `/usr/lib/postgresql/15/bin` (Debian's
//!   `postgresql-15` package), else the directory on `PATH` that holds `initdb`.
//! * A fresh temporary directory `zentific-pg-XXXXXX` (under `/tmp` or the system
//!   temp dir) holds the data directory (`data/`), the server log (`postgres.log`)
//!   and the server's Unix socket. The server listens on that socket only
//!   (`listen_addresses = ''`), never on TCP, so parallel test processes cannot
//!   clash over ports.
//! * The cluster is created with `initdb -A trust -U postgres --no-sync` and the
//!   server runs with `fsync`, `synchronous_commit` and `full_page_writes` off:
//!   durability is worthless for a cluster that is deleted at exit, speed is not.
//! * `initdb` and `postgres` refuse to run as root, so when the test process runs
//!   as root they are run as the `postgres` system user through `runuser`, and the
//!   temporary directory is handed over to that user. `psql` and the tests
//!   themselves connect as root, which the socket's trust authentication allows.
//!
//! # How the cluster dies
//!
//! The first call registers a C `atexit` handler. The Rust test harness ends the
//! process with `exit` (also when tests fail), which runs the handler: it sends
//! the postmaster `SIGQUIT` (immediate shutdown), waits briefly for it to go, and
//! removes the temporary directory. Directories made by [`fresh_sqlite_database`]
//! are removed by the same handler. If the process is killed instead (so no
//! handler runs), an interrupt from the terminal also reaches the server, which
//! is in the same process group; as a last resort PostgreSQL shuts itself down
//! within about a minute once its `postmaster.pid` file has been deleted.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

/// Port number of the server. It only names the socket file inside the private
/// socket directory (`.s.PGSQL.5432`); no TCP port is ever opened.
const PORT: &str = "5432";

/// Role that owns the cluster and that every database URL connects as.
const SUPERUSER: &str = "postgres";

/// How long to wait for the freshly started server to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the exit handler waits for the server to shut down.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Interval between checks while waiting for the server to start or stop.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Longest Unix socket path the kernel accepts (`sun_path` is 108 bytes,
/// including the terminating NUL), kept one byte short for safety.
const MAX_SOCKET_PATH: usize = 106;

/// Directory prefix of the PostgreSQL temporary directory.
const PG_DIR_PREFIX: &str = "zentific-pg-";

/// Directory prefix of SQLite temporary directories.
const SQLITE_DIR_PREFIX: &str = "zentific-sqlite-";

/// Advice printed when the server binaries cannot be found.
const INSTALL_HINT: &str = "install Debian's PostgreSQL 15 server package \
     (`apt-get install postgresql-15`), or set ZENTIFIC_PG_BIN to the directory \
     holding initdb, pg_ctl and postgres";

/// The running server shared by every test in this process, or the reason it
/// could not be started (kept so every test reports the same error instead of
/// each one trying to start its own server).
static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

/// Number of the last database handed out by [`fresh_postgres_database`].
static LAST_DATABASE: AtomicU32 = AtomicU32::new(0);

/// Everything the exit handler has to tear down.
static EXIT_CLEANUP: Mutex<ExitCleanup> = Mutex::new(ExitCleanup {
    postgres_data: None,
    dirs: Vec::new(),
});

/// Guards the one-time registration of [`cleanup_at_exit`].
static EXIT_HOOK: Once = Once::new();

/// A started server, as far as clients need to know it.
struct Server {
    /// Directory holding the server's Unix socket.
    socket_dir: PathBuf,
    /// The `psql` client used to create databases.
    psql: PathBuf,
}

/// Work left for [`cleanup_at_exit`].
struct ExitCleanup {
    /// Data directory of a server that may be running and must be stopped.
    postgres_data: Option<PathBuf>,
    /// Temporary directories to delete (after the server has stopped).
    dirs: Vec<PathBuf>,
}

/// URL of a fresh, empty database on this process's throwaway PostgreSQL server,
/// starting the server on first use. Each call creates a new database (test_1, test_2, …).
///
/// The URL looks like
/// `postgres://postgres@localhost:5432/test_7?host=/tmp/zentific-pg-AbC123` and is
/// understood by libpq and everything built on it (`psql`, diesel's
/// `PgConnection::establish`, …): the `host` query parameter names the directory of
/// the server's Unix socket, and the `postgres` superuser needs no password.
///
/// Safe to call from many test threads at once; the first caller starts the server
/// (which takes a second or two) while the others wait for it.
///
/// # Panics
///
/// Panics if PostgreSQL 15 is not installed, if the server cannot be started (the
/// message then includes the end of the server log), or if the database cannot be
/// created.
pub fn fresh_postgres_database() -> String {
    let server = match SERVER.get_or_init(start_server) {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    };
    let name = format!("test_{}", LAST_DATABASE.fetch_add(1, Ordering::Relaxed) + 1);
    let output = client_command(&server.psql)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(&server.socket_dir)
        .args(["-p", PORT, "-U", SUPERUSER, "-d", "postgres", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", server.psql.display()));
    if !output.status.success() {
        panic!(
            "creating database {name} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
    format!(
        "postgres://{SUPERUSER}@localhost:{PORT}/{name}?host={}",
        percent_encode(&server.socket_dir)
    )
}

/// The URL of a fresh SQLite database file in a new temp dir that lives until process exit
///
/// The URL has the form `sqlite:///tmp/zentific-sqlite-AbC123/test.db`: the
/// `sqlite://` scheme followed by the absolute path of a file that does not exist
/// yet (SQLite creates it on first connection). The directory is removed when the
/// process exits.
///
/// # Panics
///
/// Panics if the temporary directory cannot be created.
pub fn fresh_sqlite_database() -> String {
    let dir = tempfile::Builder::new()
        .prefix(SQLITE_DIR_PREFIX)
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary directory for SQLite: {e}"))
        .keep();
    remove_at_exit(dir.clone());
    let path = dir.join("test.db");
    let path = std::path::absolute(&path).unwrap_or(path);
    format!("sqlite://{}", path.display())
}

/// Creates a cluster in a new temporary directory and starts a server on it.
///
/// Errors are returned as complete, human-readable messages.
fn start_server() -> Result<Server, String> {
    let started = Instant::now();
    let bin = find_bin_dir()?;
    let as_postgres_user = is_root();
    let owner = if as_postgres_user {
        Some(postgres_user_ids()?)
    } else {
        None
    };

    let base = temp_base(as_postgres_user);
    let root = tempfile::Builder::new()
        .prefix(PG_DIR_PREFIX)
        .tempdir_in(&base)
        .map_err(|e| {
            format!(
                "cannot create a temporary directory in {}: {e}",
                base.display()
            )
        })?
        .keep();
    remove_at_exit(root.clone());

    let socket = root.join(format!(".s.PGSQL.{PORT}"));
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(format!(
            "the PostgreSQL socket path {} is longer than {MAX_SOCKET_PATH} bytes; \
             point TMPDIR at a shorter directory",
            socket.display()
        ));
    }
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&root, Some(uid), Some(gid))
            .map_err(|e| format!("cannot give {} to the postgres user: {e}", root.display()))?;
    }

    let data = root.join("data");
    let initdb = bin.join("initdb");
    let output = server_command(&initdb, as_postgres_user, &root)
        .arg("-D")
        .arg(&data)
        .args([
            "-A",
            "trust",
            "-U",
            SUPERUSER,
            "--no-sync",
            "--no-instructions",
            "-E",
            "UTF8",
            "--locale=C",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", initdb.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}{}",
            initdb.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        ));
    }

    let log = root.join("postgres.log");
    let log_file = File::create(&log)
        .map_err(|e| format!("cannot create the server log {}: {e}", log.display()))?;
    if let Some((uid, gid)) = owner {
        // Only for tidiness; the server writes through the inherited descriptor.
        let _ = std::os::unix::fs::chown(&log, Some(uid), Some(gid));
    }
    let log_err = log_file
        .try_clone()
        .map_err(|e| format!("cannot duplicate the server log handle: {e}"))?;

    lock_cleanup().postgres_data = Some(data.clone());
    let postgres = bin.join("postgres");
    let mut child = server_command(&postgres, as_postgres_user, &root)
        .arg("-D")
        .arg(&data)
        .args(["-p", PORT, "-c", "listen_addresses=", "-k"])
        .arg(&root)
        .args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ])
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", postgres.display()))?;

    wait_until_ready(&data, &log, &mut child)?;
    eprintln!(
        "throwaway PostgreSQL server ready in {} ms ({})",
        started.elapsed().as_millis(),
        root.display()
    );
    let psql = bin.join("psql");
    Ok(Server {
        socket_dir: root,
        psql: if psql.is_file() {
            psql
        } else {
            PathBuf::from("psql")
        },
    })
}

/// Polls `postmaster.pid` until the server reports that it accepts connections.
fn wait_until_ready(data: &Path, log: &Path, child: &mut Child) -> Result<(), String> {
    let pid_file = data.join("postmaster.pid");
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        // Line 8 of postmaster.pid is the server status, "ready" once it accepts
        // connections (the check `pg_ctl -w start` performs).
        let ready = fs::read_to_string(&pid_file)
            .is_ok_and(|contents| contents.lines().nth(7).map(str::trim) == Some("ready"));
        if ready {
            return Ok(());
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                return Err(format!(
                    "the PostgreSQL server exited during startup ({status}); end of {}:\n{}",
                    log.display(),
                    log_tail(log)
                ));
            }
            Ok(None) => {}
            Err(e) => return Err(format!("cannot check on the PostgreSQL server: {e}")),
        }
        if Instant::now() >= deadline {
            stop_postmaster(data);
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the PostgreSQL server did not become ready within {} s; end of {}:\n{}",
                START_TIMEOUT.as_secs(),
                log.display(),
                log_tail(log)
            ));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Directory holding `initdb` and `postgres`.
fn find_bin_dir() -> Result<PathBuf, String> {
    let has_initdb = |dir: &Path| dir.join("initdb").is_file();
    if let Some(dir) = std::env::var_os("ZENTIFIC_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if has_initdb(&dir) {
            Ok(dir)
        } else {
            Err(format!(
                "ZENTIFIC_PG_BIN is {} but there is no initdb in it; {INSTALL_HINT}",
                dir.display()
            ))
        };
    }
    let debian = Path::new("/usr/lib/postgresql/15/bin");
    if has_initdb(debian) {
        return Ok(debian.to_path_buf());
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| has_initdb(dir))
        .ok_or_else(|| {
            format!(
                "PostgreSQL server binaries not found (no initdb in {} or on PATH); \
                 {INSTALL_HINT}",
                debian.display()
            )
        })
}

/// Whether this process runs as root, in which case the server has to run as the
/// `postgres` user.
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions, cannot fail and touches no memory of ours.
    let euid = unsafe { libc::geteuid() };
    euid == 0
}

/// User and group id of the `postgres` system user.
fn postgres_user_ids() -> Result<(u32, u32), String> {
    let missing = || {
        format!(
            "running as root, so the PostgreSQL server has to run as the `postgres` \
             user, but that user cannot be looked up; {INSTALL_HINT} (it creates the \
             user), or run the tests as an ordinary user"
        )
    };
    let output = Command::new("getent")
        .args(["passwd", SUPERUSER])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|_| missing())?;
    if !output.status.success() {
        return Err(missing());
    }
    // name:password:uid:gid:gecos:home:shell
    let entry = String::from_utf8_lossy(&output.stdout);
    let mut fields = entry.trim().split(':').skip(2);
    let uid = fields.next().and_then(|f| f.parse().ok());
    let gid = fields.next().and_then(|f| f.parse().ok());
    uid.zip(gid).ok_or_else(missing)
}

/// Directory in which to create the server's temporary directory.
///
/// The `postgres` user must be able to reach it, and the socket path inside it
/// must stay short, so `/tmp` is used unless the system temp dir is a short path
/// and no user switch is needed.
fn temp_base(as_postgres_user: bool) -> PathBuf {
    let system = std::env::temp_dir();
    // "/zentific-pg-XXXXXX/.s.PGSQL.5432" adds 33 bytes; leave some room.
    if !as_postgres_user && system.is_absolute() && system.as_os_str().len() + 40 <= MAX_SOCKET_PATH
    {
        system
    } else {
        PathBuf::from("/tmp")
    }
}

/// Command running a server program, as the `postgres` user when needed.
fn server_command(program: &Path, as_postgres_user: bool, cwd: &Path) -> Command {
    let mut command = if as_postgres_user {
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .unwrap_or(Path::new("runuser"));
        let mut command = Command::new(runuser);
        command.args(["-u", SUPERUSER, "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    // The postgres user may not be able to enter the test's working directory.
    command.current_dir(cwd);
    clear_pg_env(&mut command);
    command
}

/// Command running a client program as the current user.
fn client_command(program: &Path) -> Command {
    let mut command = Command::new(program);
    clear_pg_env(&mut command);
    command
}

/// Removes `PG*` variables (PGPORT, PGDATA, PGOPTIONS, …) that would override the
/// explicit settings given on the command line.
fn clear_pg_env(command: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.as_encoded_bytes().starts_with(b"PG") {
            command.env_remove(key);
        }
    }
}

/// Percent-encodes a path for use as a URL query value.
fn percent_encode(path: &Path) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut encoded = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The last lines of the server log, for error messages.
fn log_tail(log: &Path) -> String {
    const TAIL_BYTES: u64 = 8 * 1024;
    const TAIL_LINES: usize = 40;
    let read = || -> std::io::Result<String> {
        let mut file = File::open(log)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
        }
        Err(e) => format!("(cannot read the log: {e})"),
    }
}

/// Locks the exit cleanup list, ignoring poisoning (the list stays consistent).
fn lock_cleanup() -> std::sync::MutexGuard<'static, ExitCleanup> {
    EXIT_CLEANUP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Schedules `dir` for removal at process exit.
fn remove_at_exit(dir: PathBuf) {
    register_exit_hook();
    lock_cleanup().dirs.push(dir);
}

/// Registers [`cleanup_at_exit`] with the C runtime, once.
fn register_exit_hook() {
    EXIT_HOOK.call_once(|| {
        // SAFETY: cleanup_at_exit is a plain `extern "C" fn()` that never unwinds
        // (it catches panics) and only uses process-global state that stays valid
        // until the process ends.
        let status = unsafe { libc::atexit(cleanup_at_exit) };
        if status != 0 {
            eprintln!("warning: cannot register the test database cleanup handler");
        }
    });
}

/// Stops the server and deletes the temporary directories; runs at process exit.
extern "C" fn cleanup_at_exit() {
    // A panic must not unwind into the C runtime; there is nothing useful to do
    // with one this late, so it is ignored.
    let _ = std::panic::catch_unwind(|| {
        let work = std::mem::replace(
            &mut *lock_cleanup(),
            ExitCleanup {
                postgres_data: None,
                dirs: Vec::new(),
            },
        );
        if let Some(data) = &work.postgres_data {
            stop_postmaster(data);
        }
        for dir in &work.dirs {
            let _ = fs::remove_dir_all(dir);
        }
    });
}

/// Shuts down the server running on `data` immediately, waiting (boundedly) until
/// it is gone. Does nothing if no server is running there.
fn stop_postmaster(data: &Path) {
    let pid_file = data.join("postmaster.pid");
    let Some(pid) = read_postmaster_pid(&pid_file) else {
        return;
    };
    // SIGQUIT is PostgreSQL's "immediate shutdown": the postmaster stops its
    // children, waits for them, removes postmaster.pid and exits.
    if !send_signal(pid, libc::SIGQUIT) {
        return;
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline {
        if !pid_file.exists() || !send_signal(pid, 0) {
            return;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    send_signal(pid, libc::SIGKILL);
}

/// Process id of the postmaster, from the first line of `postmaster.pid`.
fn read_postmaster_pid(pid_file: &Path) -> Option<libc::pid_t> {
    let contents = fs::read_to_string(pid_file).ok()?;
    let pid: libc::pid_t = contents.lines().next()?.trim().parse().ok()?;
    (pid > 0).then_some(pid)
}

/// Sends `signal` to `pid` (0 only checks that it exists); false if there is no
/// such process or it cannot be signalled.
fn send_signal(pid: libc::pid_t, signal: libc::c_int) -> bool {
    // SAFETY: kill only takes plain integers; pid is positive (checked by
    // read_postmaster_pid), so it targets exactly one process, never a group.
    let status = unsafe { libc::kill(pid, signal) };
    status == 0
}
