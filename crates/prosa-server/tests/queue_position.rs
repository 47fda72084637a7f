//! Waiting subscribers are told their place in the human queue, and told again while it
//! improves; exactly once per step, also with two instances on PostgreSQL.

mod support;

use serde_json::{Value, json};
use support::*;

fn say(from: &str, id: &str, text: &str) -> Value {
    json!({"message_id": id, "from": {"id": from, "name": from}, "text": text})
}

/// The queue-position texts each subscriber received, in order.
fn told(cb: &Callback, to: &str) -> Vec<String> {
    cb.bodies()
        .iter()
        .filter(|b| b["to"].as_str() == Some(to))
        .filter_map(|b| b["text"].as_str().map(str::to_owned))
        .filter(|t| t.contains("da fila"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_subscribers_are_told_their_place() {
    waiting_subscribers_are_told_their_place_on(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_subscribers_are_told_their_place_postgres() {
    waiting_subscribers_are_told_their_place_on(true).await;
}

async fn waiting_subscribers_are_told_their_place_on(pg: bool) {
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
    let put = |body: Value| {
        app.client
            .put(app.url("/api/v1/bot/settings"))
            .bearer_auth(&app.token)
            .json(&body)
            .send()
    };
    let r = put(json!({"queue_position_interval_secs": 2}))
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "too frequent updates are refused");
    let v: Value = r.json().await.unwrap();
    assert!(
        v.to_string().contains("queue_position_interval_secs"),
        "{v}"
    );
    let r = put(json!({"queue_position_delay_secs": 1, "queue_position_interval_secs": 5}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // An API inbox without the bot: every conversation goes to the queue.
    let (cb, cb_url) = Callback::start().await;
    let inbox = app.api_inbox("k", &cb_url).await;
    for (n, who) in ["ana", "bia", "caio"].iter().enumerate() {
        let r = app
            .deliver(
                &inbox,
                "k",
                &say(who, &format!("m{n}"), "quero falar com alguém"),
            )
            .await;
        assert_eq!(r.status(), 200);
        // Distinct arrival instants keep the order unambiguous.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    eventually(20, "every subscriber told their place", || async {
        ["ana", "bia", "caio"]
            .iter()
            .all(|w| !told(&cb, w).is_empty())
            .then_some(())
    })
    .await;
    assert!(
        told(&cb, "ana")[0].contains("posição 1 "),
        "{:?}",
        told(&cb, "ana")
    );
    assert!(
        told(&cb, "bia")[0].contains("posição 2 "),
        "{:?}",
        told(&cb, "bia")
    );
    assert!(
        told(&cb, "caio")[0].contains("posição 3 "),
        "{:?}",
        told(&cb, "caio")
    );

    // The first one is taken: the others move up and are told so once, after the interval.
    let admin = app.store().list_users().await.unwrap()[0].id;
    let taken = app.store().take_next_waiting(admin, true).await.unwrap();
    assert!(taken.is_some());
    eventually(30, "the updates", || async {
        (told(&cb, "bia").len() == 2 && told(&cb, "caio").len() == 2).then_some(())
    })
    .await;
    assert!(
        told(&cb, "bia")[1].contains("posição 1 "),
        "{:?}",
        told(&cb, "bia")
    );
    assert!(
        told(&cb, "caio")[1].contains("posição 2 "),
        "{:?}",
        told(&cb, "caio")
    );
    // Nothing more while nothing changes; Ana, now served, is never told again.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(told(&cb, "ana").len(), 1);
    assert_eq!(told(&cb, "bia").len(), 2);
    assert_eq!(told(&cb, "caio").len(), 2);
    // The notices are system messages of the conversation, visible in the history.
    let convs = app.get("/api/v1/conversations?status=waiting").await;
    let id = convs.as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let msgs = app
        .get(&format!("/api/v1/conversations/{id}/messages"))
        .await
        .to_string();
    assert!(msgs.contains("da fila de atendimento"), "{msgs}");
    app.stop().await;
    if let Some(o) = other {
        o.stop().await;
    }
}
