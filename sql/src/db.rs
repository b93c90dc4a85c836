//! Opening a database: URL parsing, the connection pool, migrations, and the two ways an
//! operation runs — [`Store::read`] (one pooled connection) and [`Store::write`] (one
//! transaction).
//!
//! Both backends share one connection type, [`Conn`], an enum derived with diesel's
//! `MultiConnection`: a query written once against it runs on either database, and the few
//! queries whose SQL must differ match on its variants. (The alternative — compiling every
//! query module twice, once per concrete connection type — needs `include!` or generic
//! diesel bounds; either hides the code from rustfmt, the IDE or the reader.) The enum
//! renders SQL and boxes binds again for every statement, so the hot paths — a poller's
//! push, the session lookup, `vm.list` — run on the concrete connection through
//! [`on_backend!`], written once all the same (BENCHMARKS.md has the before and after).

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool as R2d2Pool};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::StoreError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Lock id taken while PostgreSQL migrations run, so that several processes starting at
/// once against one database apply them exactly once.
const MIGRATION_LOCK_ID: i64 = 0x7a656e7469666963; // "zentific"

/// A connection to either backend; every query function takes `&mut Conn`.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    /// PostgreSQL.
    Postgres(PgConnection),
    /// SQLite.
    Sqlite(SqliteConnection),
}

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (WAL mode), embedded in the process.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The handle to the database; cheap to clone, safe to share between threads.
///
/// Every method blocks on the database: async callers run them on a blocking thread.
#[derive(Clone)]
pub struct Store {
    pool: std::sync::Arc<R2d2Pool<Manager>>,
    backend: Backend,
    jobs_signal: std::sync::Arc<JobSignal>,
    /// Wakes `event.next` waiters (see `events.rs`).
    pub(crate) events: std::sync::Arc<crate::events::EventSignal>,
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

/// Opens pooled connections of the backend a URL names (diesel's own manager would try
/// each backend in turn on every URL).
struct Manager(Target);

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        let conn = match &self.0 {
            Target::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // The busy timeout comes first so that the other settings wait out a lock.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
                .map_err(diesel::r2d2::Error::QueryError)?;
                Conn::Sqlite(conn)
            }
            Target::Postgres(url) => Conn::Postgres(
                PgConnection::establish(url).map_err(diesel::r2d2::Error::ConnectionError)?,
            ),
        };
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.is_broken()
    }
}

/// Nothing to set per checkout; the pragmas are applied when a connection opens.
#[derive(Debug)]
struct NoCustomizing;
impl CustomizeConnection<Conn, diesel::r2d2::Error> for NoCustomizing {}

/// Run one statement on the concrete connection behind a [`Conn`]: for the few
/// statements the shared connection type cannot express (`ON CONFLICT DO NOTHING`,
/// multi-row inserts on SQLite). The
/// body is written once and compiled for each backend.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($c) => $body,
            $crate::db::Conn::Postgres($c) => $body,
        }
    };
}
pub(crate) use on_backend;

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
        let target = parse_url(url)?;
        let listen_url = match &target {
            Target::Postgres(url) => Some(url.clone()),
            Target::Sqlite(_) => None,
        };
        let backend = match &target {
            Target::Sqlite(_) => Backend::Sqlite,
            Target::Postgres(_) => Backend::Postgres,
        };
        if let Target::Sqlite(path) = &target {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| open_err(format!("cannot create {}: {e}", dir.display())))?;
            }
            crate::files::create_private(path)
                .map_err(|e| open_err(format!("cannot create {}: {e}", path.display())))?;
            // WAL is a property of the file: switch it once, before the pool opens its
            // connections concurrently.
            let mut first = SqliteConnection::establish(&path.to_string_lossy())
                .map_err(|e| open_err(e.to_string()))?;
            first.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")?;
            drop(first);
            crate::files::restrict_sidecars(path)
                .map_err(|e| open_err(format!("cannot restrict {}: {e}", path.display())))?;
        }
        // Connections are not pinged on checkout: a broken one is noticed by the query
        // that fails on it, and the ping would double the cost of a read.
        let pool = R2d2Pool::builder()
            .max_size(16)
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(30))
            .connection_customizer(Box::new(NoCustomizing))
            .build(Manager(target))
            .map_err(|e| open_err(e.to_string()))?;
        let mut conn = pool.get()?;
        match &mut *conn {
            Conn::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|_| ())
                .map_err(|e| StoreError::Migration(e.to_string()))?,
            Conn::Postgres(c) => {
                c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))?;
                let applied = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|_| ())
                    .map_err(|e| StoreError::Migration(e.to_string()));
                c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))?;
                applied?;
            }
        }
        drop(conn);
        let store = Store {
            pool: std::sync::Arc::new(pool),
            backend,
            jobs_signal: Default::default(),
            events: std::sync::Arc::new(crate::events::EventSignal::new(listen_url)),
            sqlite_writer: Default::default(),
        };
        store.ensure_defaults()?;
        Ok(store)
    }

    /// Run `op` on a pooled connection, without a transaction: single statements and
    /// reads (SQLite in WAL mode and PostgreSQL both give each statement a consistent view).
    pub(crate) fn read<T>(
        &self,
        op: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut pooled = self.pool.get()?;
        op(&mut pooled)
    }

    /// Run `op` inside one write transaction; any error rolls all of it back. On SQLite
    /// it is an `IMMEDIATE` transaction, taken after this process's earlier writers, so
    /// concurrent writers queue instead of failing on a lock upgrade.
    pub(crate) fn write<T>(
        &self,
        op: impl FnOnce(&mut Conn) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut pooled = self.pool.get()?;
        let conn = &mut *pooled;
        let _writer = match conn {
            Conn::Sqlite(inner) => {
                let turn = self.sqlite_writer();
                AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
                Some(turn)
            }
            Conn::Postgres(_) => {
                <Conn as Connection>::TransactionManager::begin_transaction(conn)?;
                None
            }
        };
        crate::ops::events::discard();
        // The transaction's events go in last, just before the commit (see ops/events.rs).
        match op(conn).and_then(|value| Ok((value, crate::ops::events::flush(conn)?))) {
            Ok((value, wrote_events)) => {
                <Conn as Connection>::TransactionManager::commit_transaction(conn)?;
                if wrote_events {
                    self.events.bump();
                }
                Ok(value)
            }
            Err(error) => {
                crate::ops::events::discard();
                // The operation's error is the one to report; a failed rollback leaves
                // the connection broken, and the pool discards it.
                let _ = <Conn as Connection>::TransactionManager::rollback_transaction(conn);
                Err(error)
            }
        }
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
        self.backend
    }

    /// Insert the rows every installation starts with (global option defaults, the
    /// built-in modules); rows already present are left alone.
    fn ensure_defaults(&self) -> Result<(), StoreError> {
        self.write(|conn| {
            crate::ops::options::insert_defaults(conn)?;
            crate::ops::nodes::separate_stored_credentials(conn)
        })
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
