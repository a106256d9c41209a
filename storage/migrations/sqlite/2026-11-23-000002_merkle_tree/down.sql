DROP TRIGGER checkpoints_no_delete;
DROP TRIGGER checkpoints_no_update;
DROP TABLE checkpoints;
DROP TRIGGER merkle_nodes_no_delete;
DROP TRIGGER merkle_nodes_no_update;
DROP TABLE merkle_nodes;
