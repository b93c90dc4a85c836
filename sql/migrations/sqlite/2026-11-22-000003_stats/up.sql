-- Statistics pushed by the pollers: raw samples, the counters rates are computed from,
-- and 1-minute and 1-hour roll-ups. Rates are per second; CPU is percent of one CPU.
ALTER TABLE nodes ADD COLUMN poll_interval INTEGER;
ALTER TABLE nodes ADD COLUMN last_seq BIGINT;
ALTER TABLE nodes ADD COLUMN clock_skew BIGINT;

CREATE TABLE stat_pushes (
    node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    sampled_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (node_id, seq)
);

CREATE TABLE node_stats (
    node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    cpus INTEGER NOT NULL,
    cpu_pct DOUBLE PRECISION NOT NULL,
    mem_total_kb BIGINT NOT NULL,
    mem_free_kb BIGINT NOT NULL,
    domains INTEGER NOT NULL,
    PRIMARY KEY (node_id, at)
);

CREATE TABLE vm_stats (
    vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    cpu_pct DOUBLE PRECISION NOT NULL,
    mem_kb BIGINT NOT NULL,
    vcpus INTEGER NOT NULL,
    net_rx_bps DOUBLE PRECISION NOT NULL,
    net_tx_bps DOUBLE PRECISION NOT NULL,
    disk_rd_bps DOUBLE PRECISION NOT NULL,
    disk_wr_bps DOUBLE PRECISION NOT NULL,
    disk_rd_iops DOUBLE PRECISION NOT NULL,
    disk_wr_iops DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (vm_id, at)
);

CREATE TABLE vm_counters (
    vm_id INTEGER PRIMARY KEY NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
    domid INTEGER NOT NULL,
    at BIGINT NOT NULL,
    cpu_ns BIGINT NOT NULL,
    rx_bytes BIGINT NOT NULL,
    tx_bytes BIGINT NOT NULL,
    rd_sectors BIGINT NOT NULL,
    wr_sectors BIGINT NOT NULL,
    rd_reqs BIGINT NOT NULL,
    wr_reqs BIGINT NOT NULL
);

CREATE TABLE stat_rollups (
    series TEXT NOT NULL CHECK (series IN ('1m', '1h')),
    kind TEXT NOT NULL CHECK (kind IN ('vm', 'node')),
    object_id INTEGER NOT NULL,
    metric TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    samples INTEGER NOT NULL,
    avg_value DOUBLE PRECISION NOT NULL,
    max_value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (series, kind, object_id, metric, bucket)
);

CREATE TABLE stat_watermarks (
    series TEXT PRIMARY KEY NOT NULL,
    rolled_until BIGINT NOT NULL
);
