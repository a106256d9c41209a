//! All black-box tests compile into this one binary; each module is one area of the API.
#![allow(clippy::unwrap_used)]

mod alerts;
mod attachments;
mod audits;
mod auth;
mod batch;
mod check_store;
mod checkin;
mod crs;
mod decisions;
mod demo;
mod exports;
mod flags;
mod health;
mod kinds;
mod ledger;
mod lifecycle;
mod loadtest;
mod nights;
mod notes;
mod openapi;
mod pairings;
mod policy;
mod proofs;
mod purge;
mod records;
mod roster;
mod sampling_python;
mod spot_checks;
mod supervision;
mod units;
mod validation;
mod verify_draw;
mod webhooks;
mod writer;
