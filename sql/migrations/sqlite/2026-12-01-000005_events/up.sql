-- The event stream (event.next): every audited change, VM and job state, node status.
-- AUTOINCREMENT: a sequence number is never reused, even after old events are pruned.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id INTEGER,
    owner_id INTEGER,
    state TEXT,
    job_id INTEGER,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX events_at ON events(at);
-- The highest sequence number pruned: a cursor below it has missed events.
CREATE TABLE event_horizon (
    id INTEGER PRIMARY KEY,
    pruned_through BIGINT NOT NULL
);
INSERT INTO event_horizon (id, pruned_through) VALUES (1, 0);
-- When a node's poller went quiet (NULL while it pushes, or when it has none).
ALTER TABLE nodes ADD COLUMN silent_since BIGINT;
