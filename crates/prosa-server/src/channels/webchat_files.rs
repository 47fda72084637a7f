//! Attachments. The website chat visitor uploads an image or a PDF (raw body, at most
//! [`MAX_FILE_BYTES`], type recognised from the bytes themselves, never from the name or the
//! header) that becomes an incoming message through the same path as text; operators send one
//! to a conversation of any channel through the REST API (the outbox worker reads the kept
//! file and the channel adapter uploads it to the provider); each side downloads only what it may
//! see (the visitor: their own conversations; operators: conversations they may see, through
//! `GET /api/v1/attachments/...`). Files are kept under `data_dir/media/`, like provider media.
//!
//! Declared inside `channels::webchat` (it uses the visitor token and the send budget there).

use super::*;
use crate::auth::Authenticated;
use axum::body::Bytes;
use prosa_domain::message::Attachment;
use prosa_domain::model::{AuthorKind, ConversationStatus, Role};
use prosa_storage::conversations::NewOutgoing;

/// The largest file either side may send.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

/// What a file is, from its first bytes: (kind, MIME type, extension).
pub fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str, &'static str)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image", "image/png", "png"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image", "image/jpeg", "jpg"))
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(("image", "image/gif", "gif"))
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image", "image/webp", "webp"))
    } else if bytes.starts_with(b"%PDF-") {
        Some(("document", "application/pdf", "pdf"))
    } else {
        None
    }
}

/// A file name safe to show and to send back in a header.
fn clean_name(name: Option<&str>, ext: &str) -> String {
    let base: String = name
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_alphanumeric() || " ._-()".contains(*c))
        .take(80)
        .collect();
    let base = base.trim().trim_start_matches('.').to_owned();
    if base.is_empty() {
        format!("anexo.{ext}")
    } else if base.to_ascii_lowercase().ends_with(&format!(".{ext}")) {
        base
    } else {
        format!("{base}.{ext}")
    }
}

/// Checks and stores an uploaded file; returns the attachment to put in a message.
async fn keep(state: &AppState, bytes: &[u8], name: Option<&str>) -> Result<Attachment, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::invalid("file", "is empty"));
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ApiError::TooLarge);
    }
    let (kind, mime, ext) = sniff(bytes).ok_or_else(|| {
        ApiError::invalid("file", "must be an image (PNG, JPEG, GIF, WebP) or a PDF")
    })?;
    let dir = state.config.data_dir.join("media");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let stored = format!("upload-{}.{ext}", crate::auth::random_token());
    tokio::fs::write(dir.join(&stored), bytes)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Attachment {
        kind: kind.into(),
        file_name: Some(clean_name(name, ext)),
        mime_type: Some(mime.into()),
        stored_path: Some(format!("media/{stored}")),
        url: None,
        size: Some(bytes.len() as u64),
    })
}

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    pub token: String,
    pub client_id: String,
    pub name: Option<String>,
}

/// `POST /webchat/{inbox_id}/upload?token=..&client_id=..&name=..`: the visitor sends a file
/// (the body is the file).
pub async fn upload(
    State(state): State<AppState>,
    Path(inbox_id): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let inbox = webchat_inbox(&state, &inbox_id).await?;
    if !origin_allowed(&inbox, &headers) {
        return Err(ApiError::Forbidden);
    }
    let key = token_key(&state).await?;
    let external = check(&key, inbox.id, &q.token).ok_or(ApiError::Unauthorized)?;
    let attachment = keep(&state, &body, q.name.as_deref()).await?;
    store_visitor_message(
        &state,
        &inbox,
        &external,
        &q.client_id,
        MessageContent {
            attachments: vec![attachment],
            ..MessageContent::default()
        },
        None,
    )
    .await?;
    Ok(cors(
        (
            StatusCode::ACCEPTED,
            Json(json!({"status": "accepted", "client_id": q.client_id})),
        )
            .into_response(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct FileQuery {
    pub token: String,
}

fn file_response(a: &Attachment, bytes: Vec<u8>) -> Response {
    const SERVED: &[&str] = &[
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
    ];
    let mime = a
        .mime_type
        .as_deref()
        .filter(|m| SERVED.contains(m))
        .unwrap_or("application/octet-stream");
    let name: String = a
        .file_name
        .as_deref()
        .unwrap_or("anexo")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._- ".contains(*c))
        .collect();
    let disposition = if mime.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    (
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned()),
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /webchat/{inbox_id}/files/{message_id}/{index}?token=..`: a file of the visitor's own
/// conversation (never of a private note).
pub async fn file(
    State(state): State<AppState>,
    Path((inbox_id, message_id, index)): Path<(String, String, usize)>,
    Query(q): Query<FileQuery>,
) -> Result<Response, ApiError> {
    let inbox = webchat_inbox(&state, &inbox_id).await?;
    let key = token_key(&state).await?;
    let external = check(&key, inbox.id, &q.token).ok_or(ApiError::Unauthorized)?;
    let id: i64 = message_id.parse().map_err(|_| ApiError::NotFound)?;
    let m = state.store.message_by_id(MessageId(id)).await?;
    let mine = state
        .store
        .identity_conversations(inbox.id, &external)
        .await?;
    if m.private || !mine.contains(&m.conversation_id) {
        return Err(ApiError::NotFound);
    }
    let a = m.content.attachments.get(index).ok_or(ApiError::NotFound)?;
    let name = a
        .stored_path
        .as_deref()
        .and_then(|p| p.strip_prefix("media/"))
        .filter(|n| !n.contains('/') && !n.contains(".."))
        .ok_or(ApiError::NotFound)?;
    let bytes = tokio::fs::read(state.config.data_dir.join("media").join(name))
        .await
        .map_err(|_| ApiError::NotFound)?;
    Ok(file_response(a, bytes))
}

/// Where the visitor fetches an attachment (relative to Prosa; the widget adds its token).
pub fn visitor_url(inbox: InboxId, m: &Message, index: usize) -> Option<String> {
    m.content.attachments.get(index)?.stored_path.as_ref()?;
    Some(format!("/webchat/{}/files/{}/{index}", inbox.0, m.id.0))
}

/// Why a channel cannot carry a file of this type to the subscriber, if it cannot: WhatsApp
/// Cloud shows JPEG and PNG only as pictures (and takes no GIF or WebP as images); Instagram
/// takes PNG, JPEG and GIF images and PDFs. Every other channel takes every type accepted here.
pub fn refused_by_channel(kind: ChannelKind, mime: &str) -> Option<&'static str> {
    match kind {
        ChannelKind::WhatsappCloud
            if !matches!(mime, "image/jpeg" | "image/png" | "application/pdf") =>
        {
            Some("WhatsApp takes JPEG or PNG images and PDF files only")
        }
        ChannelKind::Instagram if !prosa_channel_messenger::send::instagram_accepts(mime) => {
            Some("Instagram takes PNG, JPEG or GIF images and PDF files only")
        }
        _ => None,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AttachmentQuery {
    /// The file's name as the visitor will see it.
    pub name: Option<String>,
    /// The sender's id for this message: a repeat with the same id is not sent twice.
    pub client_id: Option<String>,
    /// Text sent with the file.
    pub caption: Option<String>,
}

/// `POST /api/v1/conversations/{id}/attachments?name=..`: an operator sends a file (the body,
/// an image or a PDF up to 5 MB) to the conversation's subscriber, on any channel: the outbox
/// worker hands the bytes to the adapter, which uploads them to the provider. 422 when the
/// channel cannot carry that type of file (WebP/GIF to WhatsApp Cloud, WebP to Instagram).
/// On the API channel the signed callback body carries the file itself:
/// `attachments: [{"kind", "file_name", "mime_type", "size", "url": null, "data_base64"}]`.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/attachments", params(AttachmentQuery), request_body(content = Vec<u8>, content_type = "application/octet-stream"), responses((status = 201, body = crate::dto::MessageDto), (status = 403, description = "an agent who is not the assignee"), (status = 409, description = "the conversation is resolved"), (status = 413, description = "larger than 5 MB"), (status = 422, description = "not an image or PDF, or a type the channel cannot carry")), tag = "conversations")]
pub async fn operator_upload(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    Query(q): Query<AttachmentQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let c = crate::api::visible_conversation(&state, &who, &id).await?;
    let inbox = state.store.inbox_by_id(c.inbox_id).await?;
    if c.status == ConversationStatus::Resolved {
        return Err(ApiError::Conflict("conversation is resolved".into()));
    }
    if who.role() == Role::Agent && c.assignee_id != who.user_id() {
        return Err(ApiError::Forbidden);
    }
    let caption = q
        .caption
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if caption.is_some_and(|t| t.chars().count() > MAX_TEXT) {
        return Err(ApiError::invalid(
            "caption",
            "must be at most 4000 characters",
        ));
    }
    if let Some((_, mime, _)) = sniff(&body)
        && let Some(problem) = refused_by_channel(inbox.kind, mime)
    {
        return Err(ApiError::invalid("file", problem));
    }
    let attachment = keep(&state, &body, q.name.as_deref()).await?;
    let new = NewOutgoing {
        conversation_id: c.id,
        author_kind: if who.user().is_some() {
            AuthorKind::Agent
        } else {
            AuthorKind::System
        },
        author_id: who.user_id(),
        private: false,
        content: MessageContent {
            text: caption.map(str::to_owned),
            attachments: vec![attachment],
            ..MessageContent::default()
        },
        client_id: q.client_id,
    };
    let mid = state.store.create_outgoing_message(&new).await?;
    let m = state.store.message_by_id(mid).await?;
    Ok((StatusCode::CREATED, Json(crate::dto::MessageDto::from(&m))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_their_bytes() {
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\nrest").map(|s| s.1),
            Some("image/png")
        );
        assert_eq!(sniff(b"%PDF-1.7\n").map(|s| s.0), Some("document"));
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 ").map(|s| s.1),
            Some("image/webp")
        );
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff(b"MZ\x90\0"), None);
    }

    #[test]
    fn names_are_cleaned_and_keep_the_real_extension() {
        assert_eq!(clean_name(Some("../../etc/passwd"), "png"), "passwd.png");
        assert_eq!(
            clean_name(Some("fatura março.PDF"), "pdf"),
            "fatura março.PDF"
        );
        assert_eq!(clean_name(Some("foto.exe"), "jpg"), "foto.exe.jpg");
        assert_eq!(clean_name(Some("\"><img>"), "gif"), "img.gif");
        assert_eq!(clean_name(None, "pdf"), "anexo.pdf");
    }
}
