//! Webhooks (Standard Webhooks 1.0): the signatures and the sender that delivers the outbox.

pub mod sender;
pub mod signature;

pub use sender::{spawn_sender, RetrySchedule};
