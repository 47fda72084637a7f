-- Outbox items carry their conversation: the items of one conversation are sent one at a time,
-- in the order they were written, and spaced by the channel's pace (Telegram: about one
-- message per second per chat). SQLite cannot add a NOT NULL column without a default, so the
-- table is rebuilt (nothing references it).
CREATE TABLE outbox_new (
    outbox_id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BIGINT NOT NULL UNIQUE REFERENCES message (message_id),
    inbox_id BIGINT NOT NULL REFERENCES inbox (inbox_id) ON DELETE CASCADE,
    conversation_id BIGINT NOT NULL REFERENCES conversation (conversation_id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'in_flight', 'sent', 'dead')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO outbox_new (outbox_id, message_id, inbox_id, conversation_id, status, attempts, next_attempt_at, locked_until, last_error, created_at, updated_at)
SELECT o.outbox_id, o.message_id, o.inbox_id, m.conversation_id, o.status, o.attempts, o.next_attempt_at, o.locked_until, o.last_error, o.created_at, o.updated_at
FROM outbox o JOIN message m ON m.message_id = o.message_id;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
-- The unfinished items of a conversation, for the "earlier item still open" check of a claim.
CREATE INDEX outbox_open_by_conversation ON outbox (conversation_id, outbox_id) WHERE status IN ('pending', 'in_flight');

-- When the next item of a conversation may be sent at the earliest (Unix ms), set in the
-- transaction that records a send; read by the claim. Kept in the database so that every
-- instance honours it.
CREATE TABLE outbox_pace (
    conversation_id BIGINT NOT NULL PRIMARY KEY REFERENCES conversation (conversation_id) ON DELETE CASCADE,
    not_before BIGINT NOT NULL
);
