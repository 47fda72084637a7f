//! What can go wrong in storage, in terms of what the caller can do about it.

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness or check constraint refused the write.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// The database cannot be reached or is overloaded: try again later (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The store was configured wrongly (bad URL, unknown scheme).
    #[error("{0}")]
    Config(String),
    /// Data in the database that Prosa cannot read (a bug or a manual edit).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl StorageError {
    pub(crate) fn unavailable(e: sqlx::Error) -> StorageError {
        StorageError::Unavailable(e.to_string())
    }

    /// Whether the caller should answer "try again later".
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StorageError::Unavailable(_))
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(e: sqlx::Error) -> StorageError {
        match e {
            sqlx::Error::RowNotFound => StorageError::NotFound,
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => StorageError::Unavailable(e.to_string()),
            sqlx::Error::Database(ref db) => {
                if db.is_unique_violation()
                    || db.is_check_violation()
                    || db.is_foreign_key_violation()
                {
                    let constraint = db
                        .constraint()
                        .map(str::to_owned)
                        .unwrap_or_else(|| db.message().to_owned());
                    return StorageError::Conflict { constraint };
                }
                // SQLite busy/locked, PostgreSQL too many connections / shutting down.
                let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                if matches!(
                    code.as_str(),
                    "5" | "6" | "517" | "53300" | "57P01" | "57P03"
                ) {
                    return StorageError::Unavailable(db.message().to_owned());
                }
                StorageError::Database(e)
            }
            other => StorageError::Database(other),
        }
    }
}
