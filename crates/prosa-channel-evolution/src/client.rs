//! Calls to Evolution: instance lifecycle (create, connect/QR, state, webhook) and sends.
//! Every call sends the `apikey` header; routes are `/<group>/<action>/<instance>`.

use crate::setting;
use prosa_channel::{
    OutboundMessage, SendContext, SendError, SendReceipt, classify_http_failure, transport_failure,
};
use prosa_domain::message::MessageOption;
use serde_json::{Value, json};

pub const MAX_BUTTONS: usize = 3;
pub const MAX_LIST_ROWS: usize = 10;

fn base(settings: &Value) -> Result<String, SendError> {
    setting(settings, "base_url")
        .map(|b| b.trim_end_matches('/').to_owned())
        .ok_or_else(|| SendError::Invalid("inbox has no base_url".into()))
}

fn instance(settings: &Value) -> Result<&str, SendError> {
    setting(settings, "instance").ok_or_else(|| SendError::Invalid("inbox has no instance".into()))
}

/// Maps an Evolution error answer.
pub fn classify_error(
    status: http::StatusCode,
    retry_after: Option<&str>,
    body: &str,
) -> SendError {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let messages = v
        .pointer("/response/message")
        .cloned()
        .unwrap_or(Value::Null);
    let detail = format!(
        "{status} {}",
        if messages.is_null() {
            body.chars().take(200).collect::<String>()
        } else {
            messages.to_string()
        }
    );
    let not_on_whatsapp = messages.as_array().is_some_and(|a| {
        a.iter()
            .any(|m| m.get("exists").and_then(Value::as_bool) == Some(false))
    });
    match status.as_u16() {
        400 if not_on_whatsapp => SendError::Unreachable(detail),
        404 => SendError::Credentials(format!("instance not found: {detail}")),
        _ => classify_http_failure(status, retry_after, detail),
    }
}

async fn request(
    http: &reqwest::Client,
    settings: &Value,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, SendError> {
    let key = setting(settings, "api_key")
        .ok_or_else(|| SendError::Credentials("inbox has no api_key".into()))?;
    let mut req = http
        .request(method, format!("{}{path}", base(settings)?))
        .header("apikey", key);
    if let Some(b) = body {
        req = req.json(b);
    }
    let response = req.send().await.map_err(|e| transport_failure(&e))?;
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

/// What `POST /instance/create` answered.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedInstance {
    pub instance_name: String,
    /// The per-instance API token (`hash`): store it as the inbox's `api_key`.
    pub token: Option<String>,
    pub qr_base64: Option<String>,
    pub raw: Value,
}

/// Creates a Baileys instance with its webhook pointing at Prosa. `webhook_headers` should carry
/// the inbox's `webhook_token` header (and `jwt_key` if used).
pub async fn create_instance(
    http: &reqwest::Client,
    settings: &Value,
    instance_name: &str,
    webhook_url: &str,
    webhook_headers: Value,
) -> Result<CreatedInstance, SendError> {
    let body = json!({
        "instanceName": instance_name,
        "integration": "WHATSAPP-BAILEYS",
        "qrcode": true,
        "groupsIgnore": true,
        "webhook": {
            "url": webhook_url, "enabled": true, "byEvents": false, "base64": false, "headers": webhook_headers,
            "events": ["MESSAGES_UPSERT", "MESSAGES_UPDATE", "CONNECTION_UPDATE", "QRCODE_UPDATED"]
        }
    });
    let v = request(
        http,
        settings,
        reqwest::Method::POST,
        "/instance/create",
        Some(&body),
    )
    .await?;
    Ok(CreatedInstance {
        instance_name: v
            .pointer("/instance/instanceName")
            .and_then(Value::as_str)
            .unwrap_or(instance_name)
            .to_owned(),
        token: v.get("hash").and_then(|h| {
            h.as_str()
                .map(str::to_owned)
                .or_else(|| h.get("apikey").and_then(Value::as_str).map(str::to_owned))
        }),
        qr_base64: v
            .pointer("/qrcode/base64")
            .and_then(Value::as_str)
            .map(str::to_owned),
        raw: v,
    })
}

/// What `GET /instance/connect/{instance}` answered: a QR (and pairing code) or the state.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectInfo {
    pub qr_base64: Option<String>,
    pub code: Option<String>,
    pub pairing_code: Option<String>,
    /// Set when the instance is already connected (`open`).
    pub state: Option<String>,
}

/// Starts pairing. With `number`, Baileys also issues a phone pairing code.
pub async fn connect(
    http: &reqwest::Client,
    settings: &Value,
    number: Option<&str>,
) -> Result<ConnectInfo, SendError> {
    let mut path = format!("/instance/connect/{}", instance(settings)?);
    if let Some(n) = number {
        path.push_str(&format!(
            "?number={}",
            n.chars().filter(char::is_ascii_digit).collect::<String>()
        ));
    }
    let v = request(http, settings, reqwest::Method::GET, &path, None).await?;
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_owned);
    Ok(ConnectInfo {
        qr_base64: s("/base64"),
        code: s("/code"),
        pairing_code: s("/pairingCode"),
        state: s("/instance/state"),
    })
}

/// `open`, `connecting` or `close`.
pub async fn connection_state(
    http: &reqwest::Client,
    settings: &Value,
) -> Result<String, SendError> {
    let v = request(
        http,
        settings,
        reqwest::Method::GET,
        &format!("/instance/connectionState/{}", instance(settings)?),
        None,
    )
    .await?;
    v.pointer("/instance/state")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| SendError::Invalid("no instance.state in answer".into()))
}

/// A media file fetched through Evolution.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaFile {
    pub bytes: Vec<u8>,
    pub mime_type: Option<String>,
    pub file_name: Option<String>,
}

/// The message key id in an attachment URL written by the parser (`evolution-media:<id>`).
pub fn media_key_from_url(url: &str) -> Option<&str> {
    url.strip_prefix(crate::MEDIA_URL_PREFIX).filter(|id| {
        !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

/// Downloads an inbound media message (`POST /chat/getBase64FromMediaMessage/{instance}`),
/// refusing files over `max_bytes` (checked on the base64 length before decoding).
pub async fn download_media(
    http: &reqwest::Client,
    settings: &Value,
    key_id: &str,
    max_bytes: usize,
) -> Result<MediaFile, SendError> {
    use base64::Engine;
    let body = json!({"message": {"key": {"id": key_id}}, "convertToMp4": false});
    let v = request(
        http,
        settings,
        reqwest::Method::POST,
        &format!("/chat/getBase64FromMediaMessage/{}", instance(settings)?),
        Some(&body),
    )
    .await?;
    let b64 = v
        .get("base64")
        .and_then(Value::as_str)
        .ok_or_else(|| SendError::Invalid("no base64 in answer".into()))?;
    let b64 = b64
        .split_once("base64,")
        .map_or(b64, |(_, data)| data)
        .trim();
    if b64.len() / 4 * 3 > max_bytes + 2 {
        return Err(SendError::Invalid(format!(
            "media larger than {max_bytes} bytes"
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| SendError::Invalid("media is not valid base64".into()))?;
    if bytes.len() > max_bytes {
        return Err(SendError::Invalid(format!(
            "media larger than {max_bytes} bytes"
        )));
    }
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    Ok(MediaFile {
        bytes,
        mime_type: s("mimetype"),
        file_name: s("fileName"),
    })
}

/// Points the instance's webhook at Prosa.
pub async fn set_webhook(
    http: &reqwest::Client,
    settings: &Value,
    url: &str,
    headers: Value,
) -> Result<(), SendError> {
    let body = json!({"webhook": {"enabled": true, "url": url, "headers": headers, "byEvents": false, "base64": false,
        "events": ["MESSAGES_UPSERT", "MESSAGES_UPDATE", "CONNECTION_UPDATE", "QRCODE_UPDATED"]}});
    request(
        http,
        settings,
        reqwest::Method::POST,
        &format!("/webhook/set/{}", instance(settings)?),
        Some(&body),
    )
    .await
    .map(|_| ())
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

/// Media captions, as WhatsApp shows them; a longer text follows the file on its own.
pub const MAX_CAPTION: usize = 1024;

/// The `(action, body)` pairs a message becomes. A file Prosa keeps goes inside the body as
/// base64 (`sendMedia`'s `media` takes a URL or base64), so Evolution needs no way back to Prosa.
pub fn request_bodies(
    message: &OutboundMessage,
    interactive: bool,
) -> Result<Vec<(&'static str, Value)>, SendError> {
    let (number, content) = (message.to.as_str(), &message.content);
    let mut out = Vec::new();
    let text = content.text.clone().unwrap_or_default();
    let mut caption_used = false;
    for (i, a) in content.attachments.iter().enumerate() {
        let mut b = if let Some(f) = message.file(i) {
            // JPEG and PNG as pictures; other files (PDF, GIF, WebP) as documents.
            let mediatype = if f.is_photo() { "image" } else { "document" };
            json!({"number": number, "mediatype": mediatype, "media": f.base64(),
                "mimetype": f.mime_type, "fileName": f.file_name})
        } else {
            let url = a
                .url
                .as_deref()
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .ok_or_else(|| {
                    SendError::Invalid("attachment has no public URL nor file".into())
                })?;
            let mediatype = match a.kind.as_str() {
                k @ ("image" | "video" | "audio") => k,
                _ => "document",
            };
            let mut b = json!({"number": number, "mediatype": mediatype, "media": url});
            if let Some(m) = &a.mime_type {
                b["mimetype"] = json!(m);
            }
            if let Some(f) = &a.file_name {
                b["fileName"] = json!(f);
            }
            b
        };
        if i == 0
            && content.options.is_empty()
            && !text.is_empty()
            && text.chars().count() <= MAX_CAPTION
        {
            b["caption"] = json!(text);
            caption_used = true;
        }
        out.push(("sendMedia", b));
    }
    let o = &content.options;
    if !o.is_empty() {
        let body_text = if text.trim().is_empty() {
            "Escolha uma opção:".to_owned()
        } else {
            text.clone()
        };
        if interactive && o.len() <= MAX_BUTTONS && o.iter().all(|x| x.label.chars().count() <= 20)
        {
            out.push((
                "sendButtons",
                json!({"number": number, "title": body_text, "description": numbered_menu("", o), "buttons": o.iter().map(|x| json!({"type": "reply", "displayText": x.label, "id": x.id})).collect::<Vec<_>>()}),
            ));
        } else if interactive
            && o.len() <= MAX_LIST_ROWS
            && o.iter().all(|x| x.label.chars().count() <= 24)
        {
            out.push((
                "sendList",
                json!({"number": number, "title": body_text, "description": numbered_menu("", o), "buttonText": "Ver opções", "footerText": "",
                    "sections": [{"title": "Opções", "rows": o.iter().map(|x| json!({"title": x.label, "description": "", "rowId": x.id})).collect::<Vec<_>>()}]}),
            ));
        } else {
            out.push((
                "sendText",
                json!({"number": number, "text": numbered_menu(&text, o)}),
            ));
        }
    } else if !caption_used && !text.trim().is_empty() {
        out.push(("sendText", json!({"number": number, "text": text})));
    }
    if out.is_empty() {
        return Err(SendError::Invalid("nothing to send".into()));
    }
    Ok(out)
}

/// The adapter's send. `number` is the identity's external id (digits, or an `@lid` JID).
pub async fn send(ctx: &SendContext, message: &OutboundMessage) -> Result<SendReceipt, SendError> {
    let inst = instance(&ctx.settings)?.to_owned();
    let interactive = ctx
        .settings
        .get("interactive")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut last = None;
    for (action, body) in request_bodies(message, interactive)? {
        let v = request(
            &ctx.http,
            &ctx.settings,
            reqwest::Method::POST,
            &format!("/message/{action}/{inst}"),
            Some(&body),
        )
        .await?;
        last = v
            .pointer("/key/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or(last);
    }
    Ok(SendReceipt {
        provider_message_id: last,
    })
}
