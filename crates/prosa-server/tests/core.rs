//! The core pipeline through the real server: the API channel round trip, repeated delivery,
//! forgeries and bad input, retries and dead letters, live events. Runs on SQLite always and on
//! PostgreSQL when PROSA_TEST_POSTGRES_URL is set.

mod support;

use axum::http::StatusCode;
use futures_util::StreamExt;
use serde_json::{Value, json};
use support::*;

async fn backends() -> Vec<String> {
    let mut v = vec![fresh_url(false).await.unwrap()];
    if let Some(pg) = fresh_url(true).await {
        v.push(pg);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_channel_round_trip_and_repeated_delivery() {
    for url in backends().await {
        let app = App::start(test_config(&url)).await;
        let (cb, cb_url) = Callback::start().await;
        let inbox = app.api_inbox("s3cret", &cb_url).await;
        let msg = json!({"message_id": "m-1", "from": {"id": "cliente-42", "name": "Ana", "phone": "5511987654321"}, "text": "oi, minha internet caiu", "timestamp": "2026-11-30T12:00:00Z"});
        for _ in 0..3 {
            let r = app.deliver(&inbox, "s3cret", &msg).await;
            assert_eq!(r.status(), 200, "{url}");
            assert_eq!(
                r.json::<Value>().await.unwrap(),
                json!({"status": "accepted"})
            );
        }
        let convs = eventually(10, "conversation", || async {
            let v = app.get("/api/v1/conversations").await;
            (v.as_array().unwrap().len() == 1).then_some(v)
        })
        .await;
        let conv = convs[0]["id"].as_str().unwrap().to_owned();
        assert_eq!(convs[0]["status"], "waiting");
        let msgs = eventually(10, "message", || async {
            let v = app
                .get(&format!("/api/v1/conversations/{conv}/messages"))
                .await;
            (!v.as_array().unwrap().is_empty()).then_some(v)
        })
        .await;
        assert_eq!(
            msgs.as_array().unwrap().len(),
            1,
            "a repeated delivery stores nothing new"
        );
        assert_eq!(msgs[0]["text"], "oi, minha internet caiu");
        assert_eq!(
            msgs[0]["sent_at"], "2026-11-30T12:00:00Z",
            "the provider's timestamp is kept"
        );

        // A reply goes out through the outbox to the callback, signed, with options.
        let r = app
            .post(&format!("/api/v1/conversations/{conv}/messages"), json!({"text": "Olá! Como posso ajudar?", "options": [{"id": "boleto", "label": "2ª via"}]}))
            .await;
        assert_eq!(r.status(), 201);
        let sent = eventually(10, "callback", || async { cb.bodies().first().cloned() }).await;
        assert_eq!(sent["to"], "cliente-42");
        assert_eq!(sent["conversation_id"], conv);
        assert_eq!(sent["text"], "Olá! Como posso ajudar?");
        assert_eq!(
            sent["options"],
            json!([{"id": "boleto", "label": "2ª via"}])
        );
        let (headers, _) = cb.received.lock().unwrap()[0].clone();
        let body = serde_json::to_vec(&sent).unwrap();
        assert_eq!(
            headers["x-prosa-signature"].to_str().unwrap(),
            sign("s3cret", &body),
            "signed over the body sent"
        );
        eventually(10, "delivery status sent", || async {
            let v = app
                .get(&format!("/api/v1/conversations/{conv}/messages"))
                .await;
            (v[1]["delivery_status"] == "sent").then_some(())
        })
        .await;
        // A private note is never sent.
        let r = app
            .post(
                &format!("/api/v1/conversations/{conv}/messages"),
                json!({"text": "cliente irritado", "private": true}),
            )
            .await;
        assert_eq!(r.status(), 201);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(cb.bodies().len(), 1);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgeries_and_bad_input_are_refused() {
    let url = fresh_url(false).await.unwrap();
    let mut config = test_config(&url);
    config.max_body_bytes = 4096;
    let app = App::start(config).await;
    let inbox = app.api_inbox("s3cret", "http://127.0.0.1:9/cb").await;
    let good = json!({"message_id": "m-1", "from": {"id": "c"}, "text": "oi"});
    let bytes = serde_json::to_vec(&good).unwrap();
    let post = |sig: Option<String>, body: Vec<u8>, inbox: String| {
        let mut r = app
            .client
            .post(app.url(&format!("/webhooks/api/{inbox}")))
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = sig {
            r = r.header("x-prosa-signature", s);
        }
        r.send()
    };
    assert_eq!(
        post(None, bytes.clone(), inbox.clone())
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        post(Some(sign("other", &bytes)), bytes.clone(), inbox.clone())
            .await
            .unwrap()
            .status(),
        401
    );
    // Re-serialised JSON with the same meaning but other bytes does not match.
    let spaced = serde_json::to_vec_pretty(&good).unwrap();
    assert_eq!(
        post(Some(sign("s3cret", &bytes)), spaced, inbox.clone())
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        post(Some(sign("s3cret", &bytes)), bytes.clone(), "99999".into())
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        post(Some(sign("s3cret", &bytes)), bytes.clone(), "abc".into())
            .await
            .unwrap()
            .status(),
        404
    );
    let bad = br#"{"message_id":"m-2","from":{"id":"c"}}"#.to_vec();
    let r = post(Some(sign("s3cret", &bad)), bad, inbox.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "text");
    let broken = b"{not json".to_vec();
    let r = post(Some(sign("s3cret", &broken)), broken, inbox.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let big = serde_json::to_vec(
        &json!({"message_id": "m-3", "from": {"id": "c"}, "text": "x".repeat(10_000)}),
    )
    .unwrap();
    assert_eq!(
        post(Some(sign("s3cret", &big)), big, inbox.clone())
            .await
            .unwrap()
            .status(),
        413
    );
    // Nothing of that was stored.
    assert_eq!(app.store().count_pending_inbound().await.unwrap(), 0);
    assert!(
        app.get("/api/v1/conversations")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Inbox creation validates.
    let r = app
        .post(
            "/api/v1/inboxes",
            json!({"name": "x", "channel": {"kind": "api", "callback_url": "http://a/"}}),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "channel.secret");
    let r = app
        .post(
            "/api/v1/inboxes",
            json!({"name": "x", "channel": {"kind": "fax"}}),
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "channel.kind");
    // Secrets are never returned.
    let inboxes = app.get("/api/v1/inboxes").await;
    assert!(!inboxes.to_string().contains("s3cret"));
    assert_eq!(inboxes[0]["channel"]["secret_set"], true);
    // No token, no API.
    assert_eq!(
        app.client
            .get(app.url("/api/v1/conversations"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.client
            .get(app.url("/api/v1/conversations"))
            .bearer_auth("prosa_wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_down_retries_then_dead_letter_then_recovers() {
    let url = fresh_url(false).await.unwrap();
    let app = App::start(test_config(&url)).await;
    let (cb, cb_url) = Callback::start().await;
    let inbox = app.api_inbox("k", &cb_url).await;
    app.deliver(
        &inbox,
        "k",
        &json!({"message_id": "a", "from": {"id": "c1"}, "text": "oi"}),
    )
    .await;
    let conv = eventually(10, "conversation", || async {
        let v = app.get("/api/v1/conversations").await;
        v[0]["id"].as_str().map(str::to_owned)
    })
    .await;
    // 503 twice then 200: sent on the third attempt.
    cb.answers.lock().unwrap().extend([
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::SERVICE_UNAVAILABLE,
    ]);
    app.post(
        &format!("/api/v1/conversations/{conv}/messages"),
        json!({"text": "primeira"}),
    )
    .await;
    eventually(10, "sent after retries", || async {
        (cb.bodies().len() == 1).then_some(())
    })
    .await;
    // Always 500: dead letter after max_attempts (3), visible in the API and the metrics.
    cb.answers
        .lock()
        .unwrap()
        .extend([StatusCode::INTERNAL_SERVER_ERROR; 3]);
    app.post(
        &format!("/api/v1/conversations/{conv}/messages"),
        json!({"text": "segunda"}),
    )
    .await;
    let dead = eventually(10, "dead letter", || async {
        let v = app.get("/api/v1/outbox?status=dead").await;
        (v["items"].as_array().unwrap().len() == 1).then_some(v)
    })
    .await;
    assert_eq!(dead["items"][0]["attempts"], 3);
    let msgs = app
        .get(&format!("/api/v1/conversations/{conv}/messages"))
        .await;
    assert_eq!(msgs[2]["delivery_status"], "failed");
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("prosa_dead_letters_total 1"), "{metrics}");
    assert!(
        metrics.contains("prosa_outbox_retries_total 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("prosa_webhook_latency_seconds_count"),
        "{metrics}"
    );
    // A 4xx is not retried.
    cb.answers.lock().unwrap().push(StatusCode::BAD_REQUEST);
    app.post(
        &format!("/api/v1/conversations/{conv}/messages"),
        json!({"text": "terceira"}),
    )
    .await;
    eventually(10, "second dead letter", || async {
        let v = app.get("/api/v1/outbox?status=dead").await;
        (v["items"].as_array().unwrap().len() == 2).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_streams_events_and_resumes_from_a_cursor() {
    let url = fresh_url(false).await.unwrap();
    let app = App::start(test_config(&url)).await;
    let inbox = app.api_inbox("k", "http://127.0.0.1:9/cb").await;
    let ws_url = format!("ws://{}/api/v1/ws", app.running.addr);
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        ws_url.as_str(),
    )
    .unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", app.token).parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req.clone()).await.unwrap();
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    app.deliver(
        &inbox,
        "k",
        &json!({"message_id": "w1", "from": {"id": "c1"}, "text": "primeira"}),
    )
    .await;
    let mut last = 0;
    let mut texts = vec![];
    while texts.is_empty() {
        let f = next_json(&mut ws).await;
        last = f["id"].as_i64().unwrap_or(last);
        if f["type"] == "message_created" {
            texts.push(f["message"]["text"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(texts, ["primeira"]);
    ws.close(None).await.ok();
    // While disconnected, two more arrive; the reconnect with the cursor gets both, once.
    app.deliver(
        &inbox,
        "k",
        &json!({"message_id": "w2", "from": {"id": "c1"}, "text": "segunda"}),
    )
    .await;
    app.deliver(
        &inbox,
        "k",
        &json!({"message_id": "w3", "from": {"id": "c1"}, "text": "terceira"}),
    )
    .await;
    eventually(10, "processing", || async {
        (app.store().count_pending_inbound().await.unwrap() == 0).then_some(())
    })
    .await;
    let mut req2 = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("{ws_url}?since={last}").as_str(),
    )
    .unwrap();
    req2.headers_mut().insert(
        "authorization",
        format!("Bearer {}", app.token).parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req2).await.unwrap();
    let mut got = vec![];
    loop {
        let f = next_json(&mut ws).await;
        if f["type"] == "hello" {
            break;
        }
        if f["type"] == "message_created" {
            got.push(f["message"]["text"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(got, ["segunda", "terceira"]);
    // Unauthenticated upgrade is refused.
    let err = tokio_tungstenite::connect_async(ws_url.as_str()).await;
    assert!(err.is_err());
    app.stop().await;
}

async fn next_json<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    loop {
        let m = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("ok");
        if let tokio_tungstenite::tungstenite::Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// Two instances on one PostgreSQL database: a message stored by A reaches a WebSocket client
/// of B, and replies queued on both are each sent exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgres() {
    let Some(url) = fresh_url(true).await else {
        eprintln!("PROSA_TEST_POSTGRES_URL not set: skipping the multi-instance test");
        return;
    };
    let a = App::start(test_config(&url)).await;
    let b = App::start(test_config(&url)).await;
    let (cb, cb_url) = Callback::start().await;
    let inbox = a.api_inbox("k", &cb_url).await;
    let ws_url = format!("ws://{}/api/v1/ws", b.running.addr);
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        ws_url.as_str(),
    )
    .unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", b.token).parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "hello");
    a.deliver(
        &inbox,
        "k",
        &json!({"message_id": "x1", "from": {"id": "c1"}, "text": "chegou em A"}),
    )
    .await;
    let text = loop {
        let f = next_json(&mut ws).await;
        if f["type"] == "message_created" {
            break f["message"]["text"].as_str().unwrap().to_owned();
        }
    };
    assert_eq!(text, "chegou em A");
    let conv = a.get("/api/v1/conversations").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..40 {
        let app = if i % 2 == 0 { &a } else { &b };
        let r = app
            .post(
                &format!("/api/v1/conversations/{conv}/messages"),
                json!({"text": format!("resposta {i}")}),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    eventually(20, "40 deliveries", || async {
        (cb.bodies().len() >= 40).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let bodies = cb.bodies();
    let mut ids: Vec<String> = bodies
        .iter()
        .map(|b| b["message_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        bodies.len(),
        40,
        "each reply sent once across both instances"
    );
    assert_eq!(ids.len(), 40);
    a.stop().await;
    b.stop().await;
}
