ALTER TABLE ports DROP FOREIGN KEY fk_ports_portgroup;
DROP INDEX ports_portgroup_uuid_idx ON ports;
ALTER TABLE ports DROP COLUMN portgroup_uuid;
DROP TABLE portgroups;
