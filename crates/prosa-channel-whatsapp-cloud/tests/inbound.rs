//! Data-driven: every `test_data/*.json` notification parses into `test_data/expected/<name>.json`
//! (run with `UPDATE_EXPECTED=1` to rewrite the expectations, then review the diff).

use http::HeaderMap;
use prosa_channel::testing::feed_mangled_fixtures;
use prosa_channel::{ChannelAdapter, InboundItem, InboundRequest, VerifyError};
use prosa_channel_whatsapp_cloud::fake::{APP_SECRET, FakeWhatsApp, PHONE_NUMBER_ID, VERIFY_TOKEN};
use prosa_channel_whatsapp_cloud::{WhatsAppCloudChannel, parse_notification, phone_number_ids};
use serde_json::json;
use std::path::Path;

fn settings() -> serde_json::Value {
    json!({"app_secret": APP_SECRET, "verify_token": VERIFY_TOKEN, "phone_number_id": PHONE_NUMBER_ID})
}

#[test]
fn fixtures_parse_to_expected_items() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let body = std::fs::read(&path).unwrap();
        let items = WhatsAppCloudChannel
            .parse(
                &settings(),
                &InboundRequest {
                    headers: &HeaderMap::new(),
                    query: None,
                    body: &body,
                },
            )
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let expected_path = dir.join("expected").join(path.file_name().unwrap());
        if std::env::var_os("UPDATE_EXPECTED").is_some() {
            std::fs::write(
                &expected_path,
                serde_json::to_string_pretty(&items).unwrap() + "\n",
            )
            .unwrap();
        }
        let expected: Vec<InboundItem> =
            serde_json::from_slice(&std::fs::read(&expected_path).unwrap()).unwrap();
        assert_eq!(items, expected, "{}", path.display());
        count += 1;
    }
    assert!(count >= 10, "fixtures found: {count}");
}

#[test]
fn dedupe_keys_and_routing() {
    let body = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/statuses.json"))
        .unwrap();
    let items = parse_notification(&body, None).unwrap();
    let keys: Vec<String> = items.iter().map(InboundItem::dedupe_key).collect();
    assert_eq!(
        keys,
        [
            "status:wamid.OUT1:sent",
            "status:wamid.OUT1:delivered",
            "status:wamid.OUT1:read",
            "status:wamid.OUT2:failed"
        ]
    );
    let multi =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/multi_entry.json"))
            .unwrap();
    assert_eq!(
        phone_number_ids(&multi),
        ["106540352242922", "OTHER_NUMBER"]
    );
    // Without a configured number every change is read.
    assert_eq!(parse_notification(&multi, None).unwrap().len(), 2);
    assert_eq!(
        parse_notification(&multi, Some("OTHER_NUMBER"))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn malformed_bodies_name_the_field() {
    for (body, field) in [
        (&b"{"[..], "body"),
        (br#"{"object":"whatsapp_business_account"}"#, "entry"),
        (br#"{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"from":"1","type":"text"}]}}]}]}"#, "entry[0].changes[0].value.messages[0].id"),
        (br#"{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"w","type":"text"}]}}]}]}"#, "entry[0].changes[0].value.messages[0].from"),
    ] {
        assert_eq!(parse_notification(body, None).unwrap_err().field, field);
    }
}

async fn verify(headers: &HeaderMap, body: &[u8]) -> Result<(), VerifyError> {
    WhatsAppCloudChannel
        .verify(
            &settings(),
            &InboundRequest {
                headers,
                query: None,
                body,
            },
        )
        .await
}

#[tokio::test]
async fn signature_over_raw_bytes() {
    let body =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/text.json")).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-hub-signature-256",
        FakeWhatsApp::sign(&body).parse().unwrap(),
    );
    assert_eq!(verify(&headers, &body).await, Ok(()));
    // Missing header.
    assert_eq!(
        verify(&HeaderMap::new(), &body).await,
        Err(VerifyError::Missing)
    );
    // Wrong secret.
    let mut wrong = HeaderMap::new();
    let sig = format!(
        "sha256={}",
        prosa_channel::signature::hmac_sha256_hex(b"other-secret", &body)
    );
    wrong.insert("x-hub-signature-256", sig.parse().unwrap());
    assert_eq!(verify(&wrong, &body).await, Err(VerifyError::Mismatch));
    // The same JSON re-serialised (the fixture escapes "ç" as \u00e7) must not verify.
    let reserialised =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(&body).unwrap()).unwrap();
    assert_ne!(reserialised, body);
    assert_eq!(
        verify(&headers, &reserialised).await,
        Err(VerifyError::Mismatch)
    );
    // Legacy SHA-1 header alone is not accepted.
    let mut legacy = HeaderMap::new();
    legacy.insert("x-hub-signature", "sha1=abc".parse().unwrap());
    assert_eq!(verify(&legacy, &body).await, Err(VerifyError::Missing));
    // No app secret configured.
    let r = WhatsAppCloudChannel
        .verify(
            &json!({}),
            &InboundRequest {
                headers: &headers,
                query: None,
                body: &body,
            },
        )
        .await;
    assert!(matches!(r, Err(VerifyError::Misconfigured(_))));
}

#[test]
fn handshake_through_the_adapter() {
    let q = format!("hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444");
    assert_eq!(
        WhatsAppCloudChannel.handshake(&settings(), Some(&q)),
        Some(Ok("1158201444".into()))
    );
    assert_eq!(
        WhatsAppCloudChannel.handshake(
            &settings(),
            Some("hub.mode=subscribe&hub.verify_token=x&hub.challenge=1")
        ),
        Some(Err(VerifyError::Mismatch))
    );
}

#[test]
fn parser_never_panics_on_mangled_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let n = feed_mangled_fixtures(&dir, |b| {
        let _ = parse_notification(b, None);
        let _ = phone_number_ids(b);
    });
    assert!(n > 1000, "{n}");
}

#[tokio::test]
async fn fake_delivers_signed_notifications() {
    let fake = FakeWhatsApp::start().await;
    let body = FakeWhatsApp::text_notification("5548988887777", "wamid.D1", "oi");
    FakeWhatsApp::deliver(
        &reqwest::Client::new(),
        &format!("{}/webhook", fake.base_url),
        &body,
    )
    .await
    .unwrap();
    let status = FakeWhatsApp::status_notification("wamid.OUT9", "failed", Some(131047));
    FakeWhatsApp::deliver(
        &reqwest::Client::new(),
        &format!("{}/webhook", fake.base_url),
        &status,
    )
    .await
    .unwrap();
    let reqs = fake.requests();
    for r in &reqs {
        let req = InboundRequest {
            headers: &r.headers,
            query: None,
            body: &r.body,
        };
        assert_eq!(WhatsAppCloudChannel.verify(&settings(), &req).await, Ok(()));
    }
    let items = parse_notification(&reqs[0].body, Some(PHONE_NUMBER_ID)).unwrap();
    assert_eq!(items[0].dedupe_key(), "wamid.D1");
    let items = parse_notification(&reqs[1].body, Some(PHONE_NUMBER_ID)).unwrap();
    assert_eq!(items[0].dedupe_key(), "status:wamid.OUT9:failed");
}
