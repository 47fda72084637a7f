//! Channel adapters: each translates between a provider's wire format and Prosa's messages.
//!
//! An adapter never touches the database. The server calls, for an inbound request:
//! [`ChannelAdapter::verify`] on the raw bytes, then [`ChannelAdapter::parse`] into
//! [`InboundItem`]s, stores them, and only then acknowledges. For outbound messages the outbox
//! worker calls [`ChannelAdapter::send`] and maps [`SendError`] to retry, dead letter or a
//! message marked failed.

pub mod api;
pub mod egress;
pub mod signature;
pub mod testing;

use async_trait::async_trait;
use jiff::Timestamp;
use prosa_domain::message::MessageContent;
use prosa_domain::model::{ChannelKind, DeliveryStatus};
use prosa_domain::{ConversationId, MessageId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// An inbound HTTP request as it arrived: nothing parsed yet.
pub struct InboundRequest<'a> {
    pub headers: &'a http::HeaderMap,
    pub query: Option<&'a str>,
    pub body: &'a [u8],
}

/// Who wrote, as the provider identifies them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalContact {
    /// The provider's id for the sender, unique within the inbox (phone, chat id, PSID...).
    pub external_id: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    /// Provider context needed to reply later (Bot Framework serviceUrl and conversation id,
    /// Evolution's alternate JID...). Stored on the contact identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
}

/// A message the subscriber sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub provider_message_id: String,
    pub from: ExternalContact,
    pub content: MessageContent,
    /// The provider's own timestamp, when it sends one.
    pub sent_at: Option<Timestamp>,
}

/// A delivery status the provider reports for a message Prosa sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub provider_message_id: String,
    pub status: DeliveryStatus,
    pub error: Option<String>,
    pub at: Option<Timestamp>,
}

/// A receipt that names a time instead of a message (Messenger's `delivery`/`read`
/// watermarks): every message sent to `external_id` up to `up_to` reached `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatermarkUpdate {
    pub external_id: String,
    pub status: DeliveryStatus,
    pub up_to: Timestamp,
}

/// One thing an inbound request carried. Batched envelopes yield several.
#[allow(clippy::large_enum_variant)] // short-lived, a few per request; boxing buys nothing
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "item", rename_all = "snake_case")]
pub enum InboundItem {
    Message(InboundMessage),
    Status(StatusUpdate),
    Watermark(WatermarkUpdate),
}

impl InboundItem {
    /// The key the server deduplicates on, unique per inbox.
    pub fn dedupe_key(&self) -> String {
        match self {
            InboundItem::Message(m) => m.provider_message_id.clone(),
            InboundItem::Status(s) => format!("status:{}:{}", s.provider_message_id, s.status),
            InboundItem::Watermark(w) => format!(
                "watermark:{}:{}:{}",
                w.external_id,
                w.status,
                w.up_to.as_millisecond()
            ),
        }
    }
}

/// Why an inbound request was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing signature")]
    Missing,
    #[error("signature does not match")]
    Mismatch,
    #[error("credentials expired or not yet valid")]
    Expired,
    #[error("inbox is not configured for this: {0}")]
    Misconfigured(String),
    /// The request could not be checked now (the provider's key or metadata endpoint is
    /// down): the provider should retry later, so this is not a rejection (HTTP 503).
    #[error("verification unavailable: {0}")]
    Unavailable(String),
}

/// Why a verified request could not be read. Answered with 422 naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ParseError {
    pub field: String,
    pub problem: String,
}

impl ParseError {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> ParseError {
        ParseError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// A message to deliver, as the outbox worker hands it to the adapter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboundMessage {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    /// The contact identity's external id.
    pub to: String,
    /// The identity's provider context (see [`ExternalContact::meta`]).
    pub to_meta: Option<serde_json::Value>,
    pub content: MessageContent,
    /// Written by a person (Meta's HUMAN_AGENT tag) rather than the bot.
    pub from_human: bool,
    /// When the subscriber last wrote (24-hour windows).
    pub last_incoming_at: Option<Timestamp>,
    /// The bytes of attachments Prosa keeps itself (an operator's upload), read from the data
    /// folder by the outbox worker so adapters upload them to the provider without touching
    /// the disk. Never serialised.
    #[serde(skip)]
    pub files: Vec<OutboundFile>,
}

impl OutboundMessage {
    /// The file held for attachment `index`, when Prosa has its bytes.
    pub fn file(&self, index: usize) -> Option<&OutboundFile> {
        self.files.iter().find(|f| f.attachment == index)
    }
}

/// An attachment's bytes, handed to the adapter with the message.
#[derive(Clone)]
pub struct OutboundFile {
    /// The attachment of [`OutboundMessage::content`] these bytes belong to.
    pub attachment: usize,
    pub file_name: String,
    pub mime_type: String,
    pub bytes: std::sync::Arc<[u8]>,
}

impl std::fmt::Debug for OutboundFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundFile")
            .field("attachment", &self.attachment)
            .field("file_name", &self.file_name)
            .field("mime_type", &self.mime_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl OutboundFile {
    /// Whether every messaging app shows it as a picture (JPEG or PNG); other images (GIF,
    /// WebP) go as documents where a provider accepts only these two as photos.
    pub fn is_photo(&self) -> bool {
        matches!(self.mime_type.as_str(), "image/jpeg" | "image/png")
    }

    pub fn is_image(&self) -> bool {
        self.mime_type.starts_with("image/")
    }

    /// The file name in ASCII (some providers refuse other characters in upload names).
    pub fn ascii_name(&self) -> String {
        let name: String = self
            .file_name
            .chars()
            .map(|c| match c {
                'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
                'Á' | 'À' | 'Â' | 'Ã' | 'Ä' => 'A',
                'é' | 'ê' | 'è' | 'ë' => 'e',
                'É' | 'Ê' | 'È' | 'Ë' => 'E',
                'í' | 'ì' | 'î' | 'ï' => 'i',
                'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
                'ó' | 'ô' | 'õ' | 'ò' | 'ö' => 'o',
                'Ó' | 'Ô' | 'Õ' | 'Ò' | 'Ö' => 'O',
                'ú' | 'ù' | 'û' | 'ü' => 'u',
                'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
                'ç' => 'c',
                'Ç' => 'C',
                'ñ' => 'n',
                'Ñ' => 'N',
                c if c.is_ascii_alphanumeric() || "._-()".contains(c) => c,
                _ => '_',
            })
            .collect();
        if name.trim_matches(['_', '.']).is_empty() {
            "anexo".into()
        } else {
            name
        }
    }

    /// A multipart file part carrying these bytes.
    pub fn part(&self, file_name: String) -> Result<reqwest::multipart::Part, SendError> {
        reqwest::multipart::Part::bytes(self.bytes.to_vec())
            .file_name(file_name)
            .mime_str(&self.mime_type)
            .map_err(|_| SendError::Invalid(format!("bad MIME type {}", self.mime_type)))
    }

    /// The bytes in standard base64.
    pub fn base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&self.bytes)
    }
}

/// What the provider answered for a send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendReceipt {
    /// The provider's id for the sent message, used to match status updates.
    pub provider_message_id: Option<String>,
}

/// How a send failed, in terms of what the outbox should do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// Try again later (429, throughput limits, 5xx, timeouts).
    #[error("provider asked to retry later: {detail}")]
    RetryLater {
        retry_after: Option<Duration>,
        detail: String,
    },
    /// WhatsApp outside the 24-hour window: only a template may be sent.
    #[error("outside the customer-service window; a template is required")]
    NeedsTemplate,
    #[error("recipient unreachable: {0}")]
    Unreachable(String),
    #[error("channel credentials rejected: {0}")]
    Credentials(String),
    #[error("request rejected as invalid: {0}")]
    Invalid(String),
}

impl SendError {
    /// Whether the outbox should try again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::RetryLater { .. })
    }

    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            SendError::RetryLater { .. } => "retry_later",
            SendError::NeedsTemplate => "needs_template",
            SendError::Unreachable(_) => "unreachable",
            SendError::Credentials(_) => "credentials",
            SendError::Invalid(_) => "invalid",
        }
    }
}

/// What an adapter gets from the server to talk to its provider.
#[derive(Clone)]
pub struct SendContext {
    pub http: reqwest::Client,
    /// The inbox's settings (credentials, base URL).
    pub settings: serde_json::Value,
}

/// One provider's translation. Implementations hold no per-inbox state: the inbox's settings
/// are passed to every call.
#[async_trait]
pub trait ChannelAdapter: Send + Sync {
    fn kind(&self) -> ChannelKind;

    /// Checks the request comes from the provider, on the raw bytes, before anything is parsed.
    async fn verify(
        &self,
        settings: &serde_json::Value,
        request: &InboundRequest<'_>,
    ) -> Result<(), VerifyError>;

    /// Reads a verified request.
    fn parse(
        &self,
        settings: &serde_json::Value,
        request: &InboundRequest<'_>,
    ) -> Result<Vec<InboundItem>, ParseError>;

    /// Answers a provider's subscription handshake on `GET` (WhatsApp/Meta `hub.challenge`).
    /// `None` when this channel has none; `Some(Err)` when the verify token does not match.
    fn handshake(
        &self,
        _settings: &serde_json::Value,
        _query: Option<&str>,
    ) -> Option<Result<String, VerifyError>> {
        None
    }

    /// What the provider expects as the body of a successful acknowledgement (most: empty).
    fn ack_body(&self) -> &'static str {
        ""
    }

    /// The least time between two messages to one recipient (`to`: the identity's external
    /// id), kept by the outbox across instances: after a send, the conversation's next item
    /// waits this long. `None` (the default) when the provider needs no pacing per chat; its
    /// throughput errors are retried later instead.
    fn pace(&self, _to: &str) -> Option<Duration> {
        None
    }

    /// Delivers one message.
    async fn send(
        &self,
        ctx: &SendContext,
        message: &OutboundMessage,
    ) -> Result<SendReceipt, SendError>;
}

/// Maps an HTTP failure to a [`SendError`]: 429 and 5xx retry (honouring `Retry-After`
/// seconds), 401/403 are credentials, other 4xx invalid.
pub fn classify_http_failure(
    status: http::StatusCode,
    retry_after: Option<&str>,
    detail: String,
) -> SendError {
    let retry_after = retry_after
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match status.as_u16() {
        429 | 500..=599 => SendError::RetryLater {
            retry_after,
            detail,
        },
        401 | 403 => SendError::Credentials(detail),
        404 | 410 => SendError::Unreachable(detail),
        _ => SendError::Invalid(detail),
    }
}

/// Maps a transport error (connect, timeout) to a retry.
pub fn transport_failure(error: &reqwest::Error) -> SendError {
    let detail = if error.is_timeout() {
        "timeout".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        "transport error".to_owned()
    };
    SendError::RetryLater {
        retry_after: None,
        detail,
    }
}
