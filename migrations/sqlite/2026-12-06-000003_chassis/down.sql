DROP INDEX nodes_chassis_id_idx;
ALTER TABLE nodes DROP COLUMN chassis_id;
DROP TABLE chassis;
