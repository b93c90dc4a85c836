ALTER TABLE sessions DROP COLUMN idle_secs;
ALTER TABLE sessions DROP COLUMN last_used_at;
