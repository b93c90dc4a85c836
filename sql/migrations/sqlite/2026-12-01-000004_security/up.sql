-- Node credentials (URI userinfo) kept apart from the URI; no read method returns them.
ALTER TABLE nodes ADD COLUMN credentials TEXT;
-- Grants name who made them (revoked with the granter's rights) and may lapse.
ALTER TABLE vm_grants ADD COLUMN granted_by INTEGER REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE vm_grants ADD COLUMN expires_at BIGINT;
CREATE INDEX vm_grants_granted_by ON vm_grants(granted_by);
