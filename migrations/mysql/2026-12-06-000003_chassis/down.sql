ALTER TABLE nodes DROP FOREIGN KEY fk_nodes_chassis;
DROP INDEX nodes_chassis_id_idx ON nodes;
ALTER TABLE nodes DROP COLUMN chassis_id;
DROP TABLE chassis;
