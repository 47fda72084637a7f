//! Wiring of the provider channel adapters: per-kind settings validation, provider-side setup
//! (Telegram `setWebhook`), Telegram callback answers and long polling, inbound media download,
//! and the website chat ([`webchat`]).

pub mod check;
pub mod media;
pub mod meta;
pub mod pairing;
pub mod telegram;
pub mod typing;
pub mod webchat;

use crate::error::ApiError;
use prosa_domain::model::ChannelKind;
use serde_json::{Map, Value};

fn non_empty<'a>(settings: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    settings
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn require(settings: &Map<String, Value>, key: &str) -> Result<(), ApiError> {
    match settings.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ApiError::invalid(format!("channel.{key}"), "is required"))
        }
        Some(_) => Err(ApiError::invalid(
            format!("channel.{key}"),
            "must be a string",
        )),
    }
}

fn optional_url(settings: &Map<String, Value>, key: &str, required: bool) -> Result<(), ApiError> {
    match settings.get(key) {
        None | Some(Value::Null) if !required => Ok(()),
        None | Some(Value::Null) => Err(ApiError::invalid(format!("channel.{key}"), "is required")),
        Some(Value::String(u)) => {
            let ok = url::Url::parse(u)
                .ok()
                .is_some_and(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some());
            if ok {
                Ok(())
            } else {
                Err(ApiError::invalid(
                    format!("channel.{key}"),
                    "must be an http(s) URL",
                ))
            }
        }
        Some(_) => Err(ApiError::invalid(
            format!("channel.{key}"),
            "must be a string",
        )),
    }
}

/// Telegram's rule for the webhook secret token.
pub fn valid_secret_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Checks (and completes) a provider kind's settings. Called by `validate_inbox` after secrets
/// left out of an update were restored. Field errors name `channel.<setting>`.
pub fn validate_settings(
    kind: ChannelKind,
    settings: &mut Map<String, Value>,
) -> Result<(), ApiError> {
    match kind {
        ChannelKind::Api => {}
        ChannelKind::WhatsappCloud => {
            for k in [
                "access_token",
                "app_secret",
                "verify_token",
                "phone_number_id",
            ] {
                require(settings, k)?;
            }
            optional_url(settings, "base_url", false)?;
        }
        ChannelKind::Telegram => {
            require(settings, "bot_token")?;
            optional_url(settings, "base_url", false)?;
            match settings.get("mode").and_then(Value::as_str) {
                None | Some("webhook") | Some("polling") => {}
                Some(_) => {
                    return Err(ApiError::invalid(
                        "channel.mode",
                        "must be webhook or polling",
                    ));
                }
            }
            match non_empty(settings, "secret_token") {
                Some(s) if !valid_secret_token(s) => {
                    return Err(ApiError::invalid(
                        "channel.secret_token",
                        "must be 1-256 characters of A-Z a-z 0-9 _ -",
                    ));
                }
                Some(_) => {}
                None => {
                    // Generated: Telegram sends it back on every webhook.
                    settings.insert(
                        "secret_token".into(),
                        Value::String(crate::auth::random_token()),
                    );
                }
            }
        }
        ChannelKind::Messenger | ChannelKind::Instagram => {
            require(settings, "app_secret")?;
            require(settings, "verify_token")?;
            require(settings, "page_id")?;
            if non_empty(settings, "page_access_token").is_none()
                && non_empty(settings, "access_token").is_none()
            {
                return Err(ApiError::invalid(
                    "channel.page_access_token",
                    "is required",
                ));
            }
            optional_url(settings, "base_url", false)?;
        }
        ChannelKind::WhatsappEvolution => {
            optional_url(settings, "base_url", true)?;
            require(settings, "api_key")?;
            require(settings, "instance")?;
            if non_empty(settings, "webhook_jwt_key").is_none()
                && non_empty(settings, "webhook_token").is_none()
            {
                return Err(ApiError::invalid(
                    "channel.webhook_token",
                    "is required (or channel.webhook_jwt_key)",
                ));
            }
        }
        ChannelKind::BotFramework => {
            require(settings, "app_id")?;
            require(settings, "app_password")?;
            for k in ["openid_metadata_url", "token_url"] {
                optional_url(settings, k, false)?;
            }
        }
        ChannelKind::WebChat => {
            if let Some(v) = settings.get("identity_secret")
                && !v.is_null()
                && v.as_str().is_none_or(|s| s.len() < 16)
            {
                return Err(ApiError::invalid(
                    "channel.identity_secret",
                    "must be at least 16 characters",
                ));
            }
            if let Some(v) = settings.get("allowed_origins")
                && !v.is_null()
                && !v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
            {
                return Err(ApiError::invalid(
                    "channel.allowed_origins",
                    "must be a list of origins",
                ));
            }
        }
    }
    Ok(())
}

/// Stores verified items of one inbox (deduplicated on their keys), as the webhook does.
/// Returns how many were duplicates.
pub async fn store_items(
    state: &crate::state::AppState,
    inbox: &prosa_domain::model::Inbox,
    items: &[prosa_channel::InboundItem],
    raw: &str,
) -> Result<usize, prosa_storage::StorageError> {
    use prosa_storage::inbound::{NewInbound, Stored};
    if items.is_empty() {
        return Ok(0);
    }
    let serialized: Vec<(String, String)> = items
        .iter()
        .map(|i| {
            (
                i.dedupe_key(),
                serde_json::to_string(i).expect("invariant: items serialize"),
            )
        })
        .collect();
    let new: Vec<NewInbound<'_>> = serialized
        .iter()
        .map(|(k, item)| NewInbound {
            dedupe_key: k,
            item,
            raw,
        })
        .collect();
    let stored = state.store.store_inbound(inbox.id, &new).await?;
    let dups = stored
        .iter()
        .filter(|s| matches!(s, Stored::Duplicate))
        .count();
    if dups > 0 {
        state
            .metrics
            .duplicates
            .get_or_create(&crate::metrics::Metrics::channel(inbox.kind))
            .inc_by(dups as u64);
    }
    Ok(dups)
}
