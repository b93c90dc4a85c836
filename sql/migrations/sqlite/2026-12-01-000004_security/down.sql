DROP INDEX vm_grants_granted_by;
ALTER TABLE vm_grants DROP COLUMN expires_at;
ALTER TABLE vm_grants DROP COLUMN granted_by;
ALTER TABLE nodes DROP COLUMN credentials;
