-- An API token may act as a user: that person's role, teams and authorship (their messages are
-- a person's). Without one the token is an integration with administrator scope, and the
-- messages it posts are automated. A token ends with its user.
ALTER TABLE api_token ADD COLUMN user_id BIGINT REFERENCES app_user (user_id) ON DELETE CASCADE;
