//! A local fake of Evolution API v2 (feature `fake`): axum on 127.0.0.1:0. Checks `apikey`,
//! serves instance create (403 for a name in use, as v2 does)/connect (base64 PNG QR code)/
//! connectionState/webhook, validates sendText, sendButtons
//! (1–3 reply buttons), sendList and sendMedia, answers `exists:false` for numbers starting with
//! `0000`, and canned failures on demand. Also builds webhook bodies ([`FakeEvolution::event`]).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

pub const API_KEY: &str = "test-evolution-key";
pub const INSTANCE: &str = "provedor-principal";
pub const WEBHOOK_TOKEN: &str = "test-webhook-token";
/// The QR code the fake issues: a real (if meaningless) PNG, so pages can show it.
pub const QR_DATA_URL: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAACEAAAAhCAAAAAByj52zAAAAy0lEQVR42qVUWw7DMAzi/pdmUmMebj42aVFVLS41htCB3xZ+QeAs6r6rhNqcZ9rC1XM974b02blaCExven8jvMgXQv0hlq62loGZCQXlDMh3bbWxIjGJMyPgMjmIzD/axpQUzS6y8b7V+jdKWp8LginFZqnm9eJ9tmG9BUkJOwgoH2ieIt795mkMcgwQ15nDOu4Cy9gK1sh+ObFO1909/87H0Kl9zxHLKypM/GtuyLnOUxm0/K6vy6m2OcHysk472JZX1h3F5crf/w4f6yGgfNcdCuIAAAAASUVORK5CYII=";

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// When the request arrived.
    pub at: std::time::Instant,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The bytes of a `sendMedia` call that carried its file as base64 (not a URL).
    pub fn media_bytes(&self) -> Option<Vec<u8>> {
        decode_media(self.json().get("media")?.as_str()?)
    }
}

/// `media` as Evolution reads it: a URL is fetched; anything else must be base64 (a
/// `data:...;base64,` prefix allowed).
fn decode_media(media: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    if media.starts_with("http://") || media.starts_with("https://") {
        return None;
    }
    let data = media.split_once("base64,").map_or(media, |(_, d)| d);
    base64::engine::general_purpose::STANDARD.decode(data).ok()
}

#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Canned {
    /// An error in Evolution's shape (`src/exceptions`, `src/main.ts`):
    /// `{"status", "error": <reason phrase>, "response": {"message": ...}}`.
    pub fn error(status: u16, messages: Value) -> Canned {
        let error = match status {
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            429 => "Too Many Requests",
            _ => "Internal Server Error",
        };
        Canned {
            status,
            body: json!({"status": status, "error": error, "response": {"message": messages}}),
            headers: Vec::new(),
        }
    }

    /// Too many requests: WhatsApp's `rate-overlimit` (Baileys) or a rate limiter in front of
    /// Evolution, answered 429 in the same error shape, with `Retry-After` when given.
    pub fn too_many_requests(retry_after: Option<u64>) -> Canned {
        Canned {
            headers: retry_after
                .map(|secs| vec![("retry-after".into(), secs.to_string())])
                .unwrap_or_default(),
            ..Canned::error(429, json!(["rate-overlimit"]))
        }
    }
}

struct Inner {
    requests: Vec<Recorded>,
    canned: VecDeque<Canned>,
    state: String,
    sent: u64,
    /// Instances made by `instance/create` (`INSTANCE` always exists).
    instances: Vec<String>,
}

pub struct FakeEvolution {
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeEvolution {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeEvolution {
    pub async fn start() -> FakeEvolution {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base_url = format!("http://{}", listener.local_addr().expect("local addr"));
        let inner = Arc::new(Mutex::new(Inner {
            requests: Vec::new(),
            canned: VecDeque::new(),
            state: "close".into(),
            sent: 0,
            instances: Vec::new(),
        }));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeEvolution {
            base_url,
            inner,
            task,
        }
    }

    pub fn settings(&self) -> Value {
        json!({"base_url": self.base_url, "api_key": API_KEY, "instance": INSTANCE, "webhook_token": WEBHOOK_TOKEN})
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

    /// Sets the connection state (`open`, `connecting`, `close`).
    pub fn set_state(&self, state: &str) {
        self.inner.lock().expect("fake lock").state = state.to_owned();
    }

    /// POSTs a webhook body to Prosa with the webhook token header (`None` to omit it).
    pub async fn deliver(
        http: &reqwest::Client,
        url: &str,
        body: &[u8],
        token: Option<&str>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut req = http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(t) = token {
            req = req.header(crate::DEFAULT_WEBHOOK_HEADER, t);
        }
        req.send().await
    }

    /// A `messages.upsert` text from `number` (digits).
    pub fn text_event(number: &str, id: &str, text: &str) -> Vec<u8> {
        FakeEvolution::event(
            "messages.upsert",
            json!({
                "key": {"remoteJid": format!("{number}@s.whatsapp.net"), "fromMe": false, "id": id}, "pushName": "Cliente",
                "message": {"conversation": text}, "messageType": "conversation", "messageTimestamp": 1764500000, "source": "android"
            }),
        )
    }

    /// A webhook body as Evolution posts it.
    pub fn event(event: &str, data: Value) -> Vec<u8> {
        json!({"event": event, "instance": INSTANCE, "data": data, "destination": "http://prosa/webhooks", "date_time": "2026-11-30T09:00:00.000Z",
            "sender": "554899990000@s.whatsapp.net", "server_url": "http://evolution:8080", "apikey": null})
        .to_string()
        .into_bytes()
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

fn validate(action: &str, b: &Value) -> Result<(), Value> {
    let number = b
        .get("number")
        .and_then(Value::as_str)
        .ok_or(json!(["number is required"]))?;
    if number.starts_with("0000") {
        return Err(
            json!([{"jid": format!("{number}@s.whatsapp.net"), "exists": false, "number": number}]),
        );
    }
    match action {
        "sendText"
            if b.get("text")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty()) =>
        {
            Ok(())
        }
        "sendButtons" => {
            let buttons = b
                .get("buttons")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let replies = buttons.iter().filter(|x| x["type"] == "reply").count();
            if buttons.is_empty()
                || replies > 3
                || (replies > 0 && replies != buttons.len())
                || b.get("title").is_none()
            {
                Err(json!(["buttons: 1-3 reply buttons, not mixed"]))
            } else {
                Ok(())
            }
        }
        "sendList"
            if b.get("sections")
                .and_then(Value::as_array)
                .is_some_and(|s| !s.is_empty())
                && b.get("buttonText").is_some() =>
        {
            Ok(())
        }
        "sendMedia" => {
            let media = b.get("media").and_then(Value::as_str).unwrap_or("");
            let mediatype = b.get("mediatype").and_then(Value::as_str).unwrap_or("");
            let mimetype = b.get("mimetype").and_then(Value::as_str).unwrap_or("");
            let is_url = media.starts_with("http://") || media.starts_with("https://");
            if !matches!(mediatype, "image" | "document" | "video" | "audio") {
                Err(json!(["mediatype must be image, document, video or audio"]))
            } else if !is_url && decode_media(media).is_none_or(|d| d.is_empty()) {
                Err(json!(["Owned media must be a url or base64"]))
            } else if mediatype == "image"
                && !mimetype.is_empty()
                && !mimetype.starts_with("image/")
            {
                Err(json!([format!("mimetype {mimetype} is not an image")]))
            } else {
                Ok(())
            }
        }
        _ => Err(json!([format!("invalid {action} body")])),
    }
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
        query: uri.query().map(str::to_owned),
        headers: headers.clone(),
        body: body.to_vec(),
        at: std::time::Instant::now(),
    });
    if let Some(c) = g.canned.pop_front() {
        let mut r = reply(c.status, c.body);
        for (k, v) in c.headers {
            if let (Ok(k), Ok(v)) = (
                axum::http::HeaderName::try_from(k),
                axum::http::HeaderValue::try_from(v),
            ) {
                r.headers_mut().insert(k, v);
            }
        }
        return r;
    }
    if headers.get("apikey").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
        return reply(
            401,
            json!({"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}),
        );
    }
    let b: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_owned();
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), seg.as_slice()) {
        ("POST", ["instance", "create"]) => {
            let name = b
                .get("instanceName")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if name.is_empty() {
                return reply(
                    400,
                    json!({"status": 400, "error": "Bad Request", "response": {"message": ["instanceName is required"]}}),
                );
            }
            if g.instances.contains(&name) {
                return reply(
                    403,
                    json!({"status": 403, "error": "Forbidden", "response": {"message": [format!("This name \"{name}\" is already in use.")]}}),
                );
            }
            g.instances.push(name.clone());
            g.state = "connecting".into();
            reply(
                201,
                json!({"instance": {"instanceName": name, "instanceId": "0b9c-fake", "integration": "WHATSAPP-BAILEYS", "status": "created"},
                "hash": "instance-token-fake", "webhook": {"webhookUrl": b.pointer("/webhook/url")}, "settings": {},
                "qrcode": {"pairingCode": null, "code": "2@fakeqr", "base64": QR_DATA_URL, "count": 1}}),
            )
        }
        (_, ["instance", _, i]) if *i != INSTANCE && !g.instances.iter().any(|x| x == i) => reply(
            404,
            json!({"status": 404, "error": "Not Found", "response": {"message": [format!("The \"{i}\" instance does not exist")]}}),
        ),
        ("GET", ["instance", "connect", _]) => {
            if g.state == "open" {
                reply(
                    200,
                    json!({"instance": {"instanceName": INSTANCE, "state": "open"}}),
                )
            } else {
                let pairing = uri
                    .query()
                    .filter(|q| q.starts_with("number="))
                    .map(|_| "ABCD1234");
                reply(
                    200,
                    json!({"pairingCode": pairing, "code": "2@fakeqr", "base64": QR_DATA_URL, "count": 2}),
                )
            }
        }
        ("GET", ["instance", "connectionState", _]) => reply(
            200,
            json!({"instance": {"instanceName": INSTANCE, "state": g.state}}),
        ),
        ("POST", ["chat", "getBase64FromMediaMessage", _]) => {
            let id = b
                .pointer("/message/key/id")
                .and_then(Value::as_str)
                .unwrap_or("");
            use base64::Engine;
            let data = base64::engine::general_purpose::STANDARD.encode(format!("fake-media-{id}"));
            reply(
                201,
                json!({"mediaType": "imageMessage", "fileName": format!("{id}.jpg"), "mimetype": "image/jpeg", "base64": data}),
            )
        }
        ("POST", ["webhook", "set", _]) => reply(201, json!({"webhook": b.get("webhook")})),
        ("POST", ["message", action, i]) => {
            if *i != INSTANCE {
                return reply(
                    404,
                    json!({"status": 404, "error": "Not Found", "response": {"message": [format!("The \"{i}\" instance does not exist")]}}),
                );
            }
            if let Err(m) = validate(action, &b) {
                return reply(
                    400,
                    json!({"status": 400, "error": "Bad Request", "response": {"message": m}}),
                );
            }
            g.sent += 1;
            let number = b["number"].as_str().unwrap_or("");
            let jid = if number.contains('@') {
                number.to_owned()
            } else {
                format!("{number}@s.whatsapp.net")
            };
            reply(
                201,
                json!({"key": {"remoteJid": jid, "fromMe": true, "id": format!("3EB0FAKE{}", g.sent)}, "pushName": "", "status": "PENDING",
                "message": {}, "messageType": "conversation", "messageTimestamp": 1764500000, "instanceId": "0b9c-fake", "source": "unknown"}),
            )
        }
        _ => reply(
            404,
            json!({"status": 404, "error": "Not Found", "response": {"message": ["Cannot find route"]}}),
        ),
    }
}
