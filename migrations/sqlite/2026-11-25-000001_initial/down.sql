DROP TABLE conductors;
DROP TABLE ports;
DROP TABLE volume_targets;
DROP TABLE volume_connectors;
DROP TABLE nodes;
