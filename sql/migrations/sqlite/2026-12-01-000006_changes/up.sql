-- Devices, volumes and snapshots are 'adding' until the job that makes them on the
-- hypervisor succeeds; a failed job removes the row. vm.get lists only 'present' ones.
ALTER TABLE vifs ADD COLUMN state TEXT NOT NULL DEFAULT 'present';
ALTER TABLE disks ADD COLUMN state TEXT NOT NULL DEFAULT 'present';
ALTER TABLE storage_volumes ADD COLUMN state TEXT NOT NULL DEFAULT 'present';
-- Where a succeeded job's change took effect: '' (not said), 'now' or 'next boot'.
ALTER TABLE jobs ADD COLUMN applies TEXT NOT NULL DEFAULT '';
CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    vm_state TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'present',
    UNIQUE (vm_id, name)
);
