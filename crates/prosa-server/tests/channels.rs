//! Provider channels through the real server, against the adapters' fake providers.

use prosa_channel_telegram::fake::FakeTelegram;
use prosa_channel_whatsapp_cloud::fake::{Canned, FakeWhatsApp};
use serde_json::{Value, json};
use std::time::Duration;

mod support;

use support::channels::{ChannelApp as App, start, start_with};

// ------------------------------------------------------------------ validation

#[tokio::test]
async fn inbox_settings_are_validated_and_secrets_masked() {
    let app = start().await;
    let cases = [
        (
            "whatsapp_cloud",
            json!({"app_secret": "x", "verify_token": "y", "phone_number_id": "1"}),
            "channel.access_token",
        ),
        ("telegram", json!({}), "channel.bot_token"),
        (
            "telegram",
            json!({"bot_token": "1:a", "secret_token": "não vale"}),
            "channel.secret_token",
        ),
        (
            "messenger",
            json!({"app_secret": "x", "verify_token": "y", "page_id": "1"}),
            "channel.page_access_token",
        ),
        (
            "instagram",
            json!({"verify_token": "y"}),
            "channel.app_secret",
        ),
        (
            "whatsapp_evolution",
            json!({"api_key": "k", "instance": "i"}),
            "channel.base_url",
        ),
        (
            "whatsapp_evolution",
            json!({"base_url": "http://evo", "api_key": "k", "instance": "i"}),
            "channel.webhook_token",
        ),
        (
            "bot_framework",
            json!({"app_id": "a"}),
            "channel.app_password",
        ),
        (
            "web_chat",
            json!({"identity_secret": "curto"}),
            "channel.identity_secret",
        ),
    ];
    for (kind, mut channel, field) in cases {
        channel["kind"] = json!(kind);
        let (status, body) = app
            .post("/api/v1/inboxes", json!({"name": "x", "channel": channel}))
            .await;
        assert_eq!(status, 422, "{kind}: {body}");
        assert_eq!(body["field"], field, "{kind}: {body}");
    }
    let wa = FakeWhatsApp::start().await;
    let id = app.inbox("whatsapp_cloud", wa.settings()).await;
    let got = app.get(&format!("/api/v1/inboxes/{id}")).await;
    let text = got.to_string();
    assert!(
        !text.contains(prosa_channel_whatsapp_cloud::fake::APP_SECRET),
        "{text}"
    );
    assert!(
        !text.contains(prosa_channel_whatsapp_cloud::fake::TOKEN),
        "{text}"
    );
    assert_eq!(got["channel"]["access_token_set"], true);
    assert!(
        got["webhook_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/webhooks/whatsapp/{id}"))
    );
    // The Meta handshake.
    let r = app
        .http
        .get(format!(
            "{}/webhooks/whatsapp/{id}?hub.mode=subscribe&hub.verify_token={}&hub.challenge=42",
            app.base,
            prosa_channel_whatsapp_cloud::fake::VERIFY_TOKEN
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "42");
    let r = app
        .http
        .get(format!(
            "{}/webhooks/whatsapp/{id}?hub.mode=subscribe&hub.verify_token=errado&hub.challenge=42",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    app.app.stop().await.unwrap();
}

// ------------------------------------------------------------------ WhatsApp Cloud

#[tokio::test]
async fn whatsapp_inbound_dedupe_forgery_status_options_and_retries() {
    let app = start().await;
    let wa = FakeWhatsApp::start().await;
    let id = app.inbox("whatsapp_cloud", wa.settings()).await;
    let url = format!("{}/webhooks/whatsapp/{id}", app.base);

    // Forged: 401 and nothing stored.
    let body = FakeWhatsApp::text_notification("5548988887777", "wamid.IN1", "Oi, sem internet");
    let r = app
        .http
        .post(&url)
        .header("x-hub-signature-256", "sha256=00")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app.http.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(r.status(), 401);

    // Delivered twice: one message.
    for _ in 0..2 {
        let r = FakeWhatsApp::deliver(&app.http, &url, &body).await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let conv = app.one_conversation().await;
    let msgs = app
        .until("the incoming message", || async {
            let m = app.messages(&conv).await;
            (!m.is_empty()).then_some(m)
        })
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let msgs2 = app.messages(&conv).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs2.len(), 1, "{msgs2:?}");
    assert_eq!(msgs[0]["text"], "Oi, sem internet");
    assert_eq!(msgs[0]["direction"], "incoming");

    // Outgoing with options: the fake receives interactive buttons.
    let out = app
        .send(
            &conv,
            json!({"text": "Como posso ajudar?", "options": [
                {"id": "boleto", "label": "2ª via"}, {"id": "suporte", "label": "Suporte"}]}),
        )
        .await;
    let m = app.until_status(&conv, &out, "sent").await;
    let wamid = m["provider_message_id"].as_str().unwrap().to_owned();
    let sent = wa
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/messages"))
        .last()
        .expect("a send");
    let j = sent.json();
    assert_eq!(j["type"], "interactive", "{j}");
    assert_eq!(j["interactive"]["type"], "button", "{j}");
    assert_eq!(
        j["interactive"]["action"]["buttons"][0]["reply"]["id"],
        "boleto"
    );

    // Statuses only move forward: read, then a late delivered.
    for s in ["read", "delivered"] {
        let b = FakeWhatsApp::status_notification(&wamid, s, None);
        let r = FakeWhatsApp::deliver(&app.http, &url, &b).await.unwrap();
        assert_eq!(r.status(), 200);
    }
    app.until_status(&conv, &out, "read").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.message(&conv, &out).await["delivery_status"], "read");

    // 429 with retry-after: retried, then sent.
    wa.push(Canned::graph_error(429, 130429, "rate limit").with_header("retry-after", "0"));
    let out2 = app.send(&conv, json!({"text": "Segunda mensagem"})).await;
    app.until_status(&conv, &out2, "sent").await;
    let attempts = wa
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/messages") && r.json()["text"]["body"] == "Segunda mensagem")
        .count();
    assert_eq!(attempts, 2);

    // 131047: failed, needing a template.
    wa.push(Canned::graph_error(400, 131047, "Re-engagement message"));
    let out3 = app.send(&conv, json!({"text": "Terceira"})).await;
    let m = app.until_status(&conv, &out3, "failed").await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap_or("")
            .contains("needs template"),
        "{m}"
    );
    app.app.stop().await.unwrap();
}

/// WhatsApp's pair rate limit (131056: too many messages to one user; Meta answers 400) is a
/// retry later, not a failure: the message goes again after the ~6 s Meta asks for.
#[tokio::test]
async fn whatsapp_pair_rate_limit_is_retried_later() {
    let app = start().await;
    let wa = FakeWhatsApp::start().await;
    let id = app.inbox("whatsapp_cloud", wa.settings()).await;
    let url = app.webhook_url("whatsapp", &id);
    let body = FakeWhatsApp::text_notification("5548988887777", "wamid.PAIR1", "Oi");
    let r = FakeWhatsApp::deliver(&app.http, &url, &body).await.unwrap();
    assert_eq!(r.status(), 200);
    let conv = app.one_conversation().await;
    wa.push(Canned::graph_error(
        400,
        131056,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
    ));
    let out = app.send(&conv, json!({"text": "Segue seu boleto"})).await;
    let m = app.until_status(&conv, &out, "sent").await;
    assert!(m["delivery_error"].is_null(), "{m}");
    let attempts: Vec<std::time::Instant> = wa
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/messages") && r.json()["text"]["body"] == "Segue seu boleto")
        .map(|r| r.at)
        .collect();
    assert_eq!(attempts.len(), 2);
    let gap = attempts[1].duration_since(attempts[0]);
    assert!(gap >= Duration::from_millis(5_900), "retried after {gap:?}");
    assert_eq!(
        app.metric("prosa_send_failures_total{channel=\"whatsapp_cloud\",reason=\"retry_later\"}")
            .await,
        1.0
    );
    app.stop().await;
}

#[tokio::test]
async fn whatsapp_ninth_digit_is_the_same_contact() {
    let app = start().await;
    let wa = FakeWhatsApp::start().await;
    let id = app.inbox("whatsapp_cloud", wa.settings()).await;
    let url = format!("{}/webhooks/whatsapp/{id}", app.base);
    let a = FakeWhatsApp::text_notification("5511987654321", "wamid.A", "Oi");
    FakeWhatsApp::deliver(&app.http, &url, &a).await.unwrap();
    let conv = app.one_conversation().await;
    let b = FakeWhatsApp::text_notification("551187654321", "wamid.B", "De novo");
    FakeWhatsApp::deliver(&app.http, &url, &b).await.unwrap();
    app.until("both messages in one conversation", || async {
        (app.messages(&conv).await.len() == 2).then_some(())
    })
    .await;
    assert_eq!(app.conversations().await.len(), 1);
    let contacts = app.get("/api/v1/contacts").await;
    assert_eq!(contacts.as_array().unwrap().len(), 1, "{contacts}");
    app.app.stop().await.unwrap();
}

// ------------------------------------------------------------------ Telegram

#[tokio::test]
async fn telegram_webhook_set_inbound_callbacks_keyboard_and_retry() {
    let tg = FakeTelegram::start().await;
    let app = start_with(|c| c.public_url = Some("https://prosa.example.net".into())).await;
    let id = app.inbox("telegram", tg.settings()).await;
    let hook = tg.webhook().expect("setWebhook called");
    assert_eq!(
        hook["url"],
        format!("https://prosa.example.net/webhooks/telegram/{id}")
    );
    assert_eq!(
        hook["secret_token"],
        prosa_channel_telegram::fake::SECRET_TOKEN
    );
    let url = format!("{}/webhooks/telegram/{id}", app.base);

    let update = FakeTelegram::text_update(1001, 777, "Oi, quero a segunda via");
    let r = FakeTelegram::deliver(&app.http, &url, &update, Some("errado"))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = FakeTelegram::deliver(&app.http, &url, &update, None)
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    for _ in 0..2 {
        let r = FakeTelegram::deliver(
            &app.http,
            &url,
            &update,
            Some(prosa_channel_telegram::fake::SECRET_TOKEN),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
    }
    let conv = app.one_conversation().await;
    app.until("the message", || async {
        (app.messages(&conv).await.len() == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.messages(&conv).await.len(), 1);

    // Options: an inline keyboard.
    let out = app
        .send(
            &conv,
            json!({"text": "Escolha", "options": [{"id": "boleto", "label": "2ª via"}]}),
        )
        .await;
    app.until_status(&conv, &out, "sent").await;
    let sent = tg
        .requests()
        .into_iter()
        .filter(|r| r.api_method.as_deref() == Some("sendMessage"))
        .last()
        .expect("sendMessage");
    let j = sent.json();
    assert_eq!(
        j["reply_markup"]["inline_keyboard"][0][0]["callback_data"], "boleto",
        "{j}"
    );

    // A button press: stored as the selected option and answered.
    let press = json!({"update_id": 1002, "callback_query": {"id": "cbq-1", "data": "boleto",
        "from": {"id": 777, "is_bot": false, "first_name": "Cliente"},
        "message": {"message_id": 5, "date": 1764500000, "chat": {"id": 777, "type": "private"}, "text": "Escolha",
            "reply_markup": {"inline_keyboard": [[{"text": "2ª via", "callback_data": "boleto"}]]}}}});
    FakeTelegram::deliver(
        &app.http,
        &url,
        &press,
        Some(prosa_channel_telegram::fake::SECRET_TOKEN),
    )
    .await
    .unwrap();
    app.until("answerCallbackQuery", || async {
        tg.requests()
            .iter()
            .any(|r| {
                r.api_method.as_deref() == Some("answerCallbackQuery")
                    && r.json()["callback_query_id"] == "cbq-1"
            })
            .then_some(())
    })
    .await;
    let msgs = app.messages(&conv).await;
    assert!(
        msgs.iter().any(|m| m["selected_option"] == "boleto"),
        "{msgs:?}"
    );

    // 429 with retry_after: retried then sent.
    tg.push(prosa_channel_telegram::fake::Canned::too_many_requests(0));
    let out2 = app.send(&conv, json!({"text": "Depois do limite"})).await;
    app.until_status(&conv, &out2, "sent").await;
    app.app.stop().await.unwrap();
}

#[tokio::test]
async fn telegram_long_polling_stores_updates_once() {
    let tg = FakeTelegram::start().await;
    let app = start().await;
    let mut settings = tg.settings();
    settings["mode"] = json!("polling");
    app.inbox("telegram", settings).await;
    tg.queue_update(FakeTelegram::text_update(2001, 888, "Oi pelo polling"));
    tg.queue_update(FakeTelegram::text_update(2002, 888, "Segunda"));
    let conv = app.one_conversation().await;
    app.until("both polled messages", || async {
        (app.messages(&conv).await.len() == 2).then_some(())
    })
    .await;
    app.until("updates confirmed", || async {
        (tg.pending_updates() == 0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.messages(&conv).await.len(), 2);
    app.app.stop().await.unwrap();
}

// ------------------------------------------------------------------ website chat

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message as Ws;

use support::webchat::{Socket, frame_where, next_frame, urlencode};

async fn visitor_session(app: &App, inbox: &str, body: Value) -> (u16, Value) {
    support::webchat::visitor_session(app.app.addr, inbox, body).await
}

async fn visitor_ws(app: &App, inbox: &str, token: &str, since: Option<&str>) -> Socket {
    support::webchat::visitor_ws(app.app.addr, inbox, token, since).await
}

#[tokio::test]
async fn webchat_visitors_are_isolated_and_resume_without_loss() {
    let app = start().await;
    let inbox = app
        .inbox(
            "web_chat",
            json!({"identity_secret": "segredo-do-provedor-123"}),
        )
        .await;
    let (s, a) = visitor_session(&app, &inbox, json!({})).await;
    assert_eq!(s, 200, "{a}");
    let token_a = a["token"].as_str().unwrap().to_owned();
    assert_eq!(a["online"], false);
    // The same token comes back on a later page load.
    let (_, again) = visitor_session(&app, &inbox, json!({"token": token_a})).await;
    assert_eq!(again["token"], token_a);
    // A forged token is refused.
    // (The last character is changed to one it is not, so the forgery always differs.)
    let last = if token_a.ends_with('0') { "1" } else { "0" };
    let forged = format!("{}{last}", &token_a[..token_a.len() - 1]);
    let (_, f) = visitor_session(&app, &inbox, json!({"token": forged})).await;
    assert_ne!(f["token"], token_a);
    let r = app
        .http
        .get(format!(
            "{}/webchat/{inbox}/ws?token={}",
            app.base,
            urlencode(&forged)
        ))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Identity: only with the ISP's signature.
    let id_hash = {
        use hmac::Mac;
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"segredo-do-provedor-123").unwrap();
        m.update(b"cliente-42");
        hex::encode(m.finalize().into_bytes())
    };
    let (s, ok) = visitor_session(
        &app,
        &inbox,
        json!({"identifier": "cliente-42", "identity_hash": id_hash}),
    )
    .await;
    assert_eq!((s, &ok["identified"]), (200, &json!(true)), "{ok}");
    let (s, bad) = visitor_session(
        &app,
        &inbox,
        json!({"identifier": "cliente-43", "identity_hash": id_hash}),
    )
    .await;
    assert_eq!(s, 422, "{bad}");

    // Visitor A writes; the same client id twice is one message.
    let mut ws_a = visitor_ws(&app, &inbox, &token_a, None).await;
    frame_where(&mut ws_a, "ready", |f| f["type"] == "ready").await;
    for _ in 0..2 {
        ws_a.send(Ws::Text(
            json!({"type": "message", "client_id": "c1", "text": "Olá, minha internet caiu"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    }
    let mine = frame_where(&mut ws_a, "own message", |f| f["type"] == "message").await;
    assert_eq!(mine["client_id"], "c1");
    assert_eq!(mine["direction"], "incoming");
    let conv = app.one_conversation().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.messages(&conv).await.len(), 1);

    // An operator answers with options; a private note never reaches the visitor.
    app.send(&conv, json!({"text": "Nota interna", "private": true}))
        .await;
    let reply = app
        .send(
            &conv,
            json!({"text": "Vamos verificar.", "options": [{"id": "sim", "label": "Sim"}]}),
        )
        .await;
    let got = frame_where(&mut ws_a, "operator reply", |f| {
        f["type"] == "message" && f["direction"] == "outgoing"
    })
    .await;
    assert_eq!(got["id"], reply);
    assert_eq!(got["text"], "Vamos verificar.");
    assert_eq!(got["options"][0]["id"], "sim");
    app.until_status(&conv, &reply, "sent").await;
    // Clicking an option sends its id.
    ws_a.send(Ws::Text(
        json!({"type": "option", "client_id": "c2", "option_id": "sim", "label": "Sim"})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let picked = frame_where(&mut ws_a, "option echo", |f| {
        f["type"] == "message" && f["client_id"] == "c2"
    })
    .await;
    assert_eq!(picked["selected_option"], "sim");
    let last_seen = picked["id"].as_str().unwrap().to_owned();

    // Visitor B sees nothing of A's conversation.
    let (_, b) = visitor_session(&app, &inbox, json!({})).await;
    let mut ws_b = visitor_ws(&app, &inbox, b["token"].as_str().unwrap(), None).await;
    let first = next_frame(&mut ws_b, Duration::from_secs(5)).await.unwrap();
    assert_eq!(first["type"], "ready", "{first}");

    // A goes away; two messages arrive meanwhile; the reconnect gets them once.
    drop(ws_a);
    let m1 = app
        .send(&conv, json!({"text": "Reiniciamos sua conexão."}))
        .await;
    let m2 = app.send(&conv, json!({"text": "Pode testar?"})).await;
    let mut ws_a = visitor_ws(&app, &inbox, &token_a, Some(&last_seen)).await;
    let mut got = Vec::new();
    loop {
        let f = next_frame(&mut ws_a, Duration::from_secs(5))
            .await
            .expect("frame");
        if f["type"] == "ready" {
            break;
        }
        got.push(f["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(got, vec![m1.clone(), m2.clone()]);
    // No duplicates afterwards (the queue line may follow); B still saw nothing.
    while let Some(f) = next_frame(&mut ws_a, Duration::from_millis(300)).await {
        assert_eq!(f["type"], "queue", "{f}");
    }
    assert!(
        next_frame(&mut ws_b, Duration::from_millis(300))
            .await
            .is_none()
    );

    // Offline form: stored as a message of the visitor.
    let r = app
        .http
        .post(format!("{}/webchat/{inbox}/offline", app.base))
        .json(&json!({"token": b["token"], "client_id": "off1", "name": "Maria", "contact": "maria@example.com", "message": "Quero mudar de plano"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    app.until("the offline message", || async {
        (app.conversations().await.len() == 2).then_some(())
    })
    .await;
    app.app.stop().await.unwrap();
}

/// The website chat's identity is earned: only the ISP portal's HMAC of the identifier makes a
/// visitor that subscriber. Claiming the identifier without it (or with a hash of something
/// else) never shows or joins that subscriber's conversation; a second signed device does.
/// With the service hours closed the widget is told nobody can answer and when the hours open,
/// and the offline form's message is stored and acknowledged with that.
#[tokio::test]
async fn webchat_identity_needs_the_portal_hmac_and_offline_form_says_when() {
    use prosa_server::clock::Clock;
    // Saturday 2026-12-05, 10:00 in São Paulo: closed until Monday 08:00.
    let sat: jiff::Timestamp = "2026-12-05T13:00:00Z".parse().unwrap();
    let app = start_with(|c| c.clock = Clock::starting_at(sat)).await;
    let secret = "segredo-do-portal-456";
    let inbox = app
        .inbox("web_chat", json!({"identity_secret": secret}))
        .await;
    let hash = |key: &str, id: &str| {
        use hmac::Mac;
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        m.update(id.as_bytes());
        hex::encode(m.finalize().into_bytes())
    };

    // Hours not configured: open; the subscriber, signed by the portal, writes.
    let (s, signed) = visitor_session(
        &app,
        &inbox,
        json!({"identifier": "cliente-77", "identity_hash": hash(secret, "cliente-77")}),
    )
    .await;
    assert_eq!((s, &signed["identified"]), (200, &json!(true)), "{signed}");
    assert_eq!(signed["next_opening"], Value::Null);
    let token = signed["token"].as_str().unwrap().to_owned();
    let mut ws = visitor_ws(&app, &inbox, &token, None).await;
    frame_where(&mut ws, "ready", |f| f["type"] == "ready").await;
    ws.send(Ws::Text(
        json!({"type": "message", "client_id": "p1", "text": "Minha fatura veio errada"})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    frame_where(&mut ws, "own message", |f| f["type"] == "message").await;
    let conv = app.one_conversation().await;
    app.send(&conv, json!({"text": "Vou verificar sua fatura."}))
        .await;
    frame_where(&mut ws, "the reply", |f| f["direction"] == "outgoing").await;

    // Claims without the portal's signature.
    for (what, body) in [
        (
            "another identifier's hash",
            json!({"identifier": "cliente-77", "identity_hash": hash(secret, "cliente-78")}),
        ),
        (
            "another key's hash",
            json!({"identifier": "cliente-77", "identity_hash": hash("chute", "cliente-77")}),
        ),
        (
            "a hash that is no hash",
            json!({"identifier": "cliente-77", "identity_hash": "00"}),
        ),
    ] {
        let (s, v) = visitor_session(&app, &inbox, body).await;
        assert_eq!(s, 422, "{what}: {v}");
        assert_eq!(v["field"], "identity_hash", "{what}: {v}");
    }
    // The identifier alone is ignored: an anonymous visitor, who sees nothing of the
    // subscriber's conversation and whose message starts another one.
    let (s, claim) = visitor_session(&app, &inbox, json!({"identifier": "cliente-77"})).await;
    assert_eq!((s, &claim["identified"]), (200, &json!(false)), "{claim}");
    let claimer = claim["token"].as_str().unwrap().to_owned();
    assert_ne!(claimer, token);
    let mut other = visitor_ws(&app, &inbox, &claimer, None).await;
    let first = next_frame(&mut other, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(first["type"], "ready", "the claimer got {first}");
    other
        .send(Ws::Text(
            json!({"type": "message", "client_id": "x1", "text": "Sou o cliente 77"})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
    frame_where(&mut other, "claimer's own message", |f| {
        f["type"] == "message"
    })
    .await;
    app.until("a second conversation", || async {
        (app.conversations().await.len() == 2).then_some(())
    })
    .await;
    assert_eq!(
        app.messages(&conv).await.len(),
        2,
        "the claim reached the subscriber's conversation"
    );
    // Nothing of the claimer reaches the subscriber's socket (the live queue line may move).
    while let Some(f) = next_frame(&mut ws, Duration::from_millis(300)).await {
        assert_eq!(f["type"], "queue", "the subscriber saw the claimer: {f}");
    }
    // A second device the portal signed is the same visitor: it sees the conversation.
    let (_, again) = visitor_session(
        &app,
        &inbox,
        json!({"identifier": "cliente-77", "identity_hash": hash(secret, "cliente-77")}),
    )
    .await;
    assert_eq!(again["token"], token.as_str());
    let mut device = visitor_ws(&app, &inbox, &token, None).await;
    let caught_up = frame_where(&mut device, "the reply on the second device", |f| {
        f["direction"] == "outgoing"
    })
    .await;
    assert_eq!(caught_up["text"], "Vou verificar sua fatura.");

    // Service hours Monday to Friday: on Saturday nobody can answer.
    let (s, r) = app
        .post(
            "/api/v1/service-hours/rules",
            json!({"description": "Atendimento", "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                "intervals": [{"start": "08:00", "end": "18:00"}]}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let (_, closed) = visitor_session(&app, &inbox, json!({})).await;
    assert_eq!(closed["online"], false, "{closed}");
    assert_eq!(closed["next_opening"], "segunda-feira às 08:00");
    let r = app
        .http
        .post(format!("{}/webchat/{inbox}/offline", app.base))
        .json(
            &json!({"token": closed["token"], "client_id": "off9", "name": "João",
            "contact": "(48) 99999-1234", "message": "Quero trocar de plano"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let told: Value = r.json().await.unwrap();
    assert_eq!(told["next_opening"], "segunda-feira às 08:00");
    assert!(
        told["message"]
            .as_str()
            .unwrap()
            .contains("volta segunda-feira às 08:00"),
        "{told}"
    );
    let stored = app
        .until("the offline message", || async {
            for c in app.conversations().await {
                for m in app.messages(c["id"].as_str().unwrap()).await {
                    if m["text"]
                        .as_str()
                        .unwrap_or("")
                        .contains("Quero trocar de plano")
                    {
                        return Some(m);
                    }
                }
            }
            None
        })
        .await;
    let text = stored["text"].as_str().unwrap();
    assert!(
        text.contains("Mensagem deixada fora do atendimento"),
        "{text}"
    );
    assert!(text.contains("(48) 99999-1234"), "{text}");
    app.app.stop().await.unwrap();
}

// ------------------------------------------------------------------ telegram pacing

/// Two Telegram chats (777 and 888) with one conversation each, on `apps[0]`'s inbox.
async fn two_telegram_chats(apps: &[&App], tg: &FakeTelegram) -> (String, String) {
    let app = apps[0];
    let id = app.inbox("telegram", tg.settings()).await;
    let url = app.webhook_url("telegram", &id);
    let secret = Some(prosa_channel_telegram::fake::SECRET_TOKEN);
    let update = FakeTelegram::text_update(3001, 777, "Oi, aqui é o 777");
    let r = FakeTelegram::deliver(&app.http, &url, &update, secret)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let a = app.one_conversation().await;
    let update = FakeTelegram::text_update(3002, 888, "Oi, aqui é o 888");
    let r = FakeTelegram::deliver(&app.http, &url, &update, secret)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let b = app
        .until("the second conversation", || async {
            app.conversations()
                .await
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .find(|c| *c != a)
        })
        .await;
    (a, b)
}

/// Three messages written at once to each of two chats (through `apps` in turn): Telegram
/// receives each chat's messages in order and at least a second apart, never a 429, and the
/// chats do not wait for each other.
async fn assert_paced_per_chat(apps: &[&App], tg: &FakeTelegram, a: &str, b: &str) {
    tg.enforce_flood_control(Duration::from_secs(1));
    let texts = ["um", "dois", "três"];
    let mut ids = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        let app = apps[i % apps.len()];
        ids.push((a, app.send(a, json!({"text": format!("777 {t}")})).await));
        let app = apps[(i + 1) % apps.len()];
        ids.push((b, app.send(b, json!({"text": format!("888 {t}")})).await));
    }
    for (conv, id) in &ids {
        apps[0].until_status(conv, id, "sent").await;
    }
    let sends = tg.accepted_sends();
    let of = |chat: &str| -> Vec<(String, std::time::Instant)> {
        sends
            .iter()
            .filter(|(c, _, _)| c == chat)
            .map(|(_, text, at)| (text.clone(), *at))
            .collect()
    };
    let (chat_a, chat_b) = (of("777"), of("888"));
    for (chat, got) in [("777", &chat_a), ("888", &chat_b)] {
        let order: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        let want: Vec<String> = texts.iter().map(|t| format!("{chat} {t}")).collect();
        assert_eq!(order, want, "chat {chat}: order");
        for pair in got.windows(2) {
            let gap = pair[1].1.duration_since(pair[0].1);
            assert!(
                gap >= Duration::from_millis(990),
                "chat {chat}: two messages {gap:?} apart"
            );
        }
    }
    let refused = tg
        .requests()
        .iter()
        .filter(|r| r.api_method.as_deref() == Some("sendMessage"))
        .count()
        - sends.len();
    assert_eq!(refused, 0, "Telegram answered 429 to {refused} sends");
    // The chats run side by side: 888's first message does not wait for 777's pace, and
    // both finish in about two seconds, not the six a single queue would take.
    assert!(chat_b[0].1 < chat_a[1].1, "888 waited for 777");
    let span = chat_a[2]
        .1
        .max(chat_b[2].1)
        .duration_since(chat_a[0].1.min(chat_b[0].1));
    assert!(span < Duration::from_millis(4_000), "took {span:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_sends_paced_per_chat_in_order() {
    let tg = FakeTelegram::start().await;
    let app = start().await;
    let (a, b) = two_telegram_chats(&[&app], &tg).await;
    assert_paced_per_chat(&[&app], &tg, &a, &b).await;
    app.stop().await;
}

/// The same with two instances on one PostgreSQL database, messages written on both: the pace
/// is kept in the database, so neither instance sends early.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_pacing_holds_across_instances_on_postgres() {
    let Some(url) = support::fresh_url(true).await else {
        eprintln!("PROSA_TEST_POSTGRES_URL not set: skipping the multi-instance pacing test");
        return;
    };
    let tg = FakeTelegram::start().await;
    let one = support::channels::start_on_database(&url, |_| {}).await;
    let two = support::channels::start_on_database(&url, |_| {}).await;
    let (a, b) = two_telegram_chats(&[&one, &two], &tg).await;
    assert_paced_per_chat(&[&one, &two], &tg, &a, &b).await;
    one.stop().await;
    two.stop().await;
}
