DROP TABLE node_extras;
