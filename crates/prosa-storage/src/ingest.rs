//! Group commit of inbound items: the acknowledgement of a webhook waits until its items are
//! durably stored, but concurrent requests share one transaction.
//!
//! Every [`Store::store_inbound`] call hands its items to one writer task per store and waits.
//! The writer takes whatever is waiting (up to [`MAX_BATCH_ITEMS`] items), writes it in one
//! transaction (PostgreSQL: one multi-row `INSERT … SELECT FROM unnest(…)`), and answers every
//! caller after the commit. Deduplication is per item as before: an item whose (inbox, dedupe
//! key) is already stored — earlier, or earlier in the same batch — is reported as a duplicate
//! and changes nothing. When a batch fails for a reason other than the database being
//! unavailable, each request is written again in its own transaction, so one bad item does not
//! fail the others.

use crate::inbound::{NewInbound, Stored};
use crate::*;
use prosa_domain::{InboundEventId, InboxId};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use tokio::sync::{mpsc, oneshot};

/// Most items written in one transaction.
pub const MAX_BATCH_ITEMS: usize = 256;

/// Rows per multi-row `INSERT` on SQLite (5 parameters each, far below SQLite's limit).
const SQLITE_ROWS_PER_INSERT: usize = 64;

/// The longest a write transaction waits for a group-commit batch to go first.
const GIVE_WAY_AT_MOST: Duration = Duration::from_millis(20);

/// How long a caller waits for its batch before answering "try again later". The items may
/// still be committed afterwards; the provider's retry is then a harmless duplicate.
const WAIT: Duration = Duration::from_secs(15);

/// One item of a request, owned so that it can cross to the writer task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRow {
    pub dedupe_key: String,
    /// The normalized item as JSON.
    pub item: String,
    /// The raw request body, as received.
    pub raw: String,
}

/// The verified items of one request, for one inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundWrite {
    pub inbox: InboxId,
    pub items: Vec<InboundRow>,
}

impl InboundWrite {
    pub fn new(inbox: InboxId, items: &[NewInbound<'_>]) -> InboundWrite {
        InboundWrite {
            inbox,
            items: items
                .iter()
                .map(|i| InboundRow {
                    dedupe_key: i.dedupe_key.to_owned(),
                    item: i.item.to_owned(),
                    raw: i.raw.to_owned(),
                })
                .collect(),
        }
    }
}

pub(crate) struct Job {
    write: InboundWrite,
    reply: oneshot::Sender<Result<Vec<Stored>>>,
}

pub(crate) type IngestSender = mpsc::UnboundedSender<Job>;

/// Starts the writer task of a store. `direct` is a handle on the same pools that writes
/// without going through the task; the task ends when every sender (every clone of the public
/// store) is gone.
pub(crate) fn start(direct: Store) -> IngestSender {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(direct, rx));
    tx
}

async fn run(store: Store, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut writes = Vec::new();
    let mut replies = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut n = first.write.items.len();
        writes.push(first.write);
        replies.push(first.reply);
        while n < MAX_BATCH_ITEMS {
            match rx.try_recv() {
                Ok(job) => {
                    n += job.write.items.len();
                    writes.push(job.write);
                    replies.push(job.reply);
                }
                Err(_) => break,
            }
        }
        let results = store.store_inbound_batch(&writes).await;
        // Counted until written: a processor holding the one SQLite writer while this batch
        // waits for it must see that it is waited for.
        store
            .ingest_queued
            .fetch_sub(replies.len(), Ordering::AcqRel);
        store.ingest_written.notify_waiters();
        for (reply, result) in replies.drain(..).zip(results) {
            // A caller that went away (client disconnected) is not an error: its items are
            // stored and the provider's retry will be a duplicate.
            let _ = reply.send(result);
        }
        writes.clear();
    }
}

/// Where each item of a batch went: `New` for the first copy of each (inbox, key) that was
/// inserted, `Duplicate` for everything else.
fn assign(writes: &[InboundWrite], mut inserted: Inserted) -> Vec<Vec<Stored>> {
    writes
        .iter()
        .map(|w| {
            w.items
                .iter()
                .map(|it| {
                    match inserted
                        .get_mut(&w.inbox.0)
                        .and_then(|keys| keys.remove(it.dedupe_key.as_str()))
                    {
                        Some(id) => Stored::New(InboundEventId(id)),
                        None => Stored::Duplicate,
                    }
                })
                .collect()
        })
        .collect()
}

/// The ids of the rows a batch inserted, by inbox and dedupe key.
type Inserted = HashMap<i64, HashMap<String, i64>>;

impl Store {
    /// Whether webhook requests are waiting for the group-commit writer: long write
    /// transactions on SQLite (one writer) give way to them.
    pub fn ingest_waiting(&self) -> bool {
        self.ingest_queued.load(Ordering::Acquire) > 0
    }

    /// SQLite (one writer): a write transaction that is about to start while webhooks wait for
    /// the writer lets their batch go first — at most one batch, or [`GIVE_WAY_AT_MOST`], so
    /// that other writers are never starved by a steady stream of webhooks.
    pub(crate) async fn give_way_to_ingest(&self) {
        if self.ingest.is_none() || !self.ingest_waiting() {
            return;
        }
        let written = self.ingest_written.notified();
        tokio::pin!(written);
        written.as_mut().enable();
        if !self.ingest_waiting() {
            return;
        }
        let _ = tokio::time::timeout(GIVE_WAY_AT_MOST, written).await;
    }

    /// Stores verified items of one request; items already stored (same inbox and dedupe key)
    /// are skipped: a provider's retry changes nothing. Returns once the items are committed
    /// (group commit: concurrent calls share one transaction).
    pub async fn store_inbound(
        &self,
        inbox: InboxId,
        items: &[NewInbound<'_>],
    ) -> Result<Vec<Stored>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let write = InboundWrite::new(inbox, items);
        let Some(sender) = &self.ingest else {
            let mut out = self.store_inbound_batch(std::slice::from_ref(&write)).await;
            return out.pop().expect("invariant: one result per write");
        };
        let (reply, answer) = oneshot::channel();
        self.ingest_queued.fetch_add(1, Ordering::AcqRel);
        if sender.send(Job { write, reply }).is_err() {
            self.ingest_queued.fetch_sub(1, Ordering::AcqRel);
            return Err(StorageError::Unavailable("the store is closed".into()));
        }
        match tokio::time::timeout(WAIT, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(StorageError::Unavailable(
                "the inbound writer stopped".into(),
            )),
            Err(_) => Err(StorageError::Unavailable(
                "timed out waiting for the database".into(),
            )),
        }
    }

    /// Writes several requests' items in one transaction and returns one result per request,
    /// in order. If the transaction fails for another reason than the database being
    /// unavailable, each request is retried alone, so a bad item fails only its own request.
    pub async fn store_inbound_batch(&self, writes: &[InboundWrite]) -> Vec<Result<Vec<Stored>>> {
        let results = match self.insert_inbound(writes).await {
            Ok(out) => out.into_iter().map(Ok).collect(),
            Err(e) if e.is_unavailable() => {
                let reason = e.to_string();
                writes
                    .iter()
                    .map(|_| Err(StorageError::Unavailable(reason.clone())))
                    .collect()
            }
            Err(e) if writes.len() == 1 => vec![Err(e)],
            Err(e) => {
                tracing::debug!(error = %e, requests = writes.len(), "inbound batch failed; writing each request alone");
                let mut out = Vec::with_capacity(writes.len());
                for w in writes {
                    out.push(
                        self.insert_inbound(std::slice::from_ref(w))
                            .await
                            .map(|mut v| v.pop().expect("invariant: one result per write")),
                    );
                }
                out
            }
        };
        let any_new = results
            .iter()
            .flatten()
            .flatten()
            .any(|s| matches!(s, Stored::New(_)));
        if any_new {
            self.signals.inbound.notify_one();
        }
        results
    }

    /// One transaction for all the writes.
    async fn insert_inbound(&self, writes: &[InboundWrite]) -> Result<Vec<Vec<Stored>>> {
        let now = now_ms();
        match &*self.pools {
            Pools::Sqlite { write, .. } => {
                let rows: Vec<(i64, &InboundRow)> = writes
                    .iter()
                    .flat_map(|w| w.items.iter().map(move |it| (w.inbox.0, it)))
                    .collect();
                let mut tx = write.begin().await?;
                let mut inserted = Inserted::new();
                let mut touched = HashSet::new();
                // Multi-row statements: each statement is a hop to the connection's thread,
                // so one per SQLITE_ROWS_PER_INSERT items rather than one per item. Of two
                // copies in one statement the first is inserted, the second skipped.
                for part in rows.chunks(SQLITE_ROWS_PER_INSERT) {
                    let mut sql = String::with_capacity(160 + part.len() * 20);
                    sql.push_str("INSERT INTO inbound_event (inbox_id, dedupe_key, item, raw, received_at, attempts) VALUES ");
                    for i in 0..part.len() {
                        if i > 0 {
                            sql.push(',');
                        }
                        sql.push_str("(?, ?, ?, ?, ?, 0)");
                    }
                    sql.push_str(" ON CONFLICT (inbox_id, dedupe_key) DO NOTHING RETURNING inbound_event_id, inbox_id, dedupe_key");
                    let mut q = sqlx::query_as::<_, (i64, i64, String)>(sqlx::AssertSqlSafe(sql));
                    for (inbox, it) in part {
                        q = q
                            .bind(*inbox)
                            .bind(&it.dedupe_key)
                            .bind(&it.item)
                            .bind(&it.raw)
                            .bind(now);
                    }
                    for (id, inbox, key) in q.fetch_all(&mut *tx).await? {
                        inserted.entry(inbox).or_default().insert(key, id);
                        touched.insert(inbox);
                    }
                }
                for inbox in &touched {
                    sqlx::query("UPDATE inbox SET last_inbound_at = $1 WHERE inbox_id = $2")
                        .bind(now)
                        .bind(inbox)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(assign(writes, inserted))
            }
            Pools::Postgres(pool) => {
                let total: usize = writes.iter().map(|w| w.items.len()).sum();
                let mut inboxes = Vec::with_capacity(total);
                let mut keys = Vec::with_capacity(total);
                let mut items = Vec::with_capacity(total);
                let mut raws = Vec::with_capacity(total);
                for w in writes {
                    for it in &w.items {
                        inboxes.push(w.inbox.0);
                        keys.push(it.dedupe_key.as_str());
                        items.push(it.item.as_str());
                        raws.push(it.raw.as_str());
                    }
                }
                let mut tx = pool.begin().await?;
                // Rows are inserted in array order, so of two copies in one batch the first is
                // kept, as with separate requests.
                let rows: Vec<(i64, i64, String)> = sqlx::query_as(
                    "INSERT INTO inbound_event (inbox_id, dedupe_key, item, raw, received_at, attempts) \
                     SELECT t.inbox_id, t.dedupe_key, t.item, t.raw, $5, 0 \
                     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(inbox_id, dedupe_key, item, raw, n) ORDER BY t.n \
                     ON CONFLICT (inbox_id, dedupe_key) DO NOTHING RETURNING inbound_event_id, inbox_id, dedupe_key",
                )
                .bind(&inboxes)
                .bind(&keys)
                .bind(&items)
                .bind(&raws)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
                if !rows.is_empty() {
                    let mut touched: Vec<i64> = rows.iter().map(|r| r.1).collect();
                    touched.sort_unstable();
                    touched.dedup();
                    sqlx::query(
                        "UPDATE inbox SET last_inbound_at = $1 WHERE inbox_id = ANY($2::bigint[])",
                    )
                    .bind(now)
                    .bind(&touched)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("SELECT pg_notify('prosa_inbound', '')")
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                let mut inserted = Inserted::new();
                for (id, inbox, key) in rows {
                    inserted.entry(inbox).or_default().insert(key, id);
                }
                Ok(assign(writes, inserted))
            }
        }
    }
}
