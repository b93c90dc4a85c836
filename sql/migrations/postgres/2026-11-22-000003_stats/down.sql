DROP TABLE stat_watermarks;
DROP TABLE stat_rollups;
DROP TABLE vm_counters;
DROP TABLE vm_stats;
DROP TABLE node_stats;
DROP TABLE stat_pushes;
ALTER TABLE nodes DROP COLUMN clock_skew;
ALTER TABLE nodes DROP COLUMN last_seq;
ALTER TABLE nodes DROP COLUMN poll_interval;
