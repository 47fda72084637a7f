//! Outbound: client-credentials token (cached) and replies through the Connector.

use crate::{BotFrameworkChannel, DEFAULT_TOKEN_SCOPE, DEFAULT_TOKEN_URL, setting};
use prosa_channel::{
    OutboundMessage, SendContext, SendError, SendReceipt, classify_http_failure, transport_failure,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Tokens are renewed this long before they expire.
pub const TOKEN_MARGIN: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct CachedToken {
    pub token: String,
    pub expires_at: Instant,
}

/// The reply Activity for a message and the identity meta written by the parser. A file
/// Prosa keeps goes inline as an attachment whose `contentUrl` is a `data:` URI (RFC 2397,
/// base64), which Web Chat and Teams show without fetching anything from Prosa: images as
/// pictures, a PDF as a file with its name.
pub fn reply_activity(meta: &Value, message: &OutboundMessage) -> Value {
    let content = &message.content;
    let user = meta.get("user").cloned().unwrap_or(Value::Null);
    let mut a = json!({
        "type": "message",
        "from": meta.get("bot").cloned().unwrap_or(Value::Null),
        "recipient": user,
        "conversation": {"id": meta.get("conversation_id").cloned().unwrap_or(Value::Null)},
        "textFormat": "plain",
    });
    if let Some(t) = &content.text {
        a["text"] = json!(t);
    }
    if !content.options.is_empty() {
        a["suggestedActions"] = json!({
            "to": [user.get("id").cloned().unwrap_or(Value::Null)],
            "actions": content.options.iter().map(|o| json!({
                "type": "messageBack", "title": o.label, "text": o.label, "displayText": o.label, "value": {"option_id": o.id}
            })).collect::<Vec<_>>()
        });
    }
    let attachments: Vec<Value> = content
        .attachments
        .iter()
        .enumerate()
        .filter_map(|(i, at)| {
            if let Some(f) = message.file(i) {
                return Some(json!({
                    "contentType": f.mime_type,
                    "contentUrl": format!("data:{};base64,{}", f.mime_type, f.base64()),
                    "name": f.file_name,
                }));
            }
            let url = at.url.as_deref().filter(|u| u.starts_with("https://") || u.starts_with("http://"))?;
            Some(json!({"contentType": at.mime_type.clone().unwrap_or_else(|| "application/octet-stream".into()), "contentUrl": url, "name": at.file_name}))
        })
        .collect();
    if !attachments.is_empty() {
        a["attachments"] = json!(attachments);
    }
    a
}

impl BotFrameworkChannel {
    /// A bearer token for the Connector, from cache or the token endpoint.
    pub async fn token(&self, ctx: &SendContext) -> Result<String, SendError> {
        let app_id = setting(&ctx.settings, "app_id")
            .ok_or_else(|| SendError::Credentials("inbox has no app_id".into()))?;
        let secret = setting(&ctx.settings, "app_password")
            .ok_or_else(|| SendError::Credentials("inbox has no app_password".into()))?;
        let token_url = setting(&ctx.settings, "token_url").unwrap_or(DEFAULT_TOKEN_URL);
        let scope = setting(&ctx.settings, "token_scope").unwrap_or(DEFAULT_TOKEN_SCOPE);
        let key = (token_url.to_owned(), app_id.to_owned());
        let mut cache = self.tokens.lock().await;
        if let Some(t) = cache.get(&key)
            && t.expires_at > Instant::now() + TOKEN_MARGIN
        {
            return Ok(t.token.clone());
        }
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", app_id)
            .append_pair("client_secret", secret)
            .append_pair("scope", scope)
            .finish();
        let r = ctx
            .http
            .post(token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| transport_failure(&e))?;
        let status = r.status();
        let text = r.text().await.map_err(|e| transport_failure(&e))?;
        if !status.is_success() {
            return Err(match status.as_u16() {
                400 | 401 | 403 => {
                    SendError::Credentials(format!("token endpoint answered {status}"))
                }
                _ => {
                    classify_http_failure(status, None, format!("token endpoint answered {status}"))
                }
            });
        }
        let v: Value = serde_json::from_str(&text)
            .map_err(|_| SendError::Credentials("token answer is not JSON".into()))?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| SendError::Credentials("no access_token".into()))?
            .to_owned();
        let expires_in = v
            .get("expires_in")
            .and_then(|e| {
                e.as_u64()
                    .or_else(|| e.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(3600);
        cache.insert(
            key,
            CachedToken {
                token: token.clone(),
                expires_at: Instant::now() + Duration::from_secs(expires_in),
            },
        );
        Ok(token)
    }

    async fn forget_token(&self, ctx: &SendContext) {
        let token_url = setting(&ctx.settings, "token_url")
            .unwrap_or(DEFAULT_TOKEN_URL)
            .to_owned();
        let app_id = setting(&ctx.settings, "app_id").unwrap_or("").to_owned();
        self.tokens.lock().await.remove(&(token_url, app_id));
    }

    /// Replies in the conversation stored in the identity meta.
    pub async fn send_activity(
        &self,
        ctx: &SendContext,
        message: &OutboundMessage,
    ) -> Result<SendReceipt, SendError> {
        let meta = message
            .to_meta
            .as_ref()
            .ok_or_else(|| SendError::Invalid("identity has no Bot Framework context".into()))?;
        let service_url = meta
            .get("service_url")
            .and_then(Value::as_str)
            .ok_or_else(|| SendError::Invalid("identity has no service_url".into()))?;
        let conversation = meta
            .get("conversation_id")
            .and_then(Value::as_str)
            .ok_or_else(|| SendError::Invalid("identity has no conversation_id".into()))?;
        if message
            .content
            .text
            .as_deref()
            .is_none_or(|t| t.trim().is_empty())
            && message.content.attachments.is_empty()
            && message.content.options.is_empty()
        {
            return Err(SendError::Invalid("nothing to send".into()));
        }
        // The token goes only to a serviceUrl that passes the egress policy.
        let base = self
            .egress
            .check(service_url)
            .await
            .map_err(|e| SendError::Invalid(format!("serviceUrl refused: {e}")))?;
        // ...and over TLS, unless the administrator allowed that host (a local fake or emulator).
        let host = base.host_str().unwrap_or("").to_owned();
        let host_port = format!("{host}:{}", base.port_or_known_default().unwrap_or(443));
        let allowed = self
            .egress
            .allowed_private_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host) || h.eq_ignore_ascii_case(&host_port));
        if base.scheme() != "https" && !allowed {
            return Err(SendError::Invalid("serviceUrl must be https".into()));
        }
        let mut url = base;
        url.path_segments_mut()
            .map_err(|_| SendError::Invalid("serviceUrl cannot be a base".into()))?
            .pop_if_empty()
            .extend(["v3", "conversations", conversation, "activities"]);
        let body = reply_activity(meta, message);
        for attempt in 0..2 {
            let token = self.token(ctx).await?;
            let r = ctx
                .http
                .post(url.clone())
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .map_err(|e| transport_failure(&e))?;
            let status = r.status();
            let retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let text = r.text().await.map_err(|e| transport_failure(&e))?;
            if status.is_success() {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                return Ok(SendReceipt {
                    provider_message_id: v.get("id").and_then(Value::as_str).map(str::to_owned),
                });
            }
            if status.as_u16() == 401 && attempt == 0 {
                // A token revoked or expired early: get a fresh one once.
                self.forget_token(ctx).await;
                continue;
            }
            let detail = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    v.pointer("/error/code")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .map(|c| format!("connector answered {status} {c}"))
                .unwrap_or_else(|| format!("connector answered {status}"));
            return Err(classify_http_failure(
                status,
                retry_after.as_deref(),
                detail,
            ));
        }
        Err(SendError::Credentials(
            "connector refused a fresh token".into(),
        ))
    }
}
