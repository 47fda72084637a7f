-- Prosa schema, SQLite dialect. Keep in step with migrations/postgres (a test compares them).
-- Timestamps are Unix milliseconds (BIGINT) on both backends; JSON is TEXT.

CREATE TABLE team (
    team_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE app_user (
    user_id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    presence TEXT NOT NULL DEFAULT 'offline',
    pause_reason TEXT,
    max_conversations BIGINT NOT NULL DEFAULT 5,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE team_member (
    team_id BIGINT NOT NULL REFERENCES team (team_id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);

-- Sessions are looked up by the SHA-256 of the cookie value; the value itself is never stored.
CREATE TABLE user_session (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX user_session_user ON user_session (user_id);

CREATE TABLE api_token (
    api_token_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_by BIGINT REFERENCES app_user (user_id) ON DELETE SET NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    last_used_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE inbox (
    inbox_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    channel_kind TEXT NOT NULL,
    settings TEXT NOT NULL,
    team_id BIGINT REFERENCES team (team_id) ON DELETE SET NULL,
    bot_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    last_inbound_at BIGINT,
    last_error TEXT,
    last_error_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE contact (
    contact_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    phone TEXT,
    phone_key TEXT,
    email TEXT,
    document TEXT,
    erp_subscriber_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX contact_phone_key ON contact (phone_key);
CREATE INDEX contact_document ON contact (document);

-- A contact's identity inside one inbox: the provider's id for them (phone, chat id, PSID).
CREATE TABLE contact_identity (
    contact_identity_id INTEGER PRIMARY KEY AUTOINCREMENT,
    inbox_id BIGINT NOT NULL REFERENCES inbox (inbox_id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL REFERENCES contact (contact_id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    meta TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (inbox_id, external_id)
);

CREATE TABLE category (
    category_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    position BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE conversation (
    conversation_id INTEGER PRIMARY KEY AUTOINCREMENT,
    inbox_id BIGINT NOT NULL REFERENCES inbox (inbox_id),
    contact_id BIGINT NOT NULL REFERENCES contact (contact_id),
    contact_identity_id BIGINT NOT NULL REFERENCES contact_identity (contact_identity_id),
    status TEXT NOT NULL CHECK (status IN ('bot', 'waiting', 'open', 'resolved')),
    assignee_id BIGINT REFERENCES app_user (user_id),
    team_id BIGINT REFERENCES team (team_id),
    category_id BIGINT REFERENCES category (category_id),
    bot_state TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    first_response_at BIGINT,
    waiting_since BIGINT,
    resolved_at BIGINT,
    last_message_at BIGINT,
    last_incoming_at BIGINT,
    -- An operator owns exactly the open conversations.
    CHECK ((status = 'open') = (assignee_id IS NOT NULL))
);
-- At most one unresolved conversation per contact identity: concurrent inbound messages from the
-- same sender (several instances) cannot open two.
CREATE UNIQUE INDEX conversation_one_open ON conversation (contact_identity_id) WHERE status <> 'resolved';
CREATE INDEX conversation_status ON conversation (status, waiting_since);
CREATE INDEX conversation_contact ON conversation (contact_id);

CREATE TABLE message (
    message_id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id BIGINT NOT NULL REFERENCES conversation (conversation_id),
    inbox_id BIGINT NOT NULL REFERENCES inbox (inbox_id),
    direction TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing')),
    author_kind TEXT NOT NULL,
    author_id BIGINT REFERENCES app_user (user_id),
    private BOOLEAN NOT NULL DEFAULT FALSE,
    content TEXT NOT NULL,
    provider_message_id TEXT,
    client_id TEXT,
    delivery_status TEXT,
    delivery_error TEXT,
    sent_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX message_conversation ON message (conversation_id, message_id);
CREATE UNIQUE INDEX message_provider_id ON message (inbox_id, direction, provider_message_id);
CREATE UNIQUE INDEX message_client_id ON message (conversation_id, client_id);

-- Every verified inbound item, stored before the provider is acknowledged. The unique key is
-- the deduplication: a redelivery inserts nothing.
CREATE TABLE inbound_event (
    inbound_event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    inbox_id BIGINT NOT NULL REFERENCES inbox (inbox_id) ON DELETE CASCADE,
    dedupe_key TEXT NOT NULL,
    item TEXT NOT NULL,
    raw TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    processed_at BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (inbox_id, dedupe_key)
);
CREATE INDEX inbound_event_pending ON inbound_event (processed_at, inbound_event_id);

-- Messages waiting to be delivered; written in the same transaction as the message.
CREATE TABLE outbox (
    outbox_id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BIGINT NOT NULL UNIQUE REFERENCES message (message_id),
    inbox_id BIGINT NOT NULL REFERENCES inbox (inbox_id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'in_flight', 'sent', 'dead')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- The domain event log. Its id is the cursor live clients resume from.
CREATE TABLE domain_event (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    conversation_id BIGINT,
    status TEXT,
    assignee_id BIGINT,
    team_id BIGINT,
    user_id BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE rating (
    rating_id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id BIGINT NOT NULL UNIQUE REFERENCES conversation (conversation_id),
    score BIGINT CHECK (score BETWEEN 0 AND 10),
    comment TEXT,
    requested_at BIGINT NOT NULL,
    answered_at BIGINT,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE rating_rule (
    rating_rule_id INTEGER PRIMARY KEY AUTOINCREMENT,
    description TEXT NOT NULL,
    scores TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE rating_rule_user (
    rating_rule_id BIGINT NOT NULL REFERENCES rating_rule (rating_rule_id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    PRIMARY KEY (rating_rule_id, user_id)
);

CREATE TABLE service_hours_rule (
    service_hours_rule_id INTEGER PRIMARY KEY AUTOINCREMENT,
    description TEXT NOT NULL,
    weekdays TEXT NOT NULL,
    start_minute BIGINT NOT NULL,
    end_minute BIGINT NOT NULL,
    inbox_ids TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE closed_date (
    day TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE notification (
    notification_id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES app_user (user_id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    conversation_id BIGINT REFERENCES conversation (conversation_id),
    payload TEXT NOT NULL,
    treated_at BIGINT,
    treated_by BIGINT REFERENCES app_user (user_id),
    treatment_note TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX notification_user ON notification (user_id, treated_at);

CREATE TABLE canned_response (
    canned_response_id INTEGER PRIMARY KEY AUTOINCREMENT,
    shortcut TEXT NOT NULL UNIQUE,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
    audit_log_id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_user_id BIGINT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Small documents keyed by name: settings, bot texts, the demo ERP's data.
CREATE TABLE setting (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
