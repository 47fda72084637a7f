//! The website chat (`web_chat`): a widget served by Prosa, talking over its own WebSocket.

use async_trait::async_trait;
use prosa_channel::{
    ChannelAdapter, InboundItem, InboundRequest, OutboundMessage, ParseError, SendContext,
    SendError, SendReceipt, VerifyError,
};
use prosa_domain::model::ChannelKind;
use serde_json::Value;

/// The adapter: nothing comes by webhook; "sending" marks the message sent, and the widget
/// receives it through its WebSocket (message events of its conversation).
pub struct WebChatChannel;

#[async_trait]
impl ChannelAdapter for WebChatChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::WebChat
    }

    async fn verify(&self, _: &Value, _: &InboundRequest<'_>) -> Result<(), VerifyError> {
        Err(VerifyError::Misconfigured(
            "the website chat takes no webhooks".into(),
        ))
    }

    fn parse(&self, _: &Value, _: &InboundRequest<'_>) -> Result<Vec<InboundItem>, ParseError> {
        Ok(Vec::new())
    }

    async fn send(&self, _: &SendContext, m: &OutboundMessage) -> Result<SendReceipt, SendError> {
        Ok(SendReceipt {
            provider_message_id: Some(format!("webchat:{}", m.message_id.0)),
        })
    }
}

// ------------------------------------------------------------------ visitor sessions and socket

#[path = "webchat_files.rs"]
pub mod files;
#[path = "webchat_queue.rs"]
pub mod queue;

use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use prosa_channel::{ExternalContact, InboundMessage};
use prosa_domain::message::{Message, MessageContent};
use prosa_domain::model::Inbox;
use prosa_domain::{ConversationId, InboxId, MessageId};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::broadcast::error::RecvError;

type HmacSha256 = Hmac<Sha256>;

/// Largest visitor text.
const MAX_TEXT: usize = 4000;
/// Largest WebSocket frame from a visitor.
const MAX_FRAME: usize = 16 * 1024;
/// Messages a visitor may send per minute.
const RATE_PER_MINUTE: u32 = 20;
/// How long the queue line waits after an event for the rest of a burst before reading.
const QUEUE_SETTLE: std::time::Duration = std::time::Duration::from_millis(150);
/// How often a waiting visitor's queue line is read again with no event.
const QUEUE_REFRESH: std::time::Duration = std::time::Duration::from_secs(30);

fn hmac_hex(key: &[u8], data: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("invariant: HMAC takes any key");
    mac.update(data);
    hex::encode(mac.finalize().into_bytes())
}

fn equal(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Prosa's key for visitor tokens (a setting created on first use).
async fn token_key(state: &AppState) -> Result<Vec<u8>, ApiError> {
    if let Some(v) = state.store.setting("webchat.token_key").await?
        && let Some(s) = v.as_str()
    {
        return Ok(s.as_bytes().to_vec());
    }
    let key = crate::auth::random_token();
    state
        .store
        .put_setting("webchat.token_key", &json!(key))
        .await?;
    // Another node may have raced us: read back what won.
    let v = state.store.setting("webchat.token_key").await?;
    Ok(v.and_then(|v| v.as_str().map(|s| s.as_bytes().to_vec()))
        .unwrap_or_else(|| key.into_bytes()))
}

/// `v1.<inbox>.<base64url external id>.<hmac>`: the visitor's identity within one inbox.
fn issue(key: &[u8], inbox: InboxId, external_id: &str) -> String {
    let payload = format!(
        "v1.{}.{}",
        inbox.0,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(external_id)
    );
    let sig = hmac_hex(key, payload.as_bytes());
    format!("{payload}.{sig}")
}

fn check(key: &[u8], inbox: InboxId, token: &str) -> Option<String> {
    let (payload, sig) = token.rsplit_once('.')?;
    if !equal(&hmac_hex(key, payload.as_bytes()), sig) {
        return None;
    }
    let mut parts = payload.split('.');
    if parts.next()? != "v1" || parts.next()?.parse::<i64>().ok()? != inbox.0 {
        return None;
    }
    let ext = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts.next()?)
        .ok()?;
    String::from_utf8(ext).ok()
}

async fn webchat_inbox(state: &AppState, id: &str) -> Result<Inbox, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::NotFound)?;
    let inbox = state.store.inbox_by_id(InboxId(id)).await?;
    if inbox.kind != ChannelKind::WebChat || !inbox.active {
        return Err(ApiError::NotFound);
    }
    Ok(inbox)
}

/// Whether a browser page of this origin may use the inbox: the inbox's `allowed_origins`
/// (none = any site). Requests without an `Origin` (not from a browser page) pass: the list
/// keeps other sites from embedding the chat, it is not authentication.
fn origin_allowed(inbox: &Inbox, headers: &axum::http::HeaderMap) -> bool {
    let Some(list) = inbox
        .settings
        .get("allowed_origins")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
    else {
        return true;
    };
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let origin = origin.trim_end_matches('/');
    list.iter()
        .filter_map(Value::as_str)
        .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

fn cors(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    r
}

/// `OPTIONS /webchat/...`: the ISP's page calls Prosa from its own origin (no cookies).
pub async fn preflight() -> Response {
    cors(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
pub struct SessionInput {
    /// A token issued before (kept by the widget in localStorage).
    pub token: Option<String>,
    /// The subscriber's id on the ISP's site, with `identity_hash` = HMAC-SHA256 hex of it
    /// under the inbox's `identity_secret`.
    pub identifier: Option<String>,
    pub identity_hash: Option<String>,
}

/// `POST /webchat/{inbox_id}/session`: gives the visitor a token (the same one when still valid).
pub async fn session(
    State(state): State<AppState>,
    Path(inbox_id): Path<String>,
    headers: axum::http::HeaderMap,
    Json(input): Json<SessionInput>,
) -> Result<Response, ApiError> {
    let inbox = webchat_inbox(&state, &inbox_id).await?;
    if !origin_allowed(&inbox, &headers) {
        return Err(ApiError::Forbidden);
    }
    let key = token_key(&state).await?;
    let mut external = input
        .token
        .as_deref()
        .and_then(|t| check(&key, inbox.id, t));
    if let (Some(identifier), Some(hash)) = (&input.identifier, &input.identity_hash) {
        let secret = inbox
            .settings
            .get("identity_secret")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::invalid("identity_hash", "this inbox takes no identities"))?;
        if identifier.is_empty() || identifier.len() > 200 {
            return Err(ApiError::invalid("identifier", "must be 1-200 characters"));
        }
        if !equal(
            &hmac_hex(secret.as_bytes(), identifier.as_bytes()),
            &hash.to_ascii_lowercase(),
        ) {
            return Err(ApiError::invalid(
                "identity_hash",
                "does not match the identifier",
            ));
        }
        external = Some(format!("id:{identifier}"));
    }
    let external = external.unwrap_or_else(|| format!("visitor:{}", crate::auth::random_token()));
    let (online, next_opening) = availability(&state, &inbox).await?;
    Ok(cors(
        Json(json!({
            "token": issue(&key, inbox.id, &external),
            "identified": external.starts_with("id:"),
            "online": online,
            "next_opening": next_opening,
            "title": inbox.settings.get("title").and_then(Value::as_str).unwrap_or("Atendimento"),
        }))
        .into_response(),
    ))
}

/// Whether someone can answer now: the inbox's service hours are open and an operator is
/// online. With the hours closed, also when they open next (pt-BR, "segunda-feira às 08:00").
async fn availability(state: &AppState, inbox: &Inbox) -> Result<(bool, Option<String>), ApiError> {
    let schedule = crate::admin::load_schedule(state).await?;
    let (open, next_opening) =
        crate::admin::schedule_status(&schedule, inbox.id, state.clock.now());
    if !open {
        return Ok((false, next_opening));
    }
    Ok((state.store.count_online_operators().await? > 0, None))
}

/// Per-visitor send budget (in memory; one node's view is enough to bound abuse).
static RATE: Mutex<Option<HashMap<String, (Instant, u32)>>> = Mutex::new(None);

fn allow(visitor: &str) -> bool {
    let mut guard = RATE.lock().expect("rate lock");
    let map = guard.get_or_insert_with(HashMap::new);
    let now = Instant::now();
    if map.len() > 50_000 {
        map.retain(|_, (t, _)| now.duration_since(*t).as_secs() < 60);
    }
    let e = map.entry(visitor.to_owned()).or_insert((now, 0));
    if now.duration_since(e.0).as_secs() >= 60 {
        *e = (now, 0);
    }
    e.1 += 1;
    e.1 <= RATE_PER_MINUTE
}

/// Stores what the visitor wrote through the same path as every channel.
async fn store_visitor_message(
    state: &AppState,
    inbox: &Inbox,
    external: &str,
    client_id: &str,
    content: MessageContent,
    name: Option<String>,
) -> Result<(), ApiError> {
    if client_id.is_empty() || client_id.len() > 100 {
        return Err(ApiError::invalid("client_id", "must be 1-100 characters"));
    }
    if !allow(external) {
        return Err(ApiError::TooManyRequests);
    }
    let item = InboundItem::Message(InboundMessage {
        // Unique per inbox: the visitor plus their client id.
        provider_message_id: format!("{external}/{client_id}"),
        from: ExternalContact {
            external_id: external.to_owned(),
            name,
            phone: None,
            meta: None,
        },
        content,
        sent_at: None,
    });
    super::store_items(state, inbox, std::slice::from_ref(&item), "").await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct OfflineInput {
    pub token: String,
    pub client_id: String,
    pub name: String,
    /// E-mail or phone, as typed: shown to operators, never used as an identity.
    pub contact: String,
    pub message: String,
}

/// `POST /webchat/{inbox_id}/offline`: the form shown when no operator can answer.
pub async fn offline(
    State(state): State<AppState>,
    Path(inbox_id): Path<String>,
    Json(input): Json<OfflineInput>,
) -> Result<Response, ApiError> {
    let inbox = webchat_inbox(&state, &inbox_id).await?;
    let key = token_key(&state).await?;
    let external = check(&key, inbox.id, &input.token).ok_or(ApiError::Unauthorized)?;
    let name = input.name.trim();
    let contact = input.contact.trim();
    let message = input.message.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "is required (at most 100 characters)",
        ));
    }
    if contact.is_empty() || contact.chars().count() > 120 {
        return Err(ApiError::invalid(
            "contact",
            "is required (at most 120 characters)",
        ));
    }
    if message.is_empty() || message.chars().count() > MAX_TEXT {
        return Err(ApiError::invalid("message", "is required"));
    }
    let text = format!(
        "Mensagem deixada fora do atendimento\nNome: {name}\nContato informado (não verificado): {contact}\n\n{message}"
    );
    store_visitor_message(
        &state,
        &inbox,
        &external,
        &input.client_id,
        MessageContent {
            text: Some(text),
            ..MessageContent::default()
        },
        None,
    )
    .await?;
    // What the widget tells the visitor: kept, and when an answer can come.
    let (_, next_opening) = availability(&state, &inbox).await?;
    let message = match &next_opening {
        Some(when) => format!(
            "Recebemos sua mensagem. Nosso atendimento está fechado agora e volta {when}; \
             responderemos assim que possível."
        ),
        None => "Recebemos sua mensagem. Um atendente vai responder assim que possível.".to_owned(),
    };
    Ok(cors(
        (
            StatusCode::ACCEPTED,
            Json(json!({"status": "accepted", "message": message, "next_opening": next_opening})),
        )
            .into_response(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    pub token: String,
    /// The id of the last message the widget has.
    pub since: Option<i64>,
}

/// `GET /webchat/{inbox_id}/ws?token=..&since=..`: the visitor's own conversation only.
pub async fn upgrade(
    State(state): State<AppState>,
    Path(inbox_id): Path<String>,
    Query(q): Query<WsQuery>,
    headers: axum::http::HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let inbox = webchat_inbox(&state, &inbox_id).await?;
    if !origin_allowed(&inbox, &headers) {
        return Err(ApiError::Forbidden);
    }
    let key = token_key(&state).await?;
    let external = check(&key, inbox.id, &q.token).ok_or(ApiError::Unauthorized)?;
    Ok(ws
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket| serve(state, inbox, external, q.since.map(MessageId), socket)))
}

/// What the visitor sees of a message: no private notes, no operator ids, no file paths.
fn visitor_view(m: &Message) -> Value {
    json!({
        "type": "message",
        "id": m.id.0.to_string(),
        "direction": m.direction.as_str(),
        "author": m.author_kind.as_str(),
        "text": m.content.text,
        "options": m.content.options,
        "selected_option": m.content.selected_option,
        "attachments": m.content.attachments.iter().enumerate().map(|(i, a)| json!({
            "kind": a.kind, "file_name": a.file_name, "mime_type": a.mime_type,
            "url": files::visitor_url(m.inbox_id, m, i),
        })).collect::<Vec<_>>(),
        "client_id": m.provider_message_id.as_deref().and_then(|p| p.rsplit_once('/')).map(|(_, c)| c),
        "sent_at": m.sent_at.to_string(),
    })
}

struct Visitor {
    conversations: HashSet<ConversationId>,
    sent: HashSet<MessageId>,
}

impl Visitor {
    /// The conversation the visitor sees now: their latest.
    fn latest(&self) -> Option<ConversationId> {
        self.conversations.iter().copied().max_by_key(|c| c.0)
    }

    async fn refresh(&mut self, state: &AppState, inbox: &Inbox, external: &str) {
        if let Ok(list) = state.store.identity_conversations(inbox.id, external).await {
            self.conversations.extend(list);
        }
    }
}

async fn send_json(socket: &mut WebSocket, v: &Value) -> bool {
    socket
        .send(WsMessage::Text(v.to_string().into()))
        .await
        .is_ok()
}

async fn push_message(socket: &mut WebSocket, v: &mut Visitor, m: &Message) -> bool {
    if m.private || !v.conversations.contains(&m.conversation_id) || !v.sent.insert(m.id) {
        return true;
    }
    send_json(socket, &visitor_view(m)).await
}

async fn serve(
    state: AppState,
    inbox: Inbox,
    external: String,
    since: Option<MessageId>,
    mut socket: WebSocket,
) {
    let mut live = state.hub.subscribe();
    let mut v = Visitor {
        conversations: HashSet::new(),
        sent: HashSet::new(),
    };
    v.refresh(&state, &inbox, &external).await;
    // Catch up: what came after `since` (everything when absent), once.
    let mut conversations: Vec<ConversationId> = v.conversations.iter().copied().collect();
    conversations.sort_by_key(|c| c.0);
    for c in conversations {
        let mut after = since.unwrap_or(MessageId(0));
        loop {
            let Ok(page) = state.store.list_messages(c, None, Some(after), 200).await else {
                return;
            };
            let n = page.len();
            for m in &page {
                after = m.id;
                if !push_message(&mut socket, &mut v, m).await {
                    return;
                }
            }
            if n < 200 {
                break;
            }
        }
    }
    if !send_json(&mut socket, &json!({"type": "ready"})).await {
        return;
    }
    // The queue line: read now, then again shortly after each event that may move it (a
    // burst of events is one read) and every half minute while waiting (the estimate and the
    // service hours change with the clock alone).
    let mut queue = queue::QueueWatch::default();
    let mut queue_due = Some(tokio::time::Instant::now());
    let mut queue_tick = tokio::time::interval(QUEUE_REFRESH);
    queue_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            frame = live.recv() => match frame {
                Ok(frame) => {
                    if queue_due.is_none() && queue.concerns(&frame.event) {
                        queue_due = Some(tokio::time::Instant::now() + QUEUE_SETTLE);
                    }
                    let Some(cid) = frame.event.event.conversation_id() else { continue };
                    let kind = frame.event.event.kind();
                    if !v.conversations.contains(&cid) {
                        if kind != "message_created" && kind != "conversation_created" {
                            continue;
                        }
                        // The visitor's first message opens a conversation.
                        v.refresh(&state, &inbox, &external).await;
                        if !v.conversations.contains(&cid) {
                            continue;
                        }
                        queue_due.get_or_insert_with(|| tokio::time::Instant::now() + QUEUE_SETTLE);
                    }
                    match &frame.event.event {
                        prosa_domain::event::DomainEvent::MessageCreated { message_id, .. } => {
                            if let Ok(m) = state.store.message_by_id(*message_id).await
                                && !push_message(&mut socket, &mut v, &m).await
                            {
                                return;
                            }
                        }
                        prosa_domain::event::DomainEvent::Typing { author, .. } => {
                            // The visitor's own typing is not echoed back.
                            let sent = author == "contact"
                                || send_json(&mut socket, &json!({"type": "typing"})).await;
                            if !sent {
                                return;
                            }
                        }
                        _ => {}
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    // Tell the widget to reconnect with its last id: nothing is lost.
                    let _ = send_json(&mut socket, &json!({"type": "reload"})).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    let reply = handle_client(&state, &inbox, &external, &text).await;
                    if let Some(r) = reply
                        && !send_json(&mut socket, &r).await
                    {
                        return;
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = async { tokio::time::sleep_until(queue_due.expect("guarded")).await }, if queue_due.is_some() => {
                queue_due = None;
                match queue.update(&state, v.latest()).await {
                    Ok(Some(f)) => {
                        if !send_json(&mut socket, &f).await {
                            return;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::debug!(error = %format!("{e:#}"), "reading the visitor's queue line");
                        queue_due = Some(tokio::time::Instant::now() + std::time::Duration::from_secs(5));
                    }
                }
            }
            _ = queue_tick.tick() => {
                if queue.waiting() && queue_due.is_none() {
                    queue_due = Some(tokio::time::Instant::now());
                }
            }
            _ = state.shutdown.wait() => return,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Message {
        client_id: String,
        text: String,
    },
    Option {
        client_id: String,
        option_id: String,
        label: Option<String>,
    },
    Typing,
}

/// The visitor is typing: shown in the panel for their latest conversation.
async fn visitor_typing(state: &AppState, inbox: &Inbox, external: &str) {
    let Ok(list) = state.store.identity_conversations(inbox.id, external).await else {
        return;
    };
    let Some(last) = list.into_iter().max_by_key(|c| c.0) else {
        return;
    };
    if let Ok(c) = state.store.conversation_by_id(last).await
        && let Err(e) = super::typing::publish(state, &c, super::typing::CONTACT).await
    {
        tracing::debug!(error = %e, "recording visitor typing");
    }
}

async fn handle_client(
    state: &AppState,
    inbox: &Inbox,
    external: &str,
    text: &str,
) -> Option<Value> {
    let frame: ClientFrame = match serde_json::from_str(text) {
        Ok(f) => f,
        Err(_) => return Some(json!({"type": "error", "message": "mensagem inválida"})),
    };
    let (client_id, content) = match frame {
        ClientFrame::Typing => {
            visitor_typing(state, inbox, external).await;
            return None;
        }
        ClientFrame::Message { client_id, text } => {
            let t = text.trim();
            if t.is_empty() || t.chars().count() > MAX_TEXT {
                return Some(
                    json!({"type": "error", "client_id": client_id, "message": "A mensagem deve ter de 1 a 4000 caracteres."}),
                );
            }
            (
                client_id,
                MessageContent {
                    text: Some(t.to_owned()),
                    ..MessageContent::default()
                },
            )
        }
        ClientFrame::Option {
            client_id,
            option_id,
            label,
        } => {
            if option_id.is_empty() || option_id.len() > 200 {
                return Some(
                    json!({"type": "error", "client_id": client_id, "message": "opção inválida"}),
                );
            }
            (
                client_id,
                MessageContent {
                    text: label.map(|l| l.chars().take(200).collect()),
                    selected_option: Some(option_id),
                    ..MessageContent::default()
                },
            )
        }
    };
    match store_visitor_message(state, inbox, external, &client_id, content, None).await {
        Ok(()) => Some(json!({"type": "ack", "client_id": client_id})),
        Err(ApiError::TooManyRequests) => Some(
            json!({"type": "error", "client_id": client_id, "message": "Muitas mensagens em pouco tempo. Aguarde um minuto."}),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "storing a website chat message");
            Some(
                json!({"type": "error", "client_id": client_id, "message": "Não foi possível enviar. Tente de novo."}),
            )
        }
    }
}

// ------------------------------------------------------------------ widget and demo page

/// `GET /widget.js`: the embeddable widget (short cache: the ISP's page keeps the same URL).
pub async fn widget_js() -> Response {
    widget_asset("widget.js", "text/javascript; charset=utf-8")
}

/// `GET /widget.css`: the widget's styles, loaded by `widget.js`.
pub async fn widget_css() -> Response {
    widget_asset("widget.css", "text/css; charset=utf-8")
}

fn widget_asset(name: &str, mime: &str) -> Response {
    match prosa_web::asset(name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, mime.to_owned()),
                (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned()),
            ],
            a.bytes.into_owned(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct DemoQuery {
    pub inbox: Option<String>,
}

/// `GET /widget-demo?inbox=ID`: a fake ISP site with the widget, for trying it out.
pub async fn demo(
    State(state): State<AppState>,
    Query(q): Query<DemoQuery>,
) -> Result<Response, ApiError> {
    let inbox = match q.inbox {
        Some(id) => webchat_inbox(&state, &id).await?,
        None => state
            .store
            .list_inboxes()
            .await?
            .into_iter()
            .find(|i| i.kind == ChannelKind::WebChat && i.active)
            .ok_or(ApiError::NotFound)?,
    };
    let css = prosa_web::asset_url("widget-demo.css");
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="pt-BR" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Provedor Exemplo — Internet fibra" }
                link rel="stylesheet" href=(css);
            }
            body class="demo" {
                header class="demo-top" {
                    strong { "Provedor Exemplo" }
                    nav aria-label="Menu do site" { a href="#planos" { "Planos" } " " a href="#suporte" { "Suporte" } }
                }
                main {
                    section class="demo-hero" {
                        h1 { "Internet fibra para sua casa" }
                        p { "Planos de 300 Mb a 1 Gb com Wi-Fi incluso. Fale com a gente pelo chat no canto da tela." }
                    }
                    section id="planos" class="demo-plans" {
                        article { h2 { "300 Mega" } p { "R$ 89,90/mês" } }
                        article { h2 { "600 Mega" } p { "R$ 109,90/mês" } }
                        article { h2 { "1 Giga" } p { "R$ 149,90/mês" } }
                    }
                    section id="suporte" { h2 { "Suporte" } p { "Segunda via do boleto, desbloqueio de confiança e suporte técnico pelo chat." } }
                }
                script src="/widget.js" data-inbox=(inbox.id.0) async {}
            }
        }
    };
    Ok(axum::response::Html(page.into_string()).into_response())
}
