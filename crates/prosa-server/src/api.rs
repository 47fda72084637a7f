//! The REST API under `/api/v1`. Every handler names the role it needs through its extractor;
//! conversations are filtered by what the caller may see.

use crate::auth::{
    Admin, Authenticated, Principal, Supervisor, hash_password, random_token, sha256_hex,
    verify_password,
};
use crate::dto::*;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use prosa_domain::message::{MessageContent, MessageOption};
use prosa_domain::model::{AuthorKind, ChannelKind, ConversationStatus, OutboxStatus, Role};
use prosa_domain::*;
use prosa_storage::AuditEntry;
use prosa_storage::conversations::{ConversationFilter, NewOutgoing};
use prosa_storage::inboxes::NewInbox;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

fn parse_id(s: &str) -> Result<i64, ApiError> {
    s.parse().map_err(|_| ApiError::NotFound)
}

async fn audit(
    state: &AppState,
    who: &Principal,
    action: &str,
    target: String,
    detail: Value,
) -> Result<(), ApiError> {
    state
        .store
        .record_audit(&AuditEntry {
            actor_user_id: who.user_id(),
            actor: who.actor(),
            action: action.into(),
            target,
            detail,
        })
        .await?;
    Ok(())
}

pub fn public_base(state: &AppState, host: Option<&str>) -> String {
    match (&state.config.public_url, host) {
        (Some(u), _) => u.trim_end_matches('/').to_owned(),
        (None, Some(h)) => format!("http://{h}"),
        (None, None) => format!("http://{}", state.config.listen),
    }
}

fn host(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
}

// ---------------------------------------------------------------- inboxes

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboxInput {
    pub name: String,
    /// `{"kind": "api", "secret": str, "callback_url": str}`; other kinds take their own settings.
    #[schema(value_type = Object)]
    pub channel: Value,
    pub team_id: Option<String>,
    #[serde(default)]
    pub bot_enabled: bool,
}

fn validate_inbox(
    input: &InboxInput,
    existing: Option<&Value>,
) -> Result<(ChannelKind, Value), ApiError> {
    if input.name.trim().is_empty() {
        return Err(ApiError::invalid("name", "is required"));
    }
    if input.name.chars().count() > 100 {
        return Err(ApiError::invalid("name", "must be at most 100 characters"));
    }
    let Value::Object(map) = &input.channel else {
        return Err(ApiError::invalid("channel", "must be an object"));
    };
    let kind: ChannelKind = map
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid("channel.kind", "is required"))?
        .parse()
        .map_err(|_| {
            ApiError::invalid(
                "channel.kind",
                format!(
                    "must be one of {}",
                    ChannelKind::ALL
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    let mut settings = map.clone();
    settings.remove("kind");
    // Secrets left out of an update keep their stored value.
    if let Some(Value::Object(old)) = existing {
        for name in SECRET_SETTINGS {
            if !settings.contains_key(*name)
                && let Some(v) = old.get(*name)
            {
                settings.insert((*name).to_owned(), v.clone());
            }
        }
    }
    crate::channels::validate_settings(kind, &mut settings)?;
    if kind == ChannelKind::Api {
        match settings.get("secret") {
            Some(Value::String(s)) if !s.is_empty() => {}
            _ => return Err(ApiError::invalid("channel.secret", "is required")),
        }
        match settings.get("callback_url") {
            Some(Value::String(u)) => {
                let parsed = url::Url::parse(u).map_err(|_| {
                    ApiError::invalid("channel.callback_url", "must be an http(s) URL")
                })?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                    return Err(ApiError::invalid(
                        "channel.callback_url",
                        "must be an http(s) URL",
                    ));
                }
            }
            None | Some(Value::Null) => {}
            _ => {
                return Err(ApiError::invalid(
                    "channel.callback_url",
                    "must be a string",
                ));
            }
        }
    }
    Ok((kind, Value::Object(settings)))
}

#[utoipa::path(post, path = "/api/v1/inboxes", request_body = InboxInput, responses((status = 201, body = InboxDto), (status = 422)), tag = "inboxes")]
pub async fn inbox_create(
    State(state): State<AppState>,
    Admin(who): Admin,
    headers: axum::http::HeaderMap,
    Json(input): Json<InboxInput>,
) -> Result<Response, ApiError> {
    let (kind, settings) = validate_inbox(&input, None)?;
    crate::channels::meta::check_route_free(&state, kind, &settings, None).await?;
    if state.channels.get(kind).is_none() {
        return Err(ApiError::invalid(
            "channel.kind",
            format!("{kind} is not available in this build"),
        ));
    }
    let team_id = input
        .team_id
        .as_deref()
        .map(parse_id)
        .transpose()?
        .map(TeamId);
    let new = NewInbox {
        name: input.name.trim().to_owned(),
        kind,
        settings,
        team_id,
        bot_enabled: input.bot_enabled,
    };
    let id = state.store.create_inbox(&new).await?;
    audit(
        &state,
        &who,
        "inbox.create",
        format!("inbox:{id}"),
        json!({"name": new.name, "kind": kind.as_str()}),
    )
    .await?;
    let inbox = state.store.inbox_by_id(id).await?;
    // The inbox is kept even when the provider refuses: the error is its last error.
    let _ = crate::channels::telegram::setup_inbox(&state, &inbox).await;
    Ok((
        StatusCode::CREATED,
        Json(inbox_dto(&inbox, &public_base(&state, host(&headers)))),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/inboxes", responses((status = 200, body = Vec<InboxDto>)), tag = "inboxes")]
pub async fn inbox_list(
    State(state): State<AppState>,
    Supervisor(_who): Supervisor,
    headers: axum::http::HeaderMap,
) -> Result<Json<Vec<InboxDto>>, ApiError> {
    let base = public_base(&state, host(&headers));
    Ok(Json(
        state
            .store
            .list_inboxes()
            .await?
            .iter()
            .map(|i| inbox_dto(i, &base))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/inboxes/{id}", responses((status = 200, body = InboxDto), (status = 404)), tag = "inboxes")]
pub async fn inbox_get(
    State(state): State<AppState>,
    Supervisor(_who): Supervisor,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let inbox = state.store.inbox_by_id(InboxId(parse_id(&id)?)).await?;
    let health = state.store.inbox_health(inbox.id).await?;
    let mut v = json!(inbox_dto(&inbox, &public_base(&state, host(&headers))));
    v["health"] = json!(health);
    Ok(Json(v))
}

#[utoipa::path(put, path = "/api/v1/inboxes/{id}", request_body = InboxInput, responses((status = 200, body = InboxDto)), tag = "inboxes")]
pub async fn inbox_update(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Json(input): Json<InboxInput>,
) -> Result<Json<InboxDto>, ApiError> {
    let current = state.store.inbox_by_id(InboxId(parse_id(&id)?)).await?;
    let (kind, settings) = validate_inbox(&input, Some(&current.settings))?;
    if kind != current.kind {
        return Err(ApiError::invalid(
            "channel.kind",
            "cannot change; create another inbox",
        ));
    }
    crate::channels::meta::check_route_free(&state, kind, &settings, Some(current.id)).await?;
    let team_id = input
        .team_id
        .as_deref()
        .map(parse_id)
        .transpose()?
        .map(TeamId);
    let new = NewInbox {
        name: input.name.trim().to_owned(),
        kind,
        settings,
        team_id,
        bot_enabled: input.bot_enabled,
    };
    state
        .store
        .update_inbox(current.id, &new, current.active)
        .await?;
    audit(
        &state,
        &who,
        "inbox.update",
        format!("inbox:{}", current.id),
        json!({"name": new.name}),
    )
    .await?;
    let inbox = state.store.inbox_by_id(current.id).await?;
    if let Err(e) = crate::channels::telegram::setup_inbox(&state, &inbox).await {
        return Err(ApiError::invalid("channel.bot_token", e));
    }
    Ok(Json(inbox_dto(
        &inbox,
        &public_base(&state, host(&headers)),
    )))
}

// ---------------------------------------------------------------- conversations

#[derive(Debug, Deserialize, IntoParams)]
pub struct ConversationQuery {
    /// `bot`, `waiting`, `open` or `resolved`.
    pub status: Option<String>,
    pub inbox_id: Option<String>,
    pub assignee_id: Option<String>,
    pub team_id: Option<String>,
    pub contact_id: Option<String>,
    /// Only conversations with a smaller id (paging).
    pub before: Option<String>,
    pub limit: Option<i64>,
}

fn opt_id(field: &str, v: &Option<String>) -> Result<Option<i64>, ApiError> {
    v.as_deref()
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| ApiError::invalid(field, "must be an id"))
        })
        .transpose()
}

#[utoipa::path(get, path = "/api/v1/conversations", params(ConversationQuery), responses((status = 200, body = Vec<ConversationDto>)), tag = "conversations")]
pub async fn conversation_list(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Query(q): Query<ConversationQuery>,
) -> Result<Json<Vec<ConversationDto>>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<ConversationStatus>()
                .map_err(|_| ApiError::invalid("status", "must be bot, waiting, open or resolved"))
        })
        .transpose()?;
    let filter = ConversationFilter {
        status,
        inbox_id: opt_id("inbox_id", &q.inbox_id)?.map(InboxId),
        assignee_id: opt_id("assignee_id", &q.assignee_id)?.map(UserId),
        team_id: opt_id("team_id", &q.team_id)?.map(TeamId),
        contact_id: opt_id("contact_id", &q.contact_id)?.map(ContactId),
        before: opt_id("before", &q.before)?.map(ConversationId),
        limit: q.limit.unwrap_or(50),
    };
    let viewer = who.viewer(state.config.team_visibility);
    let list = state.store.list_conversations(&filter).await?;
    Ok(Json(
        list.iter()
            .filter(|c| viewer.may_see(c.status, c.assignee_id, c.team_id))
            .map(ConversationDto::from)
            .collect(),
    ))
}

/// The conversation, if the caller may see it (404 otherwise: its existence is not revealed).
pub async fn visible_conversation(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> Result<prosa_domain::model::Conversation, ApiError> {
    let c = state
        .store
        .conversation_by_id(ConversationId(parse_id(id)?))
        .await?;
    if !who
        .viewer(state.config.team_visibility)
        .may_see(c.status, c.assignee_id, c.team_id)
    {
        return Err(ApiError::NotFound);
    }
    Ok(c)
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}", responses((status = 200, body = ConversationDto), (status = 404)), tag = "conversations")]
pub async fn conversation_get(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let c = visible_conversation(&state, &who, &id).await?;
    let contact = state.store.contact_by_id(c.contact_id).await?;
    let mut v = json!(ConversationDto::from(&c));
    v["contact"] = json!(ContactDto::from(&contact));
    Ok(Json(v))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct MessageQuery {
    /// Messages with a smaller id (older page).
    pub before: Option<String>,
    /// Messages with a greater id (catching up).
    pub after: Option<String>,
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", params(MessageQuery), responses((status = 200, body = Vec<MessageDto>)), tag = "conversations")]
pub async fn message_list(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    Query(q): Query<MessageQuery>,
) -> Result<Json<Vec<MessageDto>>, ApiError> {
    let c = visible_conversation(&state, &who, &id).await?;
    let before = opt_id("before", &q.before)?.map(MessageId);
    let after = opt_id("after", &q.after)?.map(MessageId);
    let list = state
        .store
        .list_messages(c.id, before, after, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(list.iter().map(MessageDto::from).collect()))
}

/// A message from Prosa's side. Who wrote it decides how it is sent: with a signed-in person's
/// session, or an API token created for a user (`POST /api/v1/tokens` with `user_id`), it is
/// that person's message (`author: agent`), which Messenger and Instagram accept up to 7
/// days after the subscriber's last message with the `HUMAN_AGENT` tag. With an integration
/// token (created without a user) it is an automated message (`author: system`), held to
/// the 24-hour window like the bot's and never tagged `HUMAN_AGENT`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageInput {
    pub text: Option<String>,
    /// A private note for operators only.
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub options: Vec<MessageOption>,
    /// The sender's id for this message: a repeat with the same id is not sent twice.
    pub client_id: Option<String>,
}

/// Sends a message to the subscriber (or writes a private note). The author is the caller: a
/// person, or the user an API token was created for, writes as that person (`agent`, eligible
/// for Meta's `HUMAN_AGENT` tag outside 24 h); an integration token without a user writes an
/// automated `system` message, never tagged `HUMAN_AGENT`. Operators (and tokens acting as
/// one) write only in the conversations assigned to them.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", request_body = MessageInput, responses((status = 201, body = MessageDto), (status = 403), (status = 409), (status = 422)), tag = "conversations")]
pub async fn message_create(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    Json(input): Json<MessageInput>,
) -> Result<Response, ApiError> {
    let c = visible_conversation(&state, &who, &id).await?;
    let text = input.text.as_deref().map(str::trim).unwrap_or("");
    if text.is_empty() {
        return Err(ApiError::invalid("text", "is required"));
    }
    if text.chars().count() > 4096 {
        return Err(ApiError::invalid("text", "must be at most 4096 characters"));
    }
    if input.options.len() > 20 {
        return Err(ApiError::invalid("options", "at most 20 options"));
    }
    if c.status == ConversationStatus::Resolved && !input.private {
        return Err(ApiError::Conflict("conversation is resolved".into()));
    }
    // Operators write in their own conversations; supervisors and integrations anywhere.
    if who.role() == Role::Agent && c.assignee_id != who.user_id() && !input.private {
        return Err(ApiError::Forbidden);
    }
    let author_kind = if who.user().is_some() {
        AuthorKind::Agent
    } else {
        AuthorKind::System
    };
    let new = NewOutgoing {
        conversation_id: c.id,
        author_kind,
        author_id: who.user_id(),
        private: input.private,
        content: MessageContent::text(text).with_options(input.options),
        client_id: input.client_id,
    };
    let mid = state.store.create_outgoing_message(&new).await?;
    let m = state.store.message_by_id(mid).await?;
    Ok((StatusCode::CREATED, Json(MessageDto::from(&m))).into_response())
}

// ---------------------------------------------------------------- contacts

#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    pub before: Option<String>,
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/contacts", params(PageQuery), responses((status = 200, body = Vec<ContactDto>)), tag = "contacts")]
pub async fn contact_list(
    State(state): State<AppState>,
    Supervisor(_who): Supervisor,
    Query(q): Query<PageQuery>,
) -> Result<Json<Vec<ContactDto>>, ApiError> {
    let before = opt_id("before", &q.before)?.map(ContactId);
    Ok(Json(
        state
            .store
            .list_contacts(before, q.limit.unwrap_or(50))
            .await?
            .iter()
            .map(ContactDto::from)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", responses((status = 200, body = ContactDto)), tag = "contacts")]
pub async fn contact_get(
    State(state): State<AppState>,
    Supervisor(_who): Supervisor,
    Path(id): Path<String>,
) -> Result<Json<ContactDto>, ApiError> {
    Ok(Json(ContactDto::from(
        &state.store.contact_by_id(ContactId(parse_id(&id)?)).await?,
    )))
}

// ---------------------------------------------------------------- users and teams

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub email: String,
    pub name: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    pub password: String,
    #[serde(default)]
    pub team_ids: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Vec<UserDto>)), tag = "users")]
pub async fn user_list(
    State(state): State<AppState>,
    Supervisor(_who): Supervisor,
) -> Result<Json<Vec<UserDto>>, ApiError> {
    Ok(Json(
        state
            .store
            .list_users()
            .await?
            .iter()
            .map(UserDto::from)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/users/me", responses((status = 200, body = UserDto)), tag = "users")]
pub async fn user_me(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> Result<Json<Value>, ApiError> {
    match &who {
        Principal::Person {
            user, csrf_token, ..
        } => {
            let mut v = json!(UserDto::from(user));
            v["csrf_token"] = json!(csrf_token);
            Ok(Json(v))
        }
        Principal::Integration {
            token_name,
            user: Some(user),
        } => {
            let mut v = json!(UserDto::from(user));
            v["token"] = json!(token_name);
            Ok(Json(v))
        }
        Principal::Integration {
            token_name,
            user: None,
        } => {
            let _ = &state;
            Ok(Json(json!({"integration": token_name, "role": "admin"})))
        }
    }
}

pub fn validate_new_user(input: &UserInput) -> Result<Role, ApiError> {
    let email = input.email.trim();
    if !email.contains('@') || email.len() > 200 || email.starts_with('@') || email.ends_with('@') {
        return Err(ApiError::invalid("email", "must be an e-mail address"));
    }
    if input.name.trim().is_empty() {
        return Err(ApiError::invalid("name", "is required"));
    }
    if input.password.chars().count() < 8 {
        return Err(ApiError::invalid(
            "password",
            "must have at least 8 characters",
        ));
    }
    input
        .role
        .parse::<Role>()
        .map_err(|_| ApiError::invalid("role", "must be agent, supervisor or admin"))
}

#[utoipa::path(post, path = "/api/v1/users", request_body = UserInput, responses((status = 201, body = UserDto), (status = 409)), tag = "users")]
pub async fn user_create(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<UserInput>,
) -> Result<Response, ApiError> {
    let role = validate_new_user(&input)?;
    let team_ids: Vec<TeamId> = input
        .team_ids
        .iter()
        .map(|t| parse_id(t).map(TeamId))
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::invalid("team_ids", "must be ids"))?;
    let hash = hash_password(&input.password)?;
    let id = state
        .store
        .create_user(&prosa_storage::users::NewUser {
            email: input.email.clone(),
            name: input.name.trim().into(),
            password_hash: hash,
            role,
        })
        .await
        .map_err(|e| match e {
            prosa_storage::StorageError::Conflict { .. } => {
                ApiError::Conflict("e-mail already in use".into())
            }
            other => other.into(),
        })?;
    for t in team_ids {
        state.store.add_team_member(t, id).await?;
    }
    audit(
        &state,
        &who,
        "user.create",
        format!("user:{id}"),
        json!({"email": input.email.trim().to_lowercase(), "role": role.as_str()}),
    )
    .await?;
    let user = state.store.user_by_id(id).await?;
    Ok((StatusCode::CREATED, Json(UserDto::from(&user))).into_response())
}

#[utoipa::path(get, path = "/api/v1/teams", responses((status = 200, body = Vec<TeamDto>)), tag = "teams")]
pub async fn team_list(
    State(state): State<AppState>,
    Authenticated(_who): Authenticated,
) -> Result<Json<Vec<TeamDto>>, ApiError> {
    Ok(Json(
        state
            .store
            .list_teams()
            .await?
            .into_iter()
            .map(|t| TeamDto {
                id: t.id.0.to_string(),
                name: t.name,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/teams", request_body = TeamInput, responses((status = 201, body = TeamDto)), tag = "teams")]
pub async fn team_create(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<TeamInput>,
) -> Result<Response, ApiError> {
    if input.name.trim().is_empty() {
        return Err(ApiError::invalid("name", "is required"));
    }
    let id = state
        .store
        .create_team(&input.name)
        .await
        .map_err(|e| match e {
            prosa_storage::StorageError::Conflict { .. } => {
                ApiError::Conflict("a team with this name exists".into())
            }
            other => other.into(),
        })?;
    audit(
        &state,
        &who,
        "team.create",
        format!("team:{id}"),
        json!({"name": input.name.trim()}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(TeamDto {
            id: id.0.to_string(),
            name: input.name.trim().into(),
        }),
    )
        .into_response())
}

// ---------------------------------------------------------------- outbox, tokens, audit

#[derive(Debug, Deserialize, IntoParams)]
pub struct OutboxQuery {
    /// `pending`, `in_flight`, `sent` or `dead`.
    pub status: Option<String>,
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/outbox", params(OutboxQuery), responses((status = 200, body = Object)), tag = "operations")]
pub async fn outbox_list(
    State(state): State<AppState>,
    Supervisor(_who): Supervisor,
    Query(q): Query<OutboxQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<OutboxStatus>().map_err(|_| {
                ApiError::invalid("status", "must be pending, in_flight, sent or dead")
            })
        })
        .transpose()?;
    let items = state
        .store
        .list_outbox(status, q.limit.unwrap_or(100))
        .await?;
    let stats = state.store.outbox_stats().await?;
    Ok(Json(json!({"stats": stats, "items": items})))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    pub name: String,
    /// The user the token acts as: that person's role and teams, and their authorship of the
    /// messages it sends (a person's messages: Meta's `HUMAN_AGENT` tag applies outside 24 h).
    /// The token stops working when the user is deactivated. Leave it out for an integration
    /// token: administrator scope, and the messages it sends are automated (`system`), never
    /// tagged `HUMAN_AGENT`.
    pub user_id: Option<String>,
}

/// Creates an API token, shown only in this answer (only its hash is stored).
#[utoipa::path(post, path = "/api/v1/tokens", request_body = TokenInput, responses((status = 201, body = Object), (status = 422)), tag = "operations")]
pub async fn token_create(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<TokenInput>,
) -> Result<Response, ApiError> {
    if input.name.trim().is_empty() {
        return Err(ApiError::invalid("name", "is required"));
    }
    let user = match input.user_id.as_deref() {
        None => None,
        Some(raw) => {
            let unknown = || ApiError::invalid("user_id", "is not an active user");
            let id: i64 = raw.trim().parse().map_err(|_| unknown())?;
            match state.store.user_by_id(UserId(id)).await {
                Ok(u) if u.active => Some(u),
                Ok(_) | Err(prosa_storage::StorageError::NotFound) => return Err(unknown()),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let (token, id) = create_token_as(
        &state.store,
        input.name.trim(),
        who.user_id(),
        user.as_ref().map(|u| u.id),
    )
    .await?;
    audit(
        &state,
        &who,
        "token.create",
        format!("token:{id}"),
        json!({"name": input.name.trim(), "user_id": user.as_ref().map(|u| u.id.0.to_string())}),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"id": id.0.to_string(), "name": input.name.trim(), "token": token,
            "user_id": user.as_ref().map(|u| u.id.0.to_string())}),
        ),
    )
        .into_response())
}

/// Makes an API token acting as `user` (see [`TokenInput::user_id`]); only its hash is stored.
pub async fn create_token_as(
    store: &prosa_storage::Store,
    name: &str,
    by: Option<UserId>,
    user: Option<UserId>,
) -> Result<(String, ApiTokenId), prosa_storage::StorageError> {
    let token = format!("prosa_{}", random_token());
    let hint = token.chars().take(10).collect::<String>();
    let id = store
        .create_api_token_as(name, &sha256_hex(&token), &hint, by, user)
        .await?;
    Ok((token, id))
}

/// Makes an API token; only its hash is stored. Returns the token (shown once) and its id.
pub async fn create_token(
    store: &prosa_storage::Store,
    name: &str,
    by: Option<UserId>,
) -> Result<(String, ApiTokenId), prosa_storage::StorageError> {
    let token = format!("prosa_{}", random_token());
    let hint = token.chars().take(10).collect::<String>();
    let id = store
        .create_api_token(name, &sha256_hex(&token), &hint, by)
        .await?;
    Ok((token, id))
}

#[utoipa::path(get, path = "/api/v1/audit", responses((status = 200, body = Object)), tag = "operations")]
pub async fn audit_list(
    State(state): State<AppState>,
    Admin(_who): Admin,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.store.list_audit(200).await?)))
}

// ---------------------------------------------------------------- sessions

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

/// What a login attempt came to.
#[derive(Debug)]
pub enum LoginOutcome {
    Accepted(prosa_domain::model::User),
    /// Unknown e-mail or wrong password: the same answer for both.
    Refused,
    /// Too many recent failures for this e-mail or address: not checked at all.
    Throttled {
        retry_after_secs: u64,
    },
}

/// Checks a login; the same answer for an unknown e-mail and a wrong password. Failures are
/// counted per e-mail and per address ([`crate::throttle`]).
pub async fn check_login(
    state: &AppState,
    email: &str,
    password: &str,
    ip: Option<std::net::IpAddr>,
) -> Result<LoginOutcome, ApiError> {
    if let crate::throttle::Gate::Closed { retry_after_secs } =
        crate::throttle::gate(state, email, ip).await?
    {
        tracing::warn!(?ip, "login refused: too many failures");
        return Ok(LoginOutcome::Throttled { retry_after_secs });
    }
    let found = state.store.user_credentials(email).await?;
    let (user, hash) = match found {
        Some((u, h)) if u.active => (Some(u), h),
        _ => (None, crate::auth::dummy_hash().to_owned()),
    };
    let pw = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    match user {
        Some(user) if ok => {
            crate::throttle::succeeded(state, email).await?;
            Ok(LoginOutcome::Accepted(user))
        }
        _ => {
            crate::throttle::failed(state, email, ip).await?;
            Ok(LoginOutcome::Refused)
        }
    }
}

/// Starts a session: returns the cookie header value.
pub async fn start_session(state: &AppState, user: UserId) -> Result<String, ApiError> {
    let token = random_token();
    let csrf = random_token();
    let expires = jiff::Timestamp::now()
        + jiff::SignedDuration::from_hours(i64::from(state.config.session_hours));
    state
        .store
        .create_session(&sha256_hex(&token), user, &csrf, expires)
        .await?;
    let secure = if state.config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    Ok(format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        crate::auth::SESSION_COOKIE,
        state.config.session_hours * 3600
    ))
}

#[utoipa::path(post, path = "/api/v1/session", request_body = LoginInput, responses((status = 200), (status = 401), (status = 429, description = "Too many failed logins for this e-mail or address; see Retry-After")), tag = "session")]
pub async fn session_create(
    State(state): State<AppState>,
    crate::throttle::ClientIp(ip): crate::throttle::ClientIp,
    Json(input): Json<LoginInput>,
) -> Result<Response, ApiError> {
    let user = match check_login(&state, &input.email, &input.password, ip).await? {
        LoginOutcome::Accepted(user) => user,
        LoginOutcome::Refused => return Err(ApiError::Unauthorized),
        LoginOutcome::Throttled { retry_after_secs } => {
            let body = json!({"error": "too_many_requests", "message": crate::throttle::message(retry_after_secs)});
            return Ok((
                StatusCode::TOO_MANY_REQUESTS,
                [(
                    axum::http::header::RETRY_AFTER,
                    retry_after_secs.to_string(),
                )],
                Json(body),
            )
                .into_response());
        }
    };
    let cookie = start_session(&state, user.id).await?;
    let mut resp = Json(json!(UserDto::from(&user))).into_response();
    resp.headers_mut().insert(
        axum::http::header::SET_COOKIE,
        cookie
            .parse()
            .map_err(|e: axum::http::header::InvalidHeaderValue| ApiError::Internal(e.into()))?,
    );
    Ok(resp)
}

#[utoipa::path(delete, path = "/api/v1/session", responses((status = 204)), tag = "session")]
pub async fn session_delete(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> Result<Response, ApiError> {
    if let Principal::Person { session_hash, .. } = &who {
        state.store.delete_session(session_hash).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        axum::http::header::SET_COOKIE,
        axum::http::HeaderValue::from_static(
            "prosa_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
        ),
    );
    Ok(resp)
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Prosa API",
        description = "Customer service for Brazilian ISPs: inboxes, conversations, messages, contacts, users and teams."
    ),
    paths(
        inbox_create,
        inbox_list,
        inbox_get,
        inbox_update,
        conversation_list,
        conversation_get,
        message_list,
        message_create,
        contact_list,
        contact_get,
        user_list,
        user_me,
        user_create,
        team_list,
        team_create,
        outbox_list,
        token_create,
        crate::tokens::token_list,
        crate::tokens::token_revoke,
        audit_list,
        session_create,
        session_delete,
        crate::panel::take_next,
        crate::panel::take,
        crate::panel::transfer,
        crate::panel::return_to_queue,
        crate::panel::close,
        crate::panel::assign,
        crate::panel::presence,
        crate::panel::category_list,
        crate::panel::category_create,
        crate::panel::panel_conversations,
        crate::panel::operators,
        crate::panel::erp,
        crate::panel::erp_invoice,
        crate::panel::history::earlier,
        crate::panel::history::earlier_messages,
        // ---- admin
        crate::admin::category_update,
        crate::admin::category_delete,
        crate::admin::rating_rule_list,
        crate::admin::rating_rule_create,
        crate::admin::rating_rule_update,
        crate::admin::rating_rule_delete,
        crate::admin::service_hours_get,
        crate::admin::service_hours_create,
        crate::admin::service_hours_update,
        crate::admin::service_hours_delete,
        crate::admin::closed_date_create,
        crate::admin::closed_date_delete,
        crate::admin::schedule_settings_put,
        crate::admin::service_hours_status,
        crate::admin::queue::queue_status_all,
        crate::admin::people::user_update,
        crate::admin::people::team_update,
        crate::admin::people::category_order,
        crate::admin::canned_list,
        crate::admin::canned_create,
        crate::admin::canned_update,
        crate::admin::canned_delete,
        crate::admin::rating_list,
        crate::admin::notification_list,
        crate::admin::notification_count,
        crate::admin::notification_treat,
        // ---- channels
        crate::channels::check::test_api,
        crate::channels::pairing::connect_api,
        crate::channels::pairing::state_api,
        crate::channels::typing::operator_typing,
        crate::channels::webchat::files::operator_upload,
        crate::admin::assignment::assignment_get,
        crate::admin::assignment::assignment_put,
        crate::admin::assignment::team_assignment_put,
        crate::admin::assignment::operator_limit_put
    ),
    components(schemas(
        InboxDto,
        ChannelDto,
        ConversationDto,
        MessageDto,
        ContactDto,
        UserDto,
        TeamDto,
        InboxInput,
        MessageInput,
        UserInput,
        TeamInput,
        TokenInput,
        crate::tokens::ApiTokenDto,
        LoginInput,
        crate::panel::TransferInput,
        crate::panel::NoteInput,
        crate::panel::CloseInput,
        crate::panel::AssignInput,
        crate::panel::PresenceInput,
        crate::panel::CategoryDto,
        crate::panel::CategoryInput,
        crate::panel::PanelConversationDto,
        crate::panel::OperatorDto,
        crate::panel::InvoiceActionInput,
        crate::panel::history::EarlierConversationDto,
        // ---- admin
        crate::admin::AdminCategoryDto,
        crate::admin::assignment::AssignmentDto,
        crate::admin::assignment::GlobalAssignmentDto,
        crate::admin::assignment::TeamAssignmentInput,
        crate::admin::assignment::TeamAssignmentDto,
        crate::admin::assignment::OperatorLimitDto,
        crate::admin::assignment::OperatorLimitInput,
        crate::admin::AdminCategoryInput,
        crate::admin::RatingRuleDto,
        crate::admin::RatingRuleInput,
        crate::admin::ServiceHoursRuleDto,
        crate::admin::ServiceHoursInput,
        crate::admin::ClosedDateInput,
        crate::admin::ScheduleSettings,
        crate::admin::CannedInput,
        crate::admin::NotificationDto,
        crate::admin::TreatInput,
        crate::admin::queue::QueueStatus,
        crate::admin::queue::InboxQueueStatus,
        crate::admin::people::UserUpdateInput,
        crate::admin::people::TeamRenameInput,
        crate::admin::people::CategoryOrderInput,
        // ---- channels
        crate::channels::check::CheckOutcome,
        crate::channels::pairing::Pairing
    ))
)]
pub struct ApiDoc;
