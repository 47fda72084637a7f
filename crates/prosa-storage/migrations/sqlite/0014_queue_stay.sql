-- Every stay of a conversation in the human queue, written when it leaves the queue (taken by
-- an operator, closed, or handed back to the bot). The recent stays of a queue (team) give the
-- website chat its "espera estimada". A trigger writes them, so no status change can forget to.
CREATE TABLE queue_stay (
    queue_stay_id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id BIGINT NOT NULL,
    inbox_id BIGINT NOT NULL,
    team_id BIGINT,
    waiting_since BIGINT NOT NULL,
    left_at BIGINT NOT NULL,
    -- The status it left for: open (taken), resolved or bot.
    outcome TEXT NOT NULL
);
CREATE INDEX queue_stay_left ON queue_stay (left_at);

CREATE TRIGGER conversation_left_queue AFTER UPDATE OF status ON conversation
FOR EACH ROW WHEN OLD.status = 'waiting' AND NEW.status <> 'waiting' AND OLD.waiting_since IS NOT NULL
BEGIN
    INSERT INTO queue_stay (conversation_id, inbox_id, team_id, waiting_since, left_at, outcome)
    VALUES (OLD.conversation_id, OLD.inbox_id, OLD.team_id, OLD.waiting_since, NEW.updated_at, NEW.status);
END;
