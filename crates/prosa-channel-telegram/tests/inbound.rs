//! Data-driven: every `test_data/*.json` update parses into `test_data/expected/<name>.json`
//! (`UPDATE_EXPECTED=1` rewrites the expectations; review the diff).

use http::HeaderMap;
use prosa_channel::testing::feed_mangled_fixtures;
use prosa_channel::{ChannelAdapter, InboundItem, InboundRequest, VerifyError};
use prosa_channel_telegram::fake::SECRET_TOKEN;
use prosa_channel_telegram::{
    TelegramChannel, callback_data_for, callback_query_id, callback_query_ids, parse_body,
    resolve_option,
};
use prosa_domain::message::MessageOption;
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
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let body = std::fs::read(&path).unwrap();
        let items = TelegramChannel
            .parse(
                &json!({}),
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
    assert!(count >= 13, "fixtures found: {count}");
}

#[test]
fn dedupe_on_update_id_and_callback_answers() {
    let items = parse_body(&data("text.json")).unwrap();
    assert_eq!(items[0].dedupe_key(), "900000001");
    let cb = parse_body(&data("callback_query.json")).unwrap();
    assert_eq!(callback_query_id(&cb[0]), Some("4382bfdwdsb323b2d9"));
    assert_eq!(
        callback_query_ids(&data("callback_query.json")),
        ["4382bfdwdsb323b2d9"]
    );
    assert!(callback_query_ids(&data("text.json")).is_empty());
    assert!(
        parse_body(&data("my_chat_member_blocked.json"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        prosa_channel_telegram::chat_block_change(&data("my_chat_member_blocked.json")),
        Some((5123456789, true))
    );
    assert_eq!(
        prosa_channel_telegram::chat_block_change(&data("text.json")),
        None
    );
}

#[test]
fn malformed_updates_name_the_field() {
    for (body, field) in [
        (&b"nope"[..], "body"),
        (br#"{"message":{}}"#, "update_id"),
        (br#"{"update_id":"1"}"#, "update_id"),
        (
            br#"{"update_id":1,"message":{"message_id":1,"text":"x"}}"#,
            "message.chat.id",
        ),
        (
            br#"{"update_id":1,"callback_query":{"from":{"id":1}}}"#,
            "callback_query.id",
        ),
    ] {
        assert_eq!(
            parse_body(body).unwrap_err().field,
            field,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn long_option_ids_fit_callback_data() {
    let short = "menu:boleto";
    assert_eq!(callback_data_for(short), short);
    let long = "ç".repeat(40); // 80 bytes
    let data = callback_data_for(&long);
    assert!(data.len() <= 64 && data.starts_with('~'), "{data}");
    assert_ne!(
        callback_data_for(&"ç".repeat(41)),
        data,
        "distinct ids stay distinct"
    );
    // An id that itself looks mapped is mapped too, so it cannot collide.
    assert_ne!(callback_data_for(&data), data);
    let options = vec![
        MessageOption {
            id: short.into(),
            label: "A".into(),
        },
        MessageOption {
            id: long.clone(),
            label: "B".into(),
        },
    ];
    assert_eq!(
        resolve_option(&data, &options).map(|o| o.label.as_str()),
        Some("B")
    );
    assert_eq!(
        resolve_option(short, &options).map(|o| o.label.as_str()),
        Some("A")
    );
    assert!(resolve_option("~nope", &options).is_none());
}

async fn verify(headers: &HeaderMap) -> Result<(), VerifyError> {
    let body = data("text.json");
    TelegramChannel
        .verify(
            &json!({"secret_token": SECRET_TOKEN}),
            &InboundRequest {
                headers,
                query: None,
                body: &body,
            },
        )
        .await
}

#[tokio::test]
async fn secret_header_exact_match() {
    let mut h = HeaderMap::new();
    h.insert(
        "x-telegram-bot-api-secret-token",
        SECRET_TOKEN.parse().unwrap(),
    );
    assert_eq!(verify(&h).await, Ok(()));
    assert_eq!(verify(&HeaderMap::new()).await, Err(VerifyError::Missing));
    for wrong in [
        "test_secret-token",
        "test_secret-Token ",
        "test_secret-Toke",
        "x",
    ] {
        let mut h = HeaderMap::new();
        h.insert("x-telegram-bot-api-secret-token", wrong.parse().unwrap());
        assert_eq!(verify(&h).await, Err(VerifyError::Mismatch), "{wrong:?}");
    }
    let r = TelegramChannel
        .verify(
            &json!({}),
            &InboundRequest {
                headers: &h,
                query: None,
                body: b"{}",
            },
        )
        .await;
    assert!(matches!(r, Err(VerifyError::Misconfigured(_))));
}

#[test]
fn parser_never_panics_on_mangled_fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data");
    let n = feed_mangled_fixtures(&dir, |b| {
        let _ = parse_body(b);
        let _ = callback_query_ids(b);
    });
    assert!(n > 1000, "{n}");
}

#[tokio::test]
async fn fake_delivers_updates_with_the_secret() {
    use prosa_channel_telegram::fake::FakeTelegram;
    let fake = FakeTelegram::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/hook", fake.base_url);
    FakeTelegram::deliver(
        &http,
        &url,
        &FakeTelegram::text_update(77, 5, "oi"),
        Some(SECRET_TOKEN),
    )
    .await
    .unwrap();
    FakeTelegram::deliver(&http, &url, &FakeTelegram::text_update(78, 5, "oi"), None)
        .await
        .unwrap();
    let reqs = fake.requests();
    let s = json!({"secret_token": SECRET_TOKEN});
    let ok = TelegramChannel
        .verify(
            &s,
            &InboundRequest {
                headers: &reqs[0].headers,
                query: None,
                body: &reqs[0].body,
            },
        )
        .await;
    assert_eq!(ok, Ok(()));
    assert_eq!(parse_body(&reqs[0].body).unwrap()[0].dedupe_key(), "77");
    let missing = TelegramChannel
        .verify(
            &s,
            &InboundRequest {
                headers: &reqs[1].headers,
                query: None,
                body: &reqs[1].body,
            },
        )
        .await;
    assert_eq!(missing, Err(VerifyError::Missing));
}
