use crate::auth::TokenKeys;
use fieldtrail_storage::{Database, Writer};

/// What every handler can reach: the read pool, the ledger writer and the token keys.
pub struct AppState {
    pub db: Database,
    pub writer: Writer,
    pub tokens: TokenKeys,
}
