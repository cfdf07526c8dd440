//! `DbError`: what can go wrong below `db/`, sorted into what the layers above act on.
//! `sqlx::Error` stops here, so nothing above `db/` depends on the database library.

/// A failed database call.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A unique or foreign-key constraint refused the change: the object exists
    /// already, or one it names does not.
    #[error("the change conflicts with an existing row (constraint {})", constraint.as_deref().unwrap_or("unknown"))]
    Conflict {
        /// The constraint's name, when the database gives it.
        constraint: Option<String>,
    },
    /// The database could not be reached: no connection within the pool's timeout, or
    /// the connection broke.
    #[error("the database is not reachable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A row the statement needed is not there (it was deleted meanwhile).
    #[error("a row is missing: {0}")]
    Missing(String),
    /// A text value the database cannot store (PostgreSQL refuses a NUL character).
    #[error("a text value holds a character the database cannot store")]
    Unstorable,
    /// Anything else: a stored value that does not decode, a refused statement.
    #[error("database error: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<sqlx::Error> for DbError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error
            && matches!(db.code().as_deref(), Some("22021" | "22P05"))
        {
            return DbError::Unstorable;
        }
        if let sqlx::Error::Database(db) = &error
            && (db.is_unique_violation() || db.is_foreign_key_violation())
        {
            return DbError::Conflict {
                constraint: db.constraint().map(str::to_owned),
            };
        }
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                DbError::Unavailable(Box::new(error))
            }
            sqlx::Error::RowNotFound => DbError::Missing("no row matched".into()),
            other => DbError::Other(Box::new(other)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for DbError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        DbError::Other(Box::new(error))
    }
}

/// The result of a database call.
pub type DbResult<T> = Result<T, DbError>;
