//! ERP connection administration (save, test, live swap, SSRF, secrets never shown, metrics)
//! against the fake MK and IXC servers, and the bot's texts, settings and inactivity timeout,
//! through the real server.

mod support;

use prosa_erp::Erp as _;
use prosa_erp::fake::ixc::{FAKE_IXC_TOKEN, FakeIxc};
use prosa_erp::fake::mk::{FAKE_MK_PASSWORD, FAKE_MK_USER_TOKEN, FakeMk};
use serde_json::{Value, json};
use support::*;

async fn put(app: &App, path: &str, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn bot_inbox(app: &App, cb_url: &str) -> String {
    let r = app
        .post("/api/v1/inboxes", json!({"name": "Portal", "bot_enabled": true, "channel": {"kind": "api", "secret": "k", "callback_url": cb_url}}))
        .await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn texts(cb: &Callback) -> String {
    cb.bodies()
        .iter()
        .map(|b| b["text"].as_str().unwrap_or("").to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn say(from: &str, phone: &str, id: &str, text: &str) -> Value {
    json!({"message_id": id, "from": {"id": from, "phone": phone}, "text": text})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mk_connection_is_tested_saved_and_used_by_the_bot_without_restart() {
    let mk = FakeMk::start().await;
    let url = fresh_url(false).await.unwrap();
    let app = App::start(test_config(&url)).await;

    let v = app.get("/api/v1/erp").await;
    assert_eq!(v["kind"], "demo");
    assert_eq!(v["source"], "config");

    let form = |token: &str| {
        json!({"kind": "mk", "base_url": mk.base_url(), "user_token": token,
               "password": FAKE_MK_PASSWORD, "timeout_ms": 3000, "allow_private": true})
    };
    // Test with the form's values, before saving.
    let r = app.post("/api/v1/erp/test", form(FAKE_MK_USER_TOKEN)).await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["ok"], true, "{t}");
    assert_eq!(t["outcome"], "ok");
    assert!(
        t["message"]
            .as_str()
            .unwrap()
            .contains("Conexão funcionando")
    );
    let r = app.post("/api/v1/erp/test", form("token-errado")).await;
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["ok"], false, "{t}");
    assert_eq!(t["outcome"], "unauthorized");
    assert!(
        t["message"].as_str().unwrap().contains("credenciais"),
        "{t}"
    );
    // Unreachable: nothing listens on that port.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut f = form(FAKE_MK_USER_TOKEN);
    f["base_url"] = json!(format!("http://127.0.0.1:{closed}"));
    let t: Value = app.post("/api/v1/erp/test", f).await.json().await.unwrap();
    assert_eq!(t["outcome"], "unreachable", "{t}");
    // Testing saved nothing.
    assert_eq!(app.get("/api/v1/erp").await["kind"], "demo");

    // A private address is refused unless allowed explicitly (SSRF).
    let mut f = form(FAKE_MK_USER_TOKEN);
    f["base_url"] = json!(mk.base_url().replace("127.0.0.1", "localhost"));
    f["allow_private"] = json!(false);
    let r = put(&app, "/api/v1/erp", f).await;
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["field"], "base_url");
    assert!(
        e["message"].as_str().unwrap().contains("rede interna"),
        "{e}"
    );
    // Missing credentials are named.
    let r = put(
        &app,
        "/api/v1/erp",
        json!({"kind": "mk", "base_url": mk.base_url(), "allow_private": true}),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "user_token");

    // Save: in use at once, credentials never shown back.
    let r = put(&app, "/api/v1/erp", form(FAKE_MK_USER_TOKEN)).await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(!body.contains(FAKE_MK_USER_TOKEN) && !body.contains(FAKE_MK_PASSWORD));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["kind"], "mk");
    assert_eq!(v["source"], "database");
    assert_eq!(v["secrets_set"], json!(["user_token", "password"]));
    assert_eq!(app.running.state.erp.kind(), "mk");
    // Changing the time limit keeps the stored credentials.
    let r = put(
        &app,
        "/api/v1/erp",
        json!({"kind": "mk", "base_url": mk.base_url(), "timeout_ms": 5000, "allow_private": true}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["timeout_ms"], 5000);
    assert_eq!(v["secrets_set"], json!(["user_token", "password"]));

    // The bot now asks MK (the demo ERP would not show up in MK's call log).
    let (cb, cb_url) = Callback::start().await;
    let inbox = bot_inbox(&app, &cb_url).await;
    let calls_before = mk.calls().len();
    app.deliver(
        &inbox,
        "k",
        &say(
            "maria",
            "5511987654321",
            "1",
            "quero a segunda via do boleto",
        ),
    )
    .await;
    eventually(20, "confirmation question", || async {
        texts(&cb).contains("número do endereço").then_some(())
    })
    .await;
    assert!(mk.calls().len() > calls_before, "the bot used MK");

    // Metrics per operation and outcome, and the circuit state; no secret, phone or id.
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "prosa_erp_calls_total{erp=\"mk\",operation=\"find_by_phone\",outcome=\"ok\"}"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("prosa_erp_call_seconds_count{erp=\"mk\",operation=\"find_by_phone\"}")
    );
    assert!(
        metrics.contains("prosa_erp_circuit_state{erp=\"mk\"} 0"),
        "{metrics}"
    );
    for secret in [FAKE_MK_USER_TOKEN, FAKE_MK_PASSWORD, "987654321"] {
        assert!(!metrics.contains(secret));
    }

    // Audited, without secrets.
    let audit = app.get("/api/v1/audit").await.to_string();
    assert!(
        audit.contains("erp.update") && audit.contains("erp.test"),
        "{audit}"
    );
    assert!(!audit.contains(FAKE_MK_USER_TOKEN) && !audit.contains(FAKE_MK_PASSWORD));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ixc_connection_test_and_another_instance_follows_the_change() {
    let ixc = FakeIxc::start().await;
    let (pg, url) = match fresh_url(true).await {
        Some(u) => (true, u),
        None => (false, fresh_url(false).await.unwrap()),
    };
    let a = App::start(test_config(&url)).await;
    let b = App::start(test_config(&url)).await;
    let form = |token: &str| json!({"kind": "ixc", "base_url": ixc.base_url(), "token": token, "allow_private": true});
    let t: Value = a
        .post("/api/v1/erp/test", form(FAKE_IXC_TOKEN))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["outcome"], "ok", "{t}");
    let t: Value = a
        .post("/api/v1/erp/test", form("9:errado"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["outcome"], "unauthorized", "{t}");
    let r = put(
        &a,
        "/api/v1/erp",
        json!({"kind": "ixc", "base_url": ixc.base_url(), "allow_private": true}),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "token");
    let r = put(&a, "/api/v1/erp", form(FAKE_IXC_TOKEN)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(a.running.state.erp.kind(), "ixc");
    // The other instance picks the change up from the database, without a restart.
    eventually(10, "the other instance to use IXC", || async {
        (b.running.state.erp.kind() == "ixc").then_some(())
    })
    .await;
    assert!(
        b.running
            .state
            .erp
            .find_by_phone("5511987654321")
            .await
            .is_ok()
    );
    // Back to the demo, on both.
    let r = put(&b, "/api/v1/erp", json!({"kind": "demo"})).await;
    assert_eq!(r.status(), 200);
    eventually(10, "the first instance back on the demo", || async {
        (a.running.state.erp.kind() == "demo").then_some(())
    })
    .await;
    let _ = pg;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bot_texts_are_validated_overridden_and_restored() {
    let url = fresh_url(false).await.unwrap();
    let app = App::start(test_config(&url)).await;
    let v = app.get("/api/v1/bot/texts").await;
    let list = v["texts"].as_array().unwrap();
    assert!(list.len() > 80);
    let confirmed = list.iter().find(|t| t["key"] == "confirmed").unwrap();
    assert_eq!(confirmed["overridden"], false);
    assert!(
        confirmed["placeholders"]
            .as_array()
            .unwrap()
            .contains(&json!("nome"))
    );

    // An unknown placeholder is refused, in pt-BR, naming the field and the allowed ones.
    let r = put(
        &app,
        "/api/v1/bot/texts",
        json!({"texts": {"confirmed": "Valeu, {cliente}!"}}),
    )
    .await;
    assert_eq!(r.status(), 422);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["field"], "confirmed");
    let m = e["message"].as_str().unwrap();
    assert!(m.contains("{cliente}") && m.contains("{nome}"), "{m}");
    let r = put(
        &app,
        "/api/v1/bot/texts",
        json!({"texts": {"nao_existe": "x"}}),
    )
    .await;
    assert_eq!(r.status(), 422);

    let r = put(
        &app,
        "/api/v1/bot/texts",
        json!({"texts": {"greeting": "Oi! Aqui é a <b>{empresa}</b>."}}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = put(
        &app,
        "/api/v1/bot/settings",
        json!({"company_name": "Net Rápida"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = put(
        &app,
        "/api/v1/bot/settings",
        json!({"max_not_understood": 0}),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["field"],
        "max_not_understood"
    );

    // The bot uses them from the next turn on, without a restart.
    let (cb, cb_url) = Callback::start().await;
    let inbox = bot_inbox(&app, &cb_url).await;
    app.deliver(&inbox, "k", &say("joao", "5599900000000", "1", "oi"))
        .await;
    eventually(20, "the greeting", || async {
        texts(&cb)
            .contains("Oi! Aqui é a <b>Net Rápida</b>.")
            .then_some(())
    })
    .await;

    // Restore the default.
    let r = put(
        &app,
        "/api/v1/bot/texts",
        json!({"texts": {"greeting": null}}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let g = v["texts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "greeting")
        .unwrap();
    assert_eq!(g["overridden"], false);
    assert_eq!(g["value"], g["default"]);
    let audit = app.get("/api/v1/audit").await.to_string();
    assert!(audit.contains("bot.texts.update") && audit.contains("bot.settings.update"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_bot_conversation_is_warned_then_closed_sqlite() {
    idle_bot_conversation_is_warned_then_closed(false).await;
}

/// On PostgreSQL with two instances running the worker: still warned once and closed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_bot_conversation_is_warned_then_closed_postgres() {
    idle_bot_conversation_is_warned_then_closed(true).await;
}

async fn idle_bot_conversation_is_warned_then_closed(pg: bool) {
    let Some(url) = fresh_url(pg).await else {
        eprintln!("PROSA_TEST_POSTGRES_URL not set; skipping");
        return;
    };
    let other = if pg {
        Some(App::start(test_config(&url)).await)
    } else {
        None
    };
    let app = App::start(test_config(&url)).await;
    let r = put(
        &app,
        "/api/v1/bot/settings",
        json!({"inactivity_timeout_secs": 2, "inactivity_warning_secs": 2}),
    )
    .await;
    assert_eq!(r.status(), 422, "the warning comes before the closing");
    let r = put(
        &app,
        "/api/v1/bot/settings",
        json!({"inactivity_timeout_secs": 2, "inactivity_warning_secs": 1}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let (cb, cb_url) = Callback::start().await;
    let inbox = bot_inbox(&app, &cb_url).await;
    app.deliver(&inbox, "k", &say("ana", "5599900000001", "1", "oi"))
        .await;
    eventually(20, "the warning", || async {
        texts(&cb).contains("Você ainda está aí?").then_some(())
    })
    .await;
    eventually(20, "the closing message", || async {
        texts(&cb)
            .contains("Como não recebi resposta")
            .then_some(())
    })
    .await;
    let convs = app.get("/api/v1/conversations?status=resolved").await;
    assert_eq!(convs.as_array().unwrap().len(), 1, "{convs}");
    let t = texts(&cb);
    assert_eq!(
        t.matches("Você ainda está aí?").count(),
        1,
        "warned once: {t}"
    );
    assert_eq!(
        t.matches("Como não recebi resposta").count(),
        1,
        "closed once: {t}"
    );
    let cats = app.get("/api/v1/categories").await.to_string();
    assert!(cats.contains("Encerrado por inatividade"));
    app.stop().await;
    if let Some(o) = other {
        o.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_after_the_warning_keeps_the_conversation_open() {
    let url = fresh_url(false).await.unwrap();
    let app = App::start(test_config(&url)).await;
    let r = put(
        &app,
        "/api/v1/bot/settings",
        json!({"inactivity_timeout_secs": 600, "inactivity_warning_secs": 1}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let (cb, cb_url) = Callback::start().await;
    let inbox = bot_inbox(&app, &cb_url).await;
    app.deliver(&inbox, "k", &say("bia", "5599900000002", "1", "oi"))
        .await;
    eventually(20, "the warning", || async {
        texts(&cb).contains("Você ainda está aí?").then_some(())
    })
    .await;
    let n = cb.bodies().len();
    app.deliver(&inbox, "k", &say("bia", "5599900000002", "2", "to sim"))
        .await;
    eventually(20, "the bot's answer", || async {
        (cb.bodies().len() > n).then_some(())
    })
    .await;
    // Answered: warned again later (the flag was cleared), never closed.
    eventually(20, "a second warning", || async {
        (texts(&cb).matches("Você ainda está aí?").count() == 2).then_some(())
    })
    .await;
    let convs = app.get("/api/v1/conversations?status=resolved").await;
    assert_eq!(convs.as_array().unwrap().len(), 0);
    app.stop().await;
}
