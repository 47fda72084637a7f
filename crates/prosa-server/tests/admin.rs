//! Administration: categories, rating rules, service hours, canned responses, notifications and
//! the rated-conversations journey, through the real server.

#![allow(clippy::field_reassign_with_default)]

use futures_util::StreamExt;
use prosa_domain::message::MessageContent;
use prosa_domain::model::{ChannelKind, ConversationStatus};
use prosa_domain::{ConversationId, InboxId};
use prosa_server::admin;
use prosa_storage::inbound::{IncomingMessage, NewInbound, Routing, Stored};
use prosa_storage::inboxes::NewInbox;
use prosa_storage::{Store, StoreOptions};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::Duration;

const ADMIN: &str = "admin@prosa.test";
const PASSWORD: &str = "senha-muito-boa";

struct App {
    running: prosa_server::Running,
    base: String,
    inbox: InboxId,
    convs: Vec<ConversationId>,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start() -> App {
    start_with(prosa_server::clock::Clock::system()).await
}

async fn start_with(clock: prosa_server::clock::Clock) -> App {
    let dir = TempDir(std::env::temp_dir().join(format!("prosa-admin-{}", uuid::Uuid::new_v4())));
    std::fs::create_dir_all(&dir.0).unwrap();
    // `PROSA_TEST_PG=postgres://postgres@127.0.0.1:5432` runs the same tests on a fresh
    // PostgreSQL database each.
    let url = match std::env::var("PROSA_TEST_PG") {
        Ok(base) => {
            let name = format!("admin_{}", uuid::Uuid::new_v4().simple());
            let pg = sqlx::PgPool::connect(&format!("{base}/postgres"))
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&pg)
                .await
                .unwrap();
            pg.close().await;
            format!("{base}/{name}")
        }
        Err(_) => format!("sqlite://{}/t.db", dir.0.display()),
    };
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let mut config = prosa_server::config::Config::default();
    config.listen = "127.0.0.1:0".into();
    config.egress.allowed_private_hosts = vec!["127.0.0.1".into()];
    config.admin_email = Some(ADMIN.into());
    config.admin_password = Some(SecretString::from(PASSWORD));
    config.clock = clock;
    prosa_server::bootstrap_admin(&config, &store)
        .await
        .unwrap();
    let (inbox, convs) = seed(&store).await;
    let running = prosa_server::start(config, store).await.unwrap();
    let base = format!("http://{}", running.addr);
    App {
        running,
        base,
        inbox,
        convs,
        _dir: dir,
    }
}

/// A signed-in person: cookie jar plus CSRF token.
struct Person {
    http: reqwest::Client,
    csrf: String,
    cookie: String,
    id: String,
}

async fn login(app: &App, email: &str, password: &str) -> Person {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/session", app.base))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "login {email}");
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("cookie", cookie.parse().unwrap());
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let me: Value = http
        .get(format!("{}/api/v1/users/me", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Person {
        http,
        csrf: me["csrf_token"].as_str().unwrap().to_owned(),
        cookie,
        id: me["id"].as_str().unwrap().to_owned(),
    }
}

impl Person {
    async fn send(
        &self,
        method: reqwest::Method,
        app: &App,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{}", app.base, path))
            .header("x-csrf-token", &self.csrf);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
    async fn get(&self, app: &App, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, app, path, None).await
    }
    async fn post(&self, app: &App, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, app, path, Some(body))
            .await
    }
    async fn put(&self, app: &App, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, app, path, Some(body)).await
    }
    async fn delete(&self, app: &App, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, app, path, None).await
    }
}

async fn make_user(app: &App, admin: &Person, email: &str, role: &str) -> Person {
    let (s, _) = admin
        .post(
            app,
            "/api/v1/users",
            json!({"email": email, "name": format!("Op {email}"), "role": role, "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, 201);
    login(app, email, PASSWORD).await
}

/// An inbox and two conversations, made through the storage's inbound path before the server
/// (and its inbound worker) starts.
async fn seed(store: &Store) -> (InboxId, Vec<ConversationId>) {
    let inbox = store
        .create_inbox(&NewInbox {
            name: "API".into(),
            kind: ChannelKind::Api,
            settings: json!({"secret": "s3cret"}),
            team_id: None,
            bot_enabled: false,
        })
        .await
        .unwrap();
    let mut convs = Vec::new();
    for (n, who) in ["5511999990000", "5511888880000"].into_iter().enumerate() {
        let key = format!("m{n}");
        let stored = store
            .store_inbound(
                inbox,
                &[NewInbound {
                    dedupe_key: &key,
                    item: "{}",
                    raw: "{}",
                }],
            )
            .await
            .unwrap();
        let Stored::New(event) = stored[0] else {
            panic!("not stored")
        };
        let processed = store
            .process_incoming_message(
                event,
                inbox,
                &IncomingMessage {
                    external_id: who.into(),
                    name: Some("Assinante".into()),
                    phone: None,
                    identity_meta: None,
                    provider_message_id: key.clone(),
                    content: MessageContent {
                        text: Some("Minha internet caiu".into()),
                        ..MessageContent::default()
                    },
                    sent_at: jiff::Timestamp::now(),
                },
                Routing {
                    status: ConversationStatus::Waiting,
                    team_id: None,
                },
            )
            .await
            .unwrap();
        match processed {
            prosa_storage::inbound::Processed::Message {
                conversation_id, ..
            } => convs.push(conversation_id),
            other => panic!("{other:?}"),
        }
    }
    (inbox, convs)
}

#[tokio::test]
async fn categories_crud_validation_audit_and_roles() {
    let app = start().await;
    let admin = login(&app, ADMIN, PASSWORD).await;
    let (s, c) = admin
        .post(&app, "/api/v1/categories", json!({"name": "Financeiro"}))
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_owned();
    // Empty name → 422 naming the field (creation is the panel's `POST /categories`).
    let (s, e) = admin
        .post(&app, "/api/v1/categories", json!({"name": "  "}))
        .await;
    assert_eq!(s, 422);
    assert_eq!(e["field"], "name");
    // Duplicate name (the default "Resolvido" exists) → 409.
    let (s, e) = admin
        .post(&app, "/api/v1/categories", json!({"name": "Resolvido"}))
        .await;
    assert_eq!(s, 409, "{e}");
    // Renaming onto a taken name → 422 naming the field, pt-BR message.
    let (s, e) = admin
        .put(
            &app,
            &format!("/api/v1/categories/{id}"),
            json!({"name": "Resolvido"}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("name")), "{e}");
    let (s, e) = admin
        .put(
            &app,
            &format!("/api/v1/categories/{id}"),
            json!({"name": " "}),
        )
        .await;
    assert_eq!(
        (s, e["message"].as_str()),
        (422, Some("nome é obrigatório"))
    );
    // Rename, deactivate, reorder.
    let (s, c) = admin
        .put(
            &app,
            &format!("/api/v1/categories/{id}"),
            json!({"name": "Resolvido pelo técnico", "active": false, "position": 7}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["active"], false);
    assert_eq!(c["position"], 7);
    // In use → refused; unused → deleted.
    let conv = app.convs[0];
    let store = &app.running.state.store;
    store
        .set_conversation_owner(
            conv,
            &prosa_storage::conversations::OwnerChange {
                status: ConversationStatus::Resolved,
                assignee_id: None,
                set_team: false,
                team_id: None,
                category_id: Some(prosa_domain::CategoryId(id.parse().unwrap())),
            },
        )
        .await
        .unwrap();
    let (s, e) = admin
        .delete(&app, &format!("/api/v1/categories/{id}"))
        .await;
    assert_eq!(s, 409, "{e}");
    assert!(e["message"].as_str().unwrap().contains("desative"), "{e}");
    let (_, other) = admin
        .post(&app, "/api/v1/categories", json!({"name": "Dúvida"}))
        .await;
    let (s, _) = admin
        .delete(
            &app,
            &format!("/api/v1/categories/{}", other["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(s, 204);
    // Audit trail: who, what.
    let (_, audit) = admin.get(&app, "/api/v1/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for a in ["category.create", "category.update", "category.delete"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["actor"] == ADMIN || a["actor"] == "system")
    );
    // An operator reads categories but may not change configuration.
    let op = make_user(&app, &admin, "op@prosa.test", "agent").await;
    assert_eq!(op.get(&app, "/api/v1/categories").await.0, 200);
    for (m, path) in [
        (reqwest::Method::POST, "/api/v1/categories"),
        (reqwest::Method::POST, "/api/v1/rating-rules"),
        (reqwest::Method::GET, "/api/v1/rating-rules"),
        (reqwest::Method::POST, "/api/v1/service-hours/rules"),
        (reqwest::Method::POST, "/api/v1/canned-responses"),
        (reqwest::Method::PUT, "/api/v1/service-hours/settings"),
        (reqwest::Method::GET, "/api/v1/ratings"),
    ] {
        let (s, _) = op.send(m.clone(), &app, path, Some(json!({}))).await;
        assert_eq!(s, 403, "{m} {path}");
    }
    // Pages: 403 page for an operator.
    let r = op
        .http
        .get(format!("{}/admin/categories", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Acesso negado"));
    app.running.stop().await.unwrap();
}

#[tokio::test]
async fn rating_rules_and_canned_validation() {
    let app = start().await;
    let admin = login(&app, ADMIN, PASSWORD).await;
    let (s, e) = admin
        .post(
            &app,
            "/api/v1/rating-rules",
            json!({"description": "", "scores": [0], "operators": [admin.id]}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("description")));
    assert_eq!(
        e["message"],
        prosa_rules::validation::msg::DESCRIPTION_REQUIRED
    );
    let (s, e) = admin
        .post(
            &app,
            "/api/v1/rating-rules",
            json!({"description": "X", "scores": [], "operators": [admin.id]}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("scores")));
    let (s, e) = admin
        .post(
            &app,
            "/api/v1/rating-rules",
            json!({"description": "X", "scores": [11], "operators": [admin.id]}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("scores[0]")));
    let (s, e) = admin
        .post(
            &app,
            "/api/v1/rating-rules",
            json!({"description": "X", "scores": [1], "operators": []}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("operators")));
    assert_eq!(e["message"], "informe ao menos um operador");
    let (s, e) = admin
        .post(
            &app,
            "/api/v1/rating-rules",
            json!({"description": "X", "scores": [1], "operators": ["999"]}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("operators[0]")));
    let (s, r) = admin
        .post(
            &app,
            "/api/v1/rating-rules",
            json!({"description": "Elogio", "scores": [10, 9, 10], "operators": [admin.id]}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["scores"], json!([9, 10]));
    let id = r["id"].as_str().unwrap();
    let (s, r) = admin
        .put(&app, &format!("/api/v1/rating-rules/{id}"), json!({"description": "Promotores", "scores": [9, 10], "operators": [admin.id], "active": false}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["active"], false);
    // Canned responses: shortcut unique.
    let (s, _) = admin
        .post(
            &app,
            "/api/v1/canned-responses",
            json!({"shortcut": "boleto", "content": "Segue a 2ª via."}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, e) = admin
        .post(
            &app,
            "/api/v1/canned-responses",
            json!({"shortcut": "boleto", "content": "Outro"}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("shortcut")));
    let (s, e) = admin
        .post(
            &app,
            "/api/v1/canned-responses",
            json!({"shortcut": "x", "content": ""}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("content")));
    // Service hours validation.
    let (s, e) = admin
        .post(&app, "/api/v1/service-hours/rules", json!({"description": "Atendimento", "weekdays": ["mon"], "intervals": [{"start": "25:00", "end": "18:00"}]}))
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("intervals[0].start")));
    assert_eq!(e["message"], prosa_rules::validation::msg::TIME_INVALID);
    let (s, e) = admin
        .post(&app, "/api/v1/service-hours/rules", json!({"description": "Atendimento", "weekdays": [], "intervals": [{"start": "08:00", "end": "18:00"}]}))
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("weekdays")));
    let (s, e) = admin
        .put(
            &app,
            "/api/v1/service-hours/settings",
            json!({"time_zone": "Marte/Olimpo", "national_holidays": true}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("time_zone")));
    let (s, _) = admin
        .post(
            &app,
            "/api/v1/service-hours/closed-dates",
            json!({"date": "2026-12-24"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, e) = admin
        .post(
            &app,
            "/api/v1/service-hours/closed-dates",
            json!({"date": "2026-12-24", "description": "Véspera"}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("date")));
    let (_, sh) = admin.get(&app, "/api/v1/service-hours").await;
    assert_eq!(sh["closed_dates"][0]["description"], Value::Null);
    // The OpenAPI document lists the new paths.
    let (_, doc) = admin.get(&app, "/api/v1/openapi.json").await;
    for p in [
        "/api/v1/categories",
        "/api/v1/rating-rules",
        "/api/v1/service-hours/status",
        "/api/v1/notifications/{id}/treat",
        "/api/v1/ratings",
        "/api/v1/canned-responses",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p}");
    }
    app.running.stop().await.unwrap();
}

#[tokio::test]
async fn service_hours_status() {
    let app = start().await;
    let admin = login(&app, ADMIN, PASSWORD).await;
    let inbox = app.inbox;
    // Nothing configured: always open.
    let (s, st) = admin
        .get(
            &app,
            &format!("/api/v1/service-hours/status?inbox_id={}", inbox.0),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(st, json!({"open": true, "next_opening": null}));
    let (s, r) = admin
        .post(&app, "/api/v1/service-hours/rules", json!({"description": "Atendimento", "weekdays": ["mon", "tue", "wed", "thu", "fri"], "intervals": [{"start": "08:00", "end": "18:00"}]}))
        .await;
    assert_eq!(s, 201, "{r}");
    let schedule = admin::load_schedule(&app.running.state).await.unwrap();
    // Saturday 2026-03-07 10:00 in São Paulo: closed, opens Monday.
    let sat: jiff::Timestamp = "2026-03-07T13:00:00Z".parse().unwrap();
    assert_eq!(
        admin::schedule_status(&schedule, inbox, sat),
        (false, Some("segunda-feira às 08:00".into()))
    );
    // Wednesday 2026-03-04 10:00: open.
    let wed: jiff::Timestamp = "2026-03-04T13:00:00Z".parse().unwrap();
    assert_eq!(admin::schedule_status(&schedule, inbox, wed), (true, None));
    // The endpoint agrees with the library at the wall clock.
    let (_, st) = admin
        .get(
            &app,
            &format!("/api/v1/service-hours/status?inbox_id={}", inbox.0),
        )
        .await;
    let expected = admin::schedule_status(&schedule, inbox, jiff::Timestamp::now());
    assert_eq!(st["open"], expected.0);
    assert_eq!(
        admin::queue_status(&app.running.state, inbox).await.0,
        expected.0
    );
    let (s, e) = admin
        .get(&app, "/api/v1/service-hours/status?inbox_id=x")
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("inbox_id")));
    app.running.stop().await.unwrap();
}

async fn ws_connect(
    app: &App,
    p: &Person,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{}/api/v1/ws", app.running.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("cookie", p.cookie.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    // Wait for hello.
    loop {
        let m = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if m.to_text().unwrap_or("").contains("\"hello\"") {
            break;
        }
    }
    ws
}

async fn frames_until<S>(ws: &mut S, deadline: Duration, want: &str) -> Vec<Value>
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    let mut out = Vec::new();
    let end = tokio::time::Instant::now() + deadline;
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(end, ws.next()).await {
        if let Ok(t) = m.to_text()
            && let Ok(v) = serde_json::from_str::<Value>(t)
        {
            let done = v["type"] == want;
            out.push(v);
            if done {
                break;
            }
        }
    }
    out
}

#[tokio::test]
async fn insatisfacao_journey() {
    let app = start().await;
    let admin = login(&app, ADMIN, PASSWORD).await;
    let ana = make_user(&app, &admin, "ana@prosa.test", "agent").await;
    let bia = make_user(&app, &admin, "bia@prosa.test", "agent").await;
    let (s, rule) = admin
        .post(
            &app,
            "/api/v1/rating-rules",
            json!({"description": "INSATISFAÇÃO", "scores": [0, 1], "operators": [ana.id]}),
        )
        .await;
    assert_eq!(s, 201, "{rule}");
    let conv = app.convs[0];
    let mut ws_ana = ws_connect(&app, &ana).await;
    let mut ws_bia = ws_connect(&app, &bia).await;

    admin::record_rating(&app.running.state, conv, 1, Some("demorou".into()))
        .await
        .unwrap();

    let frames = frames_until(&mut ws_ana, Duration::from_secs(10), "notification_created").await;
    let n = frames
        .iter()
        .find(|f| f["type"] == "notification_created")
        .expect("ana's panel gets notification_created");
    let nid = n["notification_id"].as_str().unwrap().to_owned();
    let frames = frames_until(
        &mut ws_bia,
        Duration::from_millis(800),
        "notification_created",
    )
    .await;
    assert!(
        frames.iter().all(|f| f["type"] != "notification_created"),
        "bia must not get it: {frames:?}"
    );

    let (s, list) = ana.get(&app, "/api/v1/notifications").await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], nid.as_str());
    assert_eq!(list[0]["description"], "INSATISFAÇÃO");
    assert_eq!(list[0]["score"], 1);
    assert_eq!(list[0]["conversation_id"], conv.0.to_string());
    assert_eq!(bia.get(&app, "/api/v1/notifications").await.1, json!([]));
    assert_eq!(
        ana.get(&app, "/api/v1/notifications/unread-count").await.1["count"],
        1
    );

    // Editing the rule never rewrites the notification.
    let rid = rule["id"].as_str().unwrap();
    let (s, _) = admin
        .put(
            &app,
            &format!("/api/v1/rating-rules/{rid}"),
            json!({"description": "Detratores", "scores": [0, 1, 2], "operators": [ana.id]}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        ana.get(&app, "/api/v1/notifications").await.1[0]["description"],
        "INSATISFAÇÃO"
    );

    // The ratings list (supervisor view) with filters.
    let (_, rated) = admin
        .get(
            &app,
            "/api/v1/ratings?min_score=0&max_score=2&treated=false",
        )
        .await;
    assert_eq!(rated.as_array().unwrap().len(), 1, "{rated}");
    assert_eq!(rated[0]["untreated"], 1);
    assert_eq!(
        admin
            .get(&app, &format!("/api/v1/ratings?rule_id={rid}"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        admin.get(&app, "/api/v1/ratings?min_score=5").await.1,
        json!([])
    );
    assert_eq!(
        admin
            .get(&app, "/api/v1/ratings?from=2000-01-01&to=2000-01-02")
            .await
            .1,
        json!([])
    );
    let (s, e) = admin.get(&app, "/api/v1/ratings?min_score=12").await;
    assert_eq!((s, e["field"].as_str()), (422, Some("min_score")));

    // Bia cannot treat Ana's notification; Ana needs a note; then treats it.
    let (s, _) = bia
        .post(
            &app,
            &format!("/api/v1/notifications/{nid}/treat"),
            json!({"note": "x"}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, e) = ana
        .post(
            &app,
            &format!("/api/v1/notifications/{nid}/treat"),
            json!({"note": " "}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("note")));
    let (s, _) = ana
        .post(
            &app,
            &format!("/api/v1/notifications/{nid}/treat"),
            json!({"note": "Técnico visitou; cabo trocado."}),
        )
        .await;
    assert_eq!(s, 204);
    let (_, list) = ana.get(&app, "/api/v1/notifications?treated=true").await;
    assert_eq!(list[0]["treatment_note"], "Técnico visitou; cabo trocado.");
    assert_eq!(
        ana.get(&app, "/api/v1/notifications/unread-count").await.1["count"],
        0
    );
    let (_, audit) = admin.get(&app, "/api/v1/audit").await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "notification.treat" && a["actor"] == "ana@prosa.test")
    );

    // The rated-conversations page shows it to Ana, with the conversation read-only.
    let page = ana
        .http
        .get(format!("{}/ratings", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("INSATISFAÇÃO"), "{page}");
    let page = ana
        .http
        .get(format!("{}/ratings/{nid}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Minha internet caiu"));
    assert!(page.contains("cabo trocado"));
    let r = bia
        .http
        .get(format!("{}/ratings/{nid}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.running.stop().await.unwrap();
}

#[tokio::test]
async fn rating_answer_hook() {
    let app = start().await;
    let admin = login(&app, ADMIN, PASSWORD).await;
    let conv = app.convs[0];
    let state = &app.running.state;
    let text = |t: &str| MessageContent {
        text: Some(t.into()),
        ..MessageContent::default()
    };
    // No request pending: not a rating answer.
    assert!(
        !admin::maybe_rating_answer(state, conv, &text("10"))
            .await
            .unwrap()
    );
    admin::request_rating(state, conv).await.unwrap();
    // Something else: one polite re-ask.
    assert!(
        admin::maybe_rating_answer(state, conv, &text("quero falar com alguém"))
            .await
            .unwrap()
    );
    let msgs = state
        .store
        .list_messages(conv, None, None, 50)
        .await
        .unwrap();
    assert_eq!(
        msgs.last().unwrap().content.text.as_deref(),
        Some(admin::RATING_REASK)
    );
    // Then the score.
    assert!(
        admin::maybe_rating_answer(state, conv, &text("nota 9"))
            .await
            .unwrap()
    );
    let (_, rated) = admin.get(&app, "/api/v1/ratings").await;
    assert_eq!(rated[0]["score"], 9);
    // Answered: later messages are not read as scores.
    assert!(
        !admin::maybe_rating_answer(state, conv, &text("8"))
            .await
            .unwrap()
    );

    // Two misses stop asking.
    let conv2 = app.convs[1];
    admin::request_rating(state, conv2).await.unwrap();
    assert!(
        admin::maybe_rating_answer(state, conv2, &text("hã?"))
            .await
            .unwrap()
    );
    assert!(
        !admin::maybe_rating_answer(state, conv2, &text("não sei"))
            .await
            .unwrap()
    );
    assert!(
        !admin::maybe_rating_answer(state, conv2, &text("5"))
            .await
            .unwrap()
    );
    app.running.stop().await.unwrap();
}

#[tokio::test]
async fn pages_escape_and_forms() {
    let app = start().await;
    let admin = login(&app, ADMIN, PASSWORD).await;
    let xss = "<script>alert('x')</script>";
    let (s, _) = admin
        .post(&app, "/api/v1/categories", json!({"name": xss}))
        .await;
    assert_eq!(s, 201);
    let page = admin
        .http
        .get(format!("{}/admin/categories", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(xss), "raw payload on the page");
    assert!(
        page.contains("&lt;script&gt;alert('x')&lt;/script&gt;")
            || page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        "escaped payload"
    );
    // Every admin page renders for an administrator.
    for p in [
        "/admin",
        "/admin/users",
        "/admin/teams",
        "/admin/rating-rules",
        "/admin/service-hours",
        "/admin/canned-responses",
        "/admin/audit",
        "/ratings",
    ] {
        let r = admin
            .http
            .get(format!("{}{p}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{p}");
    }
    // A form post without the CSRF token is refused; with it, a validation error shows next to
    // the field in pt-BR.
    let r = admin
        .http
        .post(format!("{}/admin/categories", app.base))
        .form(&[("name", "Sem token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = admin
        .http
        .post(format!("{}/admin/rating-rules", app.base))
        .form(&[
            ("csrf_token", admin.csrf.as_str()),
            ("description", "Insatisfação"),
            ("scores", "0"),
        ])
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(body.contains("informe ao menos um operador"), "{body}");
    let r = admin
        .http
        .post(format!("{}/admin/rating-rules", app.base))
        .form(&[
            ("csrf_token", admin.csrf.as_str()),
            ("description", "Insatisfação"),
            ("scores", "0"),
            ("scores", "1"),
            ("operators", admin.id.as_str()),
            ("active", "true"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = admin
        .http
        .get(format!("{}/admin/rating-rules", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Insatisfação") && page.contains("0, 1"));
    app.running.stop().await.unwrap();
}

/// Close → the subscriber answers "1" through the channel → the inbound worker appends it to
/// the resolved conversation (no new conversation), records the score, and the INSATISFAÇÃO
/// rule (scores 0 and 1) notifies its operator.
#[tokio::test]
async fn rating_answer_through_inbound_worker() {
    let app = start().await;
    let admin = login(&app, ADMIN, PASSWORD).await;
    let ana = make_user(&app, &admin, "ana@prosa.test", "agent").await;
    let (s, rule) = admin
        .post(
            &app,
            "/api/v1/rating-rules",
            json!({"description": "INSATISFAÇÃO", "scores": [0, 1], "operators": [ana.id]}),
        )
        .await;
    assert_eq!(s, 201, "{rule}");
    let conv = app.convs[0];
    let (_, cats) = admin.get(&app, "/api/v1/categories").await;
    let cat = cats[0]["id"].as_str().unwrap().to_owned();
    let (s, closed) = admin
        .post(
            &app,
            &format!("/api/v1/conversations/{}/close", conv.0),
            json!({"category_id": cat}),
        )
        .await;
    assert_eq!(s, 200, "{closed}");
    let store = &app.running.state.store;
    let before = store
        .list_messages(conv, None, None, 100)
        .await
        .unwrap()
        .len();

    let item = prosa_channel::InboundItem::Message(prosa_channel::InboundMessage {
        provider_message_id: "answer-1".into(),
        from: prosa_channel::ExternalContact {
            external_id: "5511999990000".into(),
            name: None,
            phone: None,
            meta: None,
        },
        content: MessageContent::text("1"),
        sent_at: None,
    });
    let item = serde_json::to_string(&item).unwrap();
    store
        .store_inbound(
            app.inbox,
            &[NewInbound {
                dedupe_key: "answer-1",
                item: &item,
                raw: "{}",
            }],
        )
        .await
        .unwrap();
    store.signals.inbound.notify_one();

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let list = loop {
        let (s, list) = ana.get(&app, "/api/v1/notifications").await;
        assert_eq!(s, 200);
        if !list.as_array().unwrap().is_empty() {
            break list;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no notification for ana"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["description"], "INSATISFAÇÃO");
    assert_eq!(list[0]["score"], 1);
    assert_eq!(list[0]["conversation_id"], conv.0.to_string());
    // The answer joined the resolved conversation; no new conversation was opened.
    let c = store.conversation_by_id(conv).await.unwrap();
    assert_eq!(c.status, ConversationStatus::Resolved);
    let after = store.list_messages(conv, None, None, 100).await.unwrap();
    assert_eq!(after.len(), before + 1);
    let (_, convs) = admin.get(&app, "/api/v1/conversations").await;
    let open: Vec<&Value> = convs
        .as_array()
        .or_else(|| convs["items"].as_array())
        .map(|a| a.iter().filter(|c| c["status"] != "resolved").collect())
        .unwrap_or_default();
    assert_eq!(
        open.len(),
        1,
        "only the other seeded conversation is open: {convs}"
    );
    let (_, rated) = admin.get(&app, "/api/v1/ratings").await;
    assert_eq!(rated.as_array().unwrap().len(), 1, "{rated}");
    app.running.stop().await.unwrap();
}

async fn page_text(p: &Person, app: &App, path: &str) -> (u16, String) {
    let r = p
        .http
        .get(format!("{}{}", app.base, path))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn form_post(p: &Person, app: &App, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let mut body: Vec<(&str, &str)> = vec![("csrf_token", p.csrf.as_str())];
    body.extend_from_slice(fields);
    let r = p
        .http
        .post(format!("{}{}", app.base, path))
        .form(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn users_teams_and_category_order() {
    let app = start().await;
    let admin = login(&app, ADMIN, PASSWORD).await;
    let ana = make_user(&app, &admin, "ana@prosa.test", "agent").await;
    let (_, suporte) = admin
        .post(&app, "/api/v1/teams", json!({"name": "Suporte"}))
        .await;
    let (_, fin) = admin
        .post(&app, "/api/v1/teams", json!({"name": "Financeiro"}))
        .await;
    let (suporte, fin) = (suporte["id"].as_str().unwrap(), fin["id"].as_str().unwrap());

    // Role and teams through the API; every problem is a pt-BR message naming the field.
    let path = format!("/api/v1/users/{}", ana.id);
    let (s, u) = admin
        .put(
            &app,
            &path,
            json!({"role": "supervisor", "team_ids": [suporte, fin], "name": " Ana Lima "}),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(
        (u["role"].as_str(), u["name"].as_str()),
        (Some("supervisor"), Some("Ana Lima"))
    );
    assert_eq!(u["team_ids"].as_array().unwrap().len(), 2);
    for (body, field, message) in [
        (json!({"role": "chefe"}), "role", "papel inválido"),
        (json!({"name": "  "}), "name", "nome é obrigatório"),
        (
            json!({"team_ids": ["999"]}),
            "team_ids[0]",
            "equipe desconhecida",
        ),
    ] {
        let (s, e) = admin.put(&app, &path, body).await;
        assert_eq!(
            (s, e["field"].as_str(), e["message"].as_str()),
            (422, Some(field), Some(message))
        );
    }
    let (s, _) = admin.put(&app, "/api/v1/users/9999", json!({})).await;
    assert_eq!(s, 404);
    // An operator may not change users; an administrator may not demote or deactivate themself.
    assert_eq!(ana.put(&app, &path, json!({"role": "admin"})).await.0, 403);
    let me = format!("/api/v1/users/{}", admin.id);
    let (s, e) = admin.put(&app, &me, json!({"role": "agent"})).await;
    assert_eq!((s, e["field"].as_str()), (422, Some("role")));
    let (s, e) = admin.put(&app, &me, json!({"active": false})).await;
    assert_eq!((s, e["field"].as_str()), (422, Some("active")));
    // Deactivating ends the user's sessions.
    let (s, u) = admin
        .put(&app, &path, json!({"active": false, "team_ids": []}))
        .await;
    assert_eq!((s, u["active"].as_bool()), (200, Some(false)));
    assert_eq!(ana.get(&app, "/api/v1/users/me").await.0, 401);

    // The page: edit form, errors next to the field, then saved.
    let (s, page) = page_text(&admin, &app, &format!("/admin/users?edit={}", ana.id)).await;
    assert_eq!(s, 200);
    assert!(page.contains("Editar Ana Lima"), "{page}");
    let form = format!("/admin/users/{}", ana.id);
    let (s, page) = form_post(&admin, &app, &form, &[("name", ""), ("role", "agent")]).await;
    assert_eq!(s, 200);
    assert!(
        page.contains(r#"id="err-name""#) && page.contains("nome é obrigatório"),
        "{page}"
    );
    let (s, _) = form_post(
        &admin,
        &app,
        &form,
        &[
            ("name", "<b>Ana</b>"),
            ("role", "agent"),
            ("team_id", fin),
            ("active", "true"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    let (_, page) = page_text(&admin, &app, "/admin/users").await;
    assert!(page.contains("&lt;b&gt;Ana&lt;/b&gt;") && !page.contains("<b>Ana</b>"));
    let (_, users) = admin.get(&app, "/api/v1/users").await;
    let a = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == ana.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (a["role"].as_str(), a["active"].as_bool()),
        (Some("agent"), Some(true))
    );
    assert_eq!(a["team_ids"], json!([fin]));

    // Teams: rename through the API and the page; a taken name is refused next to the field.
    let (s, t) = admin
        .put(
            &app,
            &format!("/api/v1/teams/{fin}"),
            json!({"name": "Cobrança"}),
        )
        .await;
    assert_eq!((s, t["name"].as_str()), (200, Some("Cobrança")));
    let (s, e) = admin
        .put(
            &app,
            &format!("/api/v1/teams/{fin}"),
            json!({"name": "Suporte"}),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("name")));
    let (s, page) = form_post(
        &admin,
        &app,
        &format!("/admin/teams/{suporte}"),
        &[("name", "Cobrança")],
    )
    .await;
    assert_eq!(s, 200);
    assert!(page.contains("já existe uma equipe com este nome"));
    let (s, _) = form_post(
        &admin,
        &app,
        &format!("/admin/teams/{suporte}"),
        &[("name", "Suporte N2")],
    )
    .await;
    assert_eq!(s, 303);
    let (_, teams) = admin.get(&app, "/api/v1/teams").await;
    let names: Vec<&str> = teams
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Cobrança", "Suporte N2"]);

    // Categories: a whole order through the API, one step up through the page.
    let mut ids = Vec::new();
    for name in ["A", "B", "C"] {
        let (s, c) = admin
            .post(&app, "/api/v1/categories", json!({"name": name}))
            .await;
        assert_eq!(s, 201);
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    let (s, list) = admin
        .put(
            &app,
            "/api/v1/categories/order",
            json!({"ids": [ids[2], ids[0]]}),
        )
        .await;
    assert_eq!(s, 200, "{list}");
    let order = |l: &Value| -> Vec<String> {
        l.as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(&order(&list)[..2], ["C", "A"]);
    let (s, e) = admin
        .put(
            &app,
            "/api/v1/categories/order",
            json!({"ids": [ids[0], ids[0]]}),
        )
        .await;
    assert_eq!(
        (s, e["field"].as_str(), e["message"].as_str()),
        (422, Some("ids[1]"), Some("categoria repetida"))
    );
    let (s, e) = admin
        .put(&app, "/api/v1/categories/order", json!({"ids": ["77777"]}))
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("ids[0]")));
    let (s, _) = form_post(
        &admin,
        &app,
        &format!("/admin/categories/{}", ids[0]),
        &[("name", "A"), ("position", "2"), ("op", "up")],
    )
    .await;
    assert_eq!(s, 303);
    let (_, list) = admin
        .get(&app, "/api/v1/categories?include_inactive=true")
        .await;
    let got = order(&list);
    assert_eq!(&got[..2], ["A", "C"], "{got:?}");
    // The first one cannot go further up: nothing changes.
    let (s, _) = form_post(
        &admin,
        &app,
        &format!("/admin/categories/{}", ids[0]),
        &[("name", "A"), ("position", "1"), ("op", "up")],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(
        order(
            &admin
                .get(&app, "/api/v1/categories?include_inactive=true")
                .await
                .1
        )[..2],
        ["A", "C"]
    );

    let (_, audit) = admin.get(&app, "/api/v1/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for a in ["user.update", "team.rename", "category.reorder"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let upd = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "user.update")
        .unwrap();
    assert!(upd["detail"]["previous"]["role"].is_string(), "{upd}");
    app.running.stop().await.unwrap();
}

#[tokio::test]
async fn overlapping_rules_and_who_sees_which_notifications() {
    let app = start().await;
    let admin = login(&app, ADMIN, PASSWORD).await;
    let ana = make_user(&app, &admin, "ana@prosa.test", "agent").await;
    let bia = make_user(&app, &admin, "bia@prosa.test", "agent").await;
    let sup = make_user(&app, &admin, "sup@prosa.test", "supervisor").await;
    for (d, scores, ops) in [
        ("INSATISFAÇÃO", json!([0, 1]), json!([ana.id])),
        (
            "Detratores",
            json!([0, 1, 2, 3, 4, 5, 6]),
            json!([ana.id, bia.id]),
        ),
        ("Promotores", json!([9, 10]), json!([bia.id])),
    ] {
        let (s, r) = admin
            .post(
                &app,
                "/api/v1/rating-rules",
                json!({"description": d, "scores": scores, "operators": ops}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
    }
    admin::record_rating(&app.running.state, app.convs[0], 1, None)
        .await
        .unwrap();
    // Both matching rules fire: Ana twice (one per rule), Bia once; "Promotores" does not.
    let descs = |v: &Value| -> Vec<String> {
        let mut d: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["description"].as_str().unwrap().to_owned())
            .collect();
        d.sort();
        d
    };
    assert_eq!(
        descs(&ana.get(&app, "/api/v1/notifications").await.1),
        ["Detratores", "INSATISFAÇÃO"]
    );
    assert_eq!(
        descs(&bia.get(&app, "/api/v1/notifications").await.1),
        ["Detratores"]
    );
    // Scope: a supervisor lists everyone's or one operator's; an operator only their own.
    assert_eq!(sup.get(&app, "/api/v1/notifications").await.1, json!([]));
    assert_eq!(
        sup.get(&app, "/api/v1/notifications?operator=all")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        descs(
            &sup.get(&app, &format!("/api/v1/notifications?operator={}", bia.id))
                .await
                .1
        ),
        ["Detratores"]
    );
    let (s, e) = ana.get(&app, "/api/v1/notifications?operator=all").await;
    assert_eq!((s, e["field"].as_str()), (422, Some("operator")));
    let (s, e) = sup.get(&app, "/api/v1/notifications?operator=x").await;
    assert_eq!((s, e["field"].as_str()), (422, Some("operator")));
    // The page: the supervisor's operator filter, names of who was notified.
    let (s, page) = page_text(&sup, &app, &format!("/ratings?operator={}", ana.id)).await;
    assert_eq!(s, 200);
    assert!(page.contains("Todos os operadores"), "{page}");
    assert_eq!(page.matches("class=\"rating-item").count(), 2, "{page}");
    let (_, page) = page_text(&sup, &app, "/ratings?operator=all").await;
    assert_eq!(page.matches("class=\"rating-item").count(), 3, "{page}");
    assert!(
        page.contains("para Op bia@prosa.test") && page.contains("para Op ana@prosa.test"),
        "{page}"
    );
    let (_, page) = page_text(&bia, &app, "/ratings").await;
    assert!(!page.contains("Todos os operadores"));
    assert_eq!(page.matches("class=\"rating-item").count(), 1);
    // Everyone's pages carry the notifications badge script and the "Avaliações" link.
    let (_, panel) = page_text(&bia, &app, "/panel").await;
    assert!(
        panel.contains("shell.js")
            && panel.contains(r#"href="/ratings""#)
            && panel.contains(r#"id="pn-hours""#)
    );
    app.running.stop().await.unwrap();
}

#[tokio::test]
async fn the_rules_clock_decides_service_hours() {
    // Saturday 2026-12-05 10:00 in São Paulo.
    let sat: jiff::Timestamp = "2026-12-05T13:00:00Z".parse().unwrap();
    let app = start_with(prosa_server::clock::Clock::starting_at(sat)).await;
    let admin = login(&app, ADMIN, PASSWORD).await;
    let now = app.running.state.clock.now();
    assert!(now >= sat && now < sat + jiff::SignedDuration::from_mins(5));
    let (_, q) = admin.get(&app, "/api/v1/service-hours/queue").await;
    assert_eq!(q["open"], true, "no rules: always open; {q}");
    let (s, r) = admin
        .post(&app, "/api/v1/service-hours/rules", json!({"description": "Atendimento", "weekdays": ["mon", "tue", "wed", "thu", "fri"], "intervals": [{"start": "08:00", "end": "18:00"}]}))
        .await;
    assert_eq!(s, 201, "{r}");
    let inbox = app.inbox.0;
    let (_, st) = admin
        .get(
            &app,
            &format!("/api/v1/service-hours/status?inbox_id={inbox}"),
        )
        .await;
    assert_eq!(
        st,
        json!({"open": false, "next_opening": "segunda-feira às 08:00"})
    );
    assert_eq!(
        admin::queue_status(&app.running.state, app.inbox).await,
        (false, Some("segunda-feira às 08:00".into()))
    );
    let (_, q) = admin.get(&app, "/api/v1/service-hours/queue").await;
    assert_eq!(q["open"], false);
    assert_eq!(q["inboxes"][0]["name"], "API");
    assert_eq!(q["inboxes"][0]["next_opening"], "segunda-feira às 08:00");
    assert!(
        q["now"].as_str().unwrap().starts_with("2026-12-05T13:"),
        "{q}"
    );
    let (_, page) = page_text(&admin, &app, "/admin/service-hours").await;
    assert!(
        page.contains("fechada") && page.contains("abre segunda-feira às 08:00"),
        "{page}"
    );
    // A rule for Saturdays (only this inbox) opens it.
    let (s, _) = admin
        .post(&app, "/api/v1/service-hours/rules", json!({"description": "Sábado", "weekdays": ["sat"], "intervals": [{"start": "09:00", "end": "12:00"}], "inbox_ids": [inbox.to_string()]}))
        .await;
    assert_eq!(s, 201);
    let (_, q) = admin.get(&app, "/api/v1/service-hours/queue").await;
    assert_eq!(
        (q["open"].as_bool(), q["inboxes"][0]["open"].as_bool()),
        (Some(true), Some(true))
    );
    app.running.stop().await.unwrap();
}

#[tokio::test]
async fn service_hours_and_canned_responses_are_edited_in_their_pages() {
    let app = start().await;
    let admin = login(&app, ADMIN, PASSWORD).await;
    let (s, r) = admin
        .post(&app, "/api/v1/service-hours/rules", json!({"description": "Atendimento", "weekdays": ["mon", "tue"], "intervals": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}]}))
        .await;
    assert_eq!(s, 201, "{r}");
    let id = r["id"].as_str().unwrap().to_owned();
    // The edit form comes filled with the rule.
    let (s, page) = page_text(&admin, &app, &format!("/admin/service-hours?edit={id}")).await;
    assert_eq!(s, 200);
    assert!(page.contains("Editar regra “Atendimento”"), "{page}");
    assert!(
        page.contains(r#"value="13:00""#)
            && page.contains(r#"action="/admin/service-hours/rules/"#)
    );
    // A bad time: the pt-BR message next to the field, what was typed kept.
    let form = format!("/admin/service-hours/rules/{id}");
    let (s, page) = form_post(
        &admin,
        &app,
        &form,
        &[
            ("description", "Atendimento"),
            ("weekdays", "mon"),
            ("start", "25:00"),
            ("end", "18:00"),
            ("active", "true"),
        ],
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        page.contains(r#"id="err-intervals[0].start""#)
            && page.contains(prosa_rules::validation::msg::TIME_INVALID),
        "{page}"
    );
    assert!(page.contains(r#"value="25:00""#));
    // Saved: across midnight, Saturday only, inactive.
    let (s, _) = form_post(
        &admin,
        &app,
        &form,
        &[
            ("description", "Plantão"),
            ("weekdays", "sat"),
            ("start", "22:00"),
            ("end", "02:00"),
            ("start", ""),
            ("end", ""),
        ],
    )
    .await;
    assert_eq!(s, 303);
    let (_, sh) = admin.get(&app, "/api/v1/service-hours").await;
    let rule = &sh["rules"][0];
    assert_eq!(
        sh["rules"].as_array().unwrap().len(),
        1,
        "edited, not added: {sh}"
    );
    assert_eq!(rule["description"], "Plantão");
    assert_eq!(rule["weekdays"], json!(["sat"]));
    assert_eq!(
        rule["intervals"],
        json!([{"start": "22:00", "end": "02:00"}])
    );
    assert_eq!(rule["active"], false);
    assert_eq!(
        form_post(
            &admin,
            &app,
            "/admin/service-hours/rules/987654",
            &[("description", "x")]
        )
        .await
        .0,
        404
    );

    // Canned responses: edit form filled, duplicate shortcut refused next to the field, saved.
    for (sc, text) in [("boleto", "Segue o boleto."), ("pix", "Segue o Pix.")] {
        let (s, _) = admin
            .post(
                &app,
                "/api/v1/canned-responses",
                json!({"shortcut": sc, "content": text}),
            )
            .await;
        assert_eq!(s, 201);
    }
    let (_, list) = admin.get(&app, "/api/v1/canned-responses").await;
    let pix = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["shortcut"] == "pix")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, page) = page_text(&admin, &app, &format!("/admin/canned-responses?edit={pix}")).await;
    assert!(
        page.contains("Editar /pix") && page.contains("Segue o Pix."),
        "{page}"
    );
    let form = format!("/admin/canned-responses/{pix}");
    let (s, page) = form_post(
        &admin,
        &app,
        &form,
        &[("shortcut", "boleto"), ("content", "x")],
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        page.contains(r#"id="err-shortcut""#)
            && page.contains("já existe uma resposta com este atalho")
    );
    let (s, _) = form_post(
        &admin,
        &app,
        &form,
        &[("shortcut", "pix"), ("content", "Chave Pix: <b>cnpj</b>")],
    )
    .await;
    assert_eq!(s, 303);
    let (_, page) = page_text(&admin, &app, "/admin/canned-responses").await;
    assert!(page.contains("Chave Pix: &lt;b&gt;cnpj&lt;/b&gt;"));
    let (_, audit) = admin.get(&app, "/api/v1/audit").await;
    let n = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "service_hours.save" || a["action"] == "canned_response.save")
        .count();
    assert!(n >= 5, "{audit}");
    app.running.stop().await.unwrap();
}
