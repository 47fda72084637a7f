-- Failed logins per subject ('email:…' or 'ip:…'), counted over a sliding window to refuse
-- further attempts (HTTP 429). In the database so that every instance sees the same count.
CREATE TABLE login_failure (
    subject TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX login_failure_subject ON login_failure (subject, created_at);
CREATE INDEX login_failure_created ON login_failure (created_at);
