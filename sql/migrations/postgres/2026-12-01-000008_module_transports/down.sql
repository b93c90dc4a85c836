ALTER TABLE nodes DROP CONSTRAINT nodes_transport_check;
ALTER TABLE nodes ADD CONSTRAINT nodes_transport_check CHECK (transport IN ('libvirt', 'ssh', 'xenapi'));
