//! Outbound: request bodies, the 24-hour window and Graph error mapping.

use crate::{api_version, base_url, setting};
use jiff::Timestamp;
use prosa_channel::{
    OutboundFile, OutboundMessage, SendContext, SendError, SendReceipt, classify_http_failure,
    transport_failure,
};
use prosa_domain::message::{Attachment, MessageContent, MessageOption};
use serde_json::{Value, json};
use std::time::Duration;

pub const MAX_BUTTONS: usize = 3;
pub const MAX_BUTTON_TITLE: usize = 20;
pub const MAX_BUTTON_ID: usize = 256;
pub const MAX_LIST_ROWS: usize = 10;
pub const MAX_ROW_TITLE: usize = 24;
pub const MAX_ROW_ID: usize = 200;
pub const MAX_INTERACTIVE_BODY: usize = 1024;
pub const MAX_TEXT: usize = 4096;
/// Media captions (image, document, video).
pub const MAX_CAPTION: usize = 1024;
/// The customer-service window.
pub const WINDOW: Duration = Duration::from_secs(24 * 3600);

/// How options are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionsStyle {
    Buttons,
    List,
    NumberedText,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Picks buttons (≤ 3, titles ≤ 20), a list (≤ 10 rows, titles ≤ 24) or a numbered text menu.
pub fn options_style(options: &[MessageOption], body: &str) -> OptionsStyle {
    if chars(body) > MAX_INTERACTIVE_BODY {
        return OptionsStyle::NumberedText;
    }
    let fits = |title_max: usize, id_max: usize| {
        options.iter().all(|o| {
            !o.label.trim().is_empty()
                && chars(&o.label) <= title_max
                && !o.id.is_empty()
                && o.id.len() <= id_max
        })
    };
    if options.len() <= MAX_BUTTONS && fits(MAX_BUTTON_TITLE, MAX_BUTTON_ID) {
        OptionsStyle::Buttons
    } else if options.len() <= MAX_LIST_ROWS && fits(MAX_ROW_TITLE, MAX_ROW_ID) {
        OptionsStyle::List
    } else {
        OptionsStyle::NumberedText
    }
}

/// `text` followed by `1. label` lines; the subscriber answers with the number.
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

fn envelope(to: &str, kind: &str, payload: Value) -> Value {
    let mut v = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind});
    v[kind] = payload;
    v
}

/// The body of a text, interactive (buttons or list) or numbered-menu message.
pub fn text_body(to: &str, content: &MessageContent, list_button_label: &str) -> Value {
    let text = content.text.clone().unwrap_or_default();
    if content.options.is_empty() {
        return envelope(to, "text", json!({"body": text, "preview_url": false}));
    }
    let body_text = if text.trim().is_empty() {
        "Escolha uma opção:".to_owned()
    } else {
        text.clone()
    };
    match options_style(&content.options, &body_text) {
        OptionsStyle::Buttons => envelope(
            to,
            "interactive",
            json!({
                "type": "button",
                "body": {"text": body_text},
                "action": {"buttons": content.options.iter().map(|o| json!({"type": "reply", "reply": {"id": o.id, "title": o.label}})).collect::<Vec<_>>()}
            }),
        ),
        OptionsStyle::List => envelope(
            to,
            "interactive",
            json!({
                "type": "list",
                "body": {"text": body_text},
                "action": {
                    "button": list_button_label.chars().take(20).collect::<String>(),
                    "sections": [{"title": "Opções", "rows": content.options.iter().map(|o| json!({"id": o.id, "title": o.label})).collect::<Vec<_>>()}]
                }
            }),
        ),
        OptionsStyle::NumberedText => envelope(
            to,
            "text",
            json!({"body": numbered_menu(&text, &content.options), "preview_url": false}),
        ),
    }
}

/// A media message sent by link (Meta fetches the URL).
pub fn media_body(
    to: &str,
    attachment: &Attachment,
    caption: Option<&str>,
) -> Result<Value, SendError> {
    let link = attachment
        .url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or_else(|| {
            SendError::Invalid("attachment has no public URL (uploads are not supported)".into())
        })?;
    let kind = match attachment.kind.as_str() {
        k @ ("image" | "audio" | "video" | "document" | "sticker") => k,
        _ => "document",
    };
    let mut payload = json!({"link": link});
    if let Some(c) = caption.filter(|c| !c.is_empty() && kind != "audio" && kind != "sticker") {
        payload["caption"] = json!(c);
    }
    if kind == "document"
        && let Some(name) = &attachment.file_name
    {
        payload["filename"] = json!(name);
    }
    Ok(envelope(to, kind, payload))
}

/// A media message for a file uploaded with [`upload_media`]: JPEG and PNG as `image` (the
/// only pictures WhatsApp takes), anything else (PDF) as `document` with its file name.
pub fn uploaded_media_body(
    to: &str,
    file: &OutboundFile,
    media_id: &str,
    caption: Option<&str>,
) -> Value {
    let kind = if file.is_photo() { "image" } else { "document" };
    let mut payload = json!({"id": media_id});
    if let Some(c) = caption.filter(|c| !c.is_empty()) {
        payload["caption"] = json!(c);
    }
    if kind == "document" {
        payload["filename"] = json!(file.file_name);
    }
    envelope(to, kind, payload)
}

/// Uploads a file: `POST /{phone_number_id}/media` as multipart (`messaging_product`, `type`,
/// `file`); returns the media id to send it with.
pub async fn upload_media(ctx: &SendContext, file: &OutboundFile) -> Result<String, SendError> {
    let token = setting(&ctx.settings, "access_token")
        .ok_or_else(|| SendError::Credentials("inbox has no access_token".into()))?;
    let pnid = setting(&ctx.settings, "phone_number_id")
        .ok_or_else(|| SendError::Invalid("inbox has no phone_number_id".into()))?;
    let url = format!(
        "{}/{}/{}/media",
        base_url(&ctx.settings),
        api_version(&ctx.settings),
        pnid
    );
    let form = reqwest::multipart::Form::new()
        .text("messaging_product", "whatsapp")
        .text("type", file.mime_type.clone())
        .part("file", file.part(file.file_name.clone())?);
    let response = ctx
        .http
        .post(url)
        .bearer_auth(token)
        .multipart(form)
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
        return Err(classify_graph_error(status, retry_after.as_deref(), &text));
    }
    serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned))
        .ok_or_else(|| SendError::Invalid("media upload answer has no id".into()))
}

/// A template settings entry: `"name"` or `{"name","language","body_text_param"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateSpec {
    pub name: String,
    pub language: String,
    /// Pass the message text as the body's single `{{1}}` parameter.
    pub body_text_param: bool,
}

impl TemplateSpec {
    pub fn from_settings(settings: &Value) -> Option<TemplateSpec> {
        match settings.get("fallback_template")? {
            Value::String(name) if !name.is_empty() => Some(TemplateSpec {
                name: name.clone(),
                language: "pt_BR".into(),
                body_text_param: false,
            }),
            Value::Object(o) => Some(TemplateSpec {
                name: o
                    .get("name")?
                    .as_str()
                    .filter(|s| !s.is_empty())?
                    .to_owned(),
                language: o
                    .get("language")
                    .and_then(Value::as_str)
                    .unwrap_or("pt_BR")
                    .to_owned(),
                body_text_param: o
                    .get("body_text_param")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            }),
            _ => None,
        }
    }
}

/// A template message body; `body_params` fill `{{1}}`, `{{2}}`...
pub fn template_body(to: &str, name: &str, language: &str, body_params: &[String]) -> Value {
    let mut template = json!({"name": name, "language": {"code": language}});
    if !body_params.is_empty() {
        template["components"] = json!([{
            "type": "body",
            "parameters": body_params.iter().map(|p| json!({"type": "text", "text": p})).collect::<Vec<_>>()
        }]);
    }
    envelope(to, "template", template)
}

/// Whether free-form messages may be sent now.
pub fn inside_window(last_incoming_at: Option<Timestamp>, now: Timestamp) -> bool {
    match last_incoming_at {
        Some(t) => now.duration_since(t).as_secs() < WINDOW.as_secs() as i64,
        None => false,
    }
}

/// Maps a Graph API failure. `body` is the response text.
pub fn classify_graph_error(
    status: http::StatusCode,
    retry_after: Option<&str>,
    body: &str,
) -> SendError {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let err = parsed.as_ref().and_then(|v| v.get("error"));
    let Some(err) = err else {
        return classify_http_failure(status, retry_after, format!("graph answered {status}"));
    };
    let code = err.get("code").and_then(Value::as_i64).unwrap_or(-1);
    let message = err.get("message").and_then(Value::as_str).unwrap_or("");
    let details = err
        .pointer("/error_data/details")
        .and_then(Value::as_str)
        .unwrap_or("");
    let detail = format!("{code}: {message} {details}").trim().to_owned();
    let hinted = retry_after
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match code {
        131047 => SendError::NeedsTemplate,
        130429 | 131048 | 4 | 80007 | 1 | 2 | 131000 | 131016 => SendError::RetryLater {
            retry_after: hinted,
            detail,
        },
        131056 => SendError::RetryLater {
            retry_after: hinted.or(Some(Duration::from_secs(6))),
            detail,
        },
        131026 | 131021 | 131030 | 131045 => SendError::Unreachable(detail),
        190 | 0 | 3 | 10 | 200..=299 => SendError::Credentials(detail),
        _ if status.as_u16() == 429
            || status.is_server_error()
            || err.get("is_transient").and_then(Value::as_bool) == Some(true) =>
        {
            SendError::RetryLater {
                retry_after: hinted,
                detail,
            }
        }
        _ if status.as_u16() == 401 => SendError::Credentials(detail),
        _ => SendError::Invalid(detail),
    }
}

/// POSTs one body to `/{phone_number_id}/messages` and returns `messages[0].id`.
pub async fn post_message(ctx: &SendContext, body: &Value) -> Result<String, SendError> {
    let token = setting(&ctx.settings, "access_token")
        .ok_or_else(|| SendError::Credentials("inbox has no access_token".into()))?;
    let pnid = setting(&ctx.settings, "phone_number_id")
        .ok_or_else(|| SendError::Invalid("inbox has no phone_number_id".into()))?;
    let url = format!(
        "{}/{}/{}/messages",
        base_url(&ctx.settings),
        api_version(&ctx.settings),
        pnid
    );
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
        return Err(classify_graph_error(status, retry_after.as_deref(), &text));
    }
    let v: Value = serde_json::from_str(&text)
        .map_err(|_| SendError::Invalid("graph answered non-JSON success".into()))?;
    v.pointer("/messages/0/id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| SendError::Invalid("graph answer has no messages[0].id".into()))
}

/// Sends a template (allowed outside the window).
pub async fn send_template(
    ctx: &SendContext,
    to: &str,
    template: &TemplateSpec,
    text: Option<&str>,
) -> Result<SendReceipt, SendError> {
    let params: Vec<String> = match (template.body_text_param, text) {
        (true, Some(t)) => vec![t.to_owned()],
        _ => Vec::new(),
    };
    let body = template_body(to, &template.name, &template.language, &params);
    let id = post_message(ctx, &body).await?;
    Ok(SendReceipt {
        provider_message_id: Some(id),
    })
}

/// The adapter's send: window check (or fallback template), then attachments, then text.
pub async fn send(
    ctx: &SendContext,
    message: &OutboundMessage,
    now: Timestamp,
) -> Result<SendReceipt, SendError> {
    let to = message.to.as_str();
    if !inside_window(message.last_incoming_at, now) {
        if !message.files.is_empty() {
            // A template cannot carry the file: the operator must wait for the subscriber.
            return Err(SendError::NeedsTemplate);
        }
        return match TemplateSpec::from_settings(&ctx.settings) {
            Some(t) => send_template(ctx, to, &t, message.content.text.as_deref()).await,
            None => Err(SendError::NeedsTemplate),
        };
    }
    let content = &message.content;
    if content.text.as_ref().is_some_and(|t| chars(t) > MAX_TEXT) {
        return Err(SendError::Invalid(format!(
            "text longer than {MAX_TEXT} characters"
        )));
    }
    let mut last_id = None;
    let mut text_sent_as_caption = false;
    for (i, a) in content.attachments.iter().enumerate() {
        // A text longer than a caption may be follows the file as a message of its own.
        let caption = if i == 0 && content.options.is_empty() {
            content.text.as_deref().filter(|t| chars(t) <= MAX_CAPTION)
        } else {
            None
        };
        let body = match message.file(i) {
            Some(file) => {
                if file.is_image() && !file.is_photo() {
                    return Err(SendError::Invalid(format!(
                        "WhatsApp takes JPEG and PNG images only, not {}",
                        file.mime_type
                    )));
                }
                let id = upload_media(ctx, file).await?;
                text_sent_as_caption |= caption.is_some_and(|c| !c.is_empty());
                uploaded_media_body(to, file, &id, caption)
            }
            None => {
                text_sent_as_caption |= caption.is_some_and(|c| !c.is_empty())
                    && !matches!(a.kind.as_str(), "audio" | "sticker");
                media_body(to, a, caption)?
            }
        };
        last_id = Some(post_message(ctx, &body).await?);
    }
    let has_text = content.text.as_ref().is_some_and(|t| !t.trim().is_empty());
    if (has_text && !text_sent_as_caption) || !content.options.is_empty() || last_id.is_none() {
        if !has_text && content.options.is_empty() {
            return Err(SendError::Invalid("nothing to send".into()));
        }
        let label = setting(&ctx.settings, "list_button_label").unwrap_or("Ver opções");
        last_id = Some(post_message(ctx, &text_body(to, content, label)).await?);
    }
    Ok(SendReceipt {
        provider_message_id: last_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(labels: &[&str]) -> Vec<MessageOption> {
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| MessageOption {
                id: format!("o{i}"),
                label: (*l).into(),
            })
            .collect()
    }

    #[test]
    fn style_choice() {
        assert_eq!(
            options_style(&opts(&["Boleto", "Suporte"]), "x"),
            OptionsStyle::Buttons
        );
        assert_eq!(
            options_style(&opts(&["a", "b", "c", "d"]), "x"),
            OptionsStyle::List
        );
        assert_eq!(
            options_style(&opts(&["Segunda via do boleto!"]), "x"),
            OptionsStyle::List
        ); // 22 chars
        assert_eq!(
            options_style(&opts(&["Uma opção longa demais para lista"]), "x"),
            OptionsStyle::NumberedText
        );
        let eleven: Vec<&str> = (0..11).map(|_| "x").collect();
        assert_eq!(
            options_style(&opts(&eleven), "x"),
            OptionsStyle::NumberedText
        );
        assert_eq!(
            options_style(&opts(&["a"]), &"b".repeat(1025)),
            OptionsStyle::NumberedText
        );
        assert!(numbered_menu("Menu", &opts(&["A", "B"])).contains("1. A\n2. B"));
    }

    #[test]
    fn window() {
        let now: Timestamp = "2026-11-30T12:00:00Z".parse().unwrap();
        assert!(inside_window(
            Some("2026-11-29T12:00:01Z".parse().unwrap()),
            now
        ));
        assert!(!inside_window(
            Some("2026-11-29T12:00:00Z".parse().unwrap()),
            now
        ));
        assert!(!inside_window(None, now));
    }

    #[test]
    fn error_mapping() {
        use http::StatusCode as S;
        let e = |code: i64| {
            format!(
                r#"{{"error":{{"message":"m","type":"OAuthException","code":{code},"fbtrace_id":"x"}}}}"#
            )
        };
        assert_eq!(
            classify_graph_error(S::BAD_REQUEST, None, &e(131047)),
            SendError::NeedsTemplate
        );
        assert!(
            matches!(classify_graph_error(S::BAD_REQUEST, Some("30"), &e(130429)), SendError::RetryLater { retry_after: Some(d), .. } if d.as_secs() == 30)
        );
        assert!(
            matches!(classify_graph_error(S::BAD_REQUEST, None, &e(131056)), SendError::RetryLater { retry_after: Some(d), .. } if d.as_secs() == 6)
        );
        assert!(matches!(
            classify_graph_error(S::BAD_REQUEST, None, &e(80007)),
            SendError::RetryLater { .. }
        ));
        assert!(matches!(
            classify_graph_error(S::BAD_REQUEST, None, &e(131026)),
            SendError::Unreachable(_)
        ));
        assert!(matches!(
            classify_graph_error(S::UNAUTHORIZED, None, &e(190)),
            SendError::Credentials(_)
        ));
        assert!(matches!(
            classify_graph_error(S::BAD_REQUEST, None, &e(100)),
            SendError::Invalid(_)
        ));
        assert!(matches!(
            classify_graph_error(S::SERVICE_UNAVAILABLE, None, "oops"),
            SendError::RetryLater { .. }
        ));
        assert!(
            matches!(classify_graph_error(S::TOO_MANY_REQUESTS, Some("7"), "{}"), SendError::RetryLater { retry_after: Some(d), .. } if d.as_secs() == 7)
        );
    }
}
