//! The operator panel through the real server on loopback (SQLite): the queue, races, transfer,
//! close with category and rating request, role and team checks, private notes, and the
//! WebSocket's exactly-once delivery across a reconnection.

#![allow(clippy::field_reassign_with_default)]

use futures_util::StreamExt;
use prosa_server::config::Config;
use prosa_storage::{Store, StoreOptions};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ADMIN: &str = "admin@isp.test";
const PASSWORD: &str = "senha-forte-123";

struct App {
    base: String,
    addr: std::net::SocketAddr,
    http: reqwest::Client,
    token: String,
    _running: prosa_server::Running,
    _dir: tempdir_guard::Dir,
}

mod tempdir_guard {
    /// A temporary folder removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            let p = std::env::temp_dir().join(format!("prosa-panel-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A signed-in person: session cookie and CSRF token.
#[derive(Clone)]
struct Person {
    id: String,
    cookie: String,
    csrf: String,
}

async fn start() -> App {
    let dir = tempdir_guard::Dir::new();
    // `PROSA_TEST_PG=postgres://postgres@127.0.0.1:5432` runs the same tests on a fresh
    // PostgreSQL database each.
    let url = match std::env::var("PROSA_TEST_PG") {
        Ok(base) => {
            let name = format!("panel_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::PgPool::connect(&format!("{base}/postgres"))
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            format!("{base}/{name}")
        }
        Err(_) => format!("sqlite://{}/t.db", dir.0.display()),
    };
    let store = Store::open(&StoreOptions::new(url)).await.unwrap();
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        admin_email: Some(ADMIN.into()),
        admin_password: Some(SecretString::from(PASSWORD)),
        ..Config::default()
    };
    config.egress.allowed_private_hosts = vec!["127.0.0.1".into()];
    prosa_server::bootstrap_admin(&config, &store)
        .await
        .unwrap();
    let (token, _) = prosa_server::api::create_token(&store, "t", None)
        .await
        .unwrap();
    let running = prosa_server::start(config, store).await.unwrap();
    App {
        base: format!("http://{}", running.addr),
        addr: running.addr,
        http: reqwest::Client::new(),
        token,
        _running: running,
        _dir: dir,
    }
}

impl App {
    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn as_person(
        &self,
        who: &Person,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &who.cookie)
            .header("x-csrf-token", &who.csrf);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn user(&self, email: &str, role: &str, teams: &[&str]) -> Person {
        let (s, v) = self
            .admin(
                reqwest::Method::POST,
                "/api/v1/users",
                Some(json!({"email": email, "name": email, "role": role, "password": PASSWORD, "team_ids": teams})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        self.login(email).await
    }

    async fn login(&self, email: &str) -> Person {
        let resp = self
            .http
            .post(format!("{}/api/v1/session", self.base))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let cookie = resp
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let me: Value = self
            .http
            .get(format!("{}/api/v1/users/me", self.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Person {
            id: me["id"].as_str().unwrap().to_owned(),
            cookie,
            csrf: me["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn api_inbox(&self, callback: &str, team: Option<&str>) -> String {
        let (s, v) = self
            .admin(
                reqwest::Method::POST,
                "/api/v1/inboxes",
                Some(json!({"name": "Site", "channel": {"kind": "api", "secret": "s", "callback_url": callback}, "team_id": team})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    async fn inbound(&self, inbox: &str, message_id: &str, from: &str, text: &str) {
        let body = json!({"message_id": message_id, "from": {"id": from, "name": "Maria Assinante"}, "text": text}).to_string();
        let sig = prosa_channel::signature::hmac_sha256_hex(b"s", body.as_bytes());
        let resp = self
            .http
            .post(format!("{}/webhooks/api/{inbox}", self.base))
            .header("content-type", "application/json")
            .header("x-prosa-signature", format!("sha256={sig}"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
    }

    /// Polls the panel list until `pred` holds for a conversation; returns it.
    async fn wait_conversation(&self, who: &Person, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, list) = self
                .as_person(
                    who,
                    reqwest::Method::GET,
                    "/api/v1/panel/conversations",
                    None,
                )
                .await;
            if let Some(c) = list.as_array().unwrap().iter().find(|c| pred(c)) {
                return c.clone();
            }
            assert!(
                Instant::now() < deadline,
                "conversation never appeared: {list}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// A fake integration endpoint recording every callback body.
async fn fake_callback() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |body: axum::body::Bytes| {
            let s = s.clone();
            async move {
                s.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                axum::Json(json!({"ok": true}))
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}/cb"), seen)
}

use reqwest::Method as M;

#[tokio::test]
async fn queue_race_transfer_close_and_rating() {
    let app = start().await;
    let (cb, seen) = fake_callback().await;
    let inbox = app.api_inbox(&cb, None).await;
    let ana = app.user("ana@isp.test", "agent", &[]).await;
    let bia = app.user("bia@isp.test", "agent", &[]).await;

    app.inbound(&inbox, "m1", "c1", "minha internet caiu").await;
    let c = app
        .wait_conversation(&ana, |c| c["status"] == "waiting")
        .await;
    let cid = c["id"].as_str().unwrap().to_owned();
    assert_eq!(c["contact_name"], "Maria Assinante");

    // Two operators race for the next conversation: exactly one gets it.
    let (a, b) = tokio::join!(
        app.as_person(&ana, M::POST, "/api/v1/conversations/next", None),
        app.as_person(&bia, M::POST, "/api/v1/conversations/next", None)
    );
    let winners: Vec<_> = [&a, &b].into_iter().filter(|r| r.0 == 200).collect();
    assert_eq!(winners.len(), 1, "{a:?} {b:?}");
    assert!([a.0, b.0].contains(&204));
    let (owner, other) = if a.0 == 200 {
        (&ana, &bia)
    } else {
        (&bia, &ana)
    };
    assert_eq!(winners[0].1["assignee_id"], owner.id.as_str());
    // Taking it by hand now fails: it is no longer waiting (and the loser cannot see it).
    let (s, _) = app
        .as_person(
            other,
            M::POST,
            &format!("/api/v1/conversations/{cid}/take"),
            None,
        )
        .await;
    assert!(s == 404 || s == 409, "{s}");

    // The loser cannot write publicly nor close someone else's conversation.
    let (s, _) = app
        .as_person(
            other,
            M::POST,
            &format!("/api/v1/conversations/{cid}/close"),
            Some(json!({"category_id": "1"})),
        )
        .await;
    assert!(s == 403 || s == 404, "{s}");

    // A private note and a reply.
    let (s, note) = app
        .as_person(
            owner,
            M::POST,
            &format!("/api/v1/conversations/{cid}/messages"),
            Some(json!({"text": "NOTA-SECRETA cliente irritado", "private": true})),
        )
        .await;
    assert_eq!(s, 201, "{note}");
    let (s, _) = app
        .as_person(
            owner,
            M::POST,
            &format!("/api/v1/conversations/{cid}/messages"),
            Some(json!({"text": "Olá, vou verificar", "client_id": "k1"})),
        )
        .await;
    assert_eq!(s, 201);
    // The same client id again is not sent twice.
    let (s, _) = app
        .as_person(
            owner,
            M::POST,
            &format!("/api/v1/conversations/{cid}/messages"),
            Some(json!({"text": "Olá, vou verificar", "client_id": "k1"})),
        )
        .await;
    assert_eq!(s, 201);

    // Transfer to the other operator with a note (stored as a private message).
    let (s, v) = app
        .as_person(
            owner,
            M::POST,
            &format!("/api/v1/conversations/{cid}/transfer"),
            Some(json!({"user_id": other.id, "note": "TRANSF-NOTA assume por favor"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["assignee_id"], other.id.as_str());
    assert_eq!(v["status"], "open");
    let (s, msgs) = app
        .as_person(
            other,
            M::GET,
            &format!("/api/v1/conversations/{cid}/messages"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let transfer_note = msgs
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"].as_str().unwrap_or("").contains("TRANSF-NOTA"))
        .expect("transfer note stored");
    assert_eq!(transfer_note["private"], true);
    assert!(transfer_note["delivery_status"].is_null());

    // Return to the queue, take again by hand.
    let (s, v) = app
        .as_person(
            other,
            M::POST,
            &format!("/api/v1/conversations/{cid}/return"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "waiting");
    let (s, v) = app
        .as_person(
            other,
            M::POST,
            &format!("/api/v1/conversations/{cid}/take"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");

    // Closing requires a category.
    let (s, v) = app
        .as_person(
            other,
            M::POST,
            &format!("/api/v1/conversations/{cid}/close"),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(v["field"], "category_id");
    let (_, cats) = app
        .as_person(other, M::GET, "/api/v1/categories", None)
        .await;
    let names: Vec<&str> = cats
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Resolvido", "Não resolvido"]);
    let cat = cats[0]["id"].as_str().unwrap();
    let (s, v) = app
        .as_person(
            other,
            M::POST,
            &format!("/api/v1/conversations/{cid}/close"),
            Some(json!({"category_id": cat})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "resolved");
    assert_eq!(v["category_id"], cat);

    // The rating request goes out through the outbox with options 0–10.
    let (_, msgs) = app
        .admin(
            M::GET,
            &format!("/api/v1/conversations/{cid}/messages"),
            None,
        )
        .await;
    let rating = msgs
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"] == "De 0 a 10, qual nota você dá para este atendimento?")
        .expect("rating request");
    let ids: Vec<&str> = rating["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 11);
    assert_eq!(ids[0], "score:0");
    assert_eq!(ids[10], "score:10");
    assert_eq!(rating["private"], false);

    // Everything public reaches the callback, exactly the public messages; notes never do.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = seen.lock().unwrap().clone();
        let texts: Vec<String> = got
            .iter()
            .map(|b| b["text"].as_str().unwrap_or("").to_owned())
            .collect();
        if texts.iter().any(|t| t.starts_with("De 0 a 10")) {
            assert_eq!(
                texts.iter().filter(|t| *t == "Olá, vou verificar").count(),
                1,
                "{texts:?}"
            );
            assert!(!texts.iter().any(|t| t.contains("NOTA")), "{texts:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "callback never got the rating: {texts:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (_, outbox) = app.admin(M::GET, "/api/v1/outbox", None).await;
    let note_id = note["id"].as_str().unwrap().parse::<i64>().unwrap();
    assert!(
        !outbox["items"]
            .to_string()
            .contains(&format!("\"message_id\":{note_id},")),
        "{outbox}"
    );

    // Every action is in the audit trail.
    let (_, audit) = app.admin(M::GET, "/api/v1/audit", None).await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for a in [
        "conversation.take",
        "conversation.transfer",
        "conversation.return",
        "conversation.close",
    ] {
        assert!(actions.contains(&a), "{a} missing in {actions:?}");
    }
}

#[tokio::test]
async fn operators_see_only_their_teams_and_no_admin_endpoints() {
    let app = start().await;
    let (_, t1) = app
        .admin(
            M::POST,
            "/api/v1/teams",
            Some(json!({"name": "Financeiro"})),
        )
        .await;
    let (_, t2) = app
        .admin(M::POST, "/api/v1/teams", Some(json!({"name": "Suporte"})))
        .await;
    let t1 = t1["id"].as_str().unwrap().to_owned();
    let t2 = t2["id"].as_str().unwrap().to_owned();
    let inbox = app.api_inbox("http://127.0.0.1:1/cb", Some(&t2)).await;
    let fin = app.user("fin@isp.test", "agent", &[&t1]).await;
    let sup = app.user("sup@isp.test", "agent", &[&t2]).await;
    let boss = app.user("boss@isp.test", "supervisor", &[]).await;

    app.inbound(&inbox, "x1", "c9", "preciso de suporte").await;
    let c = app
        .wait_conversation(&sup, |c| c["status"] == "waiting")
        .await;
    let cid = c["id"].as_str().unwrap();
    assert_eq!(c["team_id"], t2.as_str());

    // The other team's operator: not in the list, 404 on every path, nothing to take.
    let (_, list) = app
        .as_person(&fin, M::GET, "/api/v1/panel/conversations", None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    for path in [
        format!("/api/v1/conversations/{cid}"),
        format!("/api/v1/conversations/{cid}/messages"),
        format!("/api/v1/conversations/{cid}/erp"),
    ] {
        let (s, _) = app.as_person(&fin, M::GET, &path, None).await;
        assert_eq!(s, 404, "{path}");
    }
    for path in ["take", "close", "return", "transfer"] {
        let (s, _) = app
            .as_person(
                &fin,
                M::POST,
                &format!("/api/v1/conversations/{cid}/{path}"),
                Some(json!({})),
            )
            .await;
        assert_eq!(s, 404, "{path}");
    }
    let (s, _) = app
        .as_person(&fin, M::POST, "/api/v1/conversations/next", None)
        .await;
    assert_eq!(s, 204);
    // Admin and supervisor endpoints.
    for (m, path, body) in [
        (M::GET, "/api/v1/audit", None),
        (
            M::POST,
            "/api/v1/users",
            Some(json!({"email": "x@y.z", "name": "x", "role": "admin", "password": "12345678"})),
        ),
        (
            M::POST,
            "/api/v1/inboxes",
            Some(json!({"name": "x", "channel": {"kind": "api", "secret": "s"}})),
        ),
        (M::POST, "/api/v1/categories", Some(json!({"name": "Nova"}))),
        (
            M::POST,
            &format!("/api/v1/conversations/{cid}/assign"),
            Some(json!({"user_id": fin.id})),
        ),
    ] {
        let (s, _) = app.as_person(&fin, m, path, body).await;
        assert_eq!(s, 403, "{path}");
    }
    // Without the CSRF header a cookie request is refused.
    let resp = app
        .http
        .post(format!("{}/api/v1/conversations/next", app.base))
        .header("cookie", &sup.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // The team's operator takes it; the supervisor reassigns it to the other operator.
    let (s, _) = app
        .as_person(&sup, M::POST, "/api/v1/conversations/next", None)
        .await;
    assert_eq!(s, 200);
    let (s, v) = app
        .as_person(
            &boss,
            M::POST,
            &format!("/api/v1/conversations/{cid}/assign"),
            Some(json!({"user_id": fin.id})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["assignee_id"], fin.id.as_str());
    // Presence: paused needs a reason; the supervisor sees presence and load.
    let (s, v) = app
        .as_person(
            &fin,
            M::PUT,
            "/api/v1/users/me/presence",
            Some(json!({"presence": "paused"})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(v["field"], "reason");
    let (s, _) = app
        .as_person(
            &fin,
            M::PUT,
            "/api/v1/users/me/presence",
            Some(json!({"presence": "paused", "reason": "Almoço"})),
        )
        .await;
    assert_eq!(s, 204);
    let (_, ops) = app
        .as_person(&boss, M::GET, "/api/v1/panel/operators", None)
        .await;
    let f = ops
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == fin.id.as_str())
        .unwrap();
    assert_eq!(f["presence"], "paused");
    assert_eq!(f["pause_reason"], "Almoço");
    assert_eq!(f["open_conversations"], 1);
    // Pages: signed out → login; an operator cannot open the supervision page.
    let noredirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = noredirect
        .get(format!("{}/panel", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/login");
    let r = noredirect
        .get(format!("{}/supervision", app.base))
        .header("cookie", &fin.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/panel");
    let r = noredirect
        .get(format!("{}/panel", app.base))
        .header("cookie", &fin.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(app: &App, who: &Person, since: Option<i64>) -> Ws {
    let url = match since {
        Some(s) => format!("ws://{}/api/v1/ws?since={s}", app.addr),
        None => format!("ws://{}/api/v1/ws", app.addr),
    };
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("cookie", who.cookie.parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws
}

/// Reads frames until `until` holds for one, returning every frame read.
async fn read_until(ws: &mut Ws, until: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut frames = vec![];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("frame in time")
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            let done = until(&v);
            frames.push(v);
            if done {
                return frames;
            }
        }
    }
}

fn message_frames<'a>(frames: &'a [Value], text: &str) -> Vec<&'a Value> {
    frames
        .iter()
        .filter(|f| f["type"] == "message_created" && f["message"]["text"] == text)
        .collect()
}

#[tokio::test]
async fn websocket_delivers_once_and_resumes_after_a_drop() {
    let app = start().await;
    let inbox = app.api_inbox("http://127.0.0.1:1/cb", None).await;
    let ana = app.user("ana@isp.test", "agent", &[]).await;

    let mut ws = ws_connect(&app, &ana, None).await;
    read_until(&mut ws, |f| f["type"] == "hello").await;
    app.inbound(&inbox, "w1", "c1", "primeira").await;
    app.inbound(&inbox, "w2", "c1", "segunda").await;
    let frames = read_until(&mut ws, |f| f["message"]["text"] == "segunda").await;
    assert_eq!(message_frames(&frames, "primeira").len(), 1, "{frames:?}");
    assert_eq!(message_frames(&frames, "segunda").len(), 1);
    let last = frames.last().unwrap()["id"].as_i64().unwrap();
    drop(ws);

    // While disconnected: a message arrives and the conversation changes hands.
    app.inbound(&inbox, "w3", "c1", "terceira").await;
    let c = app
        .wait_conversation(&ana, |c| c["status"] == "waiting")
        .await;
    // Wait until the third message is stored before reconnecting.
    let cid = c["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, msgs) = app
            .as_person(
                &ana,
                M::GET,
                &format!("/api/v1/conversations/{cid}/messages"),
                None,
            )
            .await;
        if msgs.to_string().contains("terceira") {
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (s, _) = app
        .as_person(&ana, M::POST, "/api/v1/conversations/next", None)
        .await;
    assert_eq!(s, 200);

    let mut ws = ws_connect(&app, &ana, Some(last)).await;
    let frames = read_until(&mut ws, |f| f["type"] == "hello").await;
    assert_eq!(message_frames(&frames, "terceira").len(), 1, "{frames:?}");
    assert!(message_frames(&frames, "primeira").is_empty());
    assert!(message_frames(&frames, "segunda").is_empty());
    assert!(frames.iter().any(|f| f["type"] == "conversation_updated"
        && f["conversation"]["assignee_id"] == ana.id.as_str()));
    // Ids strictly increase: nothing twice, in order.
    let ids: Vec<i64> = frames.iter().filter_map(|f| f["id"].as_i64()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert!(ids.iter().all(|i| *i > last));

    // Live again: an operator reply arrives once.
    app.as_person(
        &ana,
        M::POST,
        &format!("/api/v1/conversations/{cid}/messages"),
        Some(json!({"text": "resposta", "client_id": "r1"})),
    )
    .await;
    let frames = read_until(&mut ws, |f| f["message"]["text"] == "resposta").await;
    assert_eq!(message_frames(&frames, "resposta").len(), 1);
}

#[tokio::test]
async fn erp_column_and_second_copy() {
    let app = start().await;
    let (cb, seen) = fake_callback().await;
    let inbox = app.api_inbox(&cb, None).await;
    let ana = app.user("ana@isp.test", "agent", &[]).await;
    // The demo ERP knows this phone.
    let body = json!({"message_id": "e1", "from": {"id": "c1", "name": "Maria", "phone": "11987654321"}, "text": "boleto"}).to_string();
    let sig = prosa_channel::signature::hmac_sha256_hex(b"s", body.as_bytes());
    app.http
        .post(format!("{}/webhooks/api/{inbox}", app.base))
        .header("content-type", "application/json")
        .header("x-prosa-signature", format!("sha256={sig}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let c = app
        .wait_conversation(&ana, |c| c["status"] == "waiting")
        .await;
    let cid = c["id"].as_str().unwrap();
    let (s, erp) = app
        .as_person(
            &ana,
            M::GET,
            &format!("/api/v1/conversations/{cid}/erp"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(erp["available"], true, "{erp}");
    assert!(erp["subscriber"]["name"].is_string(), "{erp}");
    let inv = erp["invoices"][0]["id"]
        .as_str()
        .expect("an open invoice")
        .to_owned();
    // Only the owner acts: take it first.
    let (s, _) = app
        .as_person(
            &ana,
            M::POST,
            &format!("/api/v1/conversations/{cid}/erp/invoice"),
            Some(json!({"invoice_id": inv, "kind": "second_copy"})),
        )
        .await;
    assert_eq!(s, 403);
    app.as_person(&ana, M::POST, "/api/v1/conversations/next", None)
        .await;
    let (s, m) = app
        .as_person(
            &ana,
            M::POST,
            &format!("/api/v1/conversations/{cid}/erp/invoice"),
            Some(json!({"invoice_id": inv, "kind": "second_copy"})),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    assert!(
        m["text"].as_str().unwrap().starts_with("Segunda via"),
        "{m}"
    );
    let (s, v) = app
        .as_person(
            &ana,
            M::POST,
            &format!("/api/v1/conversations/{cid}/erp/invoice"),
            Some(json!({"invoice_id": "not-mine", "kind": "second_copy"})),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen
        .lock()
        .unwrap()
        .iter()
        .any(|b| b["text"].as_str().unwrap_or("").starts_with("Segunda via"))
    {
        assert!(
            Instant::now() < deadline,
            "second copy never reached the callback"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
