-- The queue position last told to a waiting subscriber ("você está na posição 3 da fila"),
-- when, and for which stay in the queue (the conversation's waiting_since then): a conversation
-- that returns to the queue is told again.
ALTER TABLE conversation ADD COLUMN queue_told_position BIGINT;
ALTER TABLE conversation ADD COLUMN queue_told_at BIGINT;
ALTER TABLE conversation ADD COLUMN queue_told_for BIGINT;
