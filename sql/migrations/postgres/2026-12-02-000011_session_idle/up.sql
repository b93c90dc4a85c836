-- Idle sessions end: a session remembers when it was last used (to the minute) and how
-- long it may sit unused (the session_idle_minutes option at login, in seconds; 0: no
-- limit).
ALTER TABLE sessions ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN idle_secs BIGINT NOT NULL DEFAULT 0;
