-- A node's transport may name a module's (1-32 of a-z 0-9 -, from a letter).
-- SQLite cannot change a CHECK in place: the table is rebuilt (its 12-step way).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE nodes_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE,
    hostname TEXT NOT NULL,
    transport TEXT NOT NULL CHECK (length(transport) BETWEEN 1 AND 32 AND transport GLOB '[a-z]*' AND transport NOT GLOB '*[^a-z0-9-]*'),
    uri TEXT NOT NULL,
    poller_token_hash TEXT NOT NULL UNIQUE,
    last_seen BIGINT,
    created_at BIGINT NOT NULL,
    reachable BOOLEAN NOT NULL DEFAULT 1,
    status_detail TEXT NOT NULL DEFAULT '',
    synced_at BIGINT,
    poll_interval INTEGER,
    last_seq BIGINT,
    clock_skew BIGINT,
    credentials TEXT,
    silent_since BIGINT
);
INSERT INTO nodes_new (id, name, hostname, transport, uri, poller_token_hash, last_seen, created_at, reachable, status_detail, synced_at, poll_interval, last_seq, clock_skew, credentials, silent_since) SELECT id, name, hostname, transport, uri, poller_token_hash, last_seen, created_at, reachable, status_detail, synced_at, poll_interval, last_seq, clock_skew, credentials, silent_since FROM nodes;
-- Keep the AUTOINCREMENT counter: a deleted node's id is never given again.
DELETE FROM sqlite_sequence WHERE name = 'nodes_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'nodes_new', seq FROM sqlite_sequence WHERE name = 'nodes';
DROP TABLE nodes;
ALTER TABLE nodes_new RENAME TO nodes;
COMMIT;
PRAGMA foreign_keys = ON;
