//! The Store: every read and write of Prosa's data goes through it.
//!
//! One API, two backends. SQLite (default, embedded) uses one writer connection and a pool of
//! readers in WAL mode; PostgreSQL uses one pool and supports any number of instances. The SQL is
//! written once in the portable subset both accept (`$n` placeholders, `RETURNING`,
//! `ON CONFLICT`, partial indexes) and expanded per backend by the `on_read!`/`in_tx!` macros, so
//! every statement is type-checked against both drivers; where the dialects differ the code
//! branches on [`Backend`]. Timestamps are Unix milliseconds and JSON is text on both, which keeps
//! the two migration trees column-for-column equal (a test checks it).

mod error;
mod rows;

pub mod admin;
pub mod assignment;
pub mod bot;
pub mod channel_admin;
pub mod channels;
pub mod conversations;
pub mod events;
pub mod inactivity;
pub mod inbound;
pub mod inboxes;
pub mod ingest;
pub mod outbox;
pub mod panel;
pub mod people;
pub mod queue;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod webhooks;

pub use error::StorageError;

use jiff::Timestamp;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQLite's durability: `normal` survives a process crash (the WAL is on disk) but may lose the
/// last transactions on power loss; `full` syncs every commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteDurability {
    #[default]
    Normal,
    Full,
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub url: String,
    pub sqlite_durability: SqliteDurability,
    pub max_connections: u32,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> StoreOptions {
        StoreOptions {
            url: url.into(),
            sqlite_durability: SqliteDurability::Normal,
            max_connections: 10,
        }
    }
}

pub(crate) enum Pools {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// How often the SQLite WAL is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// SQLite: copies the write-ahead log into the database file off the writer's path, every
/// [`CHECKPOINT_EVERY`], until the store is dropped. `PASSIVE` neither waits for nor blocks
/// readers and the writer; what a reader still uses is copied by a later round.
async fn checkpoints(pools: std::sync::Weak<Pools>) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(pools) = pools.upgrade() else { return };
        let Pools::Sqlite { read, .. } = &*pools else {
            return;
        };
        if read.is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(read)
            .await
        {
            tracing::debug!(error = %e, "WAL checkpoint");
        }
    }
}

/// The handle every part of Prosa uses. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) pools: Arc<Pools>,
    /// Wake-ups for this instance's workers after a commit. Other instances learn of changes
    /// through PostgreSQL NOTIFY, which the server turns into the same signals.
    pub signals: Arc<Signals>,
    /// The group-commit writer of inbound items ([`ingest`]); `None` in the writer's own
    /// handle, which writes directly.
    ingest: Option<ingest::IngestSender>,
    /// Webhook requests handed to the group-commit writer and not yet written.
    pub(crate) ingest_queued: Arc<std::sync::atomic::AtomicUsize>,
    /// Signalled after each group-commit batch ([`Store::give_way_to_ingest`]).
    pub(crate) ingest_written: Arc<tokio::sync::Notify>,
    /// Inboxes recently read for webhooks ([`Store::inbox_for_webhook`]).
    inbox_cache: Arc<inboxes::InboxCache>,
}

/// Wake-ups after commits: one waiter each (the event reader, the outbox dispatcher, the
/// inbound processor); `notify_one` keeps a permit when the waiter is busy, so none is lost.
#[derive(Debug, Default)]
pub struct Signals {
    pub events: tokio::sync::Notify,
    pub outbox: tokio::sync::Notify,
    pub inbound: tokio::sync::Notify,
    /// A conversation owned by the bot got a message.
    pub bot: tokio::sync::Notify,
    /// Something that automatic assignment depends on changed (queue, presence, load, policy).
    pub assign: tokio::sync::Notify,
}

/// Runs `$body` with `$pool` bound to a reading pool of either backend.
macro_rules! on_read {
    ($store:expr, $pool:ident => $body:expr) => {
        match &*$store.pools {
            $crate::Pools::Sqlite { read: $pool, .. } => $body,
            $crate::Pools::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` inside a write transaction bound to `$tx`; commits when the body finishes
/// without returning early. An early `?` drops the transaction, which rolls it back.
/// `$pg` is bound to whether the backend is PostgreSQL.
macro_rules! in_tx {
    ($store:expr, $tx:ident, $pg:ident => $body:expr) => {
        match &*$store.pools {
            $crate::Pools::Sqlite { write, .. } => {
                #[allow(unused_variables)]
                let $pg = false;
                $store.give_way_to_ingest().await;
                let mut $tx = write.begin().await?;
                let out = $body;
                $tx.commit().await?;
                $store.signals.events.notify_one();
                out
            }
            $crate::Pools::Postgres(pool) => {
                #[allow(unused_variables)]
                let $pg = true;
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                $store.signals.events.notify_one();
                out
            }
        }
    };
}

pub(crate) use {in_tx, on_read};

/// Milliseconds since the epoch, as stored.
pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub(crate) fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

/// The SQLite file a `sqlite:` URL points to, if any.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(PathBuf::from(path))
}

/// The backend a database URL selects, by its scheme.
pub fn backend_for_url(url: &str) -> Option<Backend> {
    if url.starts_with("sqlite:") {
        Some(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

impl Store {
    /// Opens the database the URL names (creating a SQLite file and its folder if needed) and
    /// applies the migrations.
    pub async fn open(options: &StoreOptions) -> Result<Store> {
        let store = Store::connect(options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens without migrating.
    pub async fn connect(options: &StoreOptions) -> Result<Store> {
        let url = options.url.as_str();
        match backend_for_url(url) {
            Some(Backend::Sqlite) => {
                if let Some(path) = sqlite_path(url)
                    && let Some(dir) = path.parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StorageError::Config(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                let sync = match options.sqlite_durability {
                    SqliteDurability::Normal => SqliteSynchronous::Normal,
                    SqliteDurability::Full => SqliteSynchronous::Full,
                };
                let connect = SqliteConnectOptions::from_str(url)
                    .map_err(|e| StorageError::Config(format!("invalid sqlite URL: {e}")))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(sync)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    .pragma("cache_size", "-32000")
                    .pragma("temp_store", "memory")
                    // Reads from the mapped file instead of read() calls into a copy.
                    .pragma("mmap_size", "268435456");
                // One writer: SQLite serialises writes anyway, and a single connection avoids
                // SQLITE_BUSY on read-to-write upgrades.
                // The writer never checkpoints on commit (a commit that crosses the WAL's
                // threshold would copy it to the database file and fsync while every waiting
                // acknowledgement waits): a background task does it ([`checkpoints`]). The WAL
                // file is cut back to 64 MiB when it restarts after a burst.
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(
                        connect
                            .clone()
                            .pragma("wal_autocheckpoint", "0")
                            .pragma("journal_size_limit", "67108864"),
                    )
                    .await
                    .map_err(StorageError::unavailable)?;
                let read = SqlitePoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(connect.read_only(false))
                    .await
                    .map_err(StorageError::unavailable)?;
                Ok(Store::with_pools(Pools::Sqlite { read, write }))
            }
            Some(Backend::Postgres) => {
                let connect = PgConnectOptions::from_str(url)
                    .map_err(|e| StorageError::Config(format!("invalid postgres URL: {e}")))?;
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(connect)
                    .await
                    .map_err(StorageError::unavailable)?;
                Ok(Store::with_pools(Pools::Postgres(pool)))
            }
            None => Err(StorageError::Config(format!(
                "unknown database URL scheme in {:?}: use sqlite:PATH or postgres://...",
                url.split(':').next().unwrap_or("")
            ))),
        }
    }

    /// The store over these pools, with its group-commit writer task running.
    fn with_pools(pools: Pools) -> Store {
        let direct = Store {
            pools: Arc::new(pools),
            signals: Arc::default(),
            ingest: None,
            inbox_cache: Arc::default(),
            ingest_queued: Arc::default(),
            ingest_written: Arc::default(),
        };
        if let Pools::Sqlite { .. } = &*direct.pools {
            tokio::spawn(checkpoints(Arc::downgrade(&direct.pools)));
        }
        Store {
            ingest: Some(ingest::start(direct.clone())),
            ..direct
        }
    }

    pub fn backend(&self) -> Backend {
        match &*self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// The PostgreSQL pool, for LISTEN/NOTIFY.
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &*self.pools {
            Pools::Postgres(p) => Some(p),
            Pools::Sqlite { .. } => None,
        }
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        match &*self.pools {
            Pools::Sqlite { write, .. } => sqlx::migrate!("migrations/sqlite").run(write).await?,
            Pools::Postgres(pool) => {
                // Several instances may start at once; sqlx takes an advisory lock.
                sqlx::migrate!("migrations/postgres").run(pool).await?
            }
        }
        Ok(())
    }

    /// Whether the database answers (readiness).
    pub async fn ping(&self) -> Result<()> {
        on_read!(self, pool => { sqlx::query("SELECT 1").execute(pool).await?; });
        Ok(())
    }

    pub async fn close(&self) {
        match &*self.pools {
            Pools::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }

    /// Writes a consistent copy of a SQLite database to `path` (`VACUUM INTO`).
    /// PostgreSQL is backed up with `pg_dump`, which the caller runs.
    pub async fn backup_sqlite(&self, path: &std::path::Path) -> Result<()> {
        match &*self.pools {
            Pools::Sqlite { write, .. } => {
                let target = path.to_string_lossy().to_string();
                sqlx::query("VACUUM INTO $1")
                    .bind(target)
                    .execute(write)
                    .await?;
                Ok(())
            }
            Pools::Postgres(_) => Err(StorageError::Config(
                "backup of PostgreSQL is done with pg_dump".into(),
            )),
        }
    }

    /// The tables and their columns (name, nullable), sorted: the logical schema, used by the
    /// schema-parity test. On SQLite only a rowid alias (`INTEGER PRIMARY KEY`) is implicitly
    /// NOT NULL; any other primary-key column accepts NULL unless declared NOT NULL, and is
    /// reported as nullable.
    pub async fn schema(&self) -> Result<Vec<(String, String, bool)>> {
        let rows: Vec<(String, String, bool)> = match &*self.pools {
            Pools::Sqlite { read, .. } => {
                sqlx::query_as(
                    "SELECT m.name, p.name, p.\"notnull\" = 0 AND NOT (p.pk > 0 AND upper(p.type) = 'INTEGER' \
                     AND (SELECT COUNT(*) FROM pragma_table_info(m.name) k WHERE k.pk > 0) = 1) \
                     FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name NOT LIKE '\\_sqlx\\_%' ESCAPE '\\' ORDER BY 1, 2",
                )
                .fetch_all(read)
                .await?
            }
            Pools::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT table_name::text, column_name::text, is_nullable = 'YES' FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx\\_%' ORDER BY 1, 2",
                )
                .fetch_all(pool)
                .await?
            }
        };
        Ok(rows)
    }

    /// A small named document (settings, bot texts, demo data).
    pub async fn setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let row: Option<(String,)> = on_read!(self, pool => {
            sqlx::query_as("SELECT value FROM setting WHERE key = $1").bind(key).fetch_optional(pool).await?
        });
        Ok(row.and_then(|(v,)| serde_json::from_str(&v).ok()))
    }

    pub async fn put_setting(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        let text = value.to_string();
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("INSERT INTO setting (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
                .bind(key).bind(&text).bind(now).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Records who did what, for the audit trail.
    pub async fn record_audit(&self, entry: &AuditEntry) -> Result<()> {
        let detail = entry.detail.to_string();
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            sqlx::query("INSERT INTO audit_log (actor_user_id, actor, action, target, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(entry.actor_user_id.map(|u| u.0)).bind(&entry.actor).bind(&entry.action).bind(&entry.target).bind(&detail).bind(now)
                .execute(&mut *tx).await?;
        });
        Ok(())
    }

    pub async fn list_audit(&self, limit: i64) -> Result<Vec<AuditRecord>> {
        type Row = (i64, Option<i64>, String, String, String, String, i64);
        let rows: Vec<Row> = on_read!(self, pool => {
            sqlx::query_as("SELECT audit_log_id, actor_user_id, actor, action, target, detail, created_at FROM audit_log ORDER BY audit_log_id DESC LIMIT $1")
                .bind(limit).fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, uid, actor, action, target, detail, at)| AuditRecord {
                id,
                entry: AuditEntry {
                    actor_user_id: uid.map(prosa_domain::UserId),
                    actor,
                    action,
                    target,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
                },
                created_at: ts(at),
            })
            .collect())
    }
}

/// One audit-trail entry: who, what, on what.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    pub actor_user_id: Option<prosa_domain::UserId>,
    /// The e-mail of the person, `token:<name>` for an integration, or `system`.
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditRecord {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub created_at: Timestamp,
}
