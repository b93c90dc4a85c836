-- Dynamic modules: the version loaded and the configuration an admin gave (JSON).
ALTER TABLE modules ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE modules ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
