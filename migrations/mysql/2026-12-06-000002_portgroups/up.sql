CREATE TABLE portgroups (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    uuid VARCHAR(36) NOT NULL,
    name VARCHAR(255),
    address VARCHAR(18),
    node_id BIGINT NOT NULL,
    standalone_ports_supported BOOLEAN NOT NULL,
    mode VARCHAR(255) NOT NULL,
    properties MEDIUMTEXT,
    extra MEDIUMTEXT,
    internal_info MEDIUMTEXT,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6),
    CONSTRAINT uniq_portgroups0uuid UNIQUE (uuid),
    CONSTRAINT uniq_portgroups0name UNIQUE (name),
    CONSTRAINT uniq_portgroups0address UNIQUE (address),
    CONSTRAINT fk_portgroups_node FOREIGN KEY (node_id) REFERENCES nodes (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX portgroups_node_id_idx ON portgroups (node_id);
ALTER TABLE ports ADD COLUMN portgroup_uuid VARCHAR(36);
ALTER TABLE ports ADD CONSTRAINT fk_ports_portgroup FOREIGN KEY (portgroup_uuid)
    REFERENCES portgroups (uuid) ON DELETE SET NULL;
CREATE INDEX ports_portgroup_uuid_idx ON ports (portgroup_uuid);
