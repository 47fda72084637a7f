-- The bot's progress per conversation: the last incoming message it answered, and a short
-- lease so that only one instance runs a conversation's turn at a time.
ALTER TABLE conversation ADD COLUMN bot_cursor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversation ADD COLUMN bot_lock_until BIGINT;
-- Who the contact proved to be (document, ERP id) is remembered on the contact; failed
-- confirmation answers are counted per subject across sessions and channels.
CREATE TABLE verification_failure (
    subject TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX verification_failure_subject ON verification_failure (subject, created_at);
