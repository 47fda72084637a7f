//! A local fake of the Bot API (feature `fake`): axum on 127.0.0.1:0. Records requests, checks the
//! token, validates `sendMessage` (4096 chars, `callback_data` 1–64 bytes), serves queued updates
//! to `getUpdates` with offset confirmation, takes `sendPhoto`/`sendDocument` uploads as
//! `multipart/form-data` (keeping the file it got), and answers canned failures on demand. With
//! [`FakeTelegram::enforce_flood_control`] it answers 429 `retry_after` to a send that comes
//! sooner than the given spacing after the previous send to the same chat, as Telegram does.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BOT_TOKEN: &str = "123456:TEST-token";
pub const SECRET_TOKEN: &str = "test_secret-Token";

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The Bot API method (`sendMessage`...), when the path is `/bot<token>/<method>`.
    pub api_method: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// When the request arrived.
    pub at: Instant,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A file sent with `sendPhoto`/`sendDocument` as `multipart/form-data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub method: String,
    /// The text fields of the form (`chat_id`, `caption`...).
    pub fields: Value,
    pub field: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub body: Value,
}

impl Canned {
    pub fn error(status: u16, description: &str) -> Canned {
        Canned {
            status,
            body: json!({"ok": false, "error_code": status, "description": description}),
        }
    }
    pub fn too_many_requests(retry_after: u64) -> Canned {
        Canned {
            status: 429,
            body: json!({"ok": false, "error_code": 429, "description": format!("Too Many Requests: retry after {retry_after}"), "parameters": {"retry_after": retry_after}}),
        }
    }
    pub fn blocked() -> Canned {
        Canned::error(403, "Forbidden: bot was blocked by the user")
    }
}

#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    canned: VecDeque<Canned>,
    updates: Vec<Value>,
    next_message_id: i64,
    webhook: Option<Value>,
    uploads: Vec<Upload>,
    /// Flood control: the least spacing between two sends to one chat, and each chat's last.
    chat_spacing: Option<Duration>,
    last_send: HashMap<String, Instant>,
    accepted: Vec<(String, String, Instant)>,
}

pub struct FakeTelegram {
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeTelegram {
    pub async fn start() -> FakeTelegram {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base_url = format!("http://{}", listener.local_addr().expect("local addr"));
        let inner = Arc::new(Mutex::new(Inner {
            next_message_id: 100,
            ..Inner::default()
        }));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTelegram {
            base_url,
            inner,
            task,
        }
    }

    /// POSTs an update to Prosa's webhook with the secret header (`None` to omit it).
    pub async fn deliver(
        http: &reqwest::Client,
        url: &str,
        update: &Value,
        secret: Option<&str>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut req = http.post(url).json(update);
        if let Some(s) = secret {
            req = req.header("x-telegram-bot-api-secret-token", s);
        }
        req.send().await
    }

    /// A private-chat text update.
    pub fn text_update(update_id: i64, chat_id: i64, text: &str) -> Value {
        json!({"update_id": update_id, "message": {"message_id": update_id, "date": 1764500000,
            "from": {"id": chat_id, "is_bot": false, "first_name": "Cliente"},
            "chat": {"id": chat_id, "type": "private", "first_name": "Cliente"}, "text": text}})
    }

    pub fn settings(&self) -> Value {
        json!({"base_url": self.base_url, "bot_token": BOT_TOKEN, "secret_token": SECRET_TOKEN})
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().expect("fake lock").requests.clone()
    }

    pub fn push(&self, canned: Canned) {
        self.inner
            .lock()
            .expect("fake lock")
            .canned
            .push_back(canned);
    }

    /// Every file uploaded so far, in order.
    pub fn uploads(&self) -> Vec<Upload> {
        self.inner.lock().expect("fake lock").uploads.clone()
    }

    /// Queues an update for `getUpdates`.
    pub fn queue_update(&self, update: Value) {
        self.inner.lock().expect("fake lock").updates.push(update);
    }

    /// Updates not yet confirmed by an offset.
    pub fn pending_updates(&self) -> usize {
        self.inner.lock().expect("fake lock").updates.len()
    }

    /// From now on a send to a chat less than `spacing` after the previous accepted send to
    /// the same chat is refused with 429 and `retry_after` (whole seconds, at least 1).
    pub fn enforce_flood_control(&self, spacing: Duration) {
        self.inner.lock().expect("fake lock").chat_spacing = Some(spacing);
    }

    /// The accepted sends (`send*` methods answered 200): chat id, text or caption, and when
    /// each arrived, in arrival order.
    pub fn accepted_sends(&self) -> Vec<(String, String, Instant)> {
        let g = self.inner.lock().expect("fake lock");
        g.accepted.clone()
    }

    /// The last `setWebhook` body.
    pub fn webhook(&self) -> Option<Value> {
        self.inner.lock().expect("fake lock").webhook.clone()
    }
}

fn reply(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok(result: Value) -> Response {
    reply(200, json!({"ok": true, "result": result}))
}

fn validate_send(body: &Value) -> Result<(), String> {
    if body.get("chat_id").is_none() {
        return Err("Bad Request: chat_id is empty".into());
    }
    if let Some(text) = body.get("text") {
        let n = text.as_str().map(|t| t.chars().count()).unwrap_or(0);
        if n == 0 {
            return Err("Bad Request: message text is empty".into());
        }
        if n > 4096 {
            return Err("Bad Request: message is too long".into());
        }
    }
    for row in body
        .pointer("/reply_markup/inline_keyboard")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for b in row.as_array().into_iter().flatten() {
            let len = b
                .get("callback_data")
                .and_then(Value::as_str)
                .map(str::len)
                .unwrap_or(0);
            if !(1..=64).contains(&len) {
                return Err("Bad Request: BUTTON_DATA_INVALID".into());
            }
        }
    }
    Ok(())
}

/// An uploaded file: in the field its method names, within the Bot API's limits (photos 10 MB,
/// other files 50 MB), with a caption of at most 1024 characters.
fn validate_upload(
    field: &str,
    part: &prosa_channel::testing::FormPart,
    fields: &Value,
) -> Result<(), String> {
    if part.name != field {
        return Err(format!("Bad Request: there is no {field} in the request"));
    }
    let limit = if field == "photo" { 10 } else { 50 } * 1024 * 1024;
    if part.data.is_empty() || part.data.len() > limit {
        return Err("Bad Request: file is empty or too big".into());
    }
    if fields
        .get("caption")
        .and_then(Value::as_str)
        .is_some_and(|c| c.chars().count() > 1024)
    {
        return Err("Bad Request: message caption is too long".into());
    }
    Ok(())
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let parts: Vec<&str> = path.trim_start_matches('/').splitn(3, '/').collect();
    let (token_ok, api_method, file_path) = match parts.as_slice() {
        [bot, m] if bot.starts_with("bot") => (bot[3..] == *BOT_TOKEN, Some(m.to_string()), None),
        ["file", bot, p] if bot.starts_with("bot") => {
            (bot[3..] == *BOT_TOKEN, None, Some(p.to_string()))
        }
        _ => (false, None, None),
    };
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let form = prosa_channel::testing::parse_multipart(&content_type, &body);
    let json_body: Value = match &form {
        // A multipart call: its text fields read like a JSON body.
        Some(parts) => Value::Object(
            parts
                .iter()
                .filter(|p| p.file_name.is_none())
                .map(|p| {
                    let t = p.text();
                    let v = serde_json::from_str::<Value>(&t)
                        .ok()
                        .filter(|v| v.is_number() || v.is_object())
                        .unwrap_or(Value::String(t));
                    (p.name.clone(), v)
                })
                .collect(),
        ),
        None => serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let now = Instant::now();
    let mut g = inner.lock().expect("fake lock");
    g.requests.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        api_method: api_method.clone(),
        headers,
        body: body.to_vec(),
        at: now,
    });
    if let Some(c) = g.canned.pop_front() {
        return reply(c.status, c.body);
    }
    if !token_ok {
        return reply(
            if api_method.is_some() { 401 } else { 404 },
            json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
        );
    }
    if let Some(p) = file_path {
        return (StatusCode::OK, format!("fake-file:{p}")).into_response();
    }
    let m = api_method.unwrap_or_default();
    match m.as_str() {
        "sendMessage" | "sendDocument" | "sendPhoto" | "sendAudio" | "sendVideo" => {
            let field = m.strip_prefix("send").unwrap_or("").to_ascii_lowercase();
            let file = form
                .as_ref()
                .and_then(|parts| parts.iter().find(|p| p.file_name.is_some()));
            let checked = validate_send(&json_body).and_then(|()| match file {
                Some(f) => validate_upload(&field, f, &json_body),
                None if m != "sendMessage" && json_body.get(&field).is_none() => {
                    Err(format!("Bad Request: there is no {field} in the request"))
                }
                None => Ok(()),
            });
            if let Err(e) = checked {
                return reply(
                    400,
                    json!({"ok": false, "error_code": 400, "description": e}),
                );
            }
            let chat = match &json_body["chat_id"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if let (Some(spacing), Some(last)) = (g.chat_spacing, g.last_send.get(&chat).copied()) {
                let since = now.duration_since(last);
                if since < spacing {
                    let wait = (spacing - since).as_secs_f64().ceil().max(1.0) as u64;
                    let c = Canned::too_many_requests(wait);
                    return reply(c.status, c.body);
                }
            }
            g.last_send.insert(chat.clone(), now);
            let shown = json_body
                .get("text")
                .or_else(|| json_body.get("caption"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            g.accepted.push((chat, shown, now));
            if let Some(f) = file {
                g.uploads.push(Upload {
                    method: m.clone(),
                    fields: json_body.clone(),
                    field: f.name.clone(),
                    file_name: f.file_name.clone(),
                    content_type: f.content_type.clone(),
                    bytes: f.data.clone(),
                });
            }
            g.next_message_id += 1;
            let mut result = json!({"message_id": g.next_message_id, "date": 1764500000, "chat": {"id": json_body["chat_id"], "type": "private"}});
            if let Some(t) = json_body.get("text") {
                result["text"] = t.clone();
            }
            ok(result)
        }
        "answerCallbackQuery" | "deleteWebhook" => ok(json!(true)),
        "getMe" => ok(
            json!({"id": 123456, "is_bot": true, "first_name": "Provedor Exemplo", "username": "provedor_exemplo_bot",
                "can_join_groups": false, "can_read_all_group_messages": false, "supports_inline_queries": false}),
        ),
        "setWebhook" => {
            g.webhook = Some(json_body);
            ok(json!(true))
        }
        "getWebhookInfo" => {
            let url = g
                .webhook
                .as_ref()
                .and_then(|w| w.get("url").cloned())
                .unwrap_or(json!(""));
            ok(
                json!({"url": url, "has_custom_certificate": false, "pending_update_count": g.updates.len()}),
            )
        }
        "getUpdates" => {
            if g.webhook.is_some() {
                return reply(
                    409,
                    json!({"ok": false, "error_code": 409, "description": "Conflict: can't use getUpdates method while webhook is active"}),
                );
            }
            if let Some(offset) = json_body.get("offset").and_then(Value::as_i64) {
                g.updates
                    .retain(|u| u.get("update_id").and_then(Value::as_i64).unwrap_or(0) >= offset);
            }
            ok(Value::Array(g.updates.clone()))
        }
        "getFile" => {
            let id = json_body
                .get("file_id")
                .and_then(Value::as_str)
                .unwrap_or("");
            ok(
                json!({"file_id": id, "file_unique_id": "u", "file_size": 20, "file_path": format!("photos/{id}.jpg")}),
            )
        }
        _ => reply(
            404,
            json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"}),
        ),
    }
}
