//! Opening a database: URL parsing, connection pools, migrations, and the macros that let
//! one query body run on either backend.

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool as R2d2Pool};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::StoreError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Lock id taken while PostgreSQL migrations run, so that several processes starting at
/// once against one database apply them exactly once.
const MIGRATION_LOCK_ID: i64 = 0x7a656e7469666963; // "zentific"

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (WAL mode), embedded in the process.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

pub(crate) enum Pools {
    Sqlite(R2d2Pool<ConnectionManager<SqliteConnection>>),
    Postgres(R2d2Pool<ConnectionManager<PgConnection>>),
}

/// The handle to the database; cheap to clone, safe to share between threads.
///
/// Every method blocks on the database: async callers run them on a blocking thread.
#[derive(Clone)]
pub struct Store {
    pub(crate) pools: std::sync::Arc<Pools>,
    jobs_signal: std::sync::Arc<JobSignal>,
    /// SQLite takes one writer at a time; writers of this process queue here instead of
    /// in SQLite's busy handler, which sleeps in steps of up to 25 ms.
    sqlite_writer: std::sync::Arc<std::sync::Mutex<()>>,
}

/// Wakes scheduler workers in this process when a job is recorded, so a user's action
/// does not wait for a poll tick. (Workers in other processes poll.)
#[derive(Default)]
struct JobSignal {
    generation: std::sync::Mutex<u64>,
    changed: std::sync::Condvar,
}

/// Settings applied to every SQLite connection as the pool opens it.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // The busy timeout comes first so that the other settings wait out a lock too.
        conn.batch_execute(
            "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Call the query function `$module::$func` (from `src/ops/`) with a pooled connection,
/// without a transaction (single statements and reads).
macro_rules! query {
    ($store:expr, $module:ident :: $func:ident ( $($arg:expr),* $(,)? )) => {
        match &*$store.pools {
            $crate::backend::Pools::Sqlite(pool) => {
                let conn = &mut *pool.get()?;
                $crate::backend::sqlite::$module::$func(conn, $($arg),*)
            }
            $crate::backend::Pools::Postgres(pool) => {
                let conn = &mut *pool.get()?;
                $crate::backend::postgres::$module::$func(conn, $($arg),*)
            }
        }
    };
}

/// Call the query function `$module::$func` inside one write transaction: on SQLite an
/// `IMMEDIATE` transaction, so concurrent writers queue on the busy timeout instead of
/// failing on a lock upgrade; on PostgreSQL a regular one. Any error rolls it all back.
macro_rules! transact {
    ($store:expr, $module:ident :: $func:ident ( $($arg:expr),* $(,)? )) => {
        match &*$store.pools {
            $crate::backend::Pools::Sqlite(pool) => {
                let conn = &mut *pool.get()?;
                let _writer = $store.sqlite_writer();
                conn.immediate_transaction::<_, $crate::StoreError, _>(|conn| {
                    $crate::backend::sqlite::$module::$func(conn, $($arg),*)
                })
            }
            $crate::backend::Pools::Postgres(pool) => {
                use diesel::Connection as _;
                let conn = &mut *pool.get()?;
                conn.transaction::<_, $crate::StoreError, _>(|conn| {
                    $crate::backend::postgres::$module::$func(conn, $($arg),*)
                })
            }
        }
    };
}

pub(crate) use {query, transact};

/// The query functions, compiled once per backend: each `ops/` file is included in both
/// modules below with `Conn` naming that backend's connection type. A query function
/// takes `&mut Conn` and trusts its caller for the transaction.
macro_rules! ops_for_backend {
    ($($name:ident: $conn:ty),*; $modules:tt) => {
        $(ops_for_backend!(@one $name, $conn, $modules);)*
    };
    (@one $name:ident, $conn:ty, [$($module:ident),*]) => {
        pub(crate) mod $name {
            #![allow(clippy::too_many_arguments)]
            pub(crate) type Conn = $conn;
            $(
                pub(crate) mod $module {
                    use super::Conn;
                    include!(concat!("ops/", stringify!($module), ".rs"));
                }
            )*
        }
    };
}

ops_for_backend!(
    sqlite: diesel::SqliteConnection, postgres: diesel::PgConnection;
    [audit, inventory, jobs, nodes, options, schedules, sessions, stats, storage, triggers, users, vms]
);

/// Where a database URL points.
enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

fn parse_url(url: &str) -> Result<Target, StoreError> {
    let open_err = |reason: &str| StoreError::Open {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() || path == ":memory:" {
            return Err(open_err(
                "give a file path, as in sqlite:///var/lib/zentific/zentific.db",
            ));
        }
        Ok(Target::Sqlite(PathBuf::from(path)))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Target::Postgres(url.to_owned()))
    } else {
        Err(open_err("the URL must start with sqlite:// or postgres://"))
    }
}

impl Store {
    /// Open the database at `url` (`sqlite://PATH` or `postgres://…`), creating an SQLite
    /// file and its folder if missing, and apply pending migrations.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        let open_err = |reason: String| StoreError::Open {
            url: redact(url),
            reason,
        };
        let pools = match parse_url(url)? {
            Target::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| open_err(format!("cannot create {}: {e}", dir.display())))?;
                }
                // WAL is a property of the file: switch it once, before the pool opens
                // its connections concurrently.
                let path_text = path.to_string_lossy().into_owned();
                let mut first = <SqliteConnection as diesel::Connection>::establish(&path_text)
                    .map_err(|e| open_err(e.to_string()))?;
                first.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")?;
                drop(first);
                let manager = ConnectionManager::<SqliteConnection>::new(path_text);
                // Connections are not pinged on checkout: a broken one is noticed by the
                // query that fails on it, and the ping would double the cost of a read.
                let pool = R2d2Pool::builder()
                    .max_size(16)
                    .test_on_check_out(false)
                    .connection_timeout(Duration::from_secs(30))
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(manager)
                    .map_err(|e| open_err(e.to_string()))?;
                let mut conn = pool.get()?;
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map_err(|e| StoreError::Migration(e.to_string()))?;
                drop(conn);
                Pools::Sqlite(pool)
            }
            Target::Postgres(pg_url) => {
                let manager = ConnectionManager::<PgConnection>::new(pg_url);
                let pool = R2d2Pool::builder()
                    .max_size(16)
                    .test_on_check_out(false)
                    .connection_timeout(Duration::from_secs(30))
                    .build(manager)
                    .map_err(|e| open_err(e.to_string()))?;
                let mut conn = pool.get()?;
                conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))?;
                let applied = conn
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|_| ())
                    .map_err(|e| StoreError::Migration(e.to_string()));
                conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))?;
                applied?;
                drop(conn);
                Pools::Postgres(pool)
            }
        };
        let store = Store {
            pools: std::sync::Arc::new(pools),
            jobs_signal: Default::default(),
            sqlite_writer: Default::default(),
        };
        store.ensure_defaults()?;
        Ok(store)
    }

    /// The turn of this process's SQLite writers (see the field's note).
    pub(crate) fn sqlite_writer(&self) -> std::sync::MutexGuard<'_, ()> {
        self.sqlite_writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tell waiting workers of this process that jobs were recorded.
    pub fn jobs_recorded(&self) {
        let mut generation = self
            .jobs_signal
            .generation
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *generation = generation.wrapping_add(1);
        self.jobs_signal.changed.notify_all();
    }

    /// The current job-signal generation, to pass to [`Store::wait_for_jobs`].
    pub fn jobs_generation(&self) -> u64 {
        *self
            .jobs_signal
            .generation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Block until jobs are recorded after `seen` (a [`Store::jobs_generation`]) or
    /// `timeout` passes.
    pub fn wait_for_jobs(&self, seen: u64, timeout: Duration) {
        let generation = self
            .jobs_signal
            .generation
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let _ = self
            .jobs_signal
            .changed
            .wait_timeout_while(generation, timeout, |g| *g == seen);
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        match &*self.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Insert the rows every installation starts with (global option defaults, the
    /// built-in modules); rows already present are left alone.
    fn ensure_defaults(&self) -> Result<(), StoreError> {
        transact!(self, options::insert_defaults())
    }
}

/// The URL with any password removed, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
