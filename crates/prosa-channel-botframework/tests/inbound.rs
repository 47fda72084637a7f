//! Data-driven activity fixtures, and the JWT checks against the fake OpenID/JWKS endpoints.

use http::HeaderMap;
use prosa_channel::egress::EgressPolicy;
use prosa_channel::testing::feed_mangled_fixtures;
use prosa_channel::{ChannelAdapter, InboundItem, InboundRequest, VerifyError};
use prosa_channel_botframework::fake::{self, APP_ID, FakeBotFramework, KID_1, KID_2};
use prosa_channel_botframework::{BotFrameworkChannel, parse_activity};
use serde_json::{Value, json};
use std::path::Path;

fn adapter() -> BotFrameworkChannel {
    BotFrameworkChannel::new(
        reqwest::Client::new(),
        EgressPolicy {
            allowed_private_hosts: vec!["127.0.0.1".into()],
        },
    )
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
        let items = parse_activity(&std::fs::read(&path).unwrap())
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
    assert!(count >= 6, "fixtures found: {count}");
}

#[test]
fn malformed_activities_name_the_field() {
    for (body, field) in [
        (&b"x"[..], "body"),
        (br#"{"id":"1"}"#, "type"),
        (br#"{"type":"message"}"#, "id"),
        (br#"{"type":"message","id":"1","channelId":"webchat","conversation":{"id":"c"},"from":{"id":"u"}}"#, "serviceUrl"),
        (br#"{"type":"message","id":"1","channelId":"webchat","serviceUrl":"https://x","from":{"id":"u"}}"#, "conversation.id"),
    ] {
        assert_eq!(parse_activity(body).unwrap_err().field, field, "{}", String::from_utf8_lossy(body));
    }
}

fn activity(service_url: &str, channel: &str) -> Vec<u8> {
    json!({"type": "message", "id": "a1", "serviceUrl": service_url, "channelId": channel, "from": {"id": "u1"}, "conversation": {"id": "c1"}, "recipient": {"id": "b1"}, "text": "oi"})
        .to_string()
        .into_bytes()
}

async fn check(
    a: &BotFrameworkChannel,
    settings: &Value,
    token: Option<&str>,
    body: &[u8],
) -> Result<(), VerifyError> {
    let mut h = HeaderMap::new();
    if let Some(t) = token {
        h.insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    a.verify(
        settings,
        &InboundRequest {
            headers: &h,
            query: None,
            body,
        },
    )
    .await
}

#[tokio::test]
async fn jwt_validation() {
    let fake = FakeBotFramework::start().await;
    let s = fake.settings();
    let a = adapter();
    let su = "https://smba.trafficmanager.net/br/";
    let body = activity(su, "msteams");
    let now = jiff::Timestamp::now().as_second();
    let good = fake::claims(su, now);
    assert_eq!(
        check(&a, &s, Some(&fake::mint(&good, KID_1, 1)), &body).await,
        Ok(())
    );
    assert_eq!(check(&a, &s, None, &body).await, Err(VerifyError::Missing));
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    // Wrong issuer, audience, expired, not yet valid, serviceurl.
    assert_eq!(
        check(
            &a,
            &s,
            Some(&fake::mint(
                &with("iss", json!("https://sts.windows.net/evil/")),
                KID_1,
                1
            )),
            &body
        )
        .await,
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        check(
            &a,
            &s,
            Some(&fake::mint(&with("aud", json!("another-bot")), KID_1, 1)),
            &body
        )
        .await,
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        check(
            &a,
            &s,
            Some(&fake::mint(&with("aud", json!(["x", APP_ID])), KID_1, 1)),
            &body
        )
        .await,
        Ok(())
    );
    assert_eq!(
        check(
            &a,
            &s,
            Some(&fake::mint(&with("exp", json!(now - 400)), KID_1, 1)),
            &body
        )
        .await,
        Err(VerifyError::Expired)
    );
    assert_eq!(
        check(
            &a,
            &s,
            Some(&fake::mint(&with("exp", json!(now - 100)), KID_1, 1)),
            &body
        )
        .await,
        Ok(()),
        "5 min leeway"
    );
    assert_eq!(
        check(
            &a,
            &s,
            Some(&fake::mint(&with("nbf", json!(now + 900)), KID_1, 1)),
            &body
        )
        .await,
        Err(VerifyError::Expired)
    );
    assert_eq!(
        check(
            &a,
            &s,
            Some(&fake::mint(
                &with("serviceurl", json!("https://evil.example.com/")),
                KID_1,
                1
            )),
            &body
        )
        .await,
        Err(VerifyError::Mismatch)
    );
    let no_su = good
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "serviceurl")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect::<serde_json::Map<_, _>>();
    assert_eq!(
        check(
            &a,
            &s,
            Some(&fake::mint(&Value::Object(no_su), KID_1, 1)),
            &body
        )
        .await,
        Err(VerifyError::Mismatch)
    );
    // The activity's serviceUrl is bound: the same token for another serviceUrl fails.
    assert_eq!(
        check(
            &a,
            &s,
            Some(&fake::mint(&good, KID_1, 1)),
            &activity("https://evil.example.com/", "msteams")
        )
        .await,
        Err(VerifyError::Mismatch)
    );
    // Signed with a key that is not published under that kid.
    assert_eq!(
        check(&a, &s, Some(&fake::mint(&good, KID_1, 2)), &body).await,
        Err(VerifyError::Mismatch)
    );
    // alg none / HS256 are refused.
    let none = fake::mint_with_header(&good, &json!({"alg": "none", "kid": KID_1}), 1);
    assert_eq!(
        check(&a, &s, Some(&none), &body).await,
        Err(VerifyError::Mismatch)
    );
    let parts: Vec<&str> = none.split('.').collect();
    assert_eq!(
        check(&a, &s, Some(&format!("{}.{}.", parts[0], parts[1])), &body).await,
        Err(VerifyError::Mismatch)
    );
    let hs = fake::mint_with_header(&good, &json!({"alg": "HS256", "kid": KID_1}), 1);
    assert_eq!(
        check(&a, &s, Some(&hs), &body).await,
        Err(VerifyError::Mismatch)
    );
    // Endorsement: the key is not endorsed for "skype".
    assert_eq!(
        check(
            &a,
            &s,
            Some(&fake::mint(&good, KID_1, 1)),
            &activity(su, "skype")
        )
        .await,
        Err(VerifyError::Mismatch)
    );
    // Tampered payload.
    let t = fake::mint(&good, KID_1, 1);
    let p: Vec<&str> = t.split('.').collect();
    let forged_claims = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        with("aud", json!("x")).to_string(),
    );
    assert_eq!(
        check(
            &a,
            &s,
            Some(&format!("{}.{}.{}", p[0], forged_claims, p[2])),
            &body
        )
        .await,
        Err(VerifyError::Mismatch)
    );
    assert!(matches!(
        check(&a, &json!({}), Some(&t), &body).await,
        Err(VerifyError::Misconfigured(_))
    ));
}

#[tokio::test]
async fn unknown_kid_refreshes_keys_once() {
    let fake = FakeBotFramework::start().await;
    let s = fake.settings();
    let a = adapter();
    let su = "https://webchat.botframework.com/";
    let body = activity(su, "webchat");
    let now = jiff::Timestamp::now().as_second();
    let claims = fake::claims(su, now);
    assert_eq!(
        check(&a, &s, Some(&fake::mint(&claims, KID_1, 1)), &body).await,
        Ok(())
    );
    let fetches = |f: &FakeBotFramework| {
        f.requests()
            .iter()
            .filter(|r| r.path.ends_with("/keys"))
            .count()
    };
    assert_eq!(fetches(&fake), 1);
    assert_eq!(
        check(&a, &s, Some(&fake::mint(&claims, KID_1, 1)), &body).await,
        Ok(())
    );
    assert_eq!(fetches(&fake), 1, "keys are cached");
    // Rotation: a new kid appears; the first token with it triggers one refetch.
    fake.publish_key(2, KID_2, &["webchat"]);
    assert_eq!(
        check(&a, &s, Some(&fake::mint(&claims, KID_2, 2)), &body).await,
        Ok(())
    );
    assert_eq!(fetches(&fake), 2);
    // Unknown kids do not hammer the metadata endpoint: no refetch within 5 minutes of the last one.
    assert_eq!(
        check(&a, &s, Some(&fake::mint(&claims, "nope", 1)), &body).await,
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        check(&a, &s, Some(&fake::mint(&claims, "nope2", 1)), &body).await,
        Err(VerifyError::Mismatch)
    );
    assert_eq!(fetches(&fake), 2);
}

#[test]
fn parser_never_panics_on_mangled_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let n = feed_mangled_fixtures(&dir, |b| {
        let _ = parse_activity(b);
    });
    assert!(n > 500, "{n}");
}

#[tokio::test]
async fn fake_delivers_activities_with_a_valid_jwt() {
    let fake = FakeBotFramework::start().await;
    let activity = fake.text_activity("act-1", "u9", "oi");
    FakeBotFramework::deliver(
        &reqwest::Client::new(),
        &format!("{}/api/messages", fake.base_url),
        &activity,
    )
    .await
    .unwrap();
    let r = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/messages")
        .unwrap();
    let a = adapter();
    assert_eq!(
        a.verify(
            &fake.settings(),
            &InboundRequest {
                headers: &r.headers,
                query: None,
                body: &r.body
            }
        )
        .await,
        Ok(())
    );
    assert_eq!(
        parse_activity(&r.body).unwrap()[0].dedupe_key(),
        "webchat:conv-u9:act-1"
    );
}
