DROP TABLE records;
DROP TABLE households;
DROP TABLE assignments;
DROP TABLE people;
DROP TABLE units;
DROP TABLE ledger_payloads;
DROP TABLE ledger;
DROP FUNCTION fieldtrail_refuse_change();
