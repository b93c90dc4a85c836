-- Metrics that poller collector modules add to a node's samples (the sample's extra
-- member), by name (`<collector>.<metric>`); kept raw for stat_retention_days.
CREATE TABLE node_extras (
    node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    at BIGINT NOT NULL,
    value DOUBLE NOT NULL,
    PRIMARY KEY (node_id, metric, at)
);
CREATE INDEX node_extras_by_time ON node_extras (node_id, at);
