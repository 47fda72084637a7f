-- Outbox items carry their conversation: the items of one conversation are sent one at a time,
-- in the order they were written, and spaced by the channel's pace (Telegram: about one
-- message per second per chat).
ALTER TABLE outbox ADD COLUMN conversation_id BIGINT REFERENCES conversation (conversation_id);
UPDATE outbox SET conversation_id = m.conversation_id FROM message m WHERE m.message_id = outbox.message_id;
ALTER TABLE outbox ALTER COLUMN conversation_id SET NOT NULL;
-- The unfinished items of a conversation, for the "earlier item still open" check of a claim.
CREATE INDEX outbox_open_by_conversation ON outbox (conversation_id, outbox_id) WHERE status IN ('pending', 'in_flight');

-- When the next item of a conversation may be sent at the earliest (Unix ms), set in the
-- transaction that records a send; read by the claim. Kept in the database so that every
-- instance honours it.
CREATE TABLE outbox_pace (
    conversation_id BIGINT NOT NULL PRIMARY KEY REFERENCES conversation (conversation_id) ON DELETE CASCADE,
    not_before BIGINT NOT NULL
);
