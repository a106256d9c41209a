DROP TABLE verifications;
DROP TABLE contests;
DROP TABLE alerts;
DROP TABLE challenges;
DROP TABLE draws;
DROP TABLE visits;
