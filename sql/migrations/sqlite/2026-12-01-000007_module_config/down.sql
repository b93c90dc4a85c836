ALTER TABLE modules DROP COLUMN config;
ALTER TABLE modules DROP COLUMN version;
