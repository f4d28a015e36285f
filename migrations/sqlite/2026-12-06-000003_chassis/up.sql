-- Chassis, and the node's reference to its chassis by internal id, as Ironic stores it.
-- A chassis that nodes still reference cannot be deleted (no ON DELETE action).
CREATE TABLE chassis (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid VARCHAR(36) NOT NULL,
    description VARCHAR(255),
    extra TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP,
    CONSTRAINT uniq_chassis0uuid UNIQUE (uuid)
);
ALTER TABLE nodes ADD COLUMN chassis_id BIGINT REFERENCES chassis (id);
CREATE INDEX nodes_chassis_id_idx ON nodes (chassis_id);
