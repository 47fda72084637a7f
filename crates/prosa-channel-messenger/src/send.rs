//! Send API: bodies, windows (24 h `RESPONSE`, 7 days `HUMAN_AGENT` for people) and errors.

use crate::{DEFAULT_API_VERSION, DEFAULT_BASE_URL, setting};
use jiff::Timestamp;
use prosa_channel::{
    OutboundMessage, SendContext, SendError, SendReceipt, classify_http_failure, transport_failure,
};
use prosa_domain::message::{MessageContent, MessageOption};
use serde_json::{Value, json};
use std::time::Duration;

pub const MAX_QUICK_REPLIES: usize = 13;
pub const MAX_QUICK_REPLY_TITLE: usize = 20;
pub const MAX_PAYLOAD: usize = 1000;
pub const MAX_TEXT: usize = 2000;
const DAY: i64 = 24 * 3600;

/// How a message may go out now, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// `messaging_type: RESPONSE` (inside 24 h).
    Response,
    /// `messaging_type: MESSAGE_TAG`, `tag: HUMAN_AGENT` (a person, up to 7 days).
    HumanAgent,
}

/// The window rule: 24 h for anyone, 7 days for a human with the `HUMAN_AGENT` tag.
pub fn delivery_for(
    last_incoming_at: Option<Timestamp>,
    from_human: bool,
    now: Timestamp,
) -> Result<Delivery, SendError> {
    let Some(last) = last_incoming_at else {
        return Err(SendError::NeedsTemplate);
    };
    let age = now.duration_since(last).as_secs();
    if age < DAY {
        Ok(Delivery::Response)
    } else if from_human && age < 7 * DAY {
        Ok(Delivery::HumanAgent)
    } else {
        Err(SendError::NeedsTemplate)
    }
}

fn quick_replies_fit(options: &[MessageOption]) -> bool {
    options.len() <= MAX_QUICK_REPLIES
        && options.iter().all(|o| {
            !o.label.trim().is_empty()
                && o.label.chars().count() <= MAX_QUICK_REPLY_TITLE
                && !o.id.is_empty()
                && o.id.len() <= MAX_PAYLOAD
        })
}

/// `text` followed by numbered options.
pub fn numbered_menu(text: &str, options: &[MessageOption]) -> String {
    let mut out = text.trim_end().to_owned();
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    for (i, o) in options.iter().enumerate() {
        out.push_str(&format!("{}. {}\n", i + 1, o.label));
    }
    out.push_str("\nResponda com o número da opção.");
    out
}

fn split(text: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(max).map(|c| c.iter().collect()).collect()
}

/// The `message` objects a content becomes, in order.
pub fn message_objects(content: &MessageContent) -> Result<Vec<Value>, SendError> {
    let mut out = Vec::new();
    for a in &content.attachments {
        let url = a
            .url
            .as_deref()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .ok_or_else(|| {
                SendError::Invalid(
                    "attachment has no public URL (uploads are not supported)".into(),
                )
            })?;
        let kind = match a.kind.as_str() {
            k @ ("image" | "audio" | "video") => k,
            _ => "file",
        };
        out.push(
            json!({"attachment": {"type": kind, "payload": {"url": url, "is_reusable": true}}}),
        );
    }
    let text = content.text.clone().unwrap_or_default();
    if !text.trim().is_empty() || !content.options.is_empty() {
        let use_quick = !content.options.is_empty() && quick_replies_fit(&content.options);
        let full = if content.options.is_empty() || use_quick {
            if text.trim().is_empty() {
                "Escolha uma opção:".to_owned()
            } else {
                text
            }
        } else {
            numbered_menu(&text, &content.options)
        };
        let chunks = split(&full, MAX_TEXT);
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut m = json!({"text": chunk});
            if i == last && use_quick {
                m["quick_replies"] = json!(
                    content
                        .options
                        .iter()
                        .map(|o| json!({"content_type": "text", "title": o.label, "payload": o.id}))
                        .collect::<Vec<_>>()
                );
            }
            out.push(m);
        }
    }
    if out.is_empty() {
        return Err(SendError::Invalid("nothing to send".into()));
    }
    Ok(out)
}

/// A full Send API body.
pub fn request_body(to: &str, delivery: Delivery, message: Value) -> Value {
    let mut body = json!({"recipient": {"id": to}, "message": message});
    match delivery {
        Delivery::Response => body["messaging_type"] = json!("RESPONSE"),
        Delivery::HumanAgent => {
            body["messaging_type"] = json!("MESSAGE_TAG");
            body["tag"] = json!("HUMAN_AGENT");
        }
    }
    body
}

/// Maps a Graph error answer of the Send API.
pub fn classify_error(
    status: http::StatusCode,
    retry_after: Option<&str>,
    body: &str,
) -> SendError {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let Some(err) = v.get("error") else {
        return classify_http_failure(status, retry_after, format!("graph answered {status}"));
    };
    let code = err.get("code").and_then(Value::as_i64).unwrap_or(-1);
    let sub = err
        .get("error_subcode")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let detail = format!(
        "{code}/{sub}: {}",
        err.get("message").and_then(Value::as_str).unwrap_or("")
    );
    let hint = retry_after
        .and_then(|r| r.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match (code, sub) {
        (10, 2018278) | (10, 2018065) | (100, 2018278) => SendError::NeedsTemplate,
        (551, _) | (100, 2018001) | (10, 2018108) | (200, 1545041) => {
            SendError::Unreachable(detail)
        }
        (2, _) | (4, _) | (32, _) | (613, _) | (1200, _) => SendError::RetryLater {
            retry_after: hint,
            detail,
        },
        (190, _) | (10, _) | (200..=299, _) => SendError::Credentials(detail),
        _ if status.as_u16() == 429
            || status.is_server_error()
            || err.get("is_transient").and_then(Value::as_bool) == Some(true) =>
        {
            SendError::RetryLater {
                retry_after: hint,
                detail,
            }
        }
        _ => SendError::Invalid(detail),
    }
}

/// POSTs one body and returns `message_id`.
pub async fn post(ctx: &SendContext, body: &Value) -> Result<Option<String>, SendError> {
    let token = setting(&ctx.settings, "page_access_token")
        .or_else(|| setting(&ctx.settings, "access_token"))
        .ok_or_else(|| SendError::Credentials("inbox has no page_access_token".into()))?;
    let base = setting(&ctx.settings, "base_url")
        .unwrap_or(DEFAULT_BASE_URL)
        .trim_end_matches('/');
    let version = setting(&ctx.settings, "api_version").unwrap_or(DEFAULT_API_VERSION);
    let page = setting(&ctx.settings, "page_id").unwrap_or("me");
    let url = format!("{base}/{version}/{page}/messages");
    let response = ctx
        .http
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .map_err(|e| transport_failure(&e))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.text().await.map_err(|e| transport_failure(&e))?;
    if !status.is_success() {
        return Err(classify_error(status, retry_after.as_deref(), &text));
    }
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(v.get("message_id")
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// The adapter's send.
pub async fn send(
    ctx: &SendContext,
    message: &OutboundMessage,
    now: Timestamp,
) -> Result<SendReceipt, SendError> {
    let delivery = delivery_for(message.last_incoming_at, message.from_human, now)?;
    let mut last = None;
    for m in message_objects(&message.content)? {
        last = post(ctx, &request_body(&message.to, delivery, m))
            .await?
            .or(last);
    }
    Ok(SendReceipt {
        provider_message_id: last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    #[test]
    fn windows() {
        let now = Timestamp::now();
        let ago = |h: i64| Some(now - SignedDuration::from_hours(h));
        assert_eq!(delivery_for(ago(23), false, now), Ok(Delivery::Response));
        assert_eq!(delivery_for(ago(23), true, now), Ok(Delivery::Response));
        assert_eq!(
            delivery_for(ago(25), false, now),
            Err(SendError::NeedsTemplate)
        );
        assert_eq!(delivery_for(ago(25), true, now), Ok(Delivery::HumanAgent));
        assert_eq!(
            delivery_for(ago(24 * 7 - 1), true, now),
            Ok(Delivery::HumanAgent)
        );
        assert_eq!(
            delivery_for(ago(24 * 7), true, now),
            Err(SendError::NeedsTemplate)
        );
        assert_eq!(delivery_for(None, true, now), Err(SendError::NeedsTemplate));
    }

    #[test]
    fn errors() {
        use http::StatusCode as S;
        let e = |c: i64, s: i64| {
            format!(
                r#"{{"error":{{"message":"m","type":"OAuthException","code":{c},"error_subcode":{s},"fbtrace_id":"x"}}}}"#
            )
        };
        assert_eq!(
            classify_error(S::BAD_REQUEST, None, &e(10, 2018278)),
            SendError::NeedsTemplate
        );
        assert!(matches!(
            classify_error(S::BAD_REQUEST, None, &e(551, 1545041)),
            SendError::Unreachable(_)
        ));
        assert!(matches!(
            classify_error(S::BAD_REQUEST, None, &e(100, 2018001)),
            SendError::Unreachable(_)
        ));
        assert!(
            matches!(classify_error(S::BAD_REQUEST, Some("9"), &e(613, 0)), SendError::RetryLater { retry_after: Some(d), .. } if d.as_secs() == 9)
        );
        assert!(matches!(
            classify_error(S::UNAUTHORIZED, None, &e(190, 463)),
            SendError::Credentials(_)
        ));
        assert!(matches!(
            classify_error(S::BAD_REQUEST, None, &e(100, 0)),
            SendError::Invalid(_)
        ));
        assert!(matches!(
            classify_error(S::BAD_GATEWAY, None, "x"),
            SendError::RetryLater { .. }
        ));
    }
}
