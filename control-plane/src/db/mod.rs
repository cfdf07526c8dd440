//! All SQL of the control plane. Nothing above `db/` imports sqlx: the domain and the
//! doors call the functions here, named after what they do, and get a [`DbError`] back.
//! Every query is written once and runs on SQLite and on PostgreSQL (`$1` placeholders
//! work on both, in the order they appear). Rows are decoded with
//! `#[derive(sqlx::FromRow)]`; TEXT columns holding names or JSON go through
//! [`column::Text`].
//!
//! A change that must be one transaction (a job and its audit row) opens a [`Tx`] with
//! [`Db::begin`] and passes it to the functions that take one.

pub mod artifacts;
pub mod assets;
pub mod audit;
mod column;
mod error;
pub mod idempotency;
pub mod job_events;
pub mod jobs;
pub mod jobs_bulk;
pub mod metrics;
pub mod outbox;
pub mod outbox_consumers;
pub mod presence;
pub mod robots;
pub mod tenants;
pub mod tokens;
pub mod workflows;

pub use error::{DbError, DbResult};

use std::str::FromStr;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::Config;

/// The database, on one of the two backends.
#[derive(Clone, Debug)]
pub enum Db {
    /// The embedded default.
    Sqlite(SqlitePool),
    /// For several replicas.
    Postgres(PgPool),
}

/// Runs the same code on whichever pool the database has: `on_db!(db, pool => expr)`.
/// The two arms are the same text with different pool types, so one query string serves
/// both backends.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Opens a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`): a transaction that reads first and writes later cannot wait for
/// another writer (SQLite answers "database is locked" at once instead of honouring the
/// busy timeout), so concurrent registrations or job creations would fail. On
/// PostgreSQL it is a plain `BEGIN`. Same name on both pools, so `on_db!` arms stay one
/// text.
pub trait BeginWrite {
    /// The backend.
    type Database: sqlx::Database;

    /// `BEGIN IMMEDIATE` on SQLite, `BEGIN` on PostgreSQL.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Database>, sqlx::Error>> + Send;
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// An open write transaction on either backend: pass it to the `db` functions that
/// take one, then [`Tx::commit`]. Dropped without a commit, it rolls back.
pub enum Tx {
    /// On SQLite (`BEGIN IMMEDIATE`).
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// On PostgreSQL.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs the same code on whichever connection a [`Tx`] holds: `on_tx!(tx, conn =>
/// query.execute(&mut **conn))`, like [`on_db!`] for pools.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite($conn) => $body,
            $crate::db::Tx::Postgres($conn) => $body,
        }
    };
}

impl Tx {
    /// Makes the transaction's changes last.
    pub async fn commit(self) -> DbResult<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// Now, in Unix milliseconds (how every time is stored).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A new random id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Db {
    /// Connects to `database_url`, or to SQLite in the data folder (WAL mode).
    pub async fn connect(config: &Config) -> anyhow::Result<Db> {
        Self::connect_counted(config, Counter::default()).await
    }

    /// Like [`Db::connect`], counting in `uses` every time a pooled connection is given
    /// back: one per statement run on the pool, one per transaction. `/metrics` exports
    /// it, so a benchmark can tell that parked robots cost no database work.
    pub async fn connect_counted(config: &Config, uses: Counter) -> anyhow::Result<Db> {
        match config.database_url.as_deref() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let pool = PgPoolOptions::new()
                    .after_release(move |_, _| {
                        uses.inc();
                        Box::pin(async { Ok(true) })
                    })
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {e}"))?;
                Ok(Db::Postgres(pool))
            }
            Some(url) if url.starts_with("sqlite:") => {
                let options = SqliteConnectOptions::from_str(url)?;
                if !url.contains("memory") {
                    crate::data_dir::make_sqlite_private(options.get_filename())?;
                }
                Self::sqlite(options, uses).await
            }
            Some(other) => {
                anyhow::bail!("unsupported database URL `{other}`: use sqlite:// or postgres://")
            }
            None => {
                let dir = config.data_dir();
                crate::data_dir::make_private(&dir)?;
                let path = dir.join("alq.db");
                crate::data_dir::make_sqlite_private(&path)?;
                Self::sqlite(SqliteConnectOptions::new().filename(path), uses).await
            }
        }
    }

    async fn sqlite(options: SqliteConnectOptions, uses: Counter) -> anyhow::Result<Db> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .after_release(move |_, _| {
                uses.inc();
                Box::pin(async { Ok(true) })
            })
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the SQLite database: {e}"))?;
        Ok(Db::Sqlite(pool))
    }

    /// Opens a write transaction (see [`BeginWrite`]).
    pub async fn begin(&self) -> DbResult<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_write().await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin_write().await?),
        })
    }

    /// Brings the schema up to date.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("../migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> bool {
        on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok())
    }

    /// On an empty database: creates the default tenant and a system admin token, and
    /// returns the token (shown once). `None` when there is a tenant already.
    pub async fn bootstrap(&self) -> anyhow::Result<Option<String>> {
        if tenants::count(self).await? > 0 {
            return Ok(None);
        }
        let mut tx = self.begin().await?;
        let tenant = tenants::create(&mut tx, "default").await?;
        let token = tokens::create_personal(
            &mut tx,
            &tenant.id,
            tokens::NewPersonal {
                name: "bootstrap admin".into(),
                role: crate::auth::Role::Admin,
                system: true,
            },
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(token.secret))
    }

    /// Closes every connection.
    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}
