//! The operator panel ("atendimento humanizado"): queue actions (take, transfer, return,
//! close), presence, supervision lists, the subscriber's ERP data beside the chat, and the
//! `/panel` and `/supervision` pages. Every action is role-checked, audited and seen live
//! through the `conversation_updated` events the store appends.

pub mod assign;
pub mod history;
pub mod pages;

use crate::api::visible_conversation;
use crate::auth::{Admin, Authenticated, Principal, Supervisor};
use crate::dto::{ContactDto, ConversationDto, MessageDto};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use prosa_domain::message::{MessageContent, MessageOption};
use prosa_domain::model::{AuthorKind, Conversation, ConversationStatus, Presence, Role};
use prosa_domain::*;
use prosa_erp::Action;
use prosa_erp::Erp as _;
use prosa_storage::AuditEntry;
use prosa_storage::conversations::{NewOutgoing, OwnerChange};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;
use utoipa::ToSchema;

/// The rating question sent when an operator closes a conversation.
pub const RATING_QUESTION: &str = "De 0 a 10, qual nota você dá para este atendimento?";

fn parse_id(field: &str, s: &str) -> Result<i64, ApiError> {
    s.trim()
        .parse()
        .map_err(|_| ApiError::invalid(field, "must be an id"))
}

async fn audit(
    state: &AppState,
    who: &Principal,
    action: &str,
    conversation: ConversationId,
    detail: Value,
) -> Result<(), ApiError> {
    state
        .store
        .record_audit(&AuditEntry {
            actor_user_id: who.user_id(),
            actor: who.actor(),
            action: action.into(),
            target: format!("conversation:{}", conversation.0),
            detail,
        })
        .await?;
    Ok(())
}

/// A person's id; integrations hold no queue.
fn person(who: &Principal) -> Result<UserId, ApiError> {
    who.user_id().ok_or(ApiError::Forbidden)
}

/// Operators act on their own conversations; supervisors and integrations on any they see.
fn may_act(who: &Principal, c: &Conversation) -> Result<(), ApiError> {
    if who.role() >= Role::Supervisor || c.assignee_id == who.user_id() {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

fn not_resolved(c: &Conversation) -> Result<(), ApiError> {
    if c.status == ConversationStatus::Resolved {
        Err(ApiError::Conflict("conversation is resolved".into()))
    } else {
        Ok(())
    }
}

async fn private_note(
    state: &AppState,
    who: &Principal,
    c: ConversationId,
    text: &str,
) -> Result<(), ApiError> {
    state
        .store
        .create_outgoing_message(&NewOutgoing {
            conversation_id: c,
            author_kind: if who.user().is_some() {
                AuthorKind::Agent
            } else {
                AuthorKind::System
            },
            author_id: who.user_id(),
            private: true,
            content: MessageContent::text(text),
            client_id: None,
        })
        .await?;
    Ok(())
}

fn clean_note(note: &Option<String>) -> Result<Option<String>, ApiError> {
    let n = note.as_deref().map(str::trim).unwrap_or("");
    if n.chars().count() > 2000 {
        return Err(ApiError::invalid("note", "must be at most 2000 characters"));
    }
    Ok((!n.is_empty()).then(|| n.to_owned()))
}

// ---------------------------------------------------------------- queue actions

#[utoipa::path(post, path = "/api/v1/conversations/next", responses((status = 200, body = ConversationDto), (status = 204, description = "queue empty")), tag = "panel")]
pub async fn take_next(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> Result<Response, ApiError> {
    let me = person(&who)?;
    let all = who.role().sees_everything();
    match state.store.take_next_waiting(me, all).await? {
        None => Ok(StatusCode::NO_CONTENT.into_response()),
        Some(c) => {
            audit(
                &state,
                &who,
                "conversation.take",
                c.id,
                json!({"next": true}),
            )
            .await?;
            Ok(Json(ConversationDto::from(&c)).into_response())
        }
    }
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/take", responses((status = 200, body = ConversationDto), (status = 409, description = "someone else took it")), tag = "panel")]
pub async fn take(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<ConversationDto>, ApiError> {
    let me = person(&who)?;
    let c = visible_conversation(&state, &who, &id).await?;
    let takeover = who.role() >= Role::Supervisor;
    let taken = state
        .store
        .claim(c.id, me, takeover)
        .await
        .map_err(|e| match e {
            prosa_storage::StorageError::Conflict { .. } => {
                ApiError::Conflict("conversation is no longer waiting".into())
            }
            other => other.into(),
        })?;
    audit(
        &state,
        &who,
        "conversation.take",
        c.id,
        json!({"from_status": c.status.as_str(), "from_assignee": c.assignee_id.map(|u| u.0)}),
    )
    .await?;
    Ok(Json(ConversationDto::from(&taken)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    /// Give the conversation to this operator…
    pub user_id: Option<String>,
    /// …or put it in this team's ("setor") queue.
    pub team_id: Option<String>,
    /// Stored as a private note.
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/transfer", request_body = TransferInput, responses((status = 200, body = ConversationDto), (status = 422)), tag = "panel")]
pub async fn transfer(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    Json(input): Json<TransferInput>,
) -> Result<Json<ConversationDto>, ApiError> {
    let c = visible_conversation(&state, &who, &id).await?;
    may_act(&who, &c)?;
    not_resolved(&c)?;
    let note = clean_note(&input.note)?;
    let change = match (&input.user_id, &input.team_id) {
        (Some(u), None) => {
            let uid = UserId(parse_id("user_id", u)?);
            let target = state
                .store
                .user_by_id(uid)
                .await
                .map_err(|_| ApiError::invalid("user_id", "unknown operator"))?;
            if !target.active {
                return Err(ApiError::invalid("user_id", "operator is inactive"));
            }
            OwnerChange {
                status: ConversationStatus::Open,
                assignee_id: Some(uid),
                set_team: false,
                team_id: None,
                category_id: None,
            }
        }
        (None, Some(t)) => {
            let tid = TeamId(parse_id("team_id", t)?);
            if !state.store.list_teams().await?.iter().any(|x| x.id == tid) {
                return Err(ApiError::invalid("team_id", "unknown team"));
            }
            OwnerChange {
                status: ConversationStatus::Waiting,
                assignee_id: None,
                set_team: true,
                team_id: Some(tid),
                category_id: None,
            }
        }
        _ => {
            return Err(ApiError::invalid(
                "user_id",
                "give exactly one of user_id or team_id",
            ));
        }
    };
    if let Some(n) = &note {
        private_note(&state, &who, c.id, &format!("Transferência: {n}")).await?;
    }
    let updated = state.store.set_conversation_owner(c.id, &change).await?;
    audit(
        &state,
        &who,
        "conversation.transfer",
        c.id,
        json!({"user_id": change.assignee_id.map(|u| u.0), "team_id": change.team_id.map(|t| t.0), "note": note.is_some()}),
    )
    .await?;
    Ok(Json(ConversationDto::from(&updated)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/return", request_body = NoteInput, responses((status = 200, body = ConversationDto)), tag = "panel")]
pub async fn return_to_queue(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    body: Option<Json<NoteInput>>,
) -> Result<Json<ConversationDto>, ApiError> {
    let c = visible_conversation(&state, &who, &id).await?;
    may_act(&who, &c)?;
    not_resolved(&c)?;
    let note = clean_note(&body.and_then(|Json(b)| b.note))?;
    if let Some(n) = &note {
        private_note(&state, &who, c.id, &format!("Devolvida à fila: {n}")).await?;
    }
    let updated = state
        .store
        .set_conversation_owner(
            c.id,
            &OwnerChange {
                status: ConversationStatus::Waiting,
                assignee_id: None,
                set_team: false,
                team_id: None,
                category_id: None,
            },
        )
        .await?;
    audit(&state, &who, "conversation.return", c.id, json!({})).await?;
    Ok(Json(ConversationDto::from(&updated)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseInput {
    /// Required: the closing category.
    pub category_id: Option<String>,
    pub note: Option<String>,
}

/// The rating question with 0–10 as options (`score:N`).
pub fn rating_request() -> MessageContent {
    MessageContent::text(RATING_QUESTION).with_options(
        (0..=10)
            .map(|n| MessageOption {
                id: format!("score:{n}"),
                label: n.to_string(),
            })
            .collect(),
    )
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/close", request_body = CloseInput, responses((status = 200, body = ConversationDto), (status = 422)), tag = "panel")]
pub async fn close(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    Json(input): Json<CloseInput>,
) -> Result<Json<ConversationDto>, ApiError> {
    let c = visible_conversation(&state, &who, &id).await?;
    may_act(&who, &c)?;
    not_resolved(&c)?;
    let Some(cat) = input
        .category_id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    else {
        return Err(ApiError::invalid("category_id", "is required"));
    };
    let cat = CategoryId(parse_id("category_id", cat)?);
    let categories = state.store.list_categories(false).await?;
    let Some(category) = categories.iter().find(|x| x.id == cat) else {
        return Err(ApiError::invalid(
            "category_id",
            "unknown or inactive category",
        ));
    };
    let note = clean_note(&input.note)?;
    if let Some(n) = &note {
        private_note(&state, &who, c.id, n).await?;
    }
    let updated = state
        .store
        .set_conversation_owner(
            c.id,
            &OwnerChange {
                status: ConversationStatus::Resolved,
                assignee_id: None,
                set_team: false,
                team_id: None,
                category_id: Some(cat),
            },
        )
        .await?;
    // The rating request goes out through the outbox like any message; its client id makes
    // a repeated close harmless.
    state
        .store
        .create_outgoing_message(&NewOutgoing {
            conversation_id: c.id,
            author_kind: AuthorKind::System,
            author_id: None,
            private: false,
            content: rating_request(),
            client_id: Some(format!("rating-request:{}", c.id.0)),
        })
        .await?;
    state
        .store
        .record_rating_request(
            c.id,
            jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24),
        )
        .await?;
    audit(
        &state,
        &who,
        "conversation.close",
        c.id,
        json!({"category_id": cat.0, "category": category.name}),
    )
    .await?;
    Ok(Json(ConversationDto::from(&updated)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    pub user_id: String,
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/assign", request_body = AssignInput, responses((status = 200, body = ConversationDto), (status = 403)), tag = "panel")]
pub async fn assign(
    State(state): State<AppState>,
    Supervisor(who): Supervisor,
    Path(id): Path<String>,
    Json(input): Json<AssignInput>,
) -> Result<Json<ConversationDto>, ApiError> {
    let c = visible_conversation(&state, &who, &id).await?;
    not_resolved(&c)?;
    let uid = UserId(parse_id("user_id", &input.user_id)?);
    let target = state
        .store
        .user_by_id(uid)
        .await
        .map_err(|_| ApiError::invalid("user_id", "unknown operator"))?;
    if !target.active {
        return Err(ApiError::invalid("user_id", "operator is inactive"));
    }
    let updated = state
        .store
        .set_conversation_owner(
            c.id,
            &OwnerChange {
                status: ConversationStatus::Open,
                assignee_id: Some(uid),
                set_team: false,
                team_id: None,
                category_id: None,
            },
        )
        .await?;
    audit(
        &state,
        &who,
        "conversation.assign",
        c.id,
        json!({"user_id": uid.0, "from_assignee": c.assignee_id.map(|u| u.0)}),
    )
    .await?;
    Ok(Json(ConversationDto::from(&updated)))
}

// ---------------------------------------------------------------- presence

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceInput {
    /// `online`, `paused` or `offline`.
    pub presence: String,
    /// Required when paused (e.g. "Almoço").
    pub reason: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/users/me/presence", request_body = PresenceInput, responses((status = 204), (status = 422)), tag = "panel")]
pub async fn presence(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Json(input): Json<PresenceInput>,
) -> Result<StatusCode, ApiError> {
    let me = person(&who)?;
    let p: Presence = input
        .presence
        .parse()
        .map_err(|_| ApiError::invalid("presence", "must be online, paused or offline"))?;
    let reason = input
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if p == Presence::Paused && reason.is_none() {
        return Err(ApiError::invalid("reason", "is required when paused"));
    }
    if reason.is_some_and(|r| r.chars().count() > 100) {
        return Err(ApiError::invalid(
            "reason",
            "must be at most 100 characters",
        ));
    }
    let reason = if p == Presence::Paused { reason } else { None };
    state.store.set_presence_live(me, p, reason).await?;
    state
        .store
        .record_audit(&AuditEntry {
            actor_user_id: Some(me),
            actor: who.actor(),
            action: "user.presence".into(),
            target: format!("user:{}", me.0),
            detail: json!({"presence": p.as_str(), "reason": reason}),
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- categories

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDto {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub position: i64,
}

impl From<&prosa_storage::panel::Category> for CategoryDto {
    fn from(c: &prosa_storage::panel::Category) -> CategoryDto {
        CategoryDto {
            id: c.id.0.to_string(),
            name: c.name.clone(),
            active: c.active,
            position: c.position,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/categories", responses((status = 200, body = Vec<CategoryDto>)), tag = "panel")]
pub async fn category_list(
    State(state): State<AppState>,
    Authenticated(_who): Authenticated,
) -> Result<Json<Vec<CategoryDto>>, ApiError> {
    Ok(Json(
        state
            .store
            .list_categories(false)
            .await?
            .iter()
            .map(CategoryDto::from)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    pub name: String,
    #[serde(default)]
    pub position: i64,
}

#[utoipa::path(post, path = "/api/v1/categories", request_body = CategoryInput, responses((status = 201, body = CategoryDto), (status = 409)), tag = "panel")]
pub async fn category_create(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<CategoryInput>,
) -> Result<Response, ApiError> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ApiError::invalid(
            "name",
            "is required (at most 80 characters)",
        ));
    }
    let id = state
        .store
        .create_category(name, input.position)
        .await
        .map_err(|e| match e {
            prosa_storage::StorageError::Conflict { .. } => {
                ApiError::Conflict("a category with this name exists".into())
            }
            other => other.into(),
        })?;
    state
        .store
        .record_audit(&AuditEntry {
            actor_user_id: who.user_id(),
            actor: who.actor(),
            action: "category.create".into(),
            target: format!("category:{}", id.0),
            detail: json!({"name": name}),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CategoryDto {
            id: id.0.to_string(),
            name: name.to_owned(),
            active: true,
            position: input.position,
        }),
    )
        .into_response())
}

// ---------------------------------------------------------------- lists for the panel

#[derive(Debug, Serialize, ToSchema)]
pub struct PanelConversationDto {
    #[serde(flatten)]
    pub conversation: ConversationDto,
    pub contact_name: Option<String>,
    pub inbox_name: String,
    pub channel: String,
    pub assignee_name: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/panel/conversations", responses((status = 200, body = Vec<PanelConversationDto>)), tag = "panel")]
pub async fn panel_conversations(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> Result<Json<Vec<PanelConversationDto>>, ApiError> {
    let viewer = who.viewer(state.config.team_visibility);
    let rows = state.store.list_active_conversations(1000).await?;
    Ok(Json(
        rows.iter()
            .filter(|r| {
                let c = &r.conversation;
                viewer.may_see(c.status, c.assignee_id, c.team_id)
            })
            .map(|r| PanelConversationDto {
                conversation: ConversationDto::from(&r.conversation),
                contact_name: r.contact_name.clone().or_else(|| r.contact_phone.clone()),
                inbox_name: r.inbox_name.clone(),
                channel: r.channel_kind.clone(),
                assignee_name: r.assignee_name.clone(),
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorDto {
    pub id: String,
    pub name: String,
    pub role: String,
    pub presence: String,
    pub pause_reason: Option<String>,
    pub team_ids: Vec<String>,
    /// Open conversations held now.
    pub open_conversations: i64,
}

#[utoipa::path(get, path = "/api/v1/panel/operators", responses((status = 200, body = Vec<OperatorDto>)), tag = "panel")]
pub async fn operators(
    State(state): State<AppState>,
    Authenticated(_who): Authenticated,
) -> Result<Json<Vec<OperatorDto>>, ApiError> {
    // Operators see the list too: they pick whom to transfer to.
    let loads = state.store.operator_loads().await?;
    Ok(Json(
        state
            .store
            .list_users()
            .await?
            .iter()
            .filter(|u| u.active)
            .map(|u| OperatorDto {
                id: u.id.0.to_string(),
                name: u.name.clone(),
                role: u.role.as_str().into(),
                presence: u.presence.as_str().into(),
                pause_reason: u.pause_reason.clone(),
                team_ids: u.team_ids.iter().map(|t| t.0.to_string()).collect(),
                open_conversations: loads
                    .iter()
                    .find(|(id, _)| *id == u.id)
                    .map(|(_, n)| *n)
                    .unwrap_or(0),
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------- ERP beside the chat

fn brl(cents: u64) -> String {
    let reais = cents / 100;
    let mut digits = reais.to_string();
    let mut grouped = String::new();
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        grouped = format!(".{tail}{grouped}");
    }
    format!("R$ {digits}{grouped},{:02}", cents % 100)
}

fn br_date(d: jiff::civil::Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), d.month(), d.year())
}

/// The subscriber behind a conversation's contact: by ERP id, else by phone.
async fn erp_subscriber(
    state: &AppState,
    contact: &prosa_domain::model::Contact,
) -> Result<Option<prosa_erp::Subscriber>, prosa_erp::ErpError> {
    let caps = state.erp.capabilities();
    if let Some(id) = &contact.erp_subscriber_id
        && caps.supports(Action::FindById)
    {
        return match state.erp.subscriber(id).await {
            Ok(s) => Ok(Some(s)),
            Err(prosa_erp::ErpError::NotFound) => Ok(None),
            Err(e) => Err(e),
        };
    }
    if let Some(phone) = &contact.phone
        && caps.supports(Action::FindByPhone)
    {
        return Ok(state.erp.find_by_phone(phone).await?.into_iter().next());
    }
    Ok(None)
}

async fn erp_data(
    state: &AppState,
    contact: &prosa_domain::model::Contact,
) -> Result<Value, prosa_erp::ErpError> {
    let caps = state.erp.capabilities();
    let actions: Vec<&str> = [Action::InvoicePix]
        .into_iter()
        .filter(|a| caps.supports(*a))
        .map(|a| a.as_str())
        .collect();
    let Some(sub) = erp_subscriber(state, contact).await? else {
        return Ok(json!({"available": true, "subscriber": null, "actions": actions}));
    };
    let mut out = json!({
        "available": true,
        "subscriber": {
            "id": sub.id, "name": sub.name, "active": sub.active, "email": sub.email,
            "phones": sub.phones, "address": sub.address.full.clone().or_else(|| {
                let a = &sub.address;
                let parts: Vec<&str> = [&a.street, &a.number, &a.neighbourhood, &a.city].into_iter().filter_map(|p| p.as_deref()).collect();
                (!parts.is_empty()).then(|| parts.join(", "))
            }),
        },
        "actions": actions,
    });
    if caps.supports(Action::Contracts) {
        out["contracts"] = json!(
            state
                .erp
                .contracts(&sub.id)
                .await?
                .iter()
                .map(|c| json!({"id": c.id, "plan": c.plan, "status": c.status}))
                .collect::<Vec<_>>()
        );
    }
    let connections = if caps.supports(Action::Connections) {
        let list = state.erp.connections(&sub.id).await?;
        out["connections"] = json!(list.iter().map(|c| json!({
            "id": c.id, "login": c.login, "online": c.online, "blocked": c.blocked,
            "block_reason": c.block_reason, "speed_reduced": c.speed_reduced, "address": c.address,
        })).collect::<Vec<_>>());
        list
    } else {
        vec![]
    };
    if caps.supports(Action::OpenInvoices) {
        out["invoices"] = json!(state.erp.open_invoices(&sub.id).await?.iter().map(|i| json!({
            "id": i.id, "description": i.description, "value": brl(i.value_cents),
            "due_date": br_date(i.due_date), "status": i.status,
            "has_pdf": i.pdf_url.is_some(), "has_linha_digitavel": i.linha_digitavel.is_some(),
        })).collect::<Vec<_>>());
    }
    if caps.supports(Action::TicketStatus) {
        out["tickets"] = json!(
            state
                .erp
                .tickets(&sub.id)
                .await?
                .iter()
                .map(|t| json!({"id": t.id, "protocol": t.protocol, "subject": t.subject, "status": t.status}))
                .collect::<Vec<_>>()
        );
    }
    if caps.supports(Action::Outages) {
        let ids: Vec<&str> = connections.iter().map(|c| c.id.as_str()).collect();
        out["outages"] =
            json!(
            state
                .erp
                .outages()
                .await?
                .iter()
                .filter(|o| o.affected_connections.iter().any(|c| ids.contains(&c.as_str())))
                .map(|o| json!({"id": o.id, "description": o.description, "forecast": o.forecast}))
                .collect::<Vec<_>>()
        );
    }
    Ok(out)
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/erp", responses((status = 200, body = Object, description = "`{\"available\": false}` when the ERP cannot answer")), tag = "panel")]
pub async fn erp(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let c = visible_conversation(&state, &who, &id).await?;
    let contact = state.store.contact_by_id(c.contact_id).await?;
    if contact.erp_subscriber_id.is_none() && contact.phone.is_none() {
        return Ok(Json(
            json!({"available": true, "subscriber": null, "actions": []}),
        ));
    }
    match tokio::time::timeout(Duration::from_secs(10), erp_data(&state, &contact)).await {
        Ok(Ok(v)) => Ok(Json(v)),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, conversation = c.id.0, "ERP data for the panel");
            Ok(Json(json!({"available": false})))
        }
        Err(_) => Ok(Json(json!({"available": false}))),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceActionInput {
    pub invoice_id: String,
    /// `second_copy` (linha digitável and PDF link) or `pix` (copia e cola).
    pub kind: String,
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/erp/invoice", request_body = InvoiceActionInput, responses((status = 201, body = MessageDto), (status = 503)), tag = "panel")]
pub async fn erp_invoice(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    Json(input): Json<InvoiceActionInput>,
) -> Result<Response, ApiError> {
    let c = visible_conversation(&state, &who, &id).await?;
    may_act(&who, &c)?;
    not_resolved(&c)?;
    let contact = state.store.contact_by_id(c.contact_id).await?;
    let sub = erp_subscriber(&state, &contact)
        .await
        .map_err(|_| ApiError::Unavailable)?
        .ok_or_else(|| ApiError::invalid("invoice_id", "no ERP subscriber for this contact"))?;
    // Only this subscriber's open invoices can be sent.
    let invoices = state
        .erp
        .open_invoices(&sub.id)
        .await
        .map_err(|_| ApiError::Unavailable)?;
    let Some(inv) = invoices.iter().find(|i| i.id == input.invoice_id) else {
        return Err(ApiError::invalid(
            "invoice_id",
            "not an open invoice of this subscriber",
        ));
    };
    let text = match input.kind.as_str() {
        "second_copy" => {
            let mut t = format!(
                "Segunda via da fatura de {} com vencimento em {}.",
                brl(inv.value_cents),
                br_date(inv.due_date)
            );
            if let Some(l) = &inv.linha_digitavel {
                t.push_str(&format!("\nLinha digitável: {l}"));
            }
            if let Some(u) = &inv.pdf_url {
                t.push_str(&format!("\nPDF: {u}"));
            }
            t
        }
        "pix" => {
            if !state.erp.capabilities().supports(Action::InvoicePix) {
                return Err(ApiError::invalid("kind", "this ERP does not offer Pix"));
            }
            let pix = state
                .erp
                .invoice_pix(&inv.id)
                .await
                .map_err(|_| ApiError::Unavailable)?;
            format!(
                "Pix copia e cola da fatura de {} (vencimento {}):\n{}",
                brl(inv.value_cents),
                br_date(inv.due_date),
                pix.copia_e_cola
            )
        }
        _ => return Err(ApiError::invalid("kind", "must be second_copy or pix")),
    };
    let mid = state
        .store
        .create_outgoing_message(&NewOutgoing {
            conversation_id: c.id,
            author_kind: if who.user().is_some() {
                AuthorKind::Agent
            } else {
                AuthorKind::System
            },
            author_id: who.user_id(),
            private: false,
            content: MessageContent::text(text),
            client_id: None,
        })
        .await?;
    audit(
        &state,
        &who,
        &format!("erp.{}", input.kind),
        c.id,
        json!({"invoice_id": inv.id}),
    )
    .await?;
    let m = state.store.message_by_id(mid).await?;
    Ok((StatusCode::CREATED, Json(MessageDto::from(&m))).into_response())
}

/// The contact beside the chat.
pub fn contact_json(c: &prosa_domain::model::Contact) -> Value {
    json!(ContactDto::from(c))
}
