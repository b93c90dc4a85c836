-- Zentific schema, PostgreSQL flavour. Timestamps are Unix seconds (UTC).
CREATE TABLE users (
    id SERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'user')),
    language TEXT NOT NULL DEFAULT 'en',
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    id SERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE quotas (
    user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    max_vms INTEGER,
    max_memory_kb BIGINT,
    max_vcpus INTEGER
);

CREATE TABLE nodes (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    hostname TEXT NOT NULL,
    transport TEXT NOT NULL CHECK (transport IN ('libvirt', 'ssh', 'xenapi')),
    uri TEXT NOT NULL,
    poller_token_hash TEXT NOT NULL UNIQUE,
    last_seen BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE vms (
    id SERIAL PRIMARY KEY,
    uuid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    node_id INTEGER NOT NULL REFERENCES nodes(id),
    vm_type TEXT NOT NULL CHECK (vm_type IN ('PV', 'HVM')),
    os TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('running', 'idle', 'paused', 'stopped', 'crashed', 'unknown')),
    memory_kb BIGINT NOT NULL,
    max_memory_kb BIGINT NOT NULL,
    vcpus INTEGER NOT NULL,
    started_at BIGINT,
    owner_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (node_id, name)
);
CREATE INDEX vms_owner ON vms(owner_id);

CREATE TABLE vm_grants (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
    permission TEXT NOT NULL CHECK (permission IN ('view', 'power', 'modify', 'console', 'admin')),
    PRIMARY KEY (user_id, vm_id, permission)
);
CREATE INDEX vm_grants_vm ON vm_grants(vm_id);

CREATE TABLE vifs (
    id SERIAL PRIMARY KEY,
    vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
    mac TEXT NOT NULL,
    bridge TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    UNIQUE (vm_id, mac)
);

CREATE TABLE disks (
    id SERIAL PRIMARY KEY,
    vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    source TEXT NOT NULL,
    size_kb BIGINT NOT NULL,
    readonly BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (vm_id, target)
);

CREATE TABLE storage_pools (
    id SERIAL PRIMARY KEY,
    node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    capacity_kb BIGINT NOT NULL,
    allocation_kb BIGINT NOT NULL,
    UNIQUE (node_id, name)
);

CREATE TABLE storage_volumes (
    id SERIAL PRIMARY KEY,
    pool_id INTEGER NOT NULL REFERENCES storage_pools(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    capacity_kb BIGINT NOT NULL,
    allocation_kb BIGINT NOT NULL,
    UNIQUE (pool_id, name)
);

CREATE TABLE options (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE modules (
    name TEXT PRIMARY KEY NOT NULL,
    description TEXT NOT NULL,
    layers TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    builtin BOOLEAN NOT NULL
);

CREATE TABLE notes (
    vm_id INTEGER PRIMARY KEY NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    updated_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE jobs (
    id SERIAL PRIMARY KEY,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id INTEGER NOT NULL,
    params TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX jobs_state ON jobs(state);
CREATE INDEX jobs_target ON jobs(target_kind, target_id);

CREATE TABLE audit_log (
    id SERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id INTEGER,
    detail TEXT NOT NULL
);
CREATE INDEX audit_target ON audit_log(target_kind, target_id);
