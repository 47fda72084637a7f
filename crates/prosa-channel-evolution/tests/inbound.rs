//! Data-driven: `test_data/*.json` webhook bodies parse into `test_data/expected/<name>.json`
//! (`UPDATE_EXPECTED=1` rewrites; review the diff).

use http::HeaderMap;
use prosa_channel::testing::feed_mangled_fixtures;
use prosa_channel::{ChannelAdapter, InboundItem, InboundRequest, VerifyError};
use prosa_channel_evolution::fake::{INSTANCE, WEBHOOK_TOKEN};
use prosa_channel_evolution::jwt::sign_evolution_jwt;
use prosa_channel_evolution::{EvolutionChannel, InstanceEvent, parse_body, parse_instance_event};
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
        let items = EvolutionChannel
            .parse(
                &json!({"instance": INSTANCE}),
                &InboundRequest {
                    headers: &HeaderMap::new(),
                    query: None,
                    body: &std::fs::read(&path).unwrap(),
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
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
    assert!(count >= 17, "fixtures found: {count}");
}

#[test]
fn echoes_groups_lid_and_other_instances() {
    let none = |f: &str| {
        assert!(
            parse_body(&data(f), Some(INSTANCE)).unwrap().is_empty(),
            "{f}"
        )
    };
    none("from_me_echo.json");
    none("group_ignored.json");
    none("other_instance.json");
    none("connection_update.json");
    let InboundItem::Message(m) = &parse_body(&data("lid_with_alt.json"), None).unwrap()[0] else {
        panic!()
    };
    assert_eq!(m.from.external_id, "5511987654321");
    assert_eq!(m.from.phone.as_deref(), Some("+5511987654321"));
    assert_eq!(m.from.meta.as_ref().unwrap()["lid"], "187654321012345@lid");
    let InboundItem::Message(m) = &parse_body(&data("lid_without_alt.json"), None).unwrap()[0]
    else {
        panic!()
    };
    assert_eq!(m.from.external_id, "187654321099999@lid");
    assert_eq!(m.from.phone, None);
}

#[test]
fn connection_and_qr_events() {
    assert_eq!(
        parse_instance_event(&data("connection_update.json")),
        Some(InstanceEvent::Connection {
            instance: INSTANCE.into(),
            state: "open".into(),
            status_reason: Some(200),
            wuid: Some("554899990000@s.whatsapp.net".into()),
            profile_name: Some("Provedor Net".into())
        })
    );
    assert_eq!(
        parse_instance_event(&data("qrcode_updated.json")),
        Some(InstanceEvent::QrCode {
            instance: INSTANCE.into(),
            base64: Some("data:image/png;base64,iVBORw0KGgo=".into()),
            code: Some("2@abcdef".into()),
            pairing_code: None
        })
    );
    let limit = br#"{"event":"QRCODE_UPDATED","instance":"x","data":{"message":"QR code limit reached, please login again","statusCode":500}}"#;
    assert!(matches!(
        parse_instance_event(limit),
        Some(InstanceEvent::QrLimitReached { .. })
    ));
    assert_eq!(parse_instance_event(&data("text.json")), None);
}

#[test]
fn malformed_bodies_name_the_field() {
    for (body, field) in [
        (&b"{"[..], "body"),
        (br#"{"instance":"x","data":{}}"#, "event"),
        (br#"{"event":"messages.upsert","instance":"x"}"#, "data"),
        (br#"{"event":"messages.upsert","instance":"x","data":{"message":{}}}"#, "data.key"),
        (br#"{"event":"messages.upsert","instance":"x","data":{"key":{"remoteJid":"1@s.whatsapp.net"}}}"#, "data.key.id"),
    ] {
        assert_eq!(parse_body(body, None).unwrap_err().field, field, "{}", String::from_utf8_lossy(body));
    }
}

async fn verify(settings: serde_json::Value, headers: &HeaderMap) -> Result<(), VerifyError> {
    EvolutionChannel
        .verify(
            &settings,
            &InboundRequest {
                headers,
                query: None,
                body: &data("text.json"),
            },
        )
        .await
}

#[tokio::test]
async fn webhook_token_and_jwt() {
    let token_settings = json!({"webhook_token": WEBHOOK_TOKEN});
    let mut h = HeaderMap::new();
    h.insert("x-webhook-token", WEBHOOK_TOKEN.parse().unwrap());
    assert_eq!(verify(token_settings.clone(), &h).await, Ok(()));
    assert_eq!(
        verify(token_settings.clone(), &HeaderMap::new()).await,
        Err(VerifyError::Missing)
    );
    let mut wrong = HeaderMap::new();
    wrong.insert("x-webhook-token", "guess".parse().unwrap());
    assert_eq!(
        verify(token_settings, &wrong).await,
        Err(VerifyError::Mismatch)
    );
    // The body's `apikey` is not a webhook credential: with nothing configured, refuse.
    assert!(matches!(
        verify(json!({}), &h).await,
        Err(VerifyError::Misconfigured(_))
    ));
    // A custom header name.
    let mut custom = HeaderMap::new();
    custom.insert("x-prosa-evo", "s3".parse().unwrap());
    assert_eq!(
        verify(
            json!({"webhook_token": "s3", "webhook_header": "x-prosa-evo"}),
            &custom
        )
        .await,
        Ok(())
    );
    // JWT (Evolution's jwt_key).
    let now = jiff::Timestamp::now().as_second();
    let jwt_settings = json!({"webhook_jwt_key": "jwt-secret"});
    let mut j = HeaderMap::new();
    j.insert(
        "authorization",
        format!(
            "Bearer {}",
            sign_evolution_jwt(b"jwt-secret", now, now + 600)
        )
        .parse()
        .unwrap(),
    );
    assert_eq!(verify(jwt_settings.clone(), &j).await, Ok(()));
    let mut expired = HeaderMap::new();
    expired.insert(
        "authorization",
        format!(
            "Bearer {}",
            sign_evolution_jwt(b"jwt-secret", now - 1200, now - 600)
        )
        .parse()
        .unwrap(),
    );
    assert_eq!(
        verify(jwt_settings.clone(), &expired).await,
        Err(VerifyError::Expired)
    );
    let mut forged = HeaderMap::new();
    forged.insert(
        "authorization",
        format!("Bearer {}", sign_evolution_jwt(b"guess", now, now + 600))
            .parse()
            .unwrap(),
    );
    assert_eq!(
        verify(jwt_settings.clone(), &forged).await,
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        verify(jwt_settings, &HeaderMap::new()).await,
        Err(VerifyError::Missing)
    );
}

#[test]
fn parser_never_panics_on_mangled_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let n = feed_mangled_fixtures(&dir, |b| {
        let _ = parse_body(b, None);
        let _ = parse_instance_event(b);
    });
    assert!(n > 1000, "{n}");
}

#[tokio::test]
async fn fake_delivers_events_with_the_token() {
    use prosa_channel_evolution::fake::FakeEvolution;
    let fake = FakeEvolution::start().await;
    let body = FakeEvolution::text_event("5548988887777", "3EB0D1", "oi");
    FakeEvolution::deliver(
        &reqwest::Client::new(),
        &format!("{}/webhook", fake.base_url),
        &body,
        Some(WEBHOOK_TOKEN),
    )
    .await
    .unwrap();
    let r = &fake.requests()[0];
    assert_eq!(
        verify_raw(json!({"webhook_token": WEBHOOK_TOKEN}), &r.headers, &r.body).await,
        Ok(())
    );
    assert_eq!(
        parse_body(&r.body, Some(INSTANCE)).unwrap()[0].dedupe_key(),
        "3EB0D1"
    );
}

async fn verify_raw(
    settings: serde_json::Value,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), VerifyError> {
    EvolutionChannel
        .verify(
            &settings,
            &InboundRequest {
                headers,
                query: None,
                body,
            },
        )
        .await
}
