//! Shared helpers of the app tests: a real server on port 0 against real storage, a fake
//! callback endpoint on 127.0.0.1, signing, polling with a deadline.

#![allow(clippy::field_reassign_with_default)]
#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use prosa_server::Running;
use prosa_server::config::Config;
use prosa_storage::{Store, StoreOptions};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub fn sign(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        prosa_channel::signature::hmac_sha256_hex(secret.as_bytes(), body)
    )
}

/// A fresh database: a SQLite file, or a new PostgreSQL database when `pg` is true.
pub async fn fresh_url(pg: bool) -> Option<String> {
    if !pg {
        let dir = std::env::temp_dir().join(format!("prosa-it-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        return Some(format!("sqlite://{}/prosa.db", dir.display()));
    }
    let base = std::env::var("PROSA_TEST_POSTGRES_URL").ok()?;
    let name = format!("prosa_it_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("connecting to PROSA_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path(&name);
    Some(url.to_string())
}

pub fn test_config(url: &str) -> Config {
    let mut c = Config {
        listen: "127.0.0.1:0".into(),
        database_url: url.into(),
        admin_email: Some("admin@test.local".into()),
        admin_password: Some(secrecy::SecretString::from("admin-password")),
        ..Config::default()
    };
    c.egress.allowed_private_hosts = vec!["127.0.0.1".into()];
    c.outbox.base_delay_ms = 50;
    c.outbox.max_delay_ms = 200;
    c.outbox.max_attempts = 3;
    c.outbox.send_timeout_ms = 2_000;
    c
}

pub struct App {
    pub running: Running,
    pub token: String,
    pub client: reqwest::Client,
}

impl App {
    pub async fn start(config: Config) -> App {
        let store = Store::open(&StoreOptions::new(&config.database_url))
            .await
            .unwrap();
        prosa_server::bootstrap_admin(&config, &store)
            .await
            .unwrap();
        let (token, _) = prosa_server::api::create_token(&store, "tests", None)
            .await
            .unwrap();
        let running = prosa_server::start(config, store).await.unwrap();
        App {
            running,
            token,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.running.addr, path)
    }

    pub fn store(&self) -> &Store {
        &self.running.state.store
    }

    pub async fn get(&self, path: &str) -> serde_json::Value {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Creates an API-channel inbox and returns its id.
    pub async fn api_inbox(&self, secret: &str, callback: &str) -> String {
        let r = self
            .post("/api/v1/inboxes", serde_json::json!({"name": "Portal", "channel": {"kind": "api", "secret": secret, "callback_url": callback}}))
            .await;
        assert_eq!(r.status(), 201);
        let v: serde_json::Value = r.json().await.unwrap();
        v["id"].as_str().unwrap().to_owned()
    }

    pub async fn deliver(
        &self,
        inbox: &str,
        secret: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let bytes = serde_json::to_vec(body).unwrap();
        self.client
            .post(self.url(&format!("/webhooks/api/{inbox}")))
            .header("content-type", "application/json")
            .header("x-prosa-signature", sign(secret, &bytes))
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    pub async fn stop(self) {
        self.running.stop().await.unwrap();
    }
}

/// Polls `f` until it returns `Some`, or panics after `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fake callback endpoint: records signed bodies, answers with the queued statuses (then 200).
#[derive(Clone, Default)]
pub struct Callback {
    pub received: Arc<Mutex<Vec<(HeaderMap, serde_json::Value)>>>,
    pub answers: Arc<Mutex<Vec<StatusCode>>>,
}

impl Callback {
    pub async fn start() -> (Callback, String) {
        let cb = Callback::default();
        let app = Router::new()
            .route("/cb", post(record))
            .with_state(cb.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (cb, format!("http://{addr}/cb"))
    }

    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b.clone())
            .collect()
    }
}

async fn record(State(cb): State<Callback>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answer = {
        let mut a = cb.answers.lock().unwrap();
        if a.is_empty() {
            StatusCode::OK
        } else {
            a.remove(0)
        }
    };
    if answer.is_success() {
        let v = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        cb.received.lock().unwrap().push((headers, v));
    }
    answer
}
pub mod channels;
pub mod people;
pub mod webchat;
