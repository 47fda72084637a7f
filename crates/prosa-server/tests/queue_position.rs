//! Waiting subscribers are told their place in the human queue, and told again while it
//! improves; exactly once per step, also with two instances on PostgreSQL.

mod support;

use serde_json::{Value, json};
use support::webchat;
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

// ------------------------------------------------------------------ the website chat's line

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn website_chat_shows_the_place_live() {
    website_chat_shows_the_place_live_on(false).await;
}

/// Two instances: the visitors' sockets are on one, the operator works on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn website_chat_shows_the_place_live_postgres() {
    website_chat_shows_the_place_live_on(true).await;
}

/// The next `queue` frame on a visitor's socket.
async fn queue_frame(ws: &mut webchat::Socket, what: &str) -> Value {
    webchat::frame_where(ws, what, |f| f["type"] == "queue").await
}

/// No `queue` frame for half a second (messages, such as the bot's notices, may come).
async fn no_queue_frame(ws: &mut webchat::Socket) {
    while let Some(f) = webchat::next_frame(ws, std::time::Duration::from_millis(500)).await {
        assert_ne!(f["type"], "queue", "{f}");
    }
}

async fn website_chat_shows_the_place_live_on(pg: bool) {
    use reqwest::Method;
    use support::people::{call, person};
    let Some(url) = fresh_url(pg).await else {
        eprintln!("PROSA_TEST_POSTGRES_URL not set; skipping");
        return;
    };
    let app = App::start(test_config(&url)).await;
    let other = if pg {
        Some(App::start(test_config(&url)).await)
    } else {
        None
    };
    let at = other.as_ref().unwrap_or(&app).running.addr;
    let (s, inbox) = call(
        &app,
        None,
        Method::POST,
        "/api/v1/inboxes",
        Some(json!({"name": "Site", "channel": {"kind": "web_chat"}})),
    )
    .await;
    assert_eq!(s, 201, "{inbox}");
    let inbox = inbox["id"].as_str().unwrap().to_owned();
    let (_, team) = call(
        &app,
        None,
        Method::POST,
        "/api/v1/teams",
        Some(json!({"name": "Suporte"})),
    )
    .await;
    let ana = person(&app, "ana@isp.test", team["id"].as_str().unwrap()).await;
    let take = |id: String| {
        let (app, ana) = (&app, &ana);
        async move {
            let (s, v) = call(
                app,
                Some(ana),
                Method::POST,
                &format!("/api/v1/conversations/{id}/take"),
                None,
            )
            .await;
            assert_eq!(s, 200, "{v}");
        }
    };
    // A visitor writes and waits; their conversation's id.
    let newest_waiting = || async {
        let list = app.get("/api/v1/conversations?status=waiting").await;
        list[0]["id"].as_str().unwrap().to_owned()
    };
    let mut sockets = Vec::new();
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for (n, who) in ["ana", "bia"].iter().enumerate() {
        let token = webchat::visitor_token(at, &inbox).await;
        let mut ws = webchat::visitor_ws(at, &inbox, &token, None).await;
        webchat::frame_where(&mut ws, "ready", |f| f["type"] == "ready").await;
        webchat::visitor_says(&mut ws, "c1", &format!("Oi, sou {who}, quero um atendente")).await;
        let line = queue_frame(&mut ws, "the place").await;
        assert_eq!(line["state"], "waiting", "{line}");
        assert_eq!(line["position"], n + 1, "{line}");
        assert_eq!(line["open"], true);
        // No history of this queue yet: no estimate.
        assert_eq!(line["estimated_wait_minutes"], Value::Null, "{line}");
        assert_eq!(line["text"], format!("Você é o {}º da fila", n + 1));
        sockets.push(ws);
        tokens.push(token);
        ids.push(newest_waiting().await);
    }
    let (mut first, mut second) = (sockets.remove(0), sockets.remove(0));
    // Someone arriving behind moves nobody: the first visitor is not told anything new.
    no_queue_frame(&mut first).await;

    // The operator takes the first: the second moves up, the first is told a person came.
    let started = std::time::Instant::now();
    take(ids[0].clone()).await;
    let line = queue_frame(&mut second, "moved up").await;
    let moved_after = started.elapsed();
    assert_eq!(line["position"], 1, "{line}");
    assert_eq!(line["text"], "Você é o 1º da fila");
    eprintln!("queue line moved {moved_after:?} after the take (pg: {pg})");
    let served = queue_frame(&mut first, "served").await;
    assert_eq!(
        served,
        json!({"type": "queue", "state": "served", "text": "Um atendente entrou na conversa"})
    );

    // Two more arrive behind and are taken: three departures make an estimate.
    for who in ["caio", "duda"] {
        let token = webchat::visitor_token(at, &inbox).await;
        let mut ws = webchat::visitor_ws(at, &inbox, &token, None).await;
        webchat::frame_where(&mut ws, "ready", |f| f["type"] == "ready").await;
        webchat::visitor_says(&mut ws, "c1", &format!("Oi, sou {who}")).await;
        assert_eq!(queue_frame(&mut ws, "behind").await["position"], 2);
        take(newest_waiting().await).await;
    }
    let line = queue_frame(&mut second, "the estimate").await;
    assert_eq!(line["position"], 1, "{line}");
    assert!(
        line["estimated_wait_minutes"].as_i64().unwrap() >= 1,
        "{line}"
    );
    let text = line["text"].as_str().unwrap();
    assert!(
        text.starts_with("Você é o 1º da fila · espera estimada ~") && text.ends_with(" min"),
        "{text}"
    );

    // The queue closes by the service hours (a rule for tomorrow only): a visitor who comes
    // back sees it, with when it opens and their place.
    let tomorrow = jiff::ZonedDateTime::now()
        .in_tz("America/Sao_Paulo")
        .unwrap()
        .weekday()
        .next();
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [tomorrow.to_monday_zero_offset() as usize];
    let (s, r) = call(
        &app,
        None,
        Method::POST,
        "/api/v1/service-hours/rules",
        Some(json!({"description": "Atendimento", "weekdays": [day], "intervals": [{"start": "08:00", "end": "18:00"}]})),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    drop(second);
    let mut second = webchat::visitor_ws(at, &inbox, &tokens[1], None).await;
    let line = queue_frame(&mut second, "closed").await;
    assert_eq!(line["state"], "waiting", "{line}");
    assert_eq!(
        (&line["position"], &line["open"]),
        (&json!(1), &json!(false)),
        "{line}"
    );
    assert_eq!(line["estimated_wait_minutes"], Value::Null, "{line}");
    let next = line["next_opening"].as_str().expect("when it opens");
    assert_eq!(
        line["text"],
        format!("Fora do horário de atendimento · abre {next} · você é o 1º da fila")
    );

    // Taken at last: told once, and the line is not repeated.
    take(ids[1].clone()).await;
    let served = queue_frame(&mut second, "served at last").await;
    assert_eq!(served["state"], "served");
    no_queue_frame(&mut second).await;
    app.stop().await;
    if let Some(o) = other {
        o.stop().await;
    }
}
