-- Chassis, and the node's reference to its chassis by internal id, as Ironic stores it.
-- A chassis that nodes still reference cannot be deleted (no ON DELETE action).
CREATE TABLE chassis (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    uuid VARCHAR(36) NOT NULL,
    description VARCHAR(255),
    extra MEDIUMTEXT,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6),
    CONSTRAINT uniq_chassis0uuid UNIQUE (uuid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
ALTER TABLE nodes ADD COLUMN chassis_id BIGINT;
CREATE INDEX nodes_chassis_id_idx ON nodes (chassis_id);
ALTER TABLE nodes ADD CONSTRAINT fk_nodes_chassis FOREIGN KEY (chassis_id) REFERENCES chassis (id);
