DROP TABLE event_horizon;
DROP TABLE events;
ALTER TABLE nodes DROP COLUMN silent_since;
