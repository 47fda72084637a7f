//! Send API: bodies, windows (24 h `RESPONSE`, 7 days `HUMAN_AGENT` for people) and errors.

use crate::{DEFAULT_API_VERSION, DEFAULT_BASE_URL, setting};
use jiff::Timestamp;
use prosa_channel::{
    OutboundFile, OutboundMessage, SendContext, SendError, SendReceipt, classify_http_failure,
    transport_failure,
};
use prosa_domain::message::MessageOption;
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

/// One Send API message a content becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub message: Value,
    /// Set when the attachment's bytes are uploaded with the message (the attachment index).
    pub upload: Option<usize>,
}

/// The attachment `type` for a file Prosa uploads: `image` for pictures both apps show
/// (JPEG, PNG, GIF), `file` for the rest (PDF, WebP).
pub fn upload_type(file: &OutboundFile) -> &'static str {
    if file.is_photo() || file.mime_type == "image/gif" {
        "image"
    } else {
        "file"
    }
}

/// Instagram takes PNG, JPEG and GIF pictures and PDF files (Meta's attachment upload
/// reference); anything else cannot reach an Instagram subscriber.
pub fn instagram_accepts(mime_type: &str) -> bool {
    matches!(
        mime_type,
        "image/jpeg" | "image/png" | "image/gif" | "application/pdf"
    )
}

/// The `message` objects a message becomes, in order.
pub fn message_objects(message: &OutboundMessage) -> Result<Vec<Piece>, SendError> {
    let content = &message.content;
    let mut out = Vec::new();
    for (i, a) in content.attachments.iter().enumerate() {
        if let Some(f) = message.file(i) {
            out.push(Piece {
                message: json!({"attachment": {"type": upload_type(f), "payload": {"is_reusable": true}}}),
                upload: Some(i),
            });
            continue;
        }
        let url = a
            .url
            .as_deref()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .ok_or_else(|| SendError::Invalid("attachment has no public URL nor file".into()))?;
        let kind = match a.kind.as_str() {
            k @ ("image" | "audio" | "video") => k,
            _ => "file",
        };
        out.push(Piece {
            message: json!({"attachment": {"type": kind, "payload": {"url": url, "is_reusable": true}}}),
            upload: None,
        });
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
            out.push(Piece {
                message: m,
                upload: None,
            });
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

struct Target {
    token: String,
    base: String,
}

fn target(ctx: &SendContext, path: &str) -> Result<Target, SendError> {
    let token = setting(&ctx.settings, "page_access_token")
        .or_else(|| setting(&ctx.settings, "access_token"))
        .ok_or_else(|| SendError::Credentials("inbox has no page_access_token".into()))?;
    let base = setting(&ctx.settings, "base_url")
        .unwrap_or(DEFAULT_BASE_URL)
        .trim_end_matches('/');
    let version = setting(&ctx.settings, "api_version").unwrap_or(DEFAULT_API_VERSION);
    let page = setting(&ctx.settings, "page_id").unwrap_or("me");
    Ok(Target {
        token: token.to_owned(),
        base: format!("{base}/{version}/{page}/{path}"),
    })
}

/// Sends a request and returns the answer's JSON, or the mapped Graph error.
async fn answer(request: reqwest::RequestBuilder) -> Result<Value, SendError> {
    let response = request.send().await.map_err(|e| transport_failure(&e))?;
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
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn message_id(v: &Value) -> Option<String> {
    v.get("message_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// POSTs one body and returns `message_id`.
pub async fn post(ctx: &SendContext, body: &Value) -> Result<Option<String>, SendError> {
    let t = target(ctx, "messages")?;
    let v = answer(ctx.http.post(t.base).bearer_auth(t.token).json(body)).await?;
    Ok(message_id(&v))
}

/// The text fields of a Send API body as form fields (objects as their JSON text).
fn form_of(body: &Value) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in body.as_object().into_iter().flatten() {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        form = form.text(k.clone(), text);
    }
    form
}

/// Messenger: the Send API as `multipart/form-data`, the file in `filedata` (Meta's "upload
/// from your file system" form); returns `message_id`.
pub async fn post_with_file(
    ctx: &SendContext,
    body: &Value,
    file: &OutboundFile,
) -> Result<Option<String>, SendError> {
    let t = target(ctx, "messages")?;
    let form = form_of(body).part("filedata", file.part(file.ascii_name())?);
    let v = answer(ctx.http.post(t.base).bearer_auth(t.token).multipart(form)).await?;
    Ok(message_id(&v))
}

/// Instagram: uploads the file with the Attachment Upload API
/// (`POST /{page}/message_attachments`, `platform=instagram`, `filedata`); returns the
/// `attachment_id` to send.
pub async fn upload_attachment(
    ctx: &SendContext,
    kind: &str,
    file: &OutboundFile,
) -> Result<String, SendError> {
    let t = target(ctx, "message_attachments")?;
    let form = form_of(&json!({
        "platform": "instagram",
        "message": {"attachment": {"type": kind, "payload": {"is_reusable": true}}},
    }))
    .part("filedata", file.part(file.ascii_name())?);
    let v = answer(ctx.http.post(t.base).bearer_auth(t.token).multipart(form)).await?;
    v.get("attachment_id")
        .and_then(|id| {
            id.as_str()
                .map(str::to_owned)
                .or_else(|| id.as_u64().map(|n| n.to_string()))
        })
        .ok_or_else(|| SendError::Invalid("attachment upload answer has no attachment_id".into()))
}

/// The adapter's send. Instagram uploads files first and sends their `attachment_id`;
/// Messenger uploads and sends in one call.
pub async fn send(
    ctx: &SendContext,
    message: &OutboundMessage,
    now: Timestamp,
    instagram: bool,
) -> Result<SendReceipt, SendError> {
    let delivery = delivery_for(message.last_incoming_at, message.from_human, now)?;
    if instagram
        && let Some(f) = message
            .files
            .iter()
            .find(|f| !instagram_accepts(&f.mime_type))
    {
        return Err(SendError::Invalid(format!(
            "Instagram takes PNG, JPEG and GIF images and PDF files only, not {}",
            f.mime_type
        )));
    }
    let mut last = None;
    for piece in message_objects(message)? {
        let file = piece.upload.and_then(|i| message.file(i));
        let id = match file {
            None => post(ctx, &request_body(&message.to, delivery, piece.message)).await?,
            Some(f) if instagram => {
                let kind = upload_type(f);
                let attachment = upload_attachment(ctx, kind, f).await?;
                let m =
                    json!({"attachment": {"type": kind, "payload": {"attachment_id": attachment}}});
                post(ctx, &request_body(&message.to, delivery, m)).await?
            }
            Some(f) => {
                post_with_file(ctx, &request_body(&message.to, delivery, piece.message), f).await?
            }
        };
        last = id.or(last);
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
