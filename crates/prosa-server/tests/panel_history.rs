//! Beside the chat: the subscriber's earlier conversations (read-only, private notes only for
//! whoever may see that conversation) and the canned responses operators pick with "/".

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::people::*;
use support::*;

async fn waiting_conversation(app: &App, not: Option<&str>) -> String {
    let store = app.store().clone();
    let not = not.map(str::to_owned);
    eventually(10, "a waiting conversation", || {
        let store = store.clone();
        let not = not.clone();
        async move {
            let list = store
                .list_conversations(&prosa_storage::conversations::ConversationFilter {
                    status: Some(prosa_domain::model::ConversationStatus::Waiting),
                    limit: 10,
                    ..Default::default()
                })
                .await
                .ok()?;
            list.iter()
                .map(|c| c.id.0.to_string())
                .find(|id| Some(id) != not.as_ref())
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earlier_conversations_and_canned_responses() {
    let url = fresh_url(false).await.unwrap();
    let app = App::start(test_config(&url)).await;
    let (_, team) = call(
        &app,
        None,
        Method::POST,
        "/api/v1/teams",
        Some(json!({"name": "Suporte"})),
    )
    .await;
    let team = team["id"].as_str().unwrap().to_owned();
    let (_, other) = call(
        &app,
        None,
        Method::POST,
        "/api/v1/teams",
        Some(json!({"name": "Financeiro"})),
    )
    .await;
    let other = other["id"].as_str().unwrap().to_owned();
    let ana = person(&app, "ana@isp.test", &team).await;
    let bob = person(&app, "bob@isp.test", &other).await;
    let (s, inbox) = call(
        &app,
        None,
        Method::POST,
        "/api/v1/inboxes",
        Some(json!({"name": "Portal", "channel": {"kind": "api", "secret": "s", "callback_url": "http://127.0.0.1:9/cb"}, "team_id": team})),
    )
    .await;
    assert_eq!(s, 201);
    let inbox = inbox["id"].as_str().unwrap().to_owned();
    let write = |id: &'static str, text: &'static str| {
        let (app, inbox) = (&app, inbox.clone());
        async move {
            let r = app
                .deliver(
                    &inbox,
                    "s",
                    &json!({"message_id": id, "from": {"id": "joana", "name": "Joana"}, "text": text}),
                )
                .await;
            assert!(r.status().is_success());
        }
    };

    // A first conversation: taken, a private note, closed.
    write("m1", "Minha internet caiu").await;
    let first = waiting_conversation(&app, None).await;
    let (s, _) = call(
        &app,
        Some(&ana),
        Method::POST,
        &format!("/api/v1/conversations/{first}/take"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(
        &app,
        Some(&ana),
        Method::POST,
        &format!("/api/v1/conversations/{first}/messages"),
        Some(json!({"text": "Nota: cliente irritado", "private": true})),
    )
    .await;
    assert_eq!(s, 201);
    let (_, cats) = call(&app, None, Method::GET, "/api/v1/categories", None).await;
    let (s, v) = call(
        &app,
        Some(&ana),
        Method::POST,
        &format!("/api/v1/conversations/{first}/close"),
        Some(json!({"category_id": cats[0]["id"]})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    app.store()
        .close_rating_request(prosa_domain::ConversationId(first.parse().unwrap()))
        .await
        .unwrap();

    // She writes again: a new conversation, with the first one listed as earlier.
    write("m2", "Voltou a cair").await;
    let second = waiting_conversation(&app, Some(&first)).await;
    assert_ne!(first, second);
    let (s, _) = call(
        &app,
        Some(&ana),
        Method::POST,
        &format!("/api/v1/conversations/{second}/take"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, list) = call(
        &app,
        Some(&ana),
        Method::GET,
        &format!("/api/v1/conversations/{second}/earlier"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["id"], first.as_str());
    assert_eq!(list[0]["status"], "resolved");
    assert_eq!(list[0]["category"], cats[0]["name"]);
    assert_eq!(list[0]["inbox_name"], "Portal");

    // Its messages, read-only: the operator (who cannot open the resolved conversation itself)
    // does not see its private note; the integration (sees everything) does.
    let path = format!("/api/v1/conversations/{second}/earlier/{first}/messages");
    let texts = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["text"].as_str().map(str::to_owned))
            .collect()
    };
    let (s, msgs) = call(&app, Some(&ana), Method::GET, &path, None).await;
    assert_eq!(s, 200);
    let seen = texts(&msgs);
    assert!(seen.contains(&"Minha internet caiu".to_owned()), "{seen:?}");
    assert!(!seen.iter().any(|t| t.contains("irritado")), "{seen:?}");
    let (_, msgs) = call(&app, None, Method::GET, &path, None).await;
    assert!(texts(&msgs).iter().any(|t| t.contains("irritado")));
    // Only earlier conversations of the same subscriber; never for someone who may not see
    // the current one.
    let (s, _) = call(
        &app,
        None,
        Method::GET,
        &format!("/api/v1/conversations/{first}/earlier/{second}/messages"),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = call(
        &app,
        Some(&bob),
        Method::GET,
        &format!("/api/v1/conversations/{second}/earlier"),
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = call(&app, Some(&bob), Method::GET, &path, None).await;
    assert_eq!(s, 404);

    // Operators list the canned responses (managed by the administrator).
    let (s, _) = call(
        &app,
        None,
        Method::POST,
        "/api/v1/canned-responses",
        Some(json!({"shortcut": "ola", "content": "Olá, {nome}!"})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, v) = call(
        &app,
        Some(&ana),
        Method::GET,
        "/api/v1/canned-responses",
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v[0]["shortcut"], "ola");
    assert_eq!(v[0]["content"], "Olá, {nome}!");
    let (s, _) = call(
        &app,
        Some(&ana),
        Method::POST,
        "/api/v1/canned-responses",
        Some(json!({"shortcut": "x", "content": "y"})),
    )
    .await;
    assert_eq!(s, 403);
    app.stop().await;
}
