-- A node's transport may name a module's (1-32 of a-z 0-9 -, from a letter).
ALTER TABLE nodes DROP CONSTRAINT nodes_transport_check;
ALTER TABLE nodes ADD CONSTRAINT nodes_transport_check CHECK (transport ~ '^[a-z][a-z0-9-]{0,31}$');
