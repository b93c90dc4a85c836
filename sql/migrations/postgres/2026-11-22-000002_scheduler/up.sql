-- The scheduler: job claiming and retries, node reachability, recurring schedules and
-- event triggers.
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'recurring', 'event'));
ALTER TABLE jobs ADD COLUMN origin_id INTEGER;
ALTER TABLE jobs ADD COLUMN not_before BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 5;
ALTER TABLE jobs ADD COLUMN worker TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN heartbeat BIGINT;
ALTER TABLE jobs ADD COLUMN fault INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_claim ON jobs(state, not_before, id);

ALTER TABLE nodes ADD COLUMN reachable BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE nodes ADD COLUMN status_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN synced_at BIGINT;

ALTER TABLE vms ADD COLUMN vanished_at BIGINT;

CREATE TABLE schedules (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id INTEGER NOT NULL,
    params TEXT NOT NULL DEFAULT '',
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL,
    missed TEXT NOT NULL CHECK (missed IN ('skip', 'run_once')),
    ends_at BIGINT,
    remaining INTEGER,
    next_run BIGINT,
    last_run BIGINT,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX schedules_due ON schedules(enabled, next_run);

CREATE TABLE triggers (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL CHECK (event IN ('vm_state', 'node_silent', 'stat_threshold')),
    vm_id INTEGER REFERENCES vms(id) ON DELETE CASCADE,
    node_id INTEGER REFERENCES nodes(id) ON DELETE CASCADE,
    state TEXT,
    silent_secs INTEGER,
    metric TEXT,
    threshold DOUBLE PRECISION,
    for_secs INTEGER,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id INTEGER NOT NULL,
    params TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    fired_at BIGINT,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
