-- Operator panel: default closing categories when the ISP has none yet.
INSERT INTO category (name, active, position, created_at, updated_at)
SELECT 'Resolvido', TRUE, 1, (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT, (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT
WHERE NOT EXISTS (SELECT 1 FROM category);
INSERT INTO category (name, active, position, created_at, updated_at)
SELECT 'Não resolvido', TRUE, 2, (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT, (EXTRACT(EPOCH FROM now()) * 1000)::BIGINT
WHERE NOT EXISTS (SELECT 1 FROM category WHERE name <> 'Resolvido');
-- An operator's own conversations.
CREATE INDEX IF NOT EXISTS conversation_assignee ON conversation (assignee_id, status);
