//! A local fake of the Messenger/Instagram Send API (feature `fake`): axum on 127.0.0.1:0.
//! Records requests, checks the page token, validates bodies (≤ 13 quick replies, titles ≤ 20,
//! text ≤ 2000), enforces the 24 h window per recipient (7 days with `HUMAN_AGENT`) when told
//! the user's last message time, takes files as Meta documents (`filedata` in a
//! `multipart/form-data` Send API call; Instagram's `POST /{id}/message_attachments` with
//! `platform=instagram`, then `payload.attachment_id`), keeping what it got, and answers canned
//! failures on demand.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

pub const PAGE_TOKEN: &str = "test-page-token";
pub const APP_SECRET: &str = "test-meta-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify";
pub const PAGE_ID: &str = "1234567890";
pub const IG_ACCOUNT_ID: &str = "17841400000000000";

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A file the fake received in a `filedata` part.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    /// `messages` (upload and send) or `message_attachments` (upload only).
    pub endpoint: String,
    /// The form's text fields, JSON ones parsed (`recipient`, `message`, `platform`...).
    pub fields: Value,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
    pub attachment_id: String,
}

#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Canned {
    pub fn graph_error(status: u16, code: i64, subcode: i64, message: &str) -> Canned {
        Canned {
            status,
            headers: Vec::new(),
            body: json!({"error": {"message": message, "type": "OAuthException", "code": code, "error_subcode": subcode, "fbtrace_id": "Afake"}}),
        }
    }
    pub fn with_header(mut self, name: &str, value: &str) -> Canned {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    canned: VecDeque<Canned>,
    last_user_message: HashMap<String, Timestamp>,
    sent: u64,
    uploads: Vec<Upload>,
}

pub struct FakeMeta {
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeMeta {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeMeta {
    pub async fn start() -> FakeMeta {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base_url = format!("http://{}", listener.local_addr().expect("local addr"));
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeMeta {
            base_url,
            inner,
            task,
        }
    }

    pub fn settings(&self) -> Value {
        json!({"base_url": self.base_url, "api_version": "v23.0", "page_access_token": PAGE_TOKEN, "app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "page_id": PAGE_ID})
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

    /// Every file received so far, in order.
    pub fn uploads(&self) -> Vec<Upload> {
        self.inner.lock().expect("fake lock").uploads.clone()
    }

    /// Enables window enforcement for this recipient.
    pub fn set_last_user_message(&self, psid: &str, at: Timestamp) {
        self.inner
            .lock()
            .expect("fake lock")
            .last_user_message
            .insert(psid.to_owned(), at);
    }

    /// A CDN-like URL of this fake serving [`FakeMeta::media_bytes`] (for attachment payloads).
    pub fn media_url(&self, name: &str) -> String {
        format!("{}/media/{name}", self.base_url)
    }

    /// The bytes served at [`FakeMeta::media_url`].
    pub fn media_bytes(name: &str) -> Vec<u8> {
        format!("fake-meta-media:{name}").into_bytes()
    }

    pub fn sign(body: &[u8]) -> String {
        format!(
            "sha256={}",
            prosa_channel::signature::hmac_sha256_hex(APP_SECRET.as_bytes(), body)
        )
    }

    /// POSTs a webhook body to Prosa, signed with the test app secret.
    pub async fn deliver(
        http: &reqwest::Client,
        url: &str,
        body: &[u8],
    ) -> reqwest::Result<reqwest::Response> {
        http.post(url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", FakeMeta::sign(body))
            .body(body.to_vec())
            .send()
            .await
    }

    /// A webhook body with one text message; `object` is `page` or `instagram`.
    pub fn text_event(
        object: &str,
        account_id: &str,
        sender: &str,
        mid: &str,
        text: &str,
    ) -> Vec<u8> {
        json!({"object": object, "entry": [{"id": account_id, "time": 1764500000000i64, "messaging": [{
            "sender": {"id": sender}, "recipient": {"id": account_id}, "timestamp": 1764500000000i64,
            "message": {"mid": mid, "text": text}
        }]}]})
        .to_string()
        .into_bytes()
    }
}

fn reply(c: Canned) -> Response {
    let mut r = (
        StatusCode::from_u16(c.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        c.body.to_string(),
    )
        .into_response();
    for (k, v) in c.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::try_from(k),
            axum::http::HeaderValue::try_from(v),
        ) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

fn validate(b: &Value) -> Result<(), String> {
    if b.pointer("/recipient/id").and_then(Value::as_str).is_none() {
        return Err("recipient.id".into());
    }
    match b.get("messaging_type").and_then(Value::as_str) {
        Some("RESPONSE" | "UPDATE") if b.get("tag").is_none() => {}
        Some("MESSAGE_TAG") if b.get("tag").and_then(Value::as_str).is_some() => {}
        _ => return Err("messaging_type/tag".into()),
    }
    let m = b.get("message").ok_or("message")?;
    if let Some(t) = m.get("text") {
        if t.as_str()
            .is_none_or(|t| t.is_empty() || t.chars().count() > 2000)
        {
            return Err("text must be 1-2000 characters".into());
        }
    } else if m.get("attachment").is_none() {
        return Err("message.text or message.attachment".into());
    }
    if let Some(q) = m.get("quick_replies") {
        let q = q.as_array().ok_or("quick_replies")?;
        if q.is_empty()
            || q.len() > 13
            || q.iter().any(|r| {
                r["title"].as_str().is_none_or(|t| t.chars().count() > 20)
                    || r["payload"].as_str().is_none()
            })
        {
            return Err("quick_replies: 1-13, title <= 20".into());
        }
    }
    Ok(())
}

/// Files as Meta takes them: a `filedata` part whose type fits `message.attachment.type`
/// (images: PNG, JPEG, GIF up to 8 MB; files up to 25 MB), `platform=instagram` on the
/// attachment upload endpoint, and only known `attachment_id`s in messages.
fn validate_file(
    endpoint: &str,
    b: &Value,
    file: Option<&prosa_channel::testing::FormPart>,
    uploads: &[Upload],
) -> Result<(), String> {
    let kind = b
        .pointer("/message/attachment/type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if endpoint == "message_attachments" {
        if b.get("platform").and_then(Value::as_str) != Some("instagram") {
            return Err("platform must be instagram".into());
        }
        if file.is_none() && b.pointer("/message/attachment/payload/url").is_none() {
            return Err("filedata or payload.url is required".into());
        }
    }
    if let Some(id) = b
        .pointer("/message/attachment/payload/attachment_id")
        .and_then(Value::as_str)
        && !uploads.iter().any(|u| u.attachment_id == id)
    {
        return Err(format!("unknown attachment_id {id}"));
    }
    let Some(f) = file else {
        return Ok(());
    };
    let mime = f.content_type.as_deref().unwrap_or("");
    let ok = match kind {
        "image" => {
            matches!(mime, "image/png" | "image/jpeg" | "image/gif")
                && f.data.len() <= 8 * 1024 * 1024
        }
        "file" => !mime.is_empty() && f.data.len() <= 25 * 1024 * 1024,
        _ => false,
    };
    if !ok || f.data.is_empty() {
        return Err(format!(
            "filedata of type {mime:?} cannot be sent as {kind:?}"
        ));
    }
    if f.file_name.as_deref().is_some_and(|n| !n.is_ascii()) {
        return Err("file names must be ASCII".into());
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
    let mut g = inner.lock().expect("fake lock");
    g.requests.push(Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers: headers.clone(),
        body: body.to_vec(),
    });
    // Attachment URLs of webhook payloads: Meta's CDN links need no token.
    if method == Method::GET
        && let Some(name) = uri.path().strip_prefix("/media/")
    {
        let mime = match name.rsplit('.').next() {
            Some("jpg") => "image/jpeg",
            Some("pdf") => "application/pdf",
            Some("mp4") => "audio/mp4",
            _ => "application/octet-stream",
        };
        return (
            StatusCode::OK,
            [("content-type", mime)],
            FakeMeta::media_bytes(name),
        )
            .into_response();
    }
    if let Some(c) = g.canned.pop_front() {
        return reply(c);
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {PAGE_TOKEN}"))
    {
        return reply(Canned::graph_error(
            401,
            190,
            463,
            "Error validating access token: Session has expired",
        ));
    }
    // The page behind the token (what "test credentials" reads).
    if method == Method::GET && uri.path().ends_with("/me") {
        return reply(Canned {
            status: 200,
            headers: Vec::new(),
            body: json!({"name": "Provedor Exemplo", "id": PAGE_ID}),
        });
    }
    let endpoint = uri.path().rsplit('/').next().unwrap_or("").to_owned();
    if method != Method::POST || !matches!(endpoint.as_str(), "messages" | "message_attachments") {
        return reply(Canned::graph_error(404, 100, 0, "Unknown path"));
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let form = prosa_channel::testing::parse_multipart(content_type, &body);
    let b: Value = match &form {
        Some(parts) => Value::Object(
            parts
                .iter()
                .filter(|p| p.file_name.is_none())
                .map(|p| {
                    let t = p.text();
                    let v = serde_json::from_str::<Value>(&t)
                        .ok()
                        .filter(Value::is_object)
                        .unwrap_or(Value::String(t));
                    (p.name.clone(), v)
                })
                .collect(),
        ),
        None => serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let file = form
        .as_ref()
        .and_then(|parts| parts.iter().find(|p| p.name == "filedata"));
    if let Err(e) = validate_file(&endpoint, &b, file, &g.uploads) {
        return reply(Canned::graph_error(400, 100, 0, &format!("(#100) {e}")));
    }
    if let Some(f) = file {
        let attachment_id = format!("{}", 1_857_777_774_821_032u64 + g.uploads.len() as u64);
        g.uploads.push(Upload {
            endpoint: endpoint.clone(),
            fields: b.clone(),
            file_name: f.file_name.clone(),
            content_type: f.content_type.clone(),
            bytes: f.data.clone(),
            attachment_id: attachment_id.clone(),
        });
        if endpoint == "message_attachments" {
            return reply(Canned {
                status: 200,
                headers: Vec::new(),
                body: json!({"attachment_id": attachment_id}),
            });
        }
    }
    if let Err(e) = validate(&b) {
        return reply(Canned::graph_error(400, 100, 0, &format!("(#100) {e}")));
    }
    let psid = b
        .pointer("/recipient/id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if let Some(last) = g.last_user_message.get(&psid) {
        let age = Timestamp::now().duration_since(*last).as_secs();
        let human = b.get("tag").and_then(Value::as_str) == Some("HUMAN_AGENT");
        let limit = if human { 7 * 24 * 3600 } else { 24 * 3600 };
        if age >= limit {
            return reply(Canned::graph_error(
                400,
                10,
                2018278,
                "(#10) This message is sent outside of allowed window.",
            ));
        }
    }
    g.sent += 1;
    reply(Canned {
        status: 200,
        headers: Vec::new(),
        body: json!({"recipient_id": psid, "message_id": format!("m_FAKE{}", g.sent)}),
    })
}
