DROP TABLE bulletins;
DROP TABLE escalation_actions;
DROP TABLE negative_decisions;
DROP TABLE notes;
DROP TABLE record_flags;
