//! Live-panel benchmark: N panel WebSocket clients (`/api/v1/ws`) on one instance (SQLite).
//!
//!     cargo run --release -p prosa-server --example ws_bench [-- CLIENTS MESSAGES]
//!
//! The example re-executes itself as a child process that runs only the server (so that the
//! server's memory is measured alone, from `/proc/PID/status`), creates operators and
//! supervisors, signs each in once, opens CLIENTS sockets (sessions shared: several sockets per
//! person, as with several tabs), then injects MESSAGES subscriber messages through the signed
//! API-channel webhook, one every 50 ms. Every client may see every message (the conversation
//! waits in the queue of no team), so each message must reach every socket: the example
//! checks that none is lost and reports the per-delivery latency (webhook POST sent → frame
//! received: storing, processing, the event log, the hub and the socket) and the server's
//! resident memory before and after connecting, per client.

use futures_util::{SinkExt, StreamExt};
use prosa_server::config::Config;
use prosa_storage::{Store, StoreOptions};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ADMIN: &str = "admin@bench.test";
const PASSWORD: &str = "senha-do-benchmark";
const SECRET: &str = "bench-secret";
/// People signed in; the sockets are spread over them.
const PEOPLE: usize = 20;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The child: a server on 127.0.0.1:0 over a fresh SQLite file; prints its address and an
/// administrator API token, then serves until stdin closes.
async fn serve() {
    let dir = std::env::temp_dir().join(format!("prosa-ws-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/bench.db", dir.display());
    let store = Store::open(&StoreOptions::new(&url)).await.unwrap();
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: url,
        admin_email: Some(ADMIN.into()),
        admin_password: Some(secrecy::SecretString::from(PASSWORD)),
        ..Config::default()
    };
    prosa_server::bootstrap_admin(&config, &store)
        .await
        .unwrap();
    let (token, _) = prosa_server::api::create_token(&store, "bench", None)
        .await
        .unwrap();
    let running = prosa_server::start(config, store).await.unwrap();
    println!("READY {} {token}", running.addr);
    // Serve until the parent closes our stdin.
    tokio::task::spawn_blocking(|| {
        let mut s = String::new();
        while std::io::stdin()
            .read_line(&mut s)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    })
    .await
    .unwrap();
    running.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

async fn login(http: &reqwest::Client, base: &str, email: &str) -> String {
    let r = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "login {email}");
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        return serve().await;
    }
    let clients: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let messages: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(40);

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("serve")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("starting the server process");
    let pid = child.id();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "server exited");
        if line.starts_with("READY ") {
            break;
        }
    }
    let mut parts = line.split_whitespace().skip(1);
    let addr = parts.next().unwrap().to_owned();
    let token = parts.next().unwrap().to_owned();
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();

    // People: half supervisors (see everything), half agents (see the queue of no team).
    let mut cookies = Vec::new();
    for i in 0..PEOPLE {
        let email = format!("p{i}@bench.test");
        let role = if i % 2 == 0 { "supervisor" } else { "agent" };
        let r = http
            .post(format!("{base}/api/v1/users"))
            .bearer_auth(&token)
            .json(&json!({"email": email, "name": format!("Pessoa {i}"), "role": role, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        cookies.push(login(&http, &base, &email).await);
    }
    let r: Value = http
        .post(format!("{base}/api/v1/inboxes"))
        .bearer_auth(&token)
        .json(&json!({"name": "Portal", "channel": {"kind": "api", "secret": SECRET, "callback_url": "http://127.0.0.1:9/cb"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let inbox = r["id"].as_str().unwrap().to_owned();
    let post = |n: usize| {
        let body = json!({"message_id": format!("b-{n}"), "from": {"id": "5511999990000", "name": "Assinante"}, "text": format!("bench {n}")}).to_string();
        let sig = format!(
            "sha256={}",
            prosa_channel::signature::hmac_sha256_hex(SECRET.as_bytes(), body.as_bytes())
        );
        http.post(format!("{base}/webhooks/api/{inbox}"))
            .header("content-type", "application/json")
            .header("x-prosa-signature", sig)
            .body(body)
            .send()
    };
    // A first message creates the conversation; wait until it is processed.
    assert!(post(0).await.unwrap().status().is_success());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = rss_kib(pid);

    // Connect every socket and wait for its hello.
    let sent_at: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; messages + 1]));
    let (lat_tx, mut lat_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Duration)>();
    let mut ready = Vec::new();
    let connect_start = Instant::now();
    let mut rss_half = 0;
    for i in 0..clients {
        if i == clients / 2 {
            // The first half also soaks up heap the allocator kept from the start (NLU
            // training, password hashing): the second half shows the marginal cost.
            tokio::time::sleep(Duration::from_millis(500)).await;
            rss_half = rss_kib(pid);
        }
        let mut req = format!("ws://{addr}/api/v1/ws")
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("cookie", cookies[i % PEOPLE].parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let (mut write, mut read) = ws.split();
        let (hello_tx, hello_rx) = tokio::sync::oneshot::channel::<()>();
        let (sent_at, lat_tx) = (sent_at.clone(), lat_tx.clone());
        tokio::spawn(async move {
            let mut hello = Some(hello_tx);
            while let Some(Ok(m)) = read.next().await {
                let Message::Text(t) = m else { continue };
                let now = Instant::now();
                let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                match v["type"].as_str() {
                    Some("hello") => {
                        if let Some(h) = hello.take() {
                            let _ = h.send(());
                        }
                    }
                    Some("message_created") => {
                        let n: Option<usize> = v["message"]["text"]
                            .as_str()
                            .and_then(|s| s.strip_prefix("bench "))
                            .and_then(|s| s.parse().ok());
                        if let Some(n) = n
                            && let Some(Some(at)) = sent_at.lock().unwrap().get(n).copied()
                        {
                            let _ = lat_tx.send((n, now - at));
                        }
                    }
                    _ => {}
                }
            }
            let _ = write.close().await;
        });
        ready.push(hello_rx);
    }
    for r in ready {
        r.await.expect("socket closed before hello");
    }
    let connect_secs = connect_start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_connected = rss_kib(pid);

    // Inject the messages.
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    for n in 1..=messages {
        tick.tick().await;
        sent_at.lock().unwrap()[n] = Some(Instant::now());
        let r = post(n).await.unwrap();
        assert!(r.status().is_success());
    }
    drop(lat_tx);
    let expected = clients * messages;
    let mut lat = Vec::with_capacity(expected);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while lat.len() < expected {
        match tokio::time::timeout_at(deadline, lat_rx.recv()).await {
            Ok(Some((_, d))) => lat.push(d),
            _ => break,
        }
    }
    let rss_after = rss_kib(pid);
    lat.sort();
    let per_client = |kib: u64| (kib.saturating_sub(rss_before)) as f64 / clients as f64;
    println!("clients: {clients} (over {PEOPLE} signed-in people), messages: {messages}");
    println!(
        "deliveries: {} of {expected}{}",
        lat.len(),
        if lat.len() == expected {
            ""
        } else {
            "  <-- LOST"
        }
    );
    println!(
        "latency p50: {:.2} ms, p99: {:.2} ms, max: {:.2} ms",
        percentile(&lat, 0.50).as_secs_f64() * 1000.0,
        percentile(&lat, 0.99).as_secs_f64() * 1000.0,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    println!("connect: {connect_secs:.2} s for {clients} sockets");
    println!(
        "server RSS: before {rss_before} KiB, connected {rss_connected} KiB ({:.1} KiB/client), after messages {rss_after} KiB ({:.1} KiB/client)",
        per_client(rss_connected),
        per_client(rss_after)
    );
    println!(
        "marginal: second half of the sockets {:.1} KiB/client ({rss_half} -> {rss_connected} KiB)",
        rss_connected.saturating_sub(rss_half) as f64 / (clients - clients / 2) as f64
    );
    drop(child.stdin.take());
    let _ = child.wait();
    assert_eq!(lat.len(), expected, "deliveries lost");
}
