//! Login throttling: failed logins are recorded per subject (an e-mail, an IP address) in the
//! database, so that every instance on a shared PostgreSQL sees the same count.

use crate::*;

impl Store {
    /// Failed logins of `subject` since `since`: how many, and when the oldest of them was.
    pub async fn login_failures(
        &self,
        subject: &str,
        since: Timestamp,
    ) -> Result<(i64, Option<Timestamp>)> {
        let row: (i64, Option<i64>) = on_read!(self, pool => {
            sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM login_failure WHERE subject = $1 AND created_at >= $2")
                .bind(subject).bind(ms(since)).fetch_one(pool).await?
        });
        Ok((row.0, row.1.map(ts)))
    }

    /// Records a failed login for each subject, dropping their records older than
    /// `forget_before`.
    pub async fn record_login_failure(
        &self,
        subjects: &[&str],
        forget_before: Timestamp,
    ) -> Result<()> {
        let now = now_ms();
        in_tx!(self, tx, _pg => {
            for subject in subjects {
                sqlx::query("DELETE FROM login_failure WHERE subject = $1 AND created_at < $2")
                    .bind(subject).bind(ms(forget_before)).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO login_failure (subject, created_at) VALUES ($1, $2)")
                    .bind(subject).bind(now).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    /// Forgets the failures of a subject (after a successful login).
    pub async fn clear_login_failures(&self, subject: &str) -> Result<()> {
        in_tx!(self, tx, _pg => {
            sqlx::query("DELETE FROM login_failure WHERE subject = $1").bind(subject).execute(&mut *tx).await?;
        });
        Ok(())
    }

    /// Drops every failure record older than `before` (periodic clean-up).
    pub async fn prune_login_failures(&self, before: Timestamp) -> Result<u64> {
        let n = in_tx!(self, tx, _pg => {
            sqlx::query("DELETE FROM login_failure WHERE created_at < $1").bind(ms(before)).execute(&mut *tx).await?.rows_affected()
        });
        Ok(n)
    }
}
