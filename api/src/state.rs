use crate::auth::TokenKeys;
use fieldtrail_storage::{Database, Writer};

/// What every handler can reach: the read pool, the ledger writer and the keys.
pub struct AppState {
    pub db: Database,
    pub writer: Writer,
    pub tokens: TokenKeys,
    /// The log's verifier key in signed-note form (`name+id+key`).
    pub log_verifier_key: String,
    pub attachments: crate::attachments::AttachmentStore,
    /// The server's clock (the writer's too): what deadlines and quiet hours are judged by.
    pub clock: fieldtrail_storage::Clock,
    /// Failed logins by username and address, and their lockouts.
    pub login_limits: crate::login_limits::LoginLimits,
}
