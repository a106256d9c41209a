//! All black-box tests compile into this one binary; each module is one area of the API.
#![allow(clippy::unwrap_used)]

mod auth;
mod checkin;
mod health;
mod ledger;
mod openapi;
mod proofs;
mod records;
mod roster;
mod units;
mod validation;
