//! A local fake of the Bot Connector services (feature `fake`), axum on 127.0.0.1:0:
//! OpenID metadata and JWKS (test RSA keys with endorsements), a client-credentials token
//! endpoint, and a connector receiving `/v3/conversations/{id}/activities`. Also mints channel JWTs.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

pub const APP_ID: &str = "00000000-1111-2222-3333-444444444444";
pub const APP_PASSWORD: &str = "test-app-password";
pub const ISSUER: &str = "https://api.botframework.com";
pub const KID_1: &str = "test-kid-1";
pub const KID_2: &str = "test-kid-2";

const KEY_1: &[u8] = include_bytes!("../test_data/test_rsa_key_1.der");
const KEY_2: &[u8] = include_bytes!("../test_data/test_rsa_key_2.der");

fn key_pair(index: usize) -> RsaKeyPair {
    RsaKeyPair::from_der(if index == 1 { KEY_1 } else { KEY_2 })
        .expect("test key is PKCS#1 RSA DER")
}

/// Signs `claims` as RS256 with test key 1 or 2 under `kid` (any kid: to test unknown ones).
pub fn mint(claims: &Value, kid: &str, key_index: usize) -> String {
    mint_with_header(
        claims,
        &json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
        key_index,
    )
}

/// Like [`mint`] with a custom header (e.g. `alg: none`).
pub fn mint_with_header(claims: &Value, header: &Value, key_index: usize) -> String {
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{h}.{p}");
    let kp = key_pair(key_index);
    let mut sig = vec![0; kp.public().modulus_len()];
    kp.sign(
        &RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .expect("signing works");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// Valid claims for an activity from `service_url`, expiring an hour after `now`.
pub fn claims(service_url: &str, now: i64) -> Value {
    json!({"iss": ISSUER, "aud": APP_ID, "exp": now + 3600, "nbf": now - 10, "serviceurl": service_url})
}

fn jwk(index: usize, kid: &str, endorsements: &[&str]) -> Value {
    let kp = key_pair(index);
    let public: ring::signature::RsaPublicKeyComponents<Vec<u8>> = kp.public().into();
    json!({
        "kty": "RSA", "use": "sig", "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(&public.n),
        "e": URL_SAFE_NO_PAD.encode(&public.e),
        "endorsements": endorsements,
    })
}

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

    /// The attachments of an activity that carried their bytes inline (`data:` URIs):
    /// `(contentType, name, bytes)`.
    pub fn inline_files(&self) -> Vec<(String, Option<String>, Vec<u8>)> {
        self.json()["attachments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let (mime, bytes) = data_uri(a["contentUrl"].as_str()?)?;
                (a["contentType"].as_str() == Some(mime.as_str()))
                    .then(|| (mime, a["name"].as_str().map(str::to_owned), bytes))
            })
            .collect()
    }
}

/// A base64 `data:` URI (RFC 2397): its media type and bytes.
fn data_uri(url: &str) -> Option<(String, Vec<u8>)> {
    use base64::Engine;
    let (head, data) = url.strip_prefix("data:")?.split_once(',')?;
    let mime = head.strip_suffix(";base64")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    Some((mime.to_owned(), bytes))
}

/// Attachments the Connector accepts: a `contentType` and a `contentUrl` that is http(s) or a
/// base64 `data:` URI of that same type.
fn attachments_valid(activity: &Value) -> bool {
    activity["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|a| {
            let Some(ct) = a["contentType"].as_str() else {
                return false;
            };
            match a["contentUrl"].as_str() {
                None => a.get("content").is_some(),
                Some(u) if u.starts_with("https://") || u.starts_with("http://") => true,
                Some(u) => data_uri(u).is_some_and(|(m, b)| m == ct && !b.is_empty()),
            }
        })
}

#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

struct Inner {
    base_url: String,
    requests: Vec<Recorded>,
    canned: VecDeque<Canned>,
    /// (key index, kid, endorsements)
    published: Vec<(usize, String, Vec<String>)>,
    tokens: Vec<String>,
    token_lifetime: u64,
    activities: u64,
}

pub struct FakeBotFramework {
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBotFramework {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeBotFramework {
    /// Publishes key 1 as [`KID_1`], endorsed for `msteams`, `webchat` and `directline`.
    pub async fn start() -> FakeBotFramework {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base_url = format!("http://{}", listener.local_addr().expect("local addr"));
        let inner = Arc::new(Mutex::new(Inner {
            base_url: base_url.clone(),
            requests: Vec::new(),
            canned: VecDeque::new(),
            published: vec![(
                1,
                KID_1.into(),
                vec!["msteams".into(), "webchat".into(), "directline".into()],
            )],
            tokens: Vec::new(),
            token_lifetime: 3600,
            activities: 0,
        }));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeBotFramework {
            base_url,
            inner,
            task,
        }
    }

    /// Inbox settings pointing at the fake.
    pub fn settings(&self) -> Value {
        json!({
            "app_id": APP_ID, "app_password": APP_PASSWORD,
            "openid_metadata_url": format!("{}/v1/.well-known/openidconfiguration", self.base_url),
            "token_url": format!("{}/botframework.com/oauth2/v2.0/token", self.base_url),
        })
    }

    /// The serviceUrl activities should carry so replies reach this fake.
    pub fn service_url(&self) -> String {
        format!("{}/connector/", self.base_url)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().expect("fake lock").requests.clone()
    }

    /// The next request gets this answer.
    pub fn push(&self, status: u16, body: Value, headers: &[(&str, &str)]) {
        self.inner
            .lock()
            .expect("fake lock")
            .canned
            .push_back(Canned {
                status,
                body,
                headers: headers
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
            });
    }

    /// Publishes another key (key rotation).
    pub fn publish_key(&self, key_index: usize, kid: &str, endorsements: &[&str]) {
        self.inner.lock().expect("fake lock").published.push((
            key_index,
            kid.into(),
            endorsements.iter().map(|s| (*s).into()).collect(),
        ));
    }

    /// Invalidates every issued token (the connector then answers 401).
    pub fn revoke_tokens(&self) {
        self.inner.lock().expect("fake lock").tokens.clear();
    }

    pub fn set_token_lifetime(&self, secs: u64) {
        self.inner.lock().expect("fake lock").token_lifetime = secs;
    }

    /// How many token requests were made.
    /// POSTs an activity to Prosa's bot endpoint with a valid channel JWT for its serviceUrl.
    pub async fn deliver(
        http: &reqwest::Client,
        url: &str,
        activity: &Value,
    ) -> reqwest::Result<reqwest::Response> {
        let service_url = activity
            .get("serviceUrl")
            .and_then(Value::as_str)
            .unwrap_or("");
        let token = mint(
            &claims(service_url, jiff::Timestamp::now().as_second()),
            KID_1,
            1,
        );
        http.post(url)
            .bearer_auth(token)
            .json(activity)
            .send()
            .await
    }

    /// A Web Chat text activity whose replies go to this fake.
    pub fn text_activity(&self, id: &str, user_id: &str, text: &str) -> Value {
        json!({"type": "message", "id": id, "timestamp": "2026-11-30T12:00:00Z", "serviceUrl": self.service_url(), "channelId": "webchat",
            "from": {"id": user_id, "name": "Cliente"}, "conversation": {"id": format!("conv-{user_id}")},
            "recipient": {"id": "prosa-bot", "name": "Prosa"}, "text": text})
    }

    /// A content URL served by this fake (attachments of activities).
    pub fn media_url(&self, name: &str) -> String {
        format!("{}/media/{name}", self.base_url)
    }

    /// The bytes served at [`FakeBotFramework::media_url`].
    pub fn media_bytes(name: &str) -> Vec<u8> {
        format!("fake-connector-file:{name}").into_bytes()
    }

    pub fn token_requests(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path.ends_with("/token"))
            .count()
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

fn ok(body: Value) -> Response {
    reply(Canned {
        status: 200,
        headers: Vec::new(),
        body,
    })
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut g = inner.lock().expect("fake lock");
    let path = uri.path().to_owned();
    g.requests.push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        headers: headers.clone(),
        body: body.to_vec(),
    });
    // Attachment content URLs of activities (a channel's file store).
    if method == Method::GET
        && let Some(name) = path.strip_prefix("/media/")
    {
        return (
            StatusCode::OK,
            [("content-type", "application/octet-stream")],
            FakeBotFramework::media_bytes(name),
        )
            .into_response();
    }
    if let Some(c) = g.canned.pop_front() {
        return reply(c);
    }
    match (method.as_str(), path.as_str()) {
        ("GET", "/v1/.well-known/openidconfiguration") => ok(json!({
            "issuer": ISSUER, "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": format!("{}/v1/.well-known/keys", g.base_url),
            "id_token_signing_alg_values_supported": ["RS256"], "token_endpoint_auth_methods_supported": ["private_key_jwt"]
        })),
        ("GET", "/v1/.well-known/keys") => {
            let keys: Vec<Value> = g
                .published
                .iter()
                .map(|(i, kid, e)| jwk(*i, kid, &e.iter().map(String::as_str).collect::<Vec<_>>()))
                .collect();
            ok(json!({"keys": keys}))
        }
        ("POST", p) if p.ends_with("/oauth2/v2.0/token") => {
            let form: Vec<(String, String)> =
                url::form_urlencoded::parse(&body).into_owned().collect();
            let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
            if get("grant_type") != Some("client_credentials")
                || get("client_id") != Some(APP_ID)
                || get("client_secret") != Some(APP_PASSWORD)
                || get("scope").is_none()
            {
                return reply(Canned {
                    status: 401,
                    headers: Vec::new(),
                    body: json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}),
                });
            }
            let token = format!("fake-access-token-{}", g.tokens.len() + 1);
            g.tokens.push(token.clone());
            ok(
                json!({"token_type": "Bearer", "expires_in": g.token_lifetime, "ext_expires_in": g.token_lifetime, "access_token": token}),
            )
        }
        ("POST", p)
            if p.starts_with("/connector/v3/conversations/") && p.ends_with("/activities") =>
        {
            let bearer = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if !g.tokens.iter().any(|t| t == bearer) {
                return reply(Canned {
                    status: 401,
                    headers: Vec::new(),
                    body: json!({"error": {"code": "Unauthorized", "message": "token invalid"}}),
                });
            }
            if !attachments_valid(&serde_json::from_slice(&body).unwrap_or(Value::Null)) {
                return reply(Canned {
                    status: 400,
                    headers: Vec::new(),
                    body: json!({"error": {"code": "BadArgument", "message": "Invalid attachment: contentUrl must be a URL or a data URI of its contentType"}}),
                });
            }
            g.activities += 1;
            reply(Canned {
                status: 201,
                headers: Vec::new(),
                body: json!({"id": format!("1764500000{:03}", g.activities)}),
            })
        }
        _ => reply(Canned {
            status: 404,
            headers: Vec::new(),
            body: json!({"error": {"code": "NotFound", "message": "unknown path"}}),
        }),
    }
}
