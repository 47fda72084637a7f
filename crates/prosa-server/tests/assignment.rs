//! Automatic assignment through the real server: the administrator's API (validation, roles,
//! audit), round robin among online operators of the team, limits, a paused operator skipped,
//! and the three triggers (a conversation enters the queue, an operator frees a slot, an
//! operator goes online). SQLite always; PostgreSQL too when `PROSA_TEST_POSTGRES_URL` is set.

mod support;

use prosa_domain::{ConversationId, UserId};
use reqwest::Method;
use serde_json::{Value, json};
use support::people::*;
use support::*;

async fn presence(app: &App, p: &Person, presence: &str, reason: Option<&str>) {
    let (s, v) = call(
        app,
        Some(p),
        Method::PUT,
        "/api/v1/users/me/presence",
        Some(json!({"presence": presence, "reason": reason})),
    )
    .await;
    assert_eq!(s, 204, "{v}");
}

/// A subscriber writes; returns the id of their conversation once it exists.
async fn subscriber_writes(app: &App, inbox: &str, n: usize) -> ConversationId {
    let from = format!("cliente-{n}");
    let r = app
        .deliver(
            inbox,
            "s",
            &json!({"message_id": format!("m-{n}"), "from": {"id": from, "name": format!("Cliente {n}")}, "text": "Preciso de ajuda"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let store = app.store().clone();
    eventually(10, "the conversation", || {
        let store = store.clone();
        let from = from.clone();
        async move {
            let list = store
                .list_conversations(&prosa_storage::conversations::ConversationFilter {
                    limit: 100,
                    ..Default::default()
                })
                .await
                .ok()?;
            for c in list {
                let contact = store.contact_by_id(c.contact_id).await.ok()?;
                if contact.name.as_deref() == Some(&format!("Cliente {}", &from[8..])) {
                    return Some(c.id);
                }
            }
            None
        }
    })
    .await
}

async fn owner_becomes(app: &App, c: ConversationId, who: &Person) {
    let store = app.store().clone();
    let want = UserId(who.id.parse().unwrap());
    eventually(10, "the automatic assignment", || {
        let store = store.clone();
        async move {
            let conv = store.conversation_by_id(c).await.ok()?;
            (conv.assignee_id == Some(want)).then_some(())
        }
    })
    .await
}

async fn assignee(app: &App, c: ConversationId) -> Option<UserId> {
    app.store().conversation_by_id(c).await.unwrap().assignee_id
}

async fn round_robin(pg: bool) {
    let Some(url) = fresh_url(pg).await else {
        return;
    };
    let app = App::start(test_config(&url)).await;
    let (s, team) = call(
        &app,
        None,
        Method::POST,
        "/api/v1/teams",
        Some(json!({"name": "Suporte"})),
    )
    .await;
    assert_eq!(s, 201, "{team}");
    let team = team["id"].as_str().unwrap().to_owned();
    let ana = person(&app, "ana@isp.test", &team).await;
    let bia = person(&app, "bia@isp.test", &team).await;
    let caio = person(&app, "caio@isp.test", &team).await;
    let (s, inbox) = call(
        &app,
        None,
        Method::POST,
        "/api/v1/inboxes",
        Some(json!({"name": "Portal", "channel": {"kind": "api", "secret": "s", "callback_url": "http://127.0.0.1:9/cb"}, "team_id": team})),
    )
    .await;
    assert_eq!(s, 201, "{inbox}");
    let inbox = inbox["id"].as_str().unwrap().to_owned();

    // Administrators only; limits are checked.
    let path = format!("/api/v1/teams/{team}/assignment");
    let (s, _) = call(
        &app,
        Some(&ana),
        Method::PUT,
        &path,
        Some(json!({"auto_assign": true, "max_conversations": null})),
    )
    .await;
    assert_eq!(s, 403);
    let (s, v) = call(
        &app,
        None,
        Method::PUT,
        &path,
        Some(json!({"auto_assign": true, "max_conversations": 0})),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(v["field"], "max_conversations", "{v}");
    let (s, _) = call(
        &app,
        None,
        Method::PUT,
        "/api/v1/teams/999999/assignment",
        Some(json!({"auto_assign": true, "max_conversations": null})),
    )
    .await;
    assert_eq!(s, 404);
    let (s, v) = call(
        &app,
        None,
        Method::PUT,
        &path,
        Some(json!({"auto_assign": true, "max_conversations": null})),
    )
    .await;
    assert_eq!(s, 204, "{v}");
    for (p, n) in [(&ana, 2), (&bia, 3)] {
        let (s, v) = call(
            &app,
            None,
            Method::PUT,
            &format!("/api/v1/users/{}/max-conversations", p.id),
            Some(json!({"max_conversations": n})),
        )
        .await;
        assert_eq!(s, 204, "{v}");
    }
    let (s, v) = call(&app, None, Method::GET, "/api/v1/assignment", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["teams"][0]["auto_assign"], true, "{v}");
    assert!(
        v["operators"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["user_id"] == ana.id.as_str() && o["max_conversations"] == 2),
        "{v}"
    );

    presence(&app, &ana, "online", None).await;
    presence(&app, &bia, "online", None).await;
    presence(&app, &caio, "paused", Some("Almoço")).await;

    // Round robin, oldest first, Ana up to 2 and Bia up to 3; Caio is paused.
    let mut convs = Vec::new();
    for (n, who) in [(1, &ana), (2, &bia), (3, &ana), (4, &bia), (5, &bia)] {
        let c = subscriber_writes(&app, &inbox, n).await;
        owner_becomes(&app, c, who).await;
        convs.push(c);
    }
    // Everyone with room is full: the sixth waits.
    let sixth = subscriber_writes(&app, &inbox, 6).await;
    let store = app.store().clone();
    let (_, cat) = call(&app, None, Method::GET, "/api/v1/categories", None).await;
    let cat = cat[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(assignee(&app, sixth).await, None);
    assert_eq!(
        store.conversation_by_id(sixth).await.unwrap().status,
        prosa_domain::model::ConversationStatus::Waiting
    );

    // Ana frees a slot by closing one: the sixth becomes hers.
    let (s, v) = call(
        &app,
        Some(&ana),
        Method::POST,
        &format!("/api/v1/conversations/{}/close", convs[0].0),
        Some(json!({"category_id": cat})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    owner_becomes(&app, sixth, &ana).await;

    // A seventh waits until Caio comes back online.
    let seventh = subscriber_writes(&app, &inbox, 7).await;
    assert_eq!(assignee(&app, seventh).await, None);
    presence(&app, &caio, "online", None).await;
    owner_becomes(&app, seventh, &caio).await;

    // Every automatic assignment is in the audit trail; the settings changes too.
    let audit = store.list_audit(200).await.unwrap();
    let autos = audit
        .iter()
        .filter(|a| a.entry.action == "conversation.auto_assign")
        .count();
    assert_eq!(autos, 7);
    assert!(audit.iter().any(|a| a.entry.action == "assignment.team"));
    assert!(
        audit
            .iter()
            .any(|a| a.entry.action == "assignment.operator_limit")
    );

    // The administration page shows the settings and rejects a bad limit next to the field.
    let cookie = {
        let resp = app
            .client
            .post(app.url("/api/v1/session"))
            .json(&json!({"email": "admin@test.local", "password": "admin-password"}))
            .send()
            .await
            .unwrap();
        resp.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    };
    let html = app
        .client
        .get(app.url("/admin/assignment"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Distribuição automática"), "{html}");
    assert!(html.contains("Suporte"));
    let me: Value = app
        .client
        .get(app.url("/api/v1/users/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = app
        .client
        .post(app.url(&format!("/admin/assignment/team/{team}")))
        .header("cookie", &cookie)
        .form(&[
            ("csrf_token", me["csrf_token"].as_str().unwrap()),
            ("auto_assign", "true"),
            ("max_conversations", "abc"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(
        html.contains("limite deve ser um número de 1 a 100"),
        "{html}"
    );
    // The team's setting did not change.
    let (_, v) = call(&app, None, Method::GET, "/api/v1/assignment", None).await;
    assert_eq!(v["teams"][0]["max_conversations"], Value::Null);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_limits_and_triggers_sqlite() {
    round_robin(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_limits_and_triggers_postgres() {
    round_robin(true).await;
}
