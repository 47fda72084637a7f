//! A local fake of the Graph API for WhatsApp (feature `fake`): axum on 127.0.0.1:0, records every
//! request, validates message shapes, takes media uploads (`POST /{pnid}/media`, multipart, as
//! Meta documents it) and keeps what it got, serves media, and answers canned failures on demand.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

pub const TOKEN: &str = "test-token";
pub const APP_SECRET: &str = "test-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token";
pub const PHONE_NUMBER_ID: &str = "106540352242922";

/// One request the fake received.
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
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A canned answer for the next request.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Canned {
    pub fn json(status: u16, body: Value) -> Canned {
        Canned {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }
    /// A Graph error body with this code.
    pub fn graph_error(status: u16, code: i64, message: &str) -> Canned {
        Canned::json(
            status,
            json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Afake"}}),
        )
    }
    pub fn with_header(mut self, name: &str, value: &str) -> Canned {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A file uploaded to `POST /{phone_number_id}/media`.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub id: String,
    /// The `type` form field.
    pub mime_type: String,
    /// The file part's own name and content type.
    pub file_name: Option<String>,
    pub part_type: Option<String>,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
struct Inner {
    base_url: String,
    requests: Vec<Recorded>,
    canned: VecDeque<Canned>,
    sent: u64,
    uploads: Vec<Upload>,
}

/// The running fake.
pub struct FakeWhatsApp {
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeWhatsApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeWhatsApp {
    pub async fn start() -> FakeWhatsApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base_url = format!("http://{}", listener.local_addr().expect("local addr"));
        let inner = Arc::new(Mutex::new(Inner {
            base_url: base_url.clone(),
            ..Inner::default()
        }));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeWhatsApp {
            base_url,
            inner,
            task,
        }
    }

    /// Inbox settings pointing at this fake.
    pub fn settings(&self) -> Value {
        json!({
            "base_url": self.base_url, "api_version": "v23.0", "access_token": TOKEN, "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN, "phone_number_id": PHONE_NUMBER_ID
        })
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().expect("fake lock").requests.clone()
    }

    /// Every file uploaded so far, in order.
    pub fn uploads(&self) -> Vec<Upload> {
        self.inner.lock().expect("fake lock").uploads.clone()
    }

    /// The next request gets this answer instead of the normal one.
    pub fn push(&self, canned: Canned) {
        self.inner
            .lock()
            .expect("fake lock")
            .canned
            .push_back(canned);
    }

    /// `X-Hub-Signature-256` for a body under the test app secret.
    pub fn sign(body: &[u8]) -> String {
        format!(
            "sha256={}",
            prosa_channel::signature::hmac_sha256_hex(APP_SECRET.as_bytes(), body)
        )
    }

    /// POSTs a notification to Prosa's webhook, signed as Meta does.
    pub async fn deliver(
        http: &reqwest::Client,
        url: &str,
        body: &[u8],
    ) -> reqwest::Result<reqwest::Response> {
        http.post(url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", FakeWhatsApp::sign(body))
            .body(body.to_vec())
            .send()
            .await
    }

    /// A notification carrying one text message from `wa_id`.
    pub fn text_notification(wa_id: &str, wamid: &str, text: &str) -> Vec<u8> {
        notification(json!({
            "contacts": [{"profile": {"name": "Cliente Teste"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": "1764500000", "type": "text", "text": {"body": text}}]
        }))
    }

    /// A notification carrying a status for a message Prosa sent; `error_code` for `failed`.
    pub fn status_notification(wamid: &str, status: &str, error_code: Option<i64>) -> Vec<u8> {
        let mut s = json!({"id": wamid, "status": status, "timestamp": "1764500100", "recipient_id": "5548988887777"});
        if let Some(code) = error_code {
            s["errors"] = json!([{"code": code, "title": "error", "message": "error", "error_data": {"details": "fake"}}]);
        }
        notification(json!({"statuses": [s]}))
    }
}

fn notification(value_fields: Value) -> Vec<u8> {
    let mut value = json!({"messaging_product": "whatsapp", "metadata": {"display_phone_number": "5548999990000", "phone_number_id": PHONE_NUMBER_ID}});
    if let (Some(v), Some(extra)) = (value.as_object_mut(), value_fields.as_object()) {
        v.extend(extra.clone());
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]})
        .to_string()
        .into_bytes()
}

fn reply(c: Canned) -> Response {
    let mut r = (
        StatusCode::from_u16(c.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        c.body,
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

/// Reads an upload as Meta documents it: `messaging_product=whatsapp`, `type` and a `file` part
/// of a supported type within its size limit (images 5 MB, documents 100 MB).
fn upload(content_type: &str, body: &[u8]) -> Result<Upload, String> {
    let parts = prosa_channel::testing::parse_multipart(content_type, body)
        .ok_or("the body must be multipart/form-data")?;
    let field = |n: &str| parts.iter().find(|p| p.name == n);
    if field("messaging_product").map(|p| p.text()).as_deref() != Some("whatsapp") {
        return Err("messaging_product must be whatsapp".into());
    }
    let mime = field("type").map(|p| p.text()).ok_or("type is required")?;
    let file = field("file").ok_or("file is required")?;
    let limit = match mime.as_str() {
        "image/jpeg" | "image/png" => 5 * 1024 * 1024,
        "image/webp" => 500 * 1024,
        "application/pdf" | "text/plain" => 100 * 1024 * 1024,
        _ => return Err(format!("unsupported type {mime}")),
    };
    if file.data.is_empty() || file.data.len() > limit {
        return Err("file is empty or too large for its type".into());
    }
    Ok(Upload {
        id: String::new(),
        mime_type: mime,
        file_name: file.file_name.clone(),
        part_type: file.content_type.clone(),
        bytes: file.data.clone(),
    })
}

fn validate(body: &Value) -> Result<(), String> {
    if body["messaging_product"] != "whatsapp" || body["to"].as_str().is_none() {
        return Err("messaging_product and to are required".into());
    }
    match body["type"].as_str() {
        Some("text")
            if body["text"]["body"]
                .as_str()
                .is_some_and(|b| !b.is_empty() && b.chars().count() <= 4096) =>
        {
            Ok(())
        }
        Some("interactive") => match body["interactive"]["type"].as_str() {
            Some("button") => {
                let b = body["interactive"]["action"]["buttons"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if b.is_empty()
                    || b.len() > 3
                    || b.iter().any(|b| {
                        b["reply"]["title"]
                            .as_str()
                            .is_none_or(|t| t.chars().count() > 20)
                    })
                {
                    Err("buttons: 1-3, title <= 20".into())
                } else {
                    Ok(())
                }
            }
            Some("list") => {
                let rows: Vec<Value> = body["interactive"]["action"]["sections"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|s| s["rows"].as_array().cloned().unwrap_or_default())
                    .collect();
                if rows.is_empty()
                    || rows.len() > 10
                    || rows
                        .iter()
                        .any(|r| r["title"].as_str().is_none_or(|t| t.chars().count() > 24))
                {
                    Err("list: 1-10 rows, title <= 24".into())
                } else {
                    Ok(())
                }
            }
            _ => Err("interactive.type".into()),
        },
        Some("template") if body["template"]["name"].as_str().is_some() => Ok(()),
        Some(k @ ("image" | "document" | "audio" | "video" | "sticker"))
            if body[k]["link"].as_str().is_some() || body[k]["id"].as_str().is_some() =>
        {
            Ok(())
        }
        _ => Err("unsupported or malformed type".into()),
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers: headers.clone(),
        body: body.to_vec(),
        at: std::time::Instant::now(),
    };
    let (canned, base_url, n) = {
        let mut g = inner.lock().expect("fake lock");
        g.requests.push(recorded);
        g.sent += 1;
        (g.canned.pop_front(), g.base_url.clone(), g.sent)
    };
    if let Some(c) = canned {
        return reply(c);
    }
    let authorized = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    if !authorized {
        return reply(Canned::graph_error(
            401,
            190,
            "Error validating access token",
        ));
    }
    let path = uri.path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", [_ver, _pnid, "media"]) => {
            let content_type = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            match upload(content_type, &body) {
                Ok(mut u) => {
                    let mut g = inner.lock().expect("fake lock");
                    u.id = format!("{}", 4_490_709_327_384_033u64 + g.uploads.len() as u64);
                    g.uploads.push(u.clone());
                    reply(Canned::json(200, json!({"id": u.id})))
                }
                Err(e) => reply(Canned::graph_error(
                    400,
                    100,
                    &format!("(#100) Invalid parameter: {e}"),
                )),
            }
        }
        ("POST", [_ver, _pnid, "messages"]) => {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let unknown_media = ["image", "document", "audio", "video", "sticker"]
                .iter()
                .filter_map(|k| v[*k]["id"].as_str())
                .any(|id| {
                    !inner
                        .lock()
                        .expect("fake lock")
                        .uploads
                        .iter()
                        .any(|u| u.id == id)
                });
            if unknown_media {
                return reply(Canned::graph_error(
                    400,
                    131053,
                    "Media upload error: unknown media id",
                ));
            }
            match validate(&v) {
                Ok(()) => reply(Canned::json(
                    200,
                    json!({"messaging_product": "whatsapp", "contacts": [{"input": v["to"], "wa_id": v["to"]}], "messages": [{"id": format!("wamid.FAKE{n}")}]}),
                )),
                Err(e) => reply(Canned::graph_error(
                    400,
                    100,
                    &format!("(#100) Invalid parameter: {e}"),
                )),
            }
        }
        ("GET", ["media-bin", id]) => reply(Canned {
            status: 200,
            headers: vec![("content-type".into(), "image/jpeg".into())],
            body: format!("fake-media-{id}"),
        }),
        // The phone number node (what "test credentials" reads).
        ("GET", [_ver, id]) if *id == PHONE_NUMBER_ID => reply(Canned::json(
            200,
            json!({"verified_name": "Provedor Exemplo", "code_verification_status": "VERIFIED", "display_phone_number": "+55 48 99999-0000",
                "quality_rating": "GREEN", "platform_type": "CLOUD_API", "throughput": {"level": "STANDARD"}, "id": PHONE_NUMBER_ID}),
        )),
        ("GET", [_ver, id]) => {
            let content = format!("fake-media-{id}");
            use sha2::Digest;
            let sha = hex::encode(sha2::Sha256::digest(content.as_bytes()));
            reply(Canned::json(
                200,
                json!({"messaging_product": "whatsapp", "url": format!("{base_url}/media-bin/{id}"), "mime_type": "image/jpeg", "sha256": sha, "file_size": content.len(), "id": id}),
            ))
        }
        _ => reply(Canned::graph_error(404, 100, "Unknown path")),
    }
}
