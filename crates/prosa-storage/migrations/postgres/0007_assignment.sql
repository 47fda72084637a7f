-- Automatic assignment (round robin among online operators, with a limit of simultaneous
-- conversations). A team opts in with `auto_assign`; conversations without a team follow the
-- `assignment` setting. The round-robin order is `assigned_turn` (higher = assigned more recently),
-- kept here so that every instance chooses from the same state.
ALTER TABLE team ADD COLUMN auto_assign BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE team ADD COLUMN max_conversations BIGINT;
ALTER TABLE app_user ADD COLUMN assigned_turn BIGINT;
