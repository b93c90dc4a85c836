DROP TABLE snapshots;
ALTER TABLE jobs DROP COLUMN applies;
ALTER TABLE storage_volumes DROP COLUMN state;
ALTER TABLE disks DROP COLUMN state;
ALTER TABLE vifs DROP COLUMN state;
