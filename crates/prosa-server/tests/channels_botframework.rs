//! Bot Framework (Teams, Web Chat, Direct Line) through the real server, against the Bot
//! Connector fake: activities of every kind, the JWT checks and their negatives, 503 while the
//! OpenID metadata cannot be read, and replies with a client-credentials token (cached).

mod support;

use prosa_channel_botframework::fake::{self, APP_ID, FakeBotFramework, ISSUER, KID_1, KID_2};
use prosa_domain::message::{Attachment, MessageContent};
use prosa_domain::model::AuthorKind;
use serde_json::{Value, json};
use support::channels::{Webhook, by_provider_id, start};

/// The Connector's webhook: each body gets a fresh channel JWT for its serviceUrl.
fn connector_hook(url: String) -> Webhook {
    Webhook::bot_framework(url)
}

fn bytes(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn activities(bf: &FakeBotFramework) -> Vec<fake::Recorded> {
    bf.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/activities"))
        .collect()
}

#[tokio::test]
async fn botframework_inbound_jwt_checks_and_transient_metadata_failure() {
    let app = start().await;
    let bf = FakeBotFramework::start().await;
    let id = app.inbox("bot_framework", bf.settings()).await;
    let hook = connector_hook(app.webhook_url("botframework", &id));
    let text = bf.text_activity("act-1", "user-1", "Oi, minha internet está lenta");
    let body = bytes(&text);

    // The OpenID metadata endpoint is down: 503 so the Connector retries; not a rejection.
    bf.push(503, json!({"error": "temporarily unavailable"}), &[]);
    let a = hook.post(&app.http, &body).await;
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.headers.get("retry-after").unwrap(), "30");
    assert_eq!(
        app.metric("prosa_webhook_unavailable_total{channel=\"bot_framework\"}")
            .await,
        1.0
    );
    // ...and the retry goes through, once.
    hook.deliver_twice(&app, "bot_framework", &body).await;

    // JWT negatives.
    let now = jiff::Timestamp::now().as_second();
    let su = bf.service_url();
    let with = |k: &str, v: Value| {
        let mut c = fake::claims(&su, now);
        c[k] = v;
        c
    };
    let bearer = |t: String| vec![("authorization", format!("Bearer {t}"))];
    let mut skype = text.clone();
    skype["channelId"] = json!("skype");
    skype["id"] = json!("act-skype");
    let forged = bytes(
        &json!({"type": "message", "id": "act-forged", "serviceUrl": su, "channelId": "webchat",
        "from": {"id": "user-1"}, "conversation": {"id": "conv-user-1"}, "recipient": {"id": "prosa-bot"}, "text": "forjada"}),
    );
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("no token", vec![]),
        (
            "not a bearer token",
            vec![("authorization", "Basic dXNlcjpwYXNz".to_owned())],
        ),
        (
            "wrong issuer",
            bearer(fake::mint(
                &with("iss", json!("https://sts.windows.net/evil/")),
                KID_1,
                1,
            )),
        ),
        (
            "wrong audience",
            bearer(fake::mint(&with("aud", json!("outro-app-id")), KID_1, 1)),
        ),
        (
            "expired",
            bearer(fake::mint(&with("exp", json!(now - 3600)), KID_1, 1)),
        ),
        (
            "not yet valid",
            bearer(fake::mint(&with("nbf", json!(now + 3600)), KID_1, 1)),
        ),
        (
            "serviceUrl claim of another host",
            bearer(fake::mint(
                &with("serviceurl", json!("https://smba.trafficmanager.net/evil/")),
                KID_1,
                1,
            )),
        ),
        (
            "no serviceUrl claim",
            bearer(fake::mint(
                &{
                    let mut c = fake::claims(&su, now);
                    c.as_object_mut().unwrap().remove("serviceurl");
                    c
                },
                KID_1,
                1,
            )),
        ),
        (
            "signed by another key",
            bearer(fake::mint(&fake::claims(&su, now), KID_1, 2)),
        ),
        (
            "alg none",
            bearer(fake::mint_with_header(
                &fake::claims(&su, now),
                &json!({"alg": "none", "kid": KID_1}),
                1,
            )),
        ),
        (
            "HS256 with the public key id",
            bearer(fake::mint_with_header(
                &fake::claims(&su, now),
                &json!({"alg": "HS256", "kid": KID_1}),
                1,
            )),
        ),
    ];
    hook.assert_refused(&app, &forged, &cases).await;
    // A key not endorsed for the activity's channel.
    let skype_token = fake::mint(&fake::claims(&su, now), KID_1, 1);
    hook.assert_refused(
        &app,
        &bytes(&skype),
        &[("missing endorsement", bearer(skype_token))],
    )
    .await;
    // The token's serviceUrl is bound to the activity's: a valid token for one serviceUrl
    // cannot carry an activity naming another (where replies, and our token, would go).
    let mut elsewhere = text.clone();
    elsewhere["serviceUrl"] = json!("https://smba.trafficmanager.net/evil/");
    elsewhere["id"] = json!("act-elsewhere");
    hook.assert_refused(
        &app,
        &bytes(&elsewhere),
        &[(
            "activity serviceUrl differs from the claim",
            bearer(fake::mint(&fake::claims(&su, now), KID_1, 1)),
        )],
    )
    .await;
    // Key rotation: a new kid is fetched once and accepted...
    bf.publish_key(2, KID_2, &["webchat"]);
    let rotated = bytes(&bf.text_activity("act-rotated", "user-1", "Depois da rotação"));
    let a = hook
        .post_with(
            &app.http,
            &rotated,
            &[(
                "authorization",
                &format!("Bearer {}", fake::mint(&fake::claims(&su, now), KID_2, 2)),
            )],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    // ...a kid nobody publishes is not (and does not refetch the keys every time).
    let unknown = fake::mint(&fake::claims(&su, now), "kid-desconhecido", 1);
    hook.assert_refused(&app, &forged, &[("unknown key", bearer(unknown))])
        .await;
    assert_eq!(
        bf.requests()
            .iter()
            .filter(|r| r.path.ends_with("/keys"))
            .count(),
        2,
        "once after the 503, once more for the rotated kid"
    );
    assert!(
        app.metric("prosa_webhook_rejected_total{channel=\"bot_framework\"}")
            .await
            >= 14.0
    );

    // Every kind of activity.
    let base = |id: &str| {
        let mut a = bf.text_activity(id, "user-1", "");
        a.as_object_mut().unwrap().remove("text");
        a
    };
    let mut back = base("act-back");
    back["text"] = json!("2ª via");
    back["value"] = json!({"option_id": "boleto"});
    let mut file = base("act-file");
    file["attachments"] = json!([{"contentType": "application/pdf", "contentUrl": bf.media_url("comprovante.pdf"), "name": "comprovante.pdf"}]);
    let mut card = base("act-card");
    card["attachments"] = json!([{"contentType": "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard"}}]);
    let mut reaction = base("act-reaction");
    reaction["type"] = json!("messageReaction");
    reaction["reactionsAdded"] = json!([{"type": "like"}]);
    let mut update = base("act-update");
    update["type"] = json!("conversationUpdate");
    update["membersAdded"] = json!([{"id": "prosa-bot"}]);
    let mut typing = base("act-typing");
    typing["type"] = json!("typing");
    for a in [&back, &file, &card, &reaction, &update, &typing] {
        let r = hook.post(&app.http, &bytes(a)).await;
        assert_eq!(r.status, 200, "{a}: {}", r.body);
    }
    let conv = app.one_conversation().await;
    let msgs = app.settled_messages(&conv).await;
    assert_eq!(msgs.len(), 6, "{msgs:#?}");
    let first = by_provider_id(&msgs, "webchat:conv-user-1:act-1");
    assert_eq!(first["text"], "Oi, minha internet está lenta");
    assert_eq!(
        first["sent_at"], "2026-11-30T12:00:00Z",
        "the channel's timestamp"
    );
    assert_eq!(
        by_provider_id(&msgs, "webchat:conv-user-1:act-back")["selected_option"],
        "boleto"
    );
    assert_eq!(
        by_provider_id(&msgs, "webchat:conv-user-1:act-card")["unsupported"],
        "message.card"
    );
    assert_eq!(
        by_provider_id(&msgs, "webchat:conv-user-1:act-reaction")["unsupported"],
        "messageReaction"
    );
    let m = app
        .until("the file stored", || async {
            let msgs = app.messages(&conv).await;
            let m = by_provider_id(&msgs, "webchat:conv-user-1:act-file").clone();
            m["attachments"][0]["stored_path"]
                .as_str()
                .is_some()
                .then_some(m)
        })
        .await;
    let (status, got) = app
        .get_bytes(&format!(
            "/api/v1/attachments/{}/0",
            m["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(got, FakeBotFramework::media_bytes("comprovante.pdf"));
    app.stop().await;
}

#[tokio::test]
async fn botframework_replies_with_a_cached_token_and_map_errors() {
    let app = start().await;
    let bf = FakeBotFramework::start().await;
    let id = app.inbox("bot_framework", bf.settings()).await;
    let hook = connector_hook(app.webhook_url("botframework", &id));
    let hello = bytes(&bf.text_activity("act-hello", "user-9", "Oi"));
    assert_eq!(hook.post(&app.http, &hello).await.status, 200);
    let conv = app.one_conversation().await;

    // A reply with suggested actions, to the conversation at the activity's serviceUrl.
    let out = app
        .send(
            &conv,
            json!({"text": "Como posso ajudar?", "options": [
            {"id": "boleto", "label": "2ª via"}, {"id": "suporte", "label": "Suporte"}]}),
        )
        .await;
    let m = app.until_status(&conv, &out, "sent").await;
    assert!(
        m["provider_message_id"]
            .as_str()
            .unwrap()
            .starts_with("1764500000")
    );
    let sent = activities(&bf).pop().unwrap();
    assert_eq!(
        sent.path,
        "/connector/v3/conversations/conv-user-9/activities"
    );
    assert_eq!(
        sent.headers.get("authorization").unwrap(),
        "Bearer fake-access-token-1"
    );
    let a = sent.json();
    assert_eq!(a["type"], "message");
    assert_eq!(a["recipient"]["id"], "user-9");
    assert_eq!(a["from"]["id"], "prosa-bot");
    assert_eq!(
        a["suggestedActions"]["actions"][1]["value"]["option_id"],
        "suporte"
    );
    assert_eq!(a["suggestedActions"]["actions"][0]["title"], "2ª via");
    let token_request = bf
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/token"))
        .unwrap();
    let form = String::from_utf8(token_request.body).unwrap();
    assert!(form.contains("grant_type=client_credentials"), "{form}");
    assert!(form.contains(&format!("client_id={APP_ID}")), "{form}");
    assert!(
        form.contains("scope=https%3A%2F%2Fapi.botframework.com%2F.default"),
        "{form}"
    );

    // A document: an attachment with its URL; the token is reused (cached).
    let mut invoice = MessageContent::text("Segue a sua fatura.");
    invoice.attachments.push(Attachment {
        kind: "document".into(),
        file_name: Some("fatura-123.pdf".into()),
        mime_type: Some("application/pdf".into()),
        stored_path: None,
        url: Some("https://erp.example.net/faturas/123.pdf".into()),
        size: None,
    });
    let doc = app.send_as(&conv, AuthorKind::Bot, invoice).await;
    app.until_status(&conv, &doc, "sent").await;
    let a = activities(&bf).pop().unwrap().json();
    assert_eq!(a["attachments"][0]["contentType"], "application/pdf");
    assert_eq!(
        a["attachments"][0]["contentUrl"],
        "https://erp.example.net/faturas/123.pdf"
    );
    assert_eq!(a["attachments"][0]["name"], "fatura-123.pdf");
    assert_eq!(bf.token_requests(), 1, "the token is cached");

    // Throttled (429 + Retry-After): retried, then sent.
    bf.push(
        429,
        json!({"error": {"code": "Throttled", "message": "slow down"}}),
        &[("retry-after", "0")],
    );
    let out = app.send(&conv, json!({"text": "Depois do limite"})).await;
    app.until_status(&conv, &out, "sent").await;
    assert_eq!(
        activities(&bf)
            .iter()
            .filter(|r| r.json()["text"] == "Depois do limite")
            .count(),
        2
    );
    // A token revoked early: a fresh one, once.
    bf.revoke_tokens();
    let out = app.send(&conv, json!({"text": "Com token novo"})).await;
    app.until_status(&conv, &out, "sent").await;
    assert_eq!(bf.token_requests(), 2);
    let tries: Vec<u16> = activities(&bf)
        .iter()
        .filter(|r| r.json()["text"] == "Com token novo")
        .map(|_| 1)
        .collect();
    assert_eq!(
        tries.len(),
        2,
        "refused once, then sent with the fresh token"
    );
    // The app password was changed at Microsoft: credentials broken, on the message, the
    // inbox and the metrics.
    let mut settings = bf.settings();
    settings["kind"] = json!("bot_framework");
    settings["app_password"] = json!("senha-antiga");
    let (status, v) = app
        .put(
            &format!("/api/v1/inboxes/{id}"),
            json!({"name": "Teams", "channel": settings}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    bf.revoke_tokens();
    let out = app.send(&conv, json!({"text": "Com a senha antiga"})).await;
    let m = app.until_status(&conv, &out, "failed").await;
    assert!(
        m["delivery_error"]
            .as_str()
            .unwrap()
            .contains("credentials"),
        "{m}"
    );
    assert_eq!(
        app.metric("prosa_send_failures_total{channel=\"bot_framework\",reason=\"credentials\"}")
            .await,
        1.0
    );
    let health = app.get(&format!("/api/v1/inboxes/{id}")).await["health"].clone();
    assert!(
        health["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("credentials"),
        "{health}"
    );
    assert_eq!(ISSUER, "https://api.botframework.com");
    app.stop().await;
}
