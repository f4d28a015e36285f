ALTER TABLE nodes DROP CONSTRAINT fk_nodes_chassis;
DROP INDEX nodes_chassis_id_idx;
ALTER TABLE nodes DROP COLUMN chassis_id;
DROP TABLE chassis;
