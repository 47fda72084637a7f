//! Who is calling: people by session cookie, integrations by bearer API token. Roles are
//! checked by the extractors every route takes.

use crate::error::ApiError;
use crate::state::AppState;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use base64::Engine;
use prosa_domain::model::{Role, User, Viewer};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "prosa_session";

/// argon2id hash of a password.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash to verify against when the user does not exist, so that both answers take as long.
pub fn dummy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$R0gJm8dmbj7fBUlKmT6jsBq3ZB2n9Y0B0G2ylZtXwvQ"
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A readable random password for the first administrator.
pub fn random_password() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Principal {
    Person {
        user: User,
        csrf_token: String,
        session_hash: String,
    },
    /// An API token. A token created for a user acts as that user (their role, teams and
    /// authorship: an operator's messages are a person's); one without a user is an
    /// integration with administrator scope whose messages are automated (`system`).
    Integration {
        token_name: String,
        user: Option<User>,
    },
}

impl Principal {
    pub fn role(&self) -> Role {
        match self {
            Principal::Person { user, .. } => user.role,
            Principal::Integration {
                user: Some(user), ..
            } => user.role,
            Principal::Integration { user: None, .. } => Role::Admin,
        }
    }

    /// The person acting: a signed-in user, or the user a token acts as.
    pub fn user(&self) -> Option<&User> {
        match self {
            Principal::Person { user, .. } => Some(user),
            Principal::Integration { user, .. } => user.as_ref(),
        }
    }

    pub fn csrf_token(&self) -> Option<&str> {
        match self {
            Principal::Person { csrf_token, .. } => Some(csrf_token),
            Principal::Integration { .. } => None,
        }
    }

    pub fn user_id(&self) -> Option<prosa_domain::UserId> {
        self.user().map(|u| u.id)
    }

    /// Name for the audit trail.
    pub fn actor(&self) -> String {
        match self {
            Principal::Person { user, .. } => user.email.clone(),
            Principal::Integration {
                token_name,
                user: Some(user),
            } => format!("{} (token:{token_name})", user.email),
            Principal::Integration {
                token_name,
                user: None,
            } => format!("token:{token_name}"),
        }
    }

    pub fn viewer(&self, team_visibility: bool) -> Viewer {
        match self.user() {
            Some(user) => Viewer {
                user_id: Some(user.id),
                role: user.role,
                team_ids: user.team_ids.clone(),
                team_visibility,
            },
            None => Viewer::integration(),
        }
    }
}

fn cookie_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .find_map(|kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
}

/// Resolves the caller, if any, enforcing the CSRF rules on state-changing requests.
pub async fn principal(state: &AppState, parts: &Parts) -> Result<Option<Principal>, ApiError> {
    resolve(state, parts, true).await
}

/// Resolves the caller of an HTML form post: the caller checks the form's `csrf_token` field
/// against [`Principal::csrf_token`] itself (forms cannot send headers).
pub async fn form_principal(
    state: &AppState,
    parts: &Parts,
) -> Result<Option<Principal>, ApiError> {
    resolve(state, parts, false).await
}

async fn resolve(
    state: &AppState,
    parts: &Parts,
    check_csrf: bool,
) -> Result<Option<Principal>, ApiError> {
    if let Some(auth) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let Some(token) = auth.strip_prefix("Bearer ") else {
            return Err(ApiError::Unauthorized);
        };
        let found = state
            .store
            .api_token_by_hash(&sha256_hex(token.trim()))
            .await?;
        return match found {
            Some(t) => {
                // A token acting as a user ends with that user's access.
                let user = match t.user_id {
                    Some(id) => match state.store.user_by_id(id).await {
                        Ok(u) if u.active => Some(u),
                        Ok(_) | Err(prosa_storage::StorageError::NotFound) => {
                            return Err(ApiError::Unauthorized);
                        }
                        Err(e) => return Err(e.into()),
                    },
                    None => None,
                };
                if let Err(e) = state.store.touch_api_token(&t).await {
                    tracing::warn!(error = %e, "recording API token use");
                }
                Ok(Some(Principal::Integration {
                    token_name: t.name,
                    user,
                }))
            }
            None => Err(ApiError::Unauthorized),
        };
    }
    let Some(cookie) = cookie_value(parts, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = sha256_hex(cookie);
    let Some(session) = state.store.session(&hash).await? else {
        return Ok(None);
    };
    // CSRF: a state-changing request with the session cookie must come from our own pages:
    // same-origin by the browser's own headers, and carrying the session's CSRF token.
    if check_csrf && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let site = parts
            .headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok());
        if matches!(site, Some("cross-site") | Some("same-site")) {
            return Err(ApiError::Forbidden);
        }
        if let Some(origin) = parts
            .headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
        {
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let origin_host = origin.split("://").nth(1).unwrap_or("");
            if origin_host != host {
                return Err(ApiError::Forbidden);
            }
        }
        let given = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok());
        if given != Some(session.csrf_token.as_str()) {
            return Err(ApiError::Forbidden);
        }
    }
    Ok(Some(Principal::Person {
        user: session.user,
        csrf_token: session.csrf_token,
        session_hash: hash,
    }))
}

/// Any signed-in person or integration.
pub struct Authenticated(pub Principal);

/// A supervisor, an administrator or an integration.
pub struct Supervisor(pub Principal);

/// An administrator or an integration.
pub struct Admin(pub Principal);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(state, parts).await? {
            Some(p) => Ok(Authenticated(p)),
            None => Err(ApiError::Unauthorized),
        }
    }
}

impl FromRequestParts<AppState> for Supervisor {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(p) = Authenticated::from_request_parts(parts, state).await?;
        if p.role() >= Role::Supervisor {
            Ok(Supervisor(p))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(p) = Authenticated::from_request_parts(parts, state).await?;
        if p.role() == Role::Admin {
            Ok(Admin(p))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// The caller if signed in, without failing (pages that redirect to the login). CSRF is the
/// handler's business (form field), see [`form_principal`].
pub struct MaybeUser(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match form_principal(state, parts).await {
            Ok(p) => Ok(MaybeUser(p)),
            Err(ApiError::Unauthorized) | Err(ApiError::Forbidden) => Ok(MaybeUser(None)),
            Err(e) => Err(e),
        }
    }
}
