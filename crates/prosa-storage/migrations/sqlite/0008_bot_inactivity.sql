-- When the bot warned an idle subscriber ("você ainda está aí?"); cleared when the
-- subscriber answers. The inactivity worker closes a conversation some time after the warning.
ALTER TABLE conversation ADD COLUMN bot_warned_at BIGINT;
CREATE INDEX conversation_bot_idle ON conversation (status, last_message_at);
