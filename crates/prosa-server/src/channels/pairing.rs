//! WhatsApp through Evolution API: pairing from the inbox page. "Conectar" creates the
//! instance on the Evolution server when it does not exist (with its webhook pointing at
//! Prosa), or asks it for a new QR code; the page then follows the connection state until
//! `open`. `QRCODE_UPDATED` and `CONNECTION_UPDATE` webhooks keep the last QR code and state in
//! the setting `channel.evolution.<inbox>`, so every instance of Prosa shows the same.

use crate::api::public_base;
use crate::auth::Admin;
use crate::channels::check::evolution_state_pt;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use prosa_channel::SendError;
use prosa_channel::egress::EgressPolicy;
use prosa_channel_evolution::InstanceEvent;
use prosa_domain::InboxId;
use prosa_domain::model::{ChannelKind, Inbox};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// What the pairing box shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Pairing {
    /// `open`, `connecting`, `close`, `refused` or `unknown`.
    pub state: String,
    /// The state in pt-BR.
    pub state_label: String,
    /// The QR code to scan, a `data:image/png;base64,` URL (only while not connected).
    pub qr: Option<String>,
    /// The phone pairing code, when Evolution issued one.
    pub pairing_code: Option<String>,
    /// What went wrong, in pt-BR.
    pub error: Option<String>,
}

fn key(inbox: InboxId) -> String {
    format!("channel.evolution.{}", inbox.0)
}

/// Only PNG/JPEG data URLs are shown (they go in an `<img src>` under the page's CSP).
fn safe_qr(qr: Option<String>) -> Option<String> {
    qr.filter(|q| {
        (q.starts_with("data:image/png;base64,") || q.starts_with("data:image/jpeg;base64,"))
            && q.len() < 200_000
            && q.split_once(',').is_some_and(|(_, b)| {
                b.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
            })
    })
}

fn pairing(
    state: &str,
    qr: Option<String>,
    code: Option<String>,
    error: Option<String>,
) -> Pairing {
    let open = state == "open";
    Pairing {
        state: state.to_owned(),
        state_label: evolution_state_pt(state).to_owned(),
        qr: if open { None } else { safe_qr(qr) },
        pairing_code: if open { None } else { code },
        error,
    }
}

async fn stored(state: &AppState, inbox: InboxId) -> Pairing {
    let v = state
        .store
        .setting(&key(inbox))
        .await
        .ok()
        .flatten()
        .unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    pairing(
        &s("state").unwrap_or_else(|| "unknown".into()),
        s("qr"),
        s("pairing_code"),
        None,
    )
}

async fn save(state: &AppState, inbox: InboxId, p: &Pairing) {
    let v = json!({"state": p.state, "qr": p.qr, "pairing_code": p.pairing_code});
    if let Err(e) = state.store.put_setting(&key(inbox), &v).await {
        tracing::warn!(inbox_id = inbox.0, error = %e, "recording the Evolution pairing state");
    }
}

fn evolution_inbox(inbox: &Inbox) -> Result<(), ApiError> {
    if inbox.kind != ChannelKind::WhatsappEvolution {
        return Err(ApiError::invalid(
            "channel.kind",
            "only WhatsApp (Evolution API) inboxes pair with a QR code",
        ));
    }
    Ok(())
}

fn explain(e: &SendError) -> String {
    match e {
        SendError::Credentials(d) if d.contains("instance not found") => {
            "A instância não existe no servidor Evolution.".into()
        }
        SendError::Credentials(_) => {
            "Chave de API recusada pelo servidor Evolution (401). Confira a chave da caixa.".into()
        }
        SendError::RetryLater { .. } => {
            "Não foi possível falar com o servidor Evolution: verifique o endereço e se ele está no ar."
                .into()
        }
        other => format!("O servidor Evolution recusou: {other}."),
    }
}

/// The headers Evolution must send with each webhook (what `verify` checks).
fn webhook_headers(inbox: &Inbox) -> Value {
    let s = |k: &str| {
        inbox
            .settings
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let mut h = serde_json::Map::new();
    if let Some(t) = s("webhook_token") {
        h.insert(
            s("webhook_header")
                .unwrap_or(prosa_channel_evolution::DEFAULT_WEBHOOK_HEADER)
                .to_owned(),
            json!(t),
        );
    }
    if let Some(k) = s("webhook_jwt_key") {
        h.insert("jwt_key".into(), json!(k));
    }
    Value::Object(h)
}

/// Creates (when missing) and connects the instance; returns the QR code to scan.
pub async fn connect(state: &AppState, inbox: &Inbox, public: &str) -> Pairing {
    let fail = |msg: String| pairing("unknown", None, None, Some(msg));
    let Some(base) = inbox.settings.get("base_url").and_then(Value::as_str) else {
        return fail("Preencha o endereço do servidor Evolution.".into());
    };
    let policy = EgressPolicy {
        allowed_private_hosts: state.config.egress.allowed_private_hosts.clone(),
    };
    if let Err(e) = policy.check(base).await {
        return fail(format!("Endereço do servidor não permitido: {e}."));
    }
    let webhook = format!(
        "{}/webhooks/evolution/{}",
        public.trim_end_matches('/'),
        inbox.id.0
    );
    let instance = inbox
        .settings
        .get("instance")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let p = match prosa_channel_evolution::connect(&state.http, &inbox.settings, None).await {
        Ok(info) => {
            // An instance made elsewhere may point its webhook anywhere: point it at Prosa.
            if let Err(e) = prosa_channel_evolution::client::set_webhook(
                &state.http,
                &inbox.settings,
                &webhook,
                webhook_headers(inbox),
            )
            .await
            {
                tracing::info!(inbox_id = inbox.id.0, error = %e, "setting the Evolution webhook");
            }
            match info.state.as_deref() {
                Some("open") => pairing("open", None, None, None),
                _ => pairing("connecting", info.qr_base64, info.pairing_code, None),
            }
        }
        Err(SendError::Credentials(d)) if d.contains("instance not found") => {
            match prosa_channel_evolution::create_instance(
                &state.http,
                &inbox.settings,
                instance,
                &webhook,
                webhook_headers(inbox),
            )
            .await
            {
                Ok(created) => pairing("connecting", created.qr_base64, None, None),
                Err(e) => return fail(explain(&e)),
            }
        }
        Err(e) => return fail(explain(&e)),
    };
    save(state, inbox.id, &p).await;
    p
}

/// The connection state, asked of Evolution now, with the last QR code received.
pub async fn status(state: &AppState, inbox: &Inbox) -> Pairing {
    let last = stored(state, inbox.id).await;
    match prosa_channel_evolution::connection_state(&state.http, &inbox.settings).await {
        Ok(s) => {
            let p = pairing(&s, last.qr.clone(), last.pairing_code.clone(), None);
            if p.state != last.state {
                save(state, inbox.id, &p).await;
            }
            p
        }
        Err(e) => Pairing {
            error: Some(explain(&e)),
            ..last
        },
    }
}

/// Called for every verified Evolution webhook: keeps the QR code and state.
pub async fn on_webhook(state: &AppState, inbox: &Inbox, body: &[u8]) {
    let Some(event) = prosa_channel_evolution::parse_instance_event(body) else {
        return;
    };
    let last = stored(state, inbox.id).await;
    let p = match event {
        InstanceEvent::Connection { state: s, .. } => pairing(&s, last.qr, last.pairing_code, None),
        InstanceEvent::QrCode {
            base64,
            pairing_code,
            ..
        } => pairing("connecting", base64, pairing_code, None),
        InstanceEvent::QrLimitReached { .. } => pairing("close", None, None, None),
    };
    save(state, inbox.id, &p).await;
}

async fn admin_inbox(state: &AppState, id: &str) -> Result<Inbox, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let inbox = state.store.inbox_by_id(InboxId(id)).await?;
    evolution_inbox(&inbox)?;
    Ok(inbox)
}

/// `POST /api/v1/inboxes/{id}/evolution/connect`: creates or connects the instance.
#[utoipa::path(post, path = "/api/v1/inboxes/{id}/evolution/connect", responses((status = 200, body = Pairing), (status = 422)), tag = "inboxes")]
pub async fn connect_api(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Pairing>, ApiError> {
    let inbox = admin_inbox(&state, &id).await?;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let p = connect(&state, &inbox, &public_base(&state, host)).await;
    state
        .store
        .record_audit(&prosa_storage::AuditEntry {
            actor_user_id: who.user_id(),
            actor: who.actor(),
            action: "inbox.evolution_connect".into(),
            target: format!("inbox:{}", inbox.id),
            detail: json!({"state": p.state, "error": p.error}),
        })
        .await?;
    Ok(Json(p))
}

/// `GET /api/v1/inboxes/{id}/evolution/state`: the connection state and the QR code to scan.
#[utoipa::path(get, path = "/api/v1/inboxes/{id}/evolution/state", responses((status = 200, body = Pairing), (status = 422)), tag = "inboxes")]
pub async fn state_api(
    State(state): State<AppState>,
    Admin(_who): Admin,
    Path(id): Path<String>,
) -> Result<Json<Pairing>, ApiError> {
    let inbox = admin_inbox(&state, &id).await?;
    Ok(Json(status(&state, &inbox).await))
}
