//! Ingest benchmark: signed API-channel messages posted over loopback HTTP to a real server.
//! Reports accepted messages/s and acknowledgement latency (p50/p99) at full speed and at half
//! that rate, next to the same server's plain `/healthz` rate, on SQLite and (when
//! PROSA_TEST_POSTGRES_URL is set) PostgreSQL. Also how fast the inbound worker turned the
//! stored items into messages (every accepted item, until none is pending).
//!
//!     cargo run --release -p prosa-server --example ingest_bench [-- SECONDS CONCURRENCY [full]]
//!
//! With `full`, SQLite also runs with `synchronous=FULL` (an fsync per commit).
//!
//! With a third argument `whatsapp`, the same measurement posts WhatsApp Cloud API
//! notifications signed with `X-Hub-Signature-256` to a WhatsApp Cloud inbox instead (see
//! [`whatsapp_cloud`]):
//!
//!     cargo run --release -p prosa-server --example ingest_bench -- 4 32 whatsapp

use prosa_server::config::Config;
use prosa_storage::{SqliteDurability, Store, StoreOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Run {
    count: usize,
    rate: f64,
    p50: Duration,
    p99: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn load(
    url: String,
    body: impl Fn(u64) -> Option<(Vec<u8>, String)> + Send + Sync + 'static,
    secs: u64,
    conc: usize,
    target_rate: Option<f64>,
) -> Run {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conc)
        .build()
        .unwrap();
    let body = Arc::new(body);
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (client, body, counter, url) =
            (client.clone(), body.clone(), counter.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if let Some(rate) = target_rate {
                    let due = start + Duration::from_secs_f64(n as f64 / rate);
                    if due > deadline {
                        break;
                    }
                    tokio::time::sleep_until(due.into()).await;
                } else if Instant::now() > deadline {
                    break;
                }
                let t = Instant::now();
                let r = match body(n) {
                    Some((b, sig)) => {
                        client
                            .post(&url)
                            .header("content-type", "application/json")
                            .header("x-prosa-signature", sig)
                            .body(b)
                            .send()
                            .await
                    }
                    None => client.get(&url).send().await,
                };
                let ok = r.map(|r| r.status().is_success()).unwrap_or(false);
                assert!(ok, "request failed");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    Run {
        count: all.len(),
        rate: all.len() as f64 / elapsed,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
    }
}

#[allow(clippy::field_reassign_with_default)]
async fn bench(name: &str, db_url: String, durability: SqliteDurability, secs: u64, conc: usize) {
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: db_url.clone(),
        log_level: "warn".into(),
        sqlite_durability: durability,
        ..Config::default()
    };
    let mut options = StoreOptions::new(&db_url);
    options.sqlite_durability = durability;
    options.max_connections = 16;
    let store = Store::open(&options).await.unwrap();
    let inbox = store
        .create_inbox(&prosa_storage::inboxes::NewInbox {
            name: "bench".into(),
            kind: prosa_domain::model::ChannelKind::Api,
            settings: serde_json::json!({"secret": "bench-secret", "callback_url": "http://127.0.0.1:9/cb"}),
            team_id: None,
            bot_enabled: false,
        })
        .await
        .unwrap();
    let app = prosa_server::start(config, store).await.unwrap();
    let base = format!("http://{}", app.addr);
    let health = load(format!("{base}/healthz"), |_| None, secs, conc, None).await;
    let run_id = std::process::id();
    let make = move |offset: u64| {
        move |n: u64| {
            let b = serde_json::to_vec(&serde_json::json!({"message_id": format!("{run_id}-{}", n + offset), "from": {"id": format!("c{}", n % 500)}, "text": "minha internet caiu"})).unwrap();
            let sig = format!(
                "sha256={}",
                prosa_channel::signature::hmac_sha256_hex(b"bench-secret", &b)
            );
            Some((b, sig))
        }
    };
    let url = format!("{base}/webhooks/api/{inbox}");
    let started = Instant::now();
    let full = load(url.clone(), make(0), secs, conc, None).await;
    // Stored but not yet turned into messages when the full-speed run ended.
    let backlog = app.state.store.count_pending_inbound().await.unwrap();
    let half = load(url, make(10_000_000), secs, conc, Some(full.rate / 2.0)).await;
    // Processing: every accepted item turned into a message, until none is pending.
    let last = Instant::now();
    while app.state.store.count_pending_inbound().await.unwrap() > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drain = last.elapsed().as_secs_f64();
    let processed = (full.count + half.count) as f64 / started.elapsed().as_secs_f64();
    println!(
        "| {name} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.0} | {backlog} | {drain:.1} | {processed:.0} |",
        full.rate,
        full.p50.as_secs_f64() * 1e3,
        full.p99.as_secs_f64() * 1e3,
        half.rate,
        half.p50.as_secs_f64() * 1e3,
        half.p99.as_secs_f64() * 1e3,
        health.rate,
    );
    app.stop().await.unwrap();
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let conc: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(32);
    if args.get(3).map(String::as_str) == Some("whatsapp") {
        whatsapp_cloud::main(secs, conc).await;
        return;
    }
    let also_full = args.get(3).is_some_and(|s| s == "full");
    println!("{secs} s per run, {conc} concurrent connections; SQLite in WAL mode\n");
    println!(
        "| database | max accepted/s | p50 ms | p99 ms | half-rate/s | p50 ms | p99 ms | /healthz req/s | backlog after full speed | s to drain after last run | processed/s over both runs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let dir = std::env::temp_dir().join(format!("prosa-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    bench(
        "SQLite, synchronous=NORMAL",
        format!("sqlite://{}/bench.db", dir.display()),
        SqliteDurability::Normal,
        secs,
        conc,
    )
    .await;
    if also_full {
        bench(
            "SQLite, synchronous=FULL",
            format!("sqlite://{}/bench-full.db", dir.display()),
            SqliteDurability::Full,
            secs,
            conc,
        )
        .await;
    }
    if let Ok(base) = std::env::var("PROSA_TEST_POSTGRES_URL") {
        let name = format!("prosa_bench_{}", std::process::id());
        let admin = sqlx::PgPool::connect(&base).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        let mut url = url::Url::parse(&base).unwrap();
        url.set_path(&name);
        bench(
            "PostgreSQL",
            url.to_string(),
            SqliteDurability::Normal,
            secs,
            conc,
        )
        .await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {name} WITH (FORCE)"
        )))
        .execute(&admin)
        .await
        .ok();
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// WhatsApp Cloud mode: Cloud API `messages` notifications, each signed with the app secret
/// (`X-Hub-Signature-256: sha256=<HMAC>`) as Meta sends them, posted to a WhatsApp Cloud inbox's
/// webhook. Everything the server does for a real notification happens: signature check on the
/// raw bytes, parse, deduplicated store, then the inbound worker's processing.
mod whatsapp_cloud {
    use super::{Run, percentile};
    use prosa_server::config::Config;
    use prosa_storage::{SqliteDurability, Store, StoreOptions};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    const APP_SECRET: &[u8] = b"bench-meta-app-secret";
    const PHONE_NUMBER_ID: &str = "106540352242922";

    /// A Cloud API notification with one text message (the shape of Meta's OpenAPI example).
    fn notification(run: u32, n: u64) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "5548999990000", "phone_number_id": PHONE_NUMBER_ID},
                "contacts": [{"profile": {"name": "Cliente"}, "wa_id": format!("55489{:08}", n % 500)}],
                "messages": [{"from": format!("55489{:08}", n % 500), "id": format!("wamid.bench-{run}-{n}"),
                    "timestamp": "1764500000", "type": "text", "text": {"body": "minha internet caiu"}}]
            }}]}]
        }))
        .expect("JSON")
    }

    async fn load(url: String, first: u64, secs: u64, conc: usize, rate: Option<f64>) -> Run {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(conc)
            .build()
            .unwrap();
        let run = std::process::id();
        let counter = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let deadline = start + Duration::from_secs(secs);
        let mut tasks = Vec::new();
        for _ in 0..conc {
            let (client, counter, url) = (client.clone(), counter.clone(), url.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    if let Some(rate) = rate {
                        let due = start + Duration::from_secs_f64(n as f64 / rate);
                        if due > deadline {
                            break;
                        }
                        tokio::time::sleep_until(due.into()).await;
                    } else if Instant::now() > deadline {
                        break;
                    }
                    let body = notification(run, first + n);
                    let sig = format!(
                        "sha256={}",
                        prosa_channel::signature::hmac_sha256_hex(APP_SECRET, &body)
                    );
                    let t = Instant::now();
                    let r = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("x-hub-signature-256", sig)
                        .body(body)
                        .send()
                        .await;
                    let ok = r.map(|r| r.status().is_success()).unwrap_or(false);
                    assert!(ok, "request failed");
                    lat.push(t.elapsed());
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let elapsed = start.elapsed().as_secs_f64();
        all.sort();
        Run {
            count: all.len(),
            rate: all.len() as f64 / elapsed,
            p50: percentile(&all, 0.5),
            p99: percentile(&all, 0.99),
        }
    }

    async fn bench(name: &str, db_url: String, secs: u64, conc: usize) {
        let config = Config {
            listen: "127.0.0.1:0".into(),
            database_url: db_url.clone(),
            log_level: "warn".into(),
            ..Config::default()
        };
        let mut options = StoreOptions::new(&db_url);
        options.sqlite_durability = SqliteDurability::Normal;
        options.max_connections = 16;
        let store = Store::open(&options).await.unwrap();
        let settings = serde_json::json!({
            "access_token": "bench-token", "app_secret": String::from_utf8_lossy(APP_SECRET),
            "verify_token": "bench-verify", "phone_number_id": PHONE_NUMBER_ID,
            "base_url": "http://127.0.0.1:9"
        });
        // Each posted body must be one stored message, not an acknowledged no-op.
        {
            use prosa_channel::ChannelAdapter;
            let body = notification(0, 0);
            let sig = format!(
                "sha256={}",
                prosa_channel::signature::hmac_sha256_hex(APP_SECRET, &body)
            );
            let mut headers = http::HeaderMap::new();
            headers.insert("x-hub-signature-256", sig.parse().unwrap());
            let req = prosa_channel::InboundRequest {
                headers: &headers,
                query: None,
                body: &body,
            };
            let adapter = prosa_channel_whatsapp_cloud::WhatsAppCloudChannel::new();
            adapter.verify(&settings, &req).await.expect("signature");
            assert_eq!(adapter.parse(&settings, &req).expect("parse").len(), 1);
        }
        let inbox = store
            .create_inbox(&prosa_storage::inboxes::NewInbox {
                name: "bench".into(),
                kind: prosa_domain::model::ChannelKind::WhatsappCloud,
                settings,
                team_id: None,
                bot_enabled: false,
            })
            .await
            .unwrap();
        let app = prosa_server::start(config, store).await.unwrap();
        let url = format!("http://{}/webhooks/whatsapp/{inbox}", app.addr);
        let full = load(url.clone(), 0, secs, conc, None).await;
        let half = load(url, 10_000_000, secs, conc, Some(full.rate / 2.0)).await;
        // Everything acknowledged was stored: the inbound queue plus what the worker did.
        let messages_in = app.state.metrics.render();
        let processed: f64 = messages_in
            .lines()
            .find_map(|l| l.strip_prefix("prosa_messages_in_total{channel=\"whatsapp_cloud\"} "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0);
        let pending = app.state.store.count_pending_inbound().await.unwrap();
        assert!(processed + pending as f64 > 0.0, "nothing was stored");
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} |",
            full.rate,
            full.p50.as_secs_f64() * 1e3,
            full.p99.as_secs_f64() * 1e3,
            half.rate,
            half.p50.as_secs_f64() * 1e3,
            half.p99.as_secs_f64() * 1e3,
        );
        app.stop().await.unwrap();
    }

    pub async fn main(secs: u64, conc: usize) {
        println!(
            "WhatsApp Cloud signed notifications; {secs} s per run, {conc} concurrent connections; SQLite synchronous=NORMAL (WAL)\n"
        );
        println!("| database | max accepted/s | p50 ms | p99 ms | half-rate/s | p50 ms | p99 ms |");
        println!("|---|---|---|---|---|---|---|");
        let dir = std::env::temp_dir().join(format!("prosa-bench-wa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        bench(
            "SQLite",
            format!("sqlite://{}/bench.db", dir.display()),
            secs,
            conc,
        )
        .await;
        if let Ok(base) = std::env::var("PROSA_TEST_POSTGRES_URL") {
            let name = format!("prosa_bench_wa_{}", std::process::id());
            let admin = sqlx::PgPool::connect(&base).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .unwrap();
            let mut url = url::Url::parse(&base).unwrap();
            url.set_path(&name);
            bench("PostgreSQL", url.to_string(), secs, conc).await;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE {name} WITH (FORCE)"
            )))
            .execute(&admin)
            .await
            .ok();
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
