//! One Meta app webhook for every Messenger Page, Instagram account and WhatsApp Cloud number
//! of the app: `GET/POST /webhooks/meta`. The per-inbox URLs (`/webhooks/meta/{id}`,
//! `/webhooks/whatsapp/{id}`) keep working and route the same way ([`route_verified`]): a Meta
//! app posts all its Pages, accounts and numbers to whichever URL it was given, so a body on
//! one inbox's URL can carry entries of the app's other inboxes.
//!
//! A POST is verified first, on the raw bytes, against the app secrets of the Meta inboxes
//! (one app usually; several are tried in constant time each). Only then is it read: each entry
//! (each change, for WhatsApp) goes to the inbox that owns its Page id / Instagram account id /
//! `phone_number_id` (table `inbox_route`) *and* was configured with the secret that signed the
//! request, so one app cannot write into another app's inbox. Entries no inbox owns are kept
//! (`webhook_unhandled`), counted and logged, and acknowledged: Meta retries anything but 200.

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use prosa_channel::{InboundRequest, VerifyError};
use prosa_domain::InboxId;
use prosa_domain::model::{ChannelKind, Inbox};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Instant;

pub(crate) fn is_meta(kind: ChannelKind) -> bool {
    matches!(
        kind,
        ChannelKind::Messenger | ChannelKind::Instagram | ChannelKind::WhatsappCloud
    )
}

fn setting<'a>(settings: &'a Value, key: &str) -> Option<&'a str> {
    settings
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub(crate) async fn meta_inboxes(state: &AppState) -> Result<Vec<Inbox>, ApiError> {
    Ok(state
        .store
        .list_inboxes()
        .await?
        .into_iter()
        .filter(|i| i.active && is_meta(i.kind))
        .collect())
}

/// The channel kind of a webhook `object`.
fn kind_of(object: &str) -> ChannelKind {
    match object {
        "instagram" => ChannelKind::Instagram,
        "whatsapp_business_account" => ChannelKind::WhatsappCloud,
        _ => ChannelKind::Messenger,
    }
}

/// `GET /webhooks/meta`: the subscription handshake with the app's verify token (the one set
/// on any of its inboxes).
pub async fn handshake(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    for inbox in meta_inboxes(&state).await? {
        if let Ok(challenge) = prosa_channel_whatsapp_cloud::meta_handshake(
            setting(&inbox.settings, "verify_token"),
            query.as_deref(),
        ) {
            return Ok((StatusCode::OK, challenge).into_response());
        }
    }
    Err(ApiError::Forbidden)
}

/// The routing key of each unit of a body: `(account id, the entry to hand on)`. Messenger and
/// Instagram entries are routed whole by `entry.id`; WhatsApp entries per change by
/// `value.metadata.phone_number_id` (an entry is a WhatsApp Business Account, which can hold
/// several numbers).
fn units(object: &str, body: &Value) -> Vec<(Option<String>, Value)> {
    let mut out = Vec::new();
    for entry in body
        .get("entry")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if object == "whatsapp_business_account" {
            for change in entry
                .get("changes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let key = change
                    .pointer("/value/metadata/phone_number_id")
                    .and_then(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    });
                let mut one = entry.clone();
                one["changes"] = json!([change]);
                out.push((key, one));
            }
        } else {
            let key = match entry.get("id") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            out.push((key, entry.clone()));
        }
    }
    out
}

/// `POST /webhooks/meta`.
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let inboxes = meta_inboxes(&state).await?;
    let request = InboundRequest {
        headers: &headers,
        query: None,
        body: &body,
    };
    // Verify before reading anything: which app secret signed these bytes?
    let mut secrets: Vec<&str> = inboxes
        .iter()
        .filter_map(|i| setting(&i.settings, "app_secret"))
        .collect();
    secrets.sort_unstable();
    secrets.dedup();
    if secrets.is_empty() {
        let e = VerifyError::Misconfigured("no Messenger, Instagram or WhatsApp inbox".into());
        return Ok(crate::webhook::refusal(
            &state,
            ChannelKind::Messenger,
            None,
            &e,
        ));
    }
    let mut verified = None;
    let mut refused = VerifyError::Missing;
    for secret in secrets {
        match prosa_channel_whatsapp_cloud::verify_meta_signature(Some(secret), &request) {
            Ok(()) => {
                verified = Some(secret.to_owned());
                break;
            }
            Err(e) => refused = e,
        }
    }
    let Some(secret) = verified else {
        return Ok(crate::webhook::refusal(
            &state,
            ChannelKind::Messenger,
            None,
            &refused,
        ));
    };
    route_verified(&state, &headers, &body, &secret, &inboxes).await?;
    state
        .metrics
        .webhook_latency
        .observe(started.elapsed().as_secs_f64());
    Ok(ack())
}

/// Stores a body whose signature `secret` verified: each entry (each change, for WhatsApp)
/// goes to the inbox that owns its Page / Instagram account / `phone_number_id` and was
/// configured with that same secret; entries for no such inbox, and an unreadable body, are
/// kept as unhandled (acknowledged all the same).
pub async fn route_verified(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    secret: &str,
    inboxes: &[Inbox],
) -> Result<(), ApiError> {
    let raw = String::from_utf8_lossy(body);
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let object = parsed
        .as_ref()
        .and_then(|v| v.get("object"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (Some(v), Some(object)) = (parsed, object) else {
        unrouted(
            state,
            ChannelKind::Messenger,
            None,
            "unreadable body (no object)",
            &raw,
        )
        .await?;
        return Ok(());
    };
    let kind = kind_of(&object);
    let mut groups: BTreeMap<i64, (Inbox, Vec<Value>)> = BTreeMap::new();
    for (key, entry) in units(&object, &v) {
        let owner = match &key {
            Some(k) => state.store.inbox_for_route(&object, k).await?,
            None => None,
        };
        let inbox = owner.and_then(|InboxId(id)| {
            inboxes.iter().find(|i| {
                i.id.0 == id
                    && setting(&i.settings, "app_secret")
                        .is_some_and(|s| prosa_channel::signature::secrets_equal(s, secret))
            })
        });
        match inbox {
            Some(inbox) => groups
                .entry(inbox.id.0)
                .or_insert_with(|| (inbox.clone(), Vec::new()))
                .1
                .push(entry),
            None => {
                let reason = match &key {
                    Some(k) => format!("no inbox for {object} {k}"),
                    None => format!("{object} entry without an account id"),
                };
                unrouted(state, kind, key.as_deref(), &reason, &raw).await?;
            }
        }
    }
    for (_, (inbox, entries)) in groups {
        let Some(adapter) = state.channels.get(inbox.kind).cloned() else {
            continue;
        };
        let part = serde_json::to_vec(&json!({"object": object, "entry": entries}))
            .expect("invariant: JSON values serialize");
        let sub = InboundRequest {
            headers,
            query: None,
            body: &part,
        };
        match adapter.parse(&inbox.settings, &sub) {
            Ok(items) => {
                crate::channels::store_items(state, &inbox, &items, &raw).await?;
            }
            Err(e) => {
                crate::webhook::unhandled(
                    state,
                    &inbox,
                    None,
                    &format!("unreadable body: {e}"),
                    &raw,
                )
                .await?;
            }
        }
    }
    Ok(())
}

fn ack() -> Response {
    (StatusCode::OK, "EVENT_RECEIVED").into_response()
}

async fn unrouted(
    state: &AppState,
    kind: ChannelKind,
    route_key: Option<&str>,
    reason: &str,
    raw: &str,
) -> Result<(), ApiError> {
    tracing::warn!(
        route_key,
        reason,
        "meta webhook: entry for no inbox; kept and acknowledged"
    );
    state
        .metrics
        .webhook_unhandled
        .get_or_create(&crate::metrics::Metrics::channel(kind))
        .inc();
    state
        .store
        .record_unhandled_webhook(&prosa_storage::webhooks::NewUnhandled {
            inbox_id: None,
            kind,
            route_key,
            reason,
            raw,
        })
        .await?;
    Ok(())
}

/// Refuses settings whose routing key (Page id, Instagram account id, phone_number_id) another
/// inbox already owns: one account, one inbox.
pub async fn check_route_free(
    state: &AppState,
    kind: ChannelKind,
    settings: &Value,
    this: Option<InboxId>,
) -> Result<(), ApiError> {
    let Some((object, key)) = prosa_storage::webhooks::route_of(kind, settings) else {
        return Ok(());
    };
    match state.store.inbox_for_route(object, &key).await? {
        Some(owner) if Some(owner) != this => {
            let field = if kind == ChannelKind::WhatsappCloud {
                "channel.phone_number_id"
            } else {
                "channel.page_id"
            };
            Err(ApiError::invalid(
                field,
                format!("is already used by inbox {}", owner.0),
            ))
        }
        _ => Ok(()),
    }
}
