//! The API channel: how an ISP connects its own systems.
//!
//! In: `POST /webhooks/api/{inbox_id}` signed with `X-Prosa-Signature: sha256=<hex>` (HMAC-SHA256
//! of the raw body under the inbox secret). Out: Prosa POSTs to the inbox's callback URL, signed
//! the same way; attachments are `{kind, file_name, mime_type, size, url, data_base64?}`: a file
//! an operator uploaded carries its bytes in `data_base64` (standard base64) and `url: null`, a
//! file Prosa links to (the invoice PDF) carries `url`.

use crate::signature::{hmac_sha256_hex, verify_sha256_header};
use crate::*;
use serde_json::{Value, json};

pub const SIGNATURE_HEADER: &str = "x-prosa-signature";

/// The API channel adapter.
pub struct ApiChannel {
    pub egress: crate::egress::EgressPolicy,
}

fn secret(settings: &Value) -> Result<&str, VerifyError> {
    settings
        .get("secret")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| VerifyError::Misconfigured("secret".into()))
}

fn required_str<'a>(obj: &'a Value, field: &str, path: &str) -> Result<&'a str, ParseError> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(ParseError::new(path, "is required")),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(ParseError::new(path, "must not be empty"))
        }
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ParseError::new(path, "must be a string")),
    }
}

fn optional_str(obj: &Value, field: &str, path: &str) -> Result<Option<String>, ParseError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ParseError::new(path, "must be a string")),
    }
}

/// Reads an API-channel inbound body. Exposed for the benchmark and tests.
pub fn parse_body(body: &[u8]) -> Result<InboundMessage, ParseError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ParseError::new("body", format!("malformed JSON: {e}")))?;
    if !v.is_object() {
        return Err(ParseError::new("body", "must be a JSON object"));
    }
    let message_id = required_str(&v, "message_id", "message_id")?;
    if message_id.len() > 200 {
        return Err(ParseError::new(
            "message_id",
            "must be at most 200 characters",
        ));
    }
    let from = v
        .get("from")
        .ok_or_else(|| ParseError::new("from", "is required"))?;
    if !from.is_object() {
        return Err(ParseError::new("from", "must be an object"));
    }
    let from_id = required_str(from, "id", "from.id")?;
    let name = optional_str(from, "name", "from.name")?;
    let phone = optional_str(from, "phone", "from.phone")?;
    let text = match v.get("text") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => return Err(ParseError::new("text", "is required")),
        Some(_) => return Err(ParseError::new("text", "must be a string")),
    };
    let sent_at = match optional_str(&v, "timestamp", "timestamp")? {
        None => None,
        Some(t) => Some(
            t.parse::<jiff::Timestamp>()
                .map_err(|_| ParseError::new("timestamp", "must be an RFC 3339 date-time"))?,
        ),
    };
    let selected_option = optional_str(&v, "option_id", "option_id")?;
    Ok(InboundMessage {
        provider_message_id: message_id.to_owned(),
        from: ExternalContact {
            external_id: from_id.to_owned(),
            name,
            phone,
            meta: None,
        },
        content: MessageContent {
            text: Some(text),
            selected_option,
            ..MessageContent::default()
        },
        sent_at,
    })
}

/// The JSON body Prosa POSTs to the callback URL.
pub fn callback_body(message: &OutboundMessage) -> Value {
    let mut body = json!({
        "message_id": message.message_id.0.to_string(),
        "conversation_id": message.conversation_id.0.to_string(),
        "to": message.to,
        "text": message.content.text.clone().unwrap_or_default(),
    });
    if !message.content.options.is_empty() {
        body["options"] = json!(
            message
                .content
                .options
                .iter()
                .map(|o| json!({"id": o.id, "label": o.label}))
                .collect::<Vec<_>>()
        );
    }
    if !message.content.attachments.is_empty() {
        body["attachments"] = json!(
            message
                .content
                .attachments
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let mut v = json!({"kind": a.kind, "file_name": a.file_name, "mime_type": a.mime_type, "size": a.size, "url": a.url});
                    // A file Prosa keeps (an operator's upload) travels inside the signed body:
                    // the integrator needs no way back into Prosa to fetch it.
                    if let Some(f) = message.file(i) {
                        v["size"] = json!(f.bytes.len());
                        v["data_base64"] = json!(f.base64());
                    }
                    v
                })
                .collect::<Vec<_>>()
        );
    }
    body
}

#[async_trait]
impl ChannelAdapter for ApiChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Api
    }

    async fn verify(
        &self,
        settings: &Value,
        request: &InboundRequest<'_>,
    ) -> Result<(), VerifyError> {
        let secret = secret(settings)?;
        let header = request
            .headers
            .get(SIGNATURE_HEADER)
            .and_then(|h| h.to_str().ok())
            .ok_or(VerifyError::Missing)?;
        if verify_sha256_header(secret.as_bytes(), request.body, header) {
            Ok(())
        } else {
            Err(VerifyError::Mismatch)
        }
    }

    fn parse(
        &self,
        _settings: &Value,
        request: &InboundRequest<'_>,
    ) -> Result<Vec<InboundItem>, ParseError> {
        parse_body(request.body).map(|m| vec![InboundItem::Message(m)])
    }

    async fn send(
        &self,
        ctx: &SendContext,
        message: &OutboundMessage,
    ) -> Result<SendReceipt, SendError> {
        let secret = ctx
            .settings
            .get("secret")
            .and_then(Value::as_str)
            .ok_or_else(|| SendError::Credentials("inbox has no secret".into()))?;
        let callback = ctx
            .settings
            .get("callback_url")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| SendError::Invalid("inbox has no callback_url".into()))?;
        let url = self
            .egress
            .check(callback)
            .await
            .map_err(|e| SendError::Invalid(e.to_string()))?;
        let body =
            serde_json::to_vec(&callback_body(message)).expect("invariant: JSON value serializes");
        let signature = format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), &body));
        let response = ctx
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-prosa-signature", signature)
            .header("idempotency-key", message.message_id.0.to_string())
            .body(body)
            .send()
            .await
            .map_err(|e| transport_failure(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(SendReceipt {
                provider_message_id: Some(message.message_id.0.to_string()),
            });
        }
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Err(classify_http_failure(
            status,
            retry_after.as_deref(),
            format!("callback answered {status}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_cases() {
        let ok = parse_body(br#"{"message_id":"m1","from":{"id":"c1","name":"Ana"},"text":"oi","timestamp":"2026-11-30T12:00:00Z"}"#).unwrap();
        assert_eq!(ok.provider_message_id, "m1");
        assert_eq!(ok.from.name.as_deref(), Some("Ana"));
        assert_eq!(ok.sent_at.unwrap().to_string(), "2026-11-30T12:00:00Z");
        let cases: &[(&[u8], &str)] = &[
            (b"{", "body"),
            (b"[]", "body"),
            (br#"{"from":{"id":"c"},"text":"x"}"#, "message_id"),
            (
                br#"{"message_id":"","from":{"id":"c"},"text":"x"}"#,
                "message_id",
            ),
            (
                br#"{"message_id":5,"from":{"id":"c"},"text":"x"}"#,
                "message_id",
            ),
            (br#"{"message_id":"m","text":"x"}"#, "from"),
            (br#"{"message_id":"m","from":"c","text":"x"}"#, "from"),
            (br#"{"message_id":"m","from":{},"text":"x"}"#, "from.id"),
            (
                br#"{"message_id":"m","from":{"id":"c","name":3},"text":"x"}"#,
                "from.name",
            ),
            (br#"{"message_id":"m","from":{"id":"c"}}"#, "text"),
            (
                br#"{"message_id":"m","from":{"id":"c"},"text":"x","timestamp":"ontem"}"#,
                "timestamp",
            ),
        ];
        for (body, field) in cases {
            let err = parse_body(body).unwrap_err();
            assert_eq!(err.field, *field, "{}", String::from_utf8_lossy(body));
        }
    }
}
