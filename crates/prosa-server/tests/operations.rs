//! Operations through the real server: API token listing and revocation, login throttling
//! (shared by instances on PostgreSQL), pruning of the event log, and the group-committed
//! ingest under concurrent deliveries. SQLite always; PostgreSQL when PROSA_TEST_POSTGRES_URL is
//! set.

mod support;

use serde_json::{Value, json};
use support::*;

async fn backends() -> Vec<String> {
    let mut v = vec![fresh_url(false).await.unwrap()];
    if let Some(pg) = fresh_url(true).await {
        v.push(pg);
    }
    v
}

/// Logs in through the API; returns the status and the session cookie, if any.
async fn login(
    app: &App,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> (u16, Option<String>, Option<String>, Value) {
    let mut req = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"email": email, "password": password}));
    if let Some(ip) = forwarded_for {
        req = req.header("x-forwarded-for", ip);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = r.json().await.unwrap_or(Value::Null);
    (status, cookie, retry, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_list_and_revoke() {
    for url in backends().await {
        let app = App::start(test_config(&url)).await;
        let r = app
            .post("/api/v1/tokens", json!({"name": "portal <b>"}))
            .await;
        assert_eq!(r.status(), 201);
        let created: Value = r.json().await.unwrap();
        let secret = created["token"].as_str().unwrap().to_owned();
        let id = created["id"].as_str().unwrap().to_owned();

        // The new token works, and its use is recorded.
        let me = app
            .client
            .get(app.url("/api/v1/users/me"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);

        let list = app.get("/api/v1/tokens").await;
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 2, "the test harness's token and the new one");
        let entry = list.iter().find(|t| t["id"] == id.as_str()).unwrap();
        assert_eq!(entry["name"], "portal <b>");
        assert_eq!(entry["revoked"], false);
        assert!(entry["created_at"].as_str().unwrap().ends_with('Z'));
        assert!(
            entry["last_used_at"].is_string(),
            "last use recorded: {entry}"
        );
        let text = serde_json::to_string(&list).unwrap();
        assert!(!text.contains(&secret), "the secret is never listed");
        assert!(entry.get("token").is_none() && entry.get("token_hash").is_none());

        // An operator may not list or revoke.
        app.post(
            "/api/v1/users",
            json!({"email": "op@test.local", "name": "Op", "role": "agent", "password": "op-password-1"}),
        )
        .await;
        let (status, cookie, _, _) = login(&app, "op@test.local", "op-password-1", None).await;
        assert_eq!(status, 200);
        let cookie = cookie.unwrap();
        let r = app
            .client
            .get(app.url("/api/v1/tokens"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);

        // Revoke: the next request with it is refused; the list shows it revoked; audited.
        let r = app
            .client
            .delete(app.url(&format!("/api/v1/tokens/{id}")))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let me = app
            .client
            .get(app.url("/api/v1/users/me"))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 401);
        let list = app.get("/api/v1/tokens").await;
        let entry = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id.as_str())
            .unwrap()
            .clone();
        assert_eq!(entry["revoked"], true);
        // Again: harmless, not audited twice. Unknown id: 404.
        let again = app
            .client
            .delete(app.url(&format!("/api/v1/tokens/{id}")))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 204);
        let missing = app
            .client
            .delete(app.url("/api/v1/tokens/999999"))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        let audit = app.get("/api/v1/audit").await;
        let revokes: Vec<&Value> = audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == "token.revoke")
            .collect();
        assert_eq!(revokes.len(), 1, "{audit}");
        assert_eq!(revokes[0]["target"], format!("token:{id}"));
        assert_eq!(revokes[0]["actor"], "token:tests");

        // In the OpenAPI document.
        let doc = app.get("/api/v1/openapi.json").await;
        assert!(doc["paths"]["/api/v1/tokens"]["get"].is_object());
        assert!(doc["paths"]["/api/v1/tokens/{id}"]["delete"].is_object());
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_throttled_per_email_and_per_address() {
    for url in backends().await {
        let mut config = test_config(&url);
        config.login_throttle.max_failures_per_email = 3;
        config.login_throttle.max_failures_per_ip = 5;
        let app = App::start(config.clone()).await;

        // Three failures for the administrator's e-mail, then refused even with the right
        // password, with a Retry-After within the window.
        for _ in 0..3 {
            let (status, ..) = login(&app, "admin@test.local", "wrong", Some("203.0.113.1")).await;
            assert_eq!(status, 401);
        }
        let (status, cookie, retry, body) = login(
            &app,
            "ADMIN@test.local",
            "admin-password",
            Some("203.0.113.2"),
        )
        .await;
        assert_eq!(status, 429, "{url}");
        assert!(cookie.is_none());
        let retry: u64 = retry.unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Muitas tentativas"),
            "{body}"
        );

        // The login page says so in Portuguese, with the status and Retry-After.
        let page = app
            .client
            .post(app.url("/login"))
            .form(&[
                ("email", "admin@test.local"),
                ("password", "admin-password"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 429);
        assert!(page.headers().get("retry-after").is_some());
        let html = page.text().await.unwrap();
        assert!(
            html.contains("Muitas tentativas de entrada sem sucesso"),
            "{html}"
        );
        assert!(html.contains("role=\"alert\""));

        // Another e-mail from another address is not affected.
        app.post(
            "/api/v1/users",
            json!({"email": "op@test.local", "name": "Op", "role": "agent", "password": "op-password-1"}),
        )
        .await;
        let (status, ..) = login(&app, "op@test.local", "op-password-1", Some("203.0.113.3")).await;
        assert_eq!(status, 200);

        // Per address: five failures over different e-mails from one address close it for
        // every e-mail, also a right password; other addresses still work.
        for n in 0..5 {
            let (status, ..) = login(
                &app,
                &format!("nobody{n}@test.local"),
                "x",
                Some("198.51.100.7"),
            )
            .await;
            assert_eq!(status, 401);
        }
        let (status, ..) =
            login(&app, "op@test.local", "op-password-1", Some("198.51.100.7")).await;
        assert_eq!(status, 429);
        let (status, ..) =
            login(&app, "op@test.local", "op-password-1", Some("198.51.100.8")).await;
        assert_eq!(status, 200);

        // A success forgets the e-mail's failures.
        for _ in 0..2 {
            login(&app, "op@test.local", "bad", Some("192.0.2.1")).await;
        }
        let (status, ..) = login(&app, "op@test.local", "op-password-1", Some("192.0.2.2")).await;
        assert_eq!(status, 200);
        for _ in 0..2 {
            let (status, ..) = login(&app, "op@test.local", "bad", Some("192.0.2.3")).await;
            assert_eq!(status, 401, "counted afresh");
        }

        // On PostgreSQL a second instance sees the same failures.
        if url.starts_with("postgres") {
            let mut second = config.clone();
            second.admin_email = None;
            second.admin_password = None;
            let other = App::start(second).await;
            let (status, ..) = login(
                &other,
                "admin@test.local",
                "admin-password",
                Some("203.0.113.9"),
            )
            .await;
            assert_eq!(status, 429, "shared across instances");
            other.stop().await;
        }
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_log_pruned_by_retention_behind_the_reader() {
    for url in backends().await {
        let mut config = test_config(&url);
        config.event_retention_days = 1;
        let app = App::start(config).await;
        let (_cb, cb_url) = Callback::start().await;
        let inbox = app.api_inbox("s", &cb_url).await;
        for n in 0..3 {
            let r = app
                .deliver(
                    &inbox,
                    "s",
                    &json!({"message_id": format!("m{n}"), "from": {"id": "c1"}, "text": "oi"}),
                )
                .await;
            assert_eq!(r.status(), 200);
        }
        eventually(10, "events read by the live reader", || async {
            let last = app.store().last_event_id().await.unwrap();
            (last.0 >= 4 && app.running.state.hub.cursor() == last).then_some(())
        })
        .await;
        let state = &app.running.state;
        // Now: nothing is older than a day.
        let now = jiff::Timestamp::now();
        assert_eq!(
            prosa_server::maintenance::prune_once(state, now)
                .await
                .unwrap(),
            0
        );
        let later = now + jiff::SignedDuration::from_hours(48);
        // However old, nothing beyond a reader's cursor goes.
        let first = app.store().first_event_id().await.unwrap();
        assert_eq!(
            app.store().prune_events_behind(later, first).await.unwrap(),
            1
        );
        let kept = app
            .store()
            .events_after(prosa_domain::EventId(0), 1000)
            .await
            .unwrap()
            .len();
        assert!(kept >= 3);
        // Two days later: everything the reader has passed goes.
        assert_eq!(
            prosa_server::maintenance::prune_once(state, later)
                .await
                .unwrap(),
            kept as u64
        );
        assert_eq!(app.store().first_event_id().await.unwrap().0, 0);
        assert_eq!(app.store().last_event_id().await.unwrap().0, 0);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_each_stored_once() {
    for url in backends().await {
        let app = std::sync::Arc::new(App::start(test_config(&url)).await);
        let (_cb, cb_url) = Callback::start().await;
        let inbox = app.api_inbox("s", &cb_url).await;
        // 300 concurrent deliveries of 100 messages (each three times) from 10 senders.
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..300 {
            let (app, inbox) = (app.clone(), inbox.clone());
            tasks.spawn(async move {
                let body = json!({"message_id": format!("m{}", n % 100), "from": {"id": format!("c{}", n % 10)}, "text": format!("texto {}", n % 100)});
                let r = app.deliver(&inbox, "s", &body).await;
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            });
        }
        while let Some(r) = tasks.join_next().await {
            let (status, body) = r.unwrap();
            assert_eq!(status, 200);
            assert_eq!(body, json!({"status": "accepted"}));
        }
        let convs = eventually(20, "all processed", || async {
            let pending = app.store().count_pending_inbound().await.unwrap();
            let v = app.get("/api/v1/conversations").await;
            (pending == 0 && v.as_array().unwrap().len() == 10).then_some(v)
        })
        .await;
        let mut total = 0;
        for c in convs.as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            let msgs = app
                .get(&format!("/api/v1/conversations/{id}/messages?limit=100"))
                .await;
            total += msgs.as_array().unwrap().len();
        }
        assert_eq!(total, 100, "each message once");
        let app = std::sync::Arc::into_inner(app).unwrap();
        app.stop().await;
    }
}
