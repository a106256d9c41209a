//! Tokens: EdDSA (Ed25519) JWTs signed with a key kept in the data dir. Each token's signature
//! is verified once; the resulting principal is cached until the token expires, so the hot
//! check-in path pays a hash-map lookup, not a signature check and a database read.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::unit::UnitPath;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Mutex;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the key file {0} is not an Ed25519 PKCS#8 PEM key")]
    BadKey(String),
    #[error("no randomness available: {0}")]
    Random(String),
}

/// Loads the Ed25519 key at `path`, creating it (mode 0600) when it does not exist yet.
pub fn load_or_create_key(path: &Path) -> Result<SigningKey, KeyError> {
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(pem) => SigningKey::from_pkcs8_pem(&pem)
            .map_err(|_| KeyError::BadKey(path.display().to_string())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|err| KeyError::Random(err.to_string()))?;
            let key = SigningKey::from_bytes(&seed);
            // PKCS#8 v1 (RFC 5208 PrivateKeyInfo, no embedded public key): the form `openssl
            // pkey` and other tools read; the v2 form ed25519-dalek writes by default is not.
            let pem = ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: key.to_bytes(),
                public_key: None,
            }
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map_err(|_| KeyError::BadKey(path.display().to_string()))?;
            write_private(path, pem.as_bytes()).map_err(io)?;
            Ok(key)
        }
        Err(err) => Err(io(err)),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    /// The unit code of the holder's scope; absent for an admin of the whole tree.
    pub scope: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// Not before; this server never sets it, but honours it when a token has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// The person's token generation when this was issued; a password change starts the next.
    #[serde(default)]
    pub gen: i64,
    /// The holder must change their password before anything else.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mcp: bool,
}

/// Seconds a token's times may be off: exp, nbf and iat.
const LEEWAY_SECONDS: i64 = 5;

/// What a token whose holder must change their password may still do.
const WHILE_PASSWORD_CHANGE_REQUIRED: [&str; 2] = ["/v1/me/password", "/v1/auth/logout"];

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: PersonId,
    pub role: Role,
    pub scope: UnitPath,
    /// An admin reset (or an import) chose this person's password; they must change it.
    pub must_change: bool,
}

impl Principal {
    /// Whether the caller may see or act on something that lives at `path`.
    pub fn reaches(&self, path: &UnitPath) -> bool {
        self.scope.contains(path)
    }

    /// The caller as the author of a ledger change.
    pub fn actor(&self) -> fieldtrail_storage::writer::Actor {
        fieldtrail_storage::writer::Actor {
            id: Some(self.id),
            scope: self.scope.clone(),
        }
    }

    pub fn require_role(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "a {} may not do this",
                self.role.as_str()
            )))
        }
    }
}

struct Cached {
    principal: Principal,
    exp: i64,
}

/// Verified principals by token, until the token's expiry. Bounded: when full, expired tokens
/// are swept and, if that is not enough, the cache starts over (a miss only costs a verify).
const CACHE_CAPACITY: usize = 100_000;

/// The cache and its epoch, which every revocation moves on: a principal read from the database
/// before a revocation committed is not cached after it.
#[derive(Default)]
struct Cache {
    tokens: HashMap<String, Cached>,
    epoch: u64,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_seconds: i64,
    cache: Mutex<Cache>,
}

impl TokenKeys {
    pub fn new(key: &SigningKey, ttl_seconds: i64) -> Result<TokenKeys, KeyError> {
        let der = key
            .to_pkcs8_der()
            .map_err(|_| KeyError::BadKey("in memory".into()))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECONDS.unsigned_abs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Ok(TokenKeys {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: DecodingKey::from_ed_der(key.verifying_key().as_bytes()),
            validation,
            ttl_seconds,
            cache: Mutex::new(Cache::default()),
        })
    }

    pub fn ttl_seconds(&self) -> i64 {
        self.ttl_seconds
    }

    pub fn issue(&self, holder: Holder) -> Result<String, ApiError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            sub: holder.id.to_string(),
            role: holder.role.as_str().to_owned(),
            scope: holder.scope,
            iat: now,
            exp: now + self.ttl_seconds,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: None,
            gen: holder.generation,
            mcp: holder.must_change,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.encoding)
            .map_err(|err| ApiError::Internal(format!("signing a token failed: {err}")))
    }

    fn cached(&self, token: &str) -> Option<Principal> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let cache = self.cache.lock().ok()?;
        cache
            .tokens
            .get(token)
            .filter(|entry| entry.exp > now)
            .map(|entry| entry.principal.clone())
    }

    fn epoch(&self) -> u64 {
        self.cache.lock().map(|cache| cache.epoch).unwrap_or(0)
    }

    /// Caches a principal read at `epoch`, unless a revocation has happened since.
    fn remember(&self, token: String, principal: Principal, exp: i64, epoch: u64) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.epoch != epoch {
            return;
        }
        if cache.tokens.len() >= CACHE_CAPACITY {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            cache.tokens.retain(|_, entry| entry.exp > now);
            if cache.tokens.len() >= CACHE_CAPACITY {
                cache.tokens.clear();
            }
        }
        cache.tokens.insert(token, Cached { principal, exp });
    }

    /// Drops every cached token of a person, after a change to them has committed.
    pub fn forget_person(&self, id: PersonId) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.tokens.retain(|_, entry| entry.principal.id != id);
            cache.epoch += 1;
        }
    }

    /// Drops one token from the cache, after its revocation has committed.
    pub fn forget_token(&self, token: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.tokens.remove(token);
            cache.epoch += 1;
        }
    }

    /// The claims of a token signed by this server, valid now.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| ApiError::Unauthorized(format!("invalid token: {err}")))?;
        // jsonwebtoken checks exp and nbf but not iat; a token from the future is not ours.
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if claims.iat > now + LEEWAY_SECONDS {
            return Err(ApiError::Unauthorized(
                "invalid token: issued in the future".into(),
            ));
        }
        Ok(claims)
    }
}

/// Whom a token is for.
pub struct Holder {
    pub id: PersonId,
    pub role: Role,
    pub scope: Option<String>,
    pub generation: i64,
    pub must_change: bool,
}

impl Holder {
    pub fn of(person: &fieldtrail_storage::models::PersonRow) -> Result<Holder, ApiError> {
        Ok(Holder {
            id: PersonId::parse(&person.id)
                .map_err(|_| ApiError::Internal("stored person id".into()))?,
            role: Role::parse(&person.role)
                .map_err(|_| ApiError::Internal("stored role".into()))?,
            scope: person.unit_code.clone(),
            generation: person.token_generation,
            must_change: person.must_change_password,
        })
    }
}

pub(crate) fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer token".into()))?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("malformed Authorization header".into()))?;
    // The scheme name is case-insensitive (RFC 9110 §11.1).
    match value.trim().split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(ApiError::Unauthorized(
            "Authorization must be a Bearer token".into(),
        )),
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        let gated = !WHILE_PASSWORD_CHANGE_REQUIRED.contains(&req.path());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal("no application state".into()))?;
            let token = token?;
            let principal = match state.tokens.cached(&token) {
                Some(principal) => principal,
                None => principal_of(&state, token).await?,
            };
            if principal.must_change && gated {
                return Err(ApiError::PasswordChangeRequired(
                    "your password was set by an admin; change it with POST /v1/me/password first"
                        .into(),
                ));
            }
            Ok(principal)
        })
    }
}

/// A token not in the cache: verified, checked against the person as stored now, cached.
async fn principal_of(state: &AppState, token: String) -> Result<Principal, ApiError> {
    let claims = state.tokens.verify(&token)?;
    let epoch = state.tokens.epoch();
    let id = PersonId::parse(&claims.sub)
        .map_err(|_| ApiError::Unauthorized("invalid token subject".into()))?;
    let db = state.db.clone();
    let sub = claims.sub.clone();
    let jti = claims.jti.clone();
    let (person, revoked) = web::block(move || {
        let mut conn = db.conn()?;
        let person = fieldtrail_storage::reads::person(&mut conn, &sub)?;
        let revoked = fieldtrail_storage::reads::token_revoked(&mut conn, &jti)?;
        Ok::<_, fieldtrail_storage::StorageError>((person, revoked))
    })
    .await??;
    let person = person
        .ok_or_else(|| ApiError::Unauthorized("the token's subject does not exist".into()))?;
    if revoked {
        return Err(ApiError::Unauthorized(
            "this token has been logged out".into(),
        ));
    }
    if !person.active {
        return Err(ApiError::Unauthorized("this account is deactivated".into()));
    }
    if claims.gen != person.token_generation {
        return Err(ApiError::Unauthorized(
            "this token was issued before a password change; log in again".into(),
        ));
    }
    let role = Role::parse(&person.role)
        .map_err(|_| ApiError::Internal(format!("stored role {}", person.role)))?;
    let principal = Principal {
        id,
        role,
        scope: UnitPath::from_stored(person.unit_path),
        must_change: person.must_change_password,
    };
    state
        .tokens
        .remember(token, principal.clone(), claims.exp, epoch);
    Ok(principal)
}

/// A hash to verify against when the username is unknown, so that a wrong username takes as
/// long as a wrong password and does not reveal which usernames exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing").unwrap_or_default())
}

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes).map_err(|err| ApiError::Internal(err.to_string()))?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|err| ApiError::Internal(err.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| ApiError::Internal(format!("hashing failed: {err}")))
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(stored)
        .map(|hash| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }

    #[test]
    fn key_file_is_created_private_and_reloads_to_the_same_key() {
        let dir = std::env::temp_dir().join(format!("ft-key-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("jwt.pem");
        let first = load_or_create_key(&path).unwrap();
        let again = load_or_create_key(&path).unwrap();
        assert_eq!(first.to_bytes(), again.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn tokens_round_trip_and_tampering_fails() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let keys = TokenKeys::new(&key, 3600).unwrap();
        let id = PersonId::new();
        let token = keys
            .issue(Holder {
                id,
                role: Role::Cadre,
                scope: Some("341322".into()),
                generation: 0,
                must_change: false,
            })
            .unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims.sub, id.to_string());
        assert_eq!(claims.role, "cadre");
        let mut tampered = token.clone().into_bytes();
        let at = tampered.len() - 10;
        tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(keys.verify(&tampered).is_err());
        let other = TokenKeys::new(&SigningKey::from_bytes(&[8u8; 32]), 3600).unwrap();
        assert!(other.verify(&token).is_err());
    }
}
