//! `kill -9` in the middle of traffic: after the restart every acknowledged message is there
//! and every queued reply is sent exactly once. Runs the real binary.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    addr: String,
}

fn start(dir: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_prosa"))
        .args(["--config", dir.join("prosa.toml").to_str().unwrap()])
        .env("PROSA_ADMIN_EMAIL", "admin@test.local")
        .env("PROSA_ADMIN_PASSWORD", "admin-password")
        .env("PROSA_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("server printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("Prosa is listening on http://") {
            break rest.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server { child, addr }
}

#[derive(Clone, Default)]
struct Callback {
    up: Arc<AtomicBool>,
    got: Arc<Mutex<Vec<String>>>,
}

async fn record(State(cb): State<Callback>, body: Bytes) -> StatusCode {
    if !cb.up.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let v: Value = serde_json::from_slice(&body).unwrap();
    cb.got
        .lock()
        .unwrap()
        .push(v["text"].as_str().unwrap().to_owned());
    StatusCode::OK
}

fn sign(body: &[u8]) -> String {
    format!(
        "sha256={}",
        prosa_channel::signature::hmac_sha256_hex(b"k", body)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_nothing_acknowledged_and_sends_each_reply_once() {
    let dir = std::env::temp_dir().join(format!("prosa-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("prosa.toml"),
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = \"sqlite://{}/prosa.db\"\n[outbox]\nbase_delay_ms = 100\nmax_delay_ms = 300\nmax_attempts = 50\n[egress]\nallowed_private_hosts = [\"127.0.0.1\"]\n",
            dir.display()
        ),
    )
    .unwrap();
    let cb = Callback::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cb_url = format!("http://{}/cb", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/cb", post(record))
        .with_state(cb.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut server = start(&dir);
    let client = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let login = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": "admin@test.local", "password": "admin-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me: Value = client
        .get(format!("{base}/api/v1/users/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();
    let inbox: Value = client
        .post(format!("{base}/api/v1/inboxes"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "Portal", "channel": {"kind": "api", "secret": "k", "callback_url": cb_url}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let inbox = inbox["id"].as_str().unwrap().to_owned();

    // One message, a conversation, and replies queued while the callback is down.
    let first =
        serde_json::to_vec(&json!({"message_id": "m-first", "from": {"id": "c0"}, "text": "oi"}))
            .unwrap();
    let r = client
        .post(format!("{base}/webhooks/api/{inbox}"))
        .header("x-prosa-signature", sign(&first))
        .body(first)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let conv = loop {
        let v: Value = client
            .get(format!("{base}/api/v1/conversations"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(id) = v[0]["id"].as_str() {
            break id.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for i in 0..10 {
        let r = client
            .post(format!("{base}/api/v1/conversations/{conv}/messages"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&json!({"text": format!("resposta {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }

    // Traffic, and kill -9 in the middle of it.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for w in 0..8 {
        let (client, acked, url) = (
            client.clone(),
            acked.clone(),
            format!("{base}/webhooks/api/{inbox}"),
        );
        senders.push(tokio::spawn(async move {
            for n in 0..1000 {
                let id = format!("m-{w}-{n}");
                let body = serde_json::to_vec(
                    &json!({"message_id": id, "from": {"id": format!("c{n}")}, "text": "msg"}),
                )
                .unwrap();
                match client
                    .post(&url)
                    .header("x-prosa-signature", sign(&body))
                    .body(body)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => acked.lock().unwrap().push(id),
                    _ => return,
                }
            }
        }));
    }
    let t0 = Instant::now();
    while acked.lock().unwrap().len() < 300 && t0.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let acked: Vec<String> = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300, "traffic was flowing before the kill");

    // Restart on the same database; the callback comes back.
    let mut server = start(&dir);
    cb.up.store(true, Ordering::SeqCst);
    let base = format!("http://{}", server.addr);
    let login = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": "admin@test.local", "password": "admin-password"}))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    // Every acknowledged message became a message (each sender id has its own conversation).
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut stored = std::collections::HashSet::new();
    loop {
        stored.clear();
        let mut before: Option<String> = None;
        loop {
            let mut url = format!("{base}/api/v1/conversations?limit=500");
            if let Some(b) = &before {
                url.push_str(&format!("&before={b}"));
            }
            let page: Vec<Value> = client
                .get(&url)
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            before = page.last().unwrap()["id"].as_str().map(str::to_owned);
            for c in &page {
                let msgs: Vec<Value> = client
                    .get(format!(
                        "{base}/api/v1/conversations/{}/messages?limit=500",
                        c["id"].as_str().unwrap()
                    ))
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                for m in msgs {
                    if let Some(p) = m["provider_message_id"].as_str() {
                        stored.insert(p.to_owned());
                    }
                }
            }
        }
        if acked.iter().all(|id| stored.contains(id)) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let missing: Vec<&String> = acked.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged messages lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );

    // Every queued reply is sent, exactly once.
    let deadline = Instant::now() + Duration::from_secs(30);
    while cb.got.lock().unwrap().len() < 10 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut got = cb.got.lock().unwrap().clone();
    got.sort();
    let mut want: Vec<String> = (0..10).map(|i| format!("resposta {i}")).collect();
    want.sort();
    assert_eq!(got, want);
    server.child.kill().ok();
    server.child.wait().ok();
    std::fs::remove_dir_all(&dir).ok();
}
