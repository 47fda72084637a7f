-- Administration: several intervals per service-hours rule (JSON list of {"start","end"}),
-- the rule and score a rating notification came from, and the rating request's one re-ask.
ALTER TABLE service_hours_rule ADD COLUMN intervals TEXT;
ALTER TABLE notification ADD COLUMN rating_rule_id BIGINT;
ALTER TABLE notification ADD COLUMN score BIGINT;
ALTER TABLE rating ADD COLUMN reasked BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX notification_conversation ON notification (conversation_id);
