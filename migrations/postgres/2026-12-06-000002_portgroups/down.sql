ALTER TABLE ports DROP CONSTRAINT fk_ports_portgroup;
DROP INDEX ports_portgroup_uuid_idx;
ALTER TABLE ports DROP COLUMN portgroup_uuid;
DROP TABLE portgroups;
