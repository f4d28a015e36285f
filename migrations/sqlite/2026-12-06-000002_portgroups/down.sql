DROP INDEX ports_portgroup_uuid_idx;
ALTER TABLE ports DROP COLUMN portgroup_uuid;
DROP TABLE portgroups;
