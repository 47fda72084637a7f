//! Bot API calls: sending, webhook management, long polling, callback answers, files.

use crate::{DEFAULT_BASE_URL, FILE_URL_PREFIX, callback_data_for, setting};
use prosa_channel::{
    OutboundFile, OutboundMessage, SendContext, SendError, SendReceipt, transport_failure,
};
use prosa_domain::message::MessageContent;
use serde_json::{Value, json};
use std::time::Duration;

/// Errors of the non-send calls use the same taxonomy as sends.
pub type TelegramError = SendError;

pub const MAX_TEXT: usize = 4096;
pub const MAX_CAPTION: usize = 1024;

fn method_url(settings: &Value, method: &str) -> Result<String, SendError> {
    let token = setting(settings, "bot_token")
        .ok_or_else(|| SendError::Credentials("inbox has no bot_token".into()))?;
    let base = setting(settings, "base_url")
        .unwrap_or(DEFAULT_BASE_URL)
        .trim_end_matches('/');
    Ok(format!("{base}/bot{token}/{method}"))
}

/// Maps a Bot API error answer.
pub fn classify_error(status: u16, body: &str) -> SendError {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = v
        .get("error_code")
        .and_then(Value::as_u64)
        .map(|c| c as u16)
        .unwrap_or(status);
    let description = v
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let detail = format!("{code} {description}").trim().to_owned();
    let retry_after = v
        .pointer("/parameters/retry_after")
        .and_then(Value::as_u64)
        .map(Duration::from_secs);
    let lower = description.to_ascii_lowercase();
    match code {
        429 => SendError::RetryLater {
            retry_after,
            detail,
        },
        401 | 404 => SendError::Credentials(detail),
        403 => SendError::Unreachable(detail),
        400 if lower.contains("chat not found")
            || lower.contains("user not found")
            || lower.contains("user is deactivated") =>
        {
            SendError::Unreachable(detail)
        }
        500..=599 => SendError::RetryLater {
            retry_after,
            detail,
        },
        _ if v.pointer("/parameters/migrate_to_chat_id").is_some() => {
            SendError::Invalid(format!("{detail} (chat migrated)"))
        }
        _ => SendError::Invalid(detail),
    }
}

/// Calls a Bot API method with a JSON body and returns `result`.
pub async fn call(
    http: &reqwest::Client,
    settings: &Value,
    method: &str,
    body: &Value,
    timeout: Option<Duration>,
) -> Result<Value, SendError> {
    let url = method_url(settings, method)?;
    let mut req = http.post(url).json(body);
    if let Some(t) = timeout {
        req = req.timeout(t);
    }
    let response = req.send().await.map_err(|e| transport_failure(&e))?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| transport_failure(&e))?;
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if (200..300).contains(&status) && v.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(v.get("result").cloned().unwrap_or(Value::Null));
    }
    Err(classify_error(status, &text))
}

fn chat_id(to: &str) -> Value {
    to.parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(to))
}

/// Splits text into chunks of at most `max` characters (on character boundaries, preferring
/// line breaks).
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > max {
        let cut = rest[..max]
            .iter()
            .rposition(|c| *c == '\n')
            .filter(|p| *p > max / 2)
            .map(|p| p + 1)
            .unwrap_or(max);
        out.push(rest[..cut].iter().collect());
        rest = rest[cut..].to_vec();
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(rest.into_iter().collect());
    }
    out
}

/// `reply_markup` with one inline button per row.
pub fn inline_keyboard(content: &MessageContent) -> Option<Value> {
    if content.options.is_empty() {
        return None;
    }
    let rows: Vec<Value> = content
        .options
        .iter()
        .map(|o| json!([{"text": o.label, "callback_data": callback_data_for(&o.id)}]))
        .collect();
    Some(json!({"inline_keyboard": rows}))
}

/// One Bot API call a message becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: &'static str,
    pub body: Value,
    /// Set when the call uploads a file Prosa keeps: `(form field, attachment index)`; the
    /// call then goes as `multipart/form-data` with `body`'s fields beside the file part.
    pub upload: Option<(&'static str, usize)>,
}

/// The calls a message becomes, in order.
pub fn request_bodies(message: &OutboundMessage) -> Result<Vec<Call>, SendError> {
    let (to, content) = (message.to.as_str(), &message.content);
    let mut out = Vec::new();
    let text = content.text.clone().unwrap_or_default();
    let mut text_as_caption = false;
    for (i, a) in content.attachments.iter().enumerate() {
        let mut body = json!({"chat_id": chat_id(to)});
        let (method, upload) = if let Some(f) = message.file(i) {
            // JPEG and PNG as photos; GIF, WebP and PDF as documents (Telegram still shows
            // GIFs animated and keeps the file as sent).
            let (method, field) = if f.is_photo() {
                ("sendPhoto", "photo")
            } else {
                ("sendDocument", "document")
            };
            (method, Some((field, i)))
        } else {
            let url = a
                .url
                .as_deref()
                .map(|u| u.strip_prefix(FILE_URL_PREFIX).unwrap_or(u))
                .ok_or_else(|| {
                    SendError::Invalid("attachment has no URL, file id or file".into())
                })?;
            let (method, field) = match a.kind.as_str() {
                "image" => ("sendPhoto", "photo"),
                "audio" => ("sendAudio", "audio"),
                "video" => ("sendVideo", "video"),
                _ => ("sendDocument", "document"),
            };
            body[field] = json!(url);
            (method, None)
        };
        if i == 0
            && content.options.is_empty()
            && !text.is_empty()
            && text.chars().count() <= MAX_CAPTION
        {
            body["caption"] = json!(text);
            text_as_caption = true;
        }
        out.push(Call {
            method,
            body,
            upload,
        });
    }
    if !text_as_caption && (!text.trim().is_empty() || !content.options.is_empty()) {
        let text = if text.trim().is_empty() {
            "Escolha uma opção:".to_owned()
        } else {
            text
        };
        let chunks = split_text(&text, MAX_TEXT);
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let mut body = json!({"chat_id": chat_id(to), "text": chunk});
            if i == last
                && let Some(kb) = inline_keyboard(content)
            {
                body["reply_markup"] = kb;
            }
            out.push(Call {
                method: "sendMessage",
                body,
                upload: None,
            });
        }
    }
    if out.is_empty() {
        return Err(SendError::Invalid("nothing to send".into()));
    }
    Ok(out)
}

/// Calls a Bot API method as `multipart/form-data`: `fields` (a JSON object; non-string values
/// are sent as their JSON text, as the Bot API reads them) and the file in `field`.
pub async fn call_upload(
    http: &reqwest::Client,
    settings: &Value,
    method: &str,
    fields: &Value,
    field: &'static str,
    file: &OutboundFile,
) -> Result<Value, SendError> {
    let url = method_url(settings, method)?;
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields.as_object().into_iter().flatten() {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        form = form.text(k.clone(), text);
    }
    form = form.part(field, file.part(file.file_name.clone())?);
    let response = http
        .post(url)
        .multipart(form)
        .send()
        .await
        .map_err(|e| transport_failure(&e))?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| transport_failure(&e))?;
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if (200..300).contains(&status) && v.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(v.get("result").cloned().unwrap_or(Value::Null));
    }
    Err(classify_error(status, &text))
}

/// The adapter's send.
pub async fn send(ctx: &SendContext, message: &OutboundMessage) -> Result<SendReceipt, SendError> {
    let mut last = None;
    for c in request_bodies(message)? {
        let result = match c.upload {
            Some((field, index)) => {
                let file = message
                    .file(index)
                    .ok_or_else(|| SendError::Invalid("attachment file missing".into()))?;
                call_upload(&ctx.http, &ctx.settings, c.method, &c.body, field, file).await?
            }
            None => call(&ctx.http, &ctx.settings, c.method, &c.body, None).await?,
        };
        let mid = result.get("message_id").and_then(Value::as_i64);
        let chat = result.pointer("/chat/id").and_then(Value::as_i64);
        last = match (chat, mid) {
            (Some(c), Some(m)) => Some(format!("{c}:{m}")),
            (None, Some(m)) => Some(m.to_string()),
            _ => last,
        };
    }
    Ok(SendReceipt {
        provider_message_id: last,
    })
}

/// Registers the webhook with the secret Telegram will send in `X-Telegram-Bot-Api-Secret-Token`.
pub async fn set_webhook(
    http: &reqwest::Client,
    settings: &Value,
    url: &str,
    secret_token: &str,
    allowed_updates: Option<&[&str]>,
) -> Result<(), TelegramError> {
    if secret_token.is_empty()
        || secret_token.len() > 256
        || !secret_token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(SendError::Invalid(
            "secret_token must be 1-256 characters of A-Z a-z 0-9 _ -".into(),
        ));
    }
    let mut body = json!({"url": url, "secret_token": secret_token});
    if let Some(a) = allowed_updates {
        body["allowed_updates"] = json!(a);
    }
    call(http, settings, "setWebhook", &body, None)
        .await
        .map(|_| ())
}

pub async fn delete_webhook(
    http: &reqwest::Client,
    settings: &Value,
    drop_pending_updates: bool,
) -> Result<(), TelegramError> {
    call(
        http,
        settings,
        "deleteWebhook",
        &json!({"drop_pending_updates": drop_pending_updates}),
        None,
    )
    .await
    .map(|_| ())
}

/// Must be called for every callback query, or the subscriber's client shows a spinner.
pub async fn answer_callback_query(
    http: &reqwest::Client,
    settings: &Value,
    callback_query_id: &str,
    text: Option<&str>,
) -> Result<(), TelegramError> {
    let mut body = json!({"callback_query_id": callback_query_id});
    if let Some(t) = text {
        body["text"] = json!(t.chars().take(200).collect::<String>());
    }
    call(http, settings, "answerCallbackQuery", &body, None)
        .await
        .map(|_| ())
}

/// One `getUpdates` call. Each returned update is a JSON value the server stores and feeds to
/// [`crate::parse_update`] (or serialises and passes to `parse` as a webhook body).
pub async fn get_updates(
    http: &reqwest::Client,
    settings: &Value,
    offset: Option<i64>,
    timeout_secs: u32,
) -> Result<Vec<Value>, TelegramError> {
    let mut body = json!({"timeout": timeout_secs, "limit": 100});
    if let Some(o) = offset {
        body["offset"] = json!(o);
    }
    let result = call(
        http,
        settings,
        "getUpdates",
        &body,
        Some(Duration::from_secs(u64::from(timeout_secs) + 10)),
    )
    .await?;
    Ok(result.as_array().cloned().unwrap_or_default())
}

/// Long polling with offset handling. Updates returned by [`Poller::poll`] are confirmed to
/// Telegram by the *next* call, so store them before polling again.
#[derive(Debug, Clone, Default)]
pub struct Poller {
    pub offset: Option<i64>,
}

impl Poller {
    pub fn new() -> Poller {
        Poller::default()
    }

    pub async fn poll(
        &mut self,
        http: &reqwest::Client,
        settings: &Value,
        timeout_secs: u32,
    ) -> Result<Vec<Value>, TelegramError> {
        let updates = get_updates(http, settings, self.offset, timeout_secs).await?;
        if let Some(max) = updates
            .iter()
            .filter_map(|u| u.get("update_id").and_then(Value::as_i64))
            .max()
        {
            self.offset = Some(self.offset.map_or(max + 1, |o| o.max(max + 1)));
        }
        Ok(updates)
    }
}

/// Downloads a file by id (`getFile`, then `/file/bot<token>/<path>`), size- and time-limited.
pub async fn get_file(
    http: &reqwest::Client,
    settings: &Value,
    file_id: &str,
    max_bytes: u64,
    timeout: Duration,
) -> Result<Vec<u8>, TelegramError> {
    let file = call(
        http,
        settings,
        "getFile",
        &json!({"file_id": file_id}),
        Some(timeout),
    )
    .await?;
    if file
        .get("file_size")
        .and_then(Value::as_u64)
        .is_some_and(|s| s > max_bytes)
    {
        return Err(SendError::Invalid(format!(
            "file larger than {max_bytes} bytes"
        )));
    }
    let path = file
        .get("file_path")
        .and_then(Value::as_str)
        .ok_or_else(|| SendError::Invalid("file has no file_path".into()))?;
    if path.contains("..") {
        return Err(SendError::Invalid("suspicious file_path".into()));
    }
    let token = setting(settings, "bot_token")
        .ok_or_else(|| SendError::Credentials("inbox has no bot_token".into()))?;
    let base = setting(settings, "base_url")
        .unwrap_or(DEFAULT_BASE_URL)
        .trim_end_matches('/');
    let mut response = http
        .get(format!("{base}/file/bot{token}/{path}"))
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| transport_failure(&e))?;
    if !response.status().is_success() {
        return Err(classify_error(response.status().as_u16(), ""));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_failure(&e))? {
        if bytes.len() as u64 + chunk.len() as u64 > max_bytes {
            return Err(SendError::Invalid(format!(
                "file larger than {max_bytes} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting() {
        assert_eq!(split_text("abc", 4096), ["abc"]);
        let long = "é".repeat(5000);
        let parts = split_text(&long, 4096);
        assert_eq!(
            parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
            [4096, 904]
        );
        let lines = format!("{}\n{}", "a".repeat(3000), "b".repeat(3000));
        assert_eq!(
            split_text(&lines, 4096)[0],
            format!("{}\n", "a".repeat(3000))
        );
    }

    #[test]
    fn errors() {
        assert!(
            matches!(classify_error(429, r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}"#),
            SendError::RetryLater { retry_after: Some(d), .. } if d.as_secs() == 5)
        );
        assert!(matches!(
            classify_error(
                403,
                r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#
            ),
            SendError::Unreachable(_)
        ));
        assert!(matches!(
            classify_error(
                401,
                r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#
            ),
            SendError::Credentials(_)
        ));
        assert!(matches!(
            classify_error(
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#
            ),
            SendError::Unreachable(_)
        ));
        assert!(matches!(
            classify_error(
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: message is too long"}"#
            ),
            SendError::Invalid(_)
        ));
        assert!(matches!(
            classify_error(502, "<html>"),
            SendError::RetryLater { .. }
        ));
    }
}
