//! The provider-channel harness shared by every channel kind: a real server on port 0 with its
//! own data folder, inboxes created through the REST API, webhook deliveries authenticated the
//! way each provider does it, and waits on what the workers did (no sleeps: the inbound queue is
//! drained, then the result is read).

use prosa_storage::{Store, StoreOptions};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Dir(pub std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> Dir {
    let p = std::env::temp_dir().join(format!("prosa-channels-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&p).expect("temp dir");
    Dir(p)
}

/// A running server for channel tests.
pub struct ChannelApp {
    pub app: prosa_server::Running,
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    pub dir: Dir,
}

pub async fn start_with(tweak: impl FnOnce(&mut prosa_server::config::Config)) -> ChannelApp {
    let dir = temp_dir();
    let url = format!("sqlite://{}/t.db", dir.0.display());
    start_on(dir, url, tweak).await
}

pub async fn start() -> ChannelApp {
    start_with(|_| {}).await
}

/// A server on a database that may already be in use: several of these on one PostgreSQL
/// database are several instances of one installation. Each has its own data folder.
pub async fn start_on_database(
    database_url: &str,
    tweak: impl FnOnce(&mut prosa_server::config::Config),
) -> ChannelApp {
    start_on(temp_dir(), database_url.to_owned(), tweak).await
}

async fn start_on(
    dir: Dir,
    database_url: String,
    tweak: impl FnOnce(&mut prosa_server::config::Config),
) -> ChannelApp {
    let store = Store::open(&StoreOptions::new(&database_url))
        .await
        .expect("store");
    let mut config = prosa_server::config::Config {
        listen: "127.0.0.1:0".into(),
        database_url,
        data_dir: dir.0.clone(),
        admin_email: Some("admin@example.com".into()),
        admin_password: Some(SecretString::from("uma senha longa 123")),
        ..Default::default()
    };
    config.egress.allowed_private_hosts = vec!["127.0.0.1".into()];
    config.outbox.base_delay_ms = 20;
    config.outbox.max_delay_ms = 200;
    tweak(&mut config);
    prosa_server::bootstrap_admin(&config, &store)
        .await
        .expect("admin");
    let (token, _) = prosa_server::api::create_token(&store, "t", None)
        .await
        .expect("token");
    let app = prosa_server::start(config, store).await.expect("start");
    ChannelApp {
        base: format!("http://{}", app.addr),
        app,
        http: reqwest::Client::new(),
        token,
        dir,
    }
}

impl ChannelApp {
    pub fn store(&self) -> &Store {
        &self.app.state.store
    }

    pub async fn stop(self) {
        self.app.stop().await.expect("stop");
    }

    pub async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("get");
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.expect("json")
    }

    pub async fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("get");
        let s = r.status().as_u16();
        (s, r.bytes().await.expect("bytes").to_vec())
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::PUT, path, body).await
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Creates an inbox of `kind` through the API; returns its id.
    pub async fn inbox(&self, kind: &str, settings: Value) -> String {
        let mut channel = settings;
        channel["kind"] = json!(kind);
        let (status, body) = self
            .post(
                "/api/v1/inboxes",
                json!({"name": format!("{kind} teste"), "channel": channel}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// The inbox's own webhook URL (`/webhooks/<segment>/<id>`).
    pub fn webhook_url(&self, segment: &str, inbox: &str) -> String {
        format!("{}/webhooks/{segment}/{inbox}", self.base)
    }

    pub async fn conversations(&self) -> Vec<Value> {
        self.get("/api/v1/conversations")
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub async fn messages(&self, conversation: &str) -> Vec<Value> {
        self.get(&format!("/api/v1/conversations/{conversation}/messages"))
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Polls until `check` gives a value (10 s deadline).
    pub async fn until<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = check().await {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until the inbound worker has processed everything stored so far.
    pub async fn drained(&self) {
        self.until("the inbound queue to drain", || async {
            (self.store().count_pending_inbound().await.expect("pending") == 0).then_some(())
        })
        .await
    }

    pub async fn one_conversation(&self) -> String {
        self.until("a conversation", || async {
            let c = self.conversations().await;
            c.first().map(|c| c["id"].as_str().expect("id").to_owned())
        })
        .await
    }

    /// The conversation's messages once everything stored was processed.
    pub async fn settled_messages(&self, conversation: &str) -> Vec<Value> {
        self.drained().await;
        self.messages(conversation).await
    }

    /// An operator's file through `POST /api/v1/conversations/{id}/attachments` (the body is
    /// the file; `name`, `caption`... in the query).
    pub async fn attach(
        &self,
        conversation: &str,
        bytes: &[u8],
        query: &[(&str, &str)],
    ) -> (u16, Value) {
        let r = self
            .http
            .post(format!(
                "{}/api/v1/conversations/{conversation}/attachments",
                self.base
            ))
            .query(query)
            .bearer_auth(&self.token)
            .header("content-type", "application/octet-stream")
            .body(bytes.to_vec())
            .send()
            .await
            .expect("attachment upload");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// An operator's message through the API; returns its id.
    pub async fn send(&self, conversation: &str, body: Value) -> String {
        let (status, v) = self
            .post(
                &format!("/api/v1/conversations/{conversation}/messages"),
                body,
            )
            .await;
        assert!(status == 201 || status == 200, "send: {status} {v}");
        v["id"].as_str().expect("message id").to_owned()
    }

    /// A message written as the bot (or another non-human author), with any content.
    pub async fn send_as(
        &self,
        conversation: &str,
        author: prosa_domain::model::AuthorKind,
        content: prosa_domain::message::MessageContent,
    ) -> String {
        let id = self
            .store()
            .create_outgoing_message(&prosa_storage::conversations::NewOutgoing {
                conversation_id: prosa_domain::ConversationId(conversation.parse().expect("id")),
                author_kind: author,
                author_id: None,
                private: false,
                content,
                client_id: None,
            })
            .await
            .expect("outgoing message");
        id.0.to_string()
    }

    pub async fn message(&self, conversation: &str, id: &str) -> Value {
        self.messages(conversation)
            .await
            .into_iter()
            .find(|m| m["id"] == id)
            .expect("message")
    }

    pub async fn until_status(&self, conversation: &str, id: &str, status: &str) -> Value {
        self.until(&format!("message {id} {status}"), || async {
            let m = self.message(conversation, id).await;
            (m["delivery_status"] == status).then_some(m)
        })
        .await
    }

    /// How many incoming messages exist once the inbound queue is drained.
    pub async fn incoming_count(&self) -> usize {
        self.drained().await;
        let mut n = 0;
        for c in self.conversations().await {
            n += self
                .messages(c["id"].as_str().expect("id"))
                .await
                .iter()
                .filter(|m| m["direction"] == "incoming")
                .count();
        }
        n
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// The value of one metric line (`name{labels}`), 0 when absent.
    pub async fn metric(&self, series: &str) -> f64 {
        self.metrics()
            .await
            .lines()
            .find_map(|l| {
                l.strip_prefix(series)
                    .and_then(|rest| rest.strip_prefix(' '))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0.0)
    }

    /// Moves a conversation's last incoming message back in time (24-hour windows).
    pub async fn age_last_incoming(&self, conversation: &str, hours: i64) {
        let url = format!("sqlite://{}/t.db", self.dir.0.display());
        let pool = sqlx::SqlitePool::connect(&url).await.expect("sqlite");
        let at = jiff::Timestamp::now().as_millisecond() - hours * 3_600_000;
        sqlx::query("UPDATE conversation SET last_incoming_at = $1 WHERE conversation_id = $2")
            .bind(at)
            .bind(conversation.parse::<i64>().expect("id"))
            .execute(&pool)
            .await
            .expect("update");
        pool.close().await;
    }
}

type Auth = Arc<dyn Fn(&[u8]) -> Vec<(String, String)> + Send + Sync>;

/// A provider's webhook: where to POST and how the provider authenticates a body.
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    auth: Auth,
}

/// What Prosa answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Webhook {
    pub fn new(
        url: impl Into<String>,
        auth: impl Fn(&[u8]) -> Vec<(String, String)> + Send + Sync + 'static,
    ) -> Webhook {
        Webhook {
            url: url.into(),
            auth: Arc::new(auth),
        }
    }

    /// Meta (Messenger, Instagram, WhatsApp Cloud): `X-Hub-Signature-256` with the app secret.
    pub fn meta(url: impl Into<String>, app_secret: &str) -> Webhook {
        let secret = app_secret.to_owned();
        Webhook::new(url, move |body| {
            vec![(
                "x-hub-signature-256".into(),
                crate::support::sign(&secret, body),
            )]
        })
    }

    /// Evolution: the inbox's webhook token in the default header.
    pub fn evolution(url: impl Into<String>) -> Webhook {
        Webhook::new(url, |_| {
            vec![(
                prosa_channel_evolution::DEFAULT_WEBHOOK_HEADER.to_owned(),
                prosa_channel_evolution::fake::WEBHOOK_TOKEN.to_owned(),
            )]
        })
    }

    /// The Bot Connector: each body gets a fresh channel JWT for its serviceUrl.
    pub fn bot_framework(url: impl Into<String>) -> Webhook {
        use prosa_channel_botframework::fake;
        Webhook::new(url, |body| {
            let service_url = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v["serviceUrl"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let now = jiff::Timestamp::now().as_second();
            let t = fake::mint(&fake::claims(&service_url, now), fake::KID_1, 1);
            vec![("authorization".to_owned(), format!("Bearer {t}"))]
        })
    }

    /// POSTs `body` authenticated as the provider would.
    pub async fn post(&self, http: &reqwest::Client, body: &[u8]) -> Answer {
        let headers = (self.auth)(body);
        let pairs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post_with(http, body, &pairs).await
    }

    /// POSTs `body` with exactly these headers (forgeries).
    pub async fn post_with(
        &self,
        http: &reqwest::Client,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req = http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.expect("webhook post");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        Answer {
            status,
            body: r.text().await.unwrap_or_default(),
            headers,
        }
    }

    /// Delivers a body the way a provider retries it: twice. Both must be acknowledged; the
    /// second is counted as a duplicate (synchronously, by the webhook) and stores nothing.
    pub async fn deliver_twice(&self, app: &ChannelApp, channel: &str, body: &[u8]) {
        let series = format!("prosa_inbound_duplicates_total{{channel=\"{channel}\"}}");
        let before = app.metric(&series).await;
        for _ in 0..2 {
            let a = self.post(&app.http, body).await;
            assert_eq!(a.status, 200, "{}", a.body);
        }
        let after = app.metric(&series).await;
        assert!(after > before, "the retry was not deduplicated");
    }

    /// Every forgery must be refused with 401/403 and store nothing.
    pub async fn assert_refused(
        &self,
        app: &ChannelApp,
        body: &[u8],
        forgeries: &[(&str, Vec<(&str, String)>)],
    ) {
        let before = app.incoming_count().await;
        for (what, headers) in forgeries {
            let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let a = self.post_with(&app.http, body, &pairs).await;
            assert!(
                a.status == 401 || a.status == 403,
                "{what}: answered {} {}",
                a.status,
                a.body
            );
        }
        assert_eq!(
            app.incoming_count().await,
            before,
            "a refused request stored something"
        );
    }
}

/// The message whose provider id is `id`.
pub fn by_provider_id<'a>(messages: &'a [Value], id: &str) -> &'a Value {
    messages
        .iter()
        .find(|m| m["provider_message_id"] == id)
        .unwrap_or_else(|| panic!("no message {id} in {messages:#?}"))
}
