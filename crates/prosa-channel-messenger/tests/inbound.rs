//! Data-driven: `test_data/page_*.json` (Messenger) and `instagram_*.json` parse into
//! `test_data/expected/<name>.json` (`UPDATE_EXPECTED=1` rewrites; review the diff).

use http::HeaderMap;
use prosa_channel::testing::feed_mangled_fixtures;
use prosa_channel::{ChannelAdapter, InboundItem, InboundRequest, VerifyError};
use prosa_channel_messenger::fake::{APP_SECRET, FakeMeta, PAGE_ID, VERIFY_TOKEN};
use prosa_channel_messenger::{MetaMessagingChannel, parse_routed, route_keys, watermarks};
use prosa_domain::model::DeliveryStatus;
use serde_json::json;
use std::path::Path;

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("test_data")
            .join(name),
    )
    .unwrap()
}

fn parse(
    adapter: &MetaMessagingChannel,
    settings: serde_json::Value,
    body: &[u8],
) -> Vec<InboundItem> {
    adapter
        .parse(
            &settings,
            &InboundRequest {
                headers: &HeaderMap::new(),
                query: None,
                body,
            },
        )
        .unwrap()
}

#[test]
fn fixtures_parse_to_expected_items() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let adapter = if name.starts_with("instagram_") {
            MetaMessagingChannel::instagram()
        } else {
            MetaMessagingChannel::messenger()
        };
        let items = parse(&adapter, json!({}), &std::fs::read(&path).unwrap());
        let expected_path = dir.join("expected").join(&name);
        if std::env::var_os("UPDATE_EXPECTED").is_some() {
            std::fs::write(
                &expected_path,
                serde_json::to_string_pretty(&items).unwrap() + "\n",
            )
            .unwrap();
        }
        let expected: Vec<InboundItem> =
            serde_json::from_slice(&std::fs::read(&expected_path).unwrap()).unwrap();
        assert_eq!(items, expected, "{name}");
        count += 1;
    }
    assert!(count >= 11, "fixtures found: {count}");
}

#[test]
fn echoes_objects_pages_and_watermarks() {
    assert!(
        parse(
            &MetaMessagingChannel::messenger(),
            json!({}),
            &data("page_echo.json")
        )
        .is_empty()
    );
    // An Instagram body read by the Messenger inbox yields nothing, and vice versa.
    assert!(
        parse(
            &MetaMessagingChannel::messenger(),
            json!({}),
            &data("instagram_text.json")
        )
        .is_empty()
    );
    assert!(
        parse(
            &MetaMessagingChannel::instagram(),
            json!({}),
            &data("page_text.json")
        )
        .is_empty()
    );
    // Routing: two pages in one body; the inbox keeps its own page only.
    let body = data("page_standby_and_other_page.json");
    assert_eq!(
        route_keys(&body),
        [
            ("page".to_owned(), PAGE_ID.to_owned()),
            ("page".to_owned(), "5555555555".to_owned())
        ]
    );
    let routed = parse_routed(&body).unwrap();
    assert_eq!(routed.len(), 1, "standby copies are not ours to answer");
    assert_eq!(routed[0].account_id, "5555555555");
    assert!(
        parse(
            &MetaMessagingChannel::messenger(),
            json!({"page_id": PAGE_ID}),
            &body
        )
        .is_empty()
    );
    assert_eq!(
        parse(
            &MetaMessagingChannel::messenger(),
            json!({"page_id": "5555555555"}),
            &body
        )
        .len(),
        1
    );
    let w = watermarks(&data("page_delivery_read.json"));
    assert_eq!(w.len(), 2);
    assert_eq!(w[1].status, DeliveryStatus::Read);
    assert_eq!(w[1].watermark.as_millisecond(), 1764500005000);
    let items = parse(
        &MetaMessagingChannel::messenger(),
        json!({}),
        &data("page_delivery_read.json"),
    );
    assert_eq!(
        items
            .iter()
            .map(InboundItem::dedupe_key)
            .collect::<Vec<_>>(),
        [
            "status:m_OUT1:delivered",
            "status:m_OUT2:delivered",
            // Receipts that name a time: everything sent to the person up to then.
            "watermark:6543210987654321:delivered:1764500000000",
            "watermark:6543210987654321:read:1764500005000"
        ]
    );
}

#[test]
fn malformed_bodies_name_the_field() {
    for (body, field) in [
        (&b"{"[..], "body"),
        (br#"{"entry":[]}"#, "object"),
        (br#"{"object":"page"}"#, "entry"),
        (br#"{"object":"page","entry":[{"messaging":[]}]}"#, "entry[0].id"),
        (br#"{"object":"page","entry":[{"id":"1","messaging":[{"message":{"mid":"x"}}]}]}"#, "entry[0].messaging[0].sender.id"),
        (br#"{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"message":{"text":"x"}}]}]}"#, "entry[0].messaging[0].message.mid"),
    ] {
        assert_eq!(parse_routed(body).unwrap_err().field, field, "{}", String::from_utf8_lossy(body));
    }
}

#[tokio::test]
async fn signature_and_handshake() {
    let a = MetaMessagingChannel::messenger();
    let settings = json!({"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN});
    let body = data("page_text.json");
    let mut h = HeaderMap::new();
    h.insert(
        "x-hub-signature-256",
        FakeMeta::sign(&body).parse().unwrap(),
    );
    assert_eq!(
        a.verify(
            &settings,
            &InboundRequest {
                headers: &h,
                query: None,
                body: &body
            }
        )
        .await,
        Ok(())
    );
    let reserialised =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(&body).unwrap()).unwrap();
    assert_ne!(reserialised, body);
    assert_eq!(
        a.verify(
            &settings,
            &InboundRequest {
                headers: &h,
                query: None,
                body: &reserialised
            }
        )
        .await,
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        a.verify(
            &settings,
            &InboundRequest {
                headers: &HeaderMap::new(),
                query: None,
                body: &body
            }
        )
        .await,
        Err(VerifyError::Missing)
    );
    let q = format!("hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=abc");
    assert_eq!(a.handshake(&settings, Some(&q)), Some(Ok("abc".into())));
    assert_eq!(a.ack_body(), "EVENT_RECEIVED");
}

#[test]
fn parser_never_panics_on_mangled_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let n = feed_mangled_fixtures(&dir, |b| {
        let _ = parse_routed(b);
        let _ = route_keys(b);
        let _ = watermarks(b);
    });
    assert!(n > 1000, "{n}");
}

#[tokio::test]
async fn fake_delivers_signed_events() {
    let fake = FakeMeta::start().await;
    let body = FakeMeta::text_event("instagram", "17841400000000000", "998877", "mid.1", "oi");
    FakeMeta::deliver(
        &reqwest::Client::new(),
        &format!("{}/webhook", fake.base_url),
        &body,
    )
    .await
    .unwrap();
    let r = &fake.requests()[0];
    let a = MetaMessagingChannel::instagram();
    let settings = json!({"app_secret": APP_SECRET, "page_id": "17841400000000000"});
    assert_eq!(
        a.verify(
            &settings,
            &InboundRequest {
                headers: &r.headers,
                query: None,
                body: &r.body
            }
        )
        .await,
        Ok(())
    );
    assert_eq!(parse(&a, settings, &r.body)[0].dedupe_key(), "mid.1");
}
