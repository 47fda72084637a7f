//! Administration: categories, rating rules, service-hours rules, canned responses, the
//! notifications rating rules create and the rated conversations; the REST API for them, the
//! hooks the bot and the inbound worker call, and the pages under `/admin` and `/ratings`.

pub mod assignment;
pub mod bot_texts;
pub mod erp;
pub mod pages;
pub mod people;
pub mod queue;

use crate::auth::{Admin, Authenticated, Principal, Supervisor};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use prosa_domain::message::MessageContent;
use prosa_domain::model::AuthorKind;
use prosa_domain::*;
use prosa_rules::service_hours::{ClosedDate, Schedule};
use prosa_rules::{FieldError, RatingRule, RatingRuleDraft, ServiceHoursRuleDraft};
use prosa_storage::admin::*;
use prosa_storage::{AuditEntry, StorageError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

/// The setting document with the schedule's calendar options.
pub const SCHEDULE_SETTING: &str = "service_hours";
/// How long a rating request waits for the answer.
pub const RATING_REQUEST_HOURS: i64 = 24;
/// The one polite re-ask when the answer is not a score.
pub const RATING_REASK: &str =
    "Desculpe, não entendi sua nota. Poderia responder com um número de 0 a 10?";

fn parse_id(field: &str, s: &str) -> Result<i64, ApiError> {
    s.trim()
        .parse()
        .map_err(|_| ApiError::invalid(field, "identificador inválido"))
}

fn path_id(s: &str) -> Result<i64, ApiError> {
    s.parse().map_err(|_| ApiError::NotFound)
}

/// The first field error as a 422.
pub fn field_error(errors: Vec<FieldError>) -> ApiError {
    match errors.into_iter().next() {
        Some(e) => ApiError::invalid(e.field, e.message),
        None => ApiError::invalid("", "inválido"),
    }
}

pub(crate) async fn audit(
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

// ---------------------------------------------------------------- categories

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminCategoryDto {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub position: i64,
    /// Conversations carrying it (a category in use cannot be deleted).
    pub conversations: i64,
}

impl From<&Category> for AdminCategoryDto {
    fn from(c: &Category) -> AdminCategoryDto {
        AdminCategoryDto {
            id: c.id.0.to_string(),
            name: c.name.clone(),
            active: c.active,
            position: c.position,
            conversations: c.conversations,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AdminCategoryInput {
    pub name: String,
    pub active: Option<bool>,
    pub position: Option<i64>,
}

pub fn check_category_name(name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n.is_empty() {
        return Err(ApiError::invalid("name", "nome é obrigatório"));
    }
    if n.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "nome muito longo (máximo 100 caracteres)",
        ));
    }
    Ok(n.to_owned())
}

fn duplicate(field: &str, message: &str) -> impl FnOnce(StorageError) -> ApiError {
    let (field, message) = (field.to_owned(), message.to_owned());
    move |e| {
        if matches!(e, StorageError::Conflict { .. }) {
            ApiError::invalid(field, message)
        } else {
            e.into()
        }
    }
}

pub async fn create_category(
    state: &AppState,
    who: &Principal,
    name: &str,
) -> Result<CategoryId, ApiError> {
    let name = check_category_name(name)?;
    let id = state
        .store
        .append_category(&name)
        .await
        .map_err(duplicate("name", "já existe uma categoria com este nome"))?;
    audit(
        state,
        who,
        "category.create",
        format!("category:{id}"),
        json!({"name": name}),
    )
    .await?;
    Ok(id)
}

#[utoipa::path(put, path = "/api/v1/categories/{id}", request_body = AdminCategoryInput, responses((status = 200, body = AdminCategoryDto), (status = 422)), tag = "administration")]
pub async fn category_update(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    Json(input): Json<AdminCategoryInput>,
) -> Result<Json<AdminCategoryDto>, ApiError> {
    let id = CategoryId(path_id(&id)?);
    let current = state.store.category_by_id(id).await?;
    let name = check_category_name(&input.name)?;
    let active = input.active.unwrap_or(current.active);
    let position = input.position.unwrap_or(current.position);
    state
        .store
        .update_category(id, &name, active, position)
        .await
        .map_err(duplicate("name", "já existe uma categoria com este nome"))?;
    audit(
        &state,
        &who,
        "category.update",
        format!("category:{id}"),
        json!({"name": name, "active": active, "position": position, "previous_name": current.name}),
    )
    .await?;
    Ok(Json(AdminCategoryDto::from(
        &state.store.category_by_id(id).await?,
    )))
}

/// Deletes a category; one that conversations carry is refused (409): deactivate it instead.
pub async fn delete_category(
    state: &AppState,
    who: &Principal,
    id: CategoryId,
) -> Result<(), ApiError> {
    let current = state.store.category_by_id(id).await?;
    if !state.store.delete_category(id).await? {
        return Err(ApiError::Conflict(format!(
            "a categoria \"{}\" está em uso em conversas; desative-a em vez de excluir",
            current.name
        )));
    }
    audit(
        state,
        who,
        "category.delete",
        format!("category:{id}"),
        json!({"name": current.name}),
    )
    .await
}

#[utoipa::path(delete, path = "/api/v1/categories/{id}", responses((status = 204), (status = 409)), tag = "administration")]
pub async fn category_delete(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    delete_category(&state, &who, CategoryId(path_id(&id)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- rating rules

#[derive(Debug, Serialize, ToSchema)]
pub struct RatingRuleDto {
    pub id: String,
    pub description: String,
    pub scores: Vec<u8>,
    pub operators: Vec<String>,
    pub active: bool,
}

impl From<&RatingRuleRecord> for RatingRuleDto {
    fn from(r: &RatingRuleRecord) -> RatingRuleDto {
        RatingRuleDto {
            id: r.id.0.to_string(),
            description: r.description.clone(),
            scores: r.scores.clone(),
            operators: r.operators.iter().map(|u| u.0.to_string()).collect(),
            active: r.active,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RatingRuleInput {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub scores: Vec<i64>,
    /// User ids.
    #[serde(default)]
    pub operators: Vec<String>,
    pub active: Option<bool>,
}

/// Validates with `prosa-rules` and checks that the operators exist and are active.
pub async fn check_rating_rule(
    state: &AppState,
    input: &RatingRuleInput,
) -> Result<prosa_storage::admin::RatingRuleInput, ApiError> {
    let mut operators = Vec::new();
    for (n, o) in input.operators.iter().enumerate() {
        operators.push(UserId(parse_id(&format!("operators[{n}]"), o)?));
    }
    let draft = RatingRuleDraft {
        description: input.description.clone(),
        scores: input.scores.clone(),
        operators: operators.clone(),
        active: input.active.unwrap_or(true),
    };
    let rule = draft.into_rule(RatingRuleId(0)).map_err(field_error)?;
    let users = state.store.list_users().await?;
    for (n, u) in rule.operators.iter().enumerate() {
        if !users.iter().any(|x| x.id == *u && x.active) {
            return Err(ApiError::invalid(
                format!("operators[{n}]"),
                "operador desconhecido ou inativo",
            ));
        }
    }
    Ok(prosa_storage::admin::RatingRuleInput {
        description: rule.description,
        scores: rule.scores.into_iter().collect(),
        operators: rule.operators,
        active: rule.active,
    })
}

pub async fn save_rating_rule(
    state: &AppState,
    who: &Principal,
    id: Option<RatingRuleId>,
    input: &RatingRuleInput,
) -> Result<RatingRuleId, ApiError> {
    let rule = check_rating_rule(state, input).await?;
    let action = if id.is_some() {
        "rating_rule.update"
    } else {
        "rating_rule.create"
    };
    let id = match id {
        Some(id) => {
            state.store.update_rating_rule(id, &rule).await?;
            id
        }
        None => state.store.create_rating_rule(&rule).await?,
    };
    let detail = json!({"description": rule.description, "scores": rule.scores, "operators": rule.operators, "active": rule.active});
    audit(state, who, action, format!("rating_rule:{id}"), detail).await?;
    Ok(id)
}

#[utoipa::path(get, path = "/api/v1/rating-rules", responses((status = 200, body = Vec<RatingRuleDto>)), tag = "administration")]
pub async fn rating_rule_list(
    State(state): State<AppState>,
    Admin(_who): Admin,
) -> Result<Json<Vec<RatingRuleDto>>, ApiError> {
    Ok(Json(
        state
            .store
            .list_rating_rules()
            .await?
            .iter()
            .map(RatingRuleDto::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/rating-rules", request_body = RatingRuleInput, responses((status = 201, body = RatingRuleDto), (status = 422)), tag = "administration")]
pub async fn rating_rule_create(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<RatingRuleInput>,
) -> Result<Response, ApiError> {
    let id = save_rating_rule(&state, &who, None, &input).await?;
    let r = state.store.rating_rule_by_id(id).await?;
    Ok((StatusCode::CREATED, Json(RatingRuleDto::from(&r))).into_response())
}

#[utoipa::path(put, path = "/api/v1/rating-rules/{id}", request_body = RatingRuleInput, responses((status = 200, body = RatingRuleDto), (status = 422)), tag = "administration")]
pub async fn rating_rule_update(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    Json(input): Json<RatingRuleInput>,
) -> Result<Json<RatingRuleDto>, ApiError> {
    let id = RatingRuleId(path_id(&id)?);
    state.store.rating_rule_by_id(id).await?;
    save_rating_rule(&state, &who, Some(id), &input).await?;
    Ok(Json(RatingRuleDto::from(
        &state.store.rating_rule_by_id(id).await?,
    )))
}

#[utoipa::path(delete, path = "/api/v1/rating-rules/{id}", responses((status = 204)), tag = "administration")]
pub async fn rating_rule_delete(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = RatingRuleId(path_id(&id)?);
    let r = state.store.rating_rule_by_id(id).await?;
    state.store.delete_rating_rule(id).await?;
    audit(
        &state,
        &who,
        "rating_rule.delete",
        format!("rating_rule:{id}"),
        json!({"description": r.description}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- service hours

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScheduleSettings {
    /// IANA name, e.g. `America/Sao_Paulo`.
    pub time_zone: String,
    /// National holidays close the queue.
    pub national_holidays: bool,
}

impl Default for ScheduleSettings {
    fn default() -> ScheduleSettings {
        ScheduleSettings {
            time_zone: prosa_rules::service_hours::DEFAULT_TIME_ZONE.to_owned(),
            national_holidays: true,
        }
    }
}

pub async fn schedule_settings(state: &AppState) -> Result<ScheduleSettings, ApiError> {
    Ok(state
        .store
        .setting(SCHEDULE_SETTING)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

fn to_rule(r: &ServiceHoursRecord) -> Option<prosa_rules::ServiceHoursRule> {
    ServiceHoursRuleDraft {
        description: r.description.clone(),
        weekdays: r.weekdays.split(',').map(str::to_owned).collect(),
        intervals: r
            .intervals
            .iter()
            .map(|(s, e)| prosa_rules::IntervalDraft {
                start: s.clone(),
                end: e.clone(),
            })
            .collect(),
        inbox_ids: r.inbox_ids.iter().map(|i| InboxId(*i)).collect(),
        active: r.active,
    }
    .parse()
    .ok()
}

/// The schedule as stored: rules, closed dates and calendar settings.
pub async fn load_schedule(state: &AppState) -> Result<Schedule, ApiError> {
    let settings = schedule_settings(state).await?;
    let rules = state
        .store
        .list_service_hours()
        .await?
        .iter()
        .filter_map(to_rule)
        .collect();
    let closed_dates = state
        .store
        .list_closed_dates()
        .await?
        .into_iter()
        .filter_map(|c| {
            Some(ClosedDate::new(
                c.day.parse().ok()?,
                c.description.as_deref(),
            ))
        })
        .collect();
    Ok(Schedule {
        rules,
        time_zone: settings.time_zone,
        national_holidays: settings.national_holidays,
        closed_dates,
    })
}

/// Whether the human queue of an inbox is open at `now`, and if not, when it opens
/// ("segunda-feira às 08:00"). With no active rule at all the queue is always open (hours not
/// configured).
pub fn schedule_status(
    schedule: &Schedule,
    inbox: InboxId,
    now: Timestamp,
) -> (bool, Option<String>) {
    if !schedule.rules.iter().any(|r| r.active) {
        return (true, None);
    }
    if prosa_rules::is_open(schedule, inbox, now) {
        (true, None)
    } else {
        (
            false,
            prosa_rules::describe_next_opening(schedule, inbox, now),
        )
    }
}

/// For the bot: is the human queue of this inbox open now, and if not, when it opens.
/// A storage failure answers "open" (never strand a subscriber because of a read error).
pub async fn queue_status(state: &AppState, inbox_id: InboxId) -> (bool, Option<String>) {
    match load_schedule(state).await {
        Ok(s) => schedule_status(&s, inbox_id, state.clock.now()),
        Err(e) => {
            tracing::warn!(error = %e, "queue_status: cannot read the schedule");
            (true, None)
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceHoursRuleDto {
    pub id: String,
    pub description: String,
    /// `mon`…`sun`.
    pub weekdays: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub intervals: Vec<Value>,
    /// Empty = every inbox.
    pub inbox_ids: Vec<String>,
    pub active: bool,
}

impl From<&ServiceHoursRecord> for ServiceHoursRuleDto {
    fn from(r: &ServiceHoursRecord) -> ServiceHoursRuleDto {
        ServiceHoursRuleDto {
            id: r.id.to_string(),
            description: r.description.clone(),
            weekdays: r
                .weekdays
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            intervals: r
                .intervals
                .iter()
                .map(|(s, e)| json!({"start": s, "end": e}))
                .collect(),
            inbox_ids: r.inbox_ids.iter().map(i64::to_string).collect(),
            active: r.active,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ServiceHoursInput {
    #[serde(default)]
    pub description: String,
    /// `mon`…`sun` or pt-BR names.
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// `[{"start": "08:00", "end": "12:00"}]`.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub intervals: Vec<prosa_rules::IntervalDraft>,
    #[serde(default)]
    pub inbox_ids: Vec<String>,
    pub active: Option<bool>,
}

pub async fn save_service_hours(
    state: &AppState,
    who: &Principal,
    id: Option<i64>,
    input: &ServiceHoursInput,
) -> Result<i64, ApiError> {
    let mut inbox_ids = Vec::new();
    for (n, i) in input.inbox_ids.iter().enumerate() {
        inbox_ids.push(InboxId(parse_id(&format!("inbox_ids[{n}]"), i)?));
    }
    let draft = ServiceHoursRuleDraft {
        description: input.description.clone(),
        weekdays: input.weekdays.clone(),
        intervals: input.intervals.clone(),
        inbox_ids,
        active: input.active.unwrap_or(true),
    };
    let rule = draft.parse().map_err(field_error)?;
    let record = ServiceHoursRecord {
        id: id.unwrap_or(0),
        description: rule.description.clone(),
        weekdays: rule.weekdays.to_ids(),
        intervals: rule
            .intervals
            .iter()
            .map(|i| (i.start.to_string(), i.end.to_string()))
            .collect(),
        inbox_ids: rule.inbox_ids.iter().map(|i| i.0).collect(),
        active: rule.active,
    };
    let first = rule
        .intervals
        .first()
        .map(|i| (i64::from(i.start.minutes()), i64::from(i.end.minutes())))
        .unwrap_or((0, 0));
    let id = state.store.save_service_hours(id, &record, first).await?;
    audit(
        state,
        who,
        "service_hours.save",
        format!("service_hours_rule:{id}"),
        json!(record),
    )
    .await?;
    Ok(id)
}

#[utoipa::path(get, path = "/api/v1/service-hours", responses((status = 200, body = Object)), tag = "administration")]
pub async fn service_hours_get(
    State(state): State<AppState>,
    Supervisor(_who): Supervisor,
) -> Result<Json<Value>, ApiError> {
    let rules: Vec<ServiceHoursRuleDto> = state
        .store
        .list_service_hours()
        .await?
        .iter()
        .map(ServiceHoursRuleDto::from)
        .collect();
    Ok(Json(json!({
        "rules": rules,
        "closed_dates": state.store.list_closed_dates().await?,
        "settings": schedule_settings(&state).await?,
    })))
}

#[utoipa::path(post, path = "/api/v1/service-hours/rules", request_body = ServiceHoursInput, responses((status = 201, body = ServiceHoursRuleDto), (status = 422)), tag = "administration")]
pub async fn service_hours_create(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<ServiceHoursInput>,
) -> Result<Response, ApiError> {
    let id = save_service_hours(&state, &who, None, &input).await?;
    let r = find_service_hours(&state, id).await?;
    Ok((StatusCode::CREATED, Json(ServiceHoursRuleDto::from(&r))).into_response())
}

async fn find_service_hours(state: &AppState, id: i64) -> Result<ServiceHoursRecord, ApiError> {
    state
        .store
        .list_service_hours()
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(ApiError::NotFound)
}

#[utoipa::path(put, path = "/api/v1/service-hours/rules/{id}", request_body = ServiceHoursInput, responses((status = 200, body = ServiceHoursRuleDto), (status = 422)), tag = "administration")]
pub async fn service_hours_update(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    Json(input): Json<ServiceHoursInput>,
) -> Result<Json<ServiceHoursRuleDto>, ApiError> {
    let id = path_id(&id)?;
    find_service_hours(&state, id).await?;
    save_service_hours(&state, &who, Some(id), &input).await?;
    Ok(Json(ServiceHoursRuleDto::from(
        &find_service_hours(&state, id).await?,
    )))
}

#[utoipa::path(delete, path = "/api/v1/service-hours/rules/{id}", responses((status = 204)), tag = "administration")]
pub async fn service_hours_delete(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(&id)?;
    state.store.delete_service_hours(id).await?;
    audit(
        &state,
        &who,
        "service_hours.delete",
        format!("service_hours_rule:{id}"),
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClosedDateInput {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub description: Option<String>,
}

pub async fn add_closed_date(
    state: &AppState,
    who: &Principal,
    input: &ClosedDateInput,
) -> Result<(), ApiError> {
    let date: jiff::civil::Date = input
        .date
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid("date", "data inválida (use AAAA-MM-DD)"))?;
    let description = input
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    if description
        .is_some_and(|d| d.chars().count() > prosa_rules::validation::DESCRIPTION_MAX_CHARS)
    {
        return Err(ApiError::invalid(
            "description",
            prosa_rules::validation::msg::DESCRIPTION_TOO_LONG,
        ));
    }
    let day = date.to_string();
    state
        .store
        .add_closed_date(&day, description)
        .await
        .map_err(duplicate(
            "date",
            prosa_rules::validation::msg::CLOSED_DATE_DUPLICATE,
        ))?;
    audit(
        state,
        who,
        "closed_date.add",
        format!("closed_date:{day}"),
        json!({"description": description}),
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/service-hours/closed-dates", request_body = ClosedDateInput, responses((status = 201), (status = 422)), tag = "administration")]
pub async fn closed_date_create(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<ClosedDateInput>,
) -> Result<StatusCode, ApiError> {
    add_closed_date(&state, &who, &input).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(delete, path = "/api/v1/service-hours/closed-dates/{day}", responses((status = 204)), tag = "administration")]
pub async fn closed_date_delete(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(day): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.store.delete_closed_date(&day).await?;
    audit(
        &state,
        &who,
        "closed_date.delete",
        format!("closed_date:{day}"),
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn save_schedule_settings(
    state: &AppState,
    who: &Principal,
    input: &ScheduleSettings,
) -> Result<(), ApiError> {
    let probe = Schedule::default().with_time_zone(input.time_zone.trim());
    if probe.zone().is_err() {
        return Err(ApiError::invalid(
            "time_zone",
            prosa_rules::validation::msg::TIME_ZONE_INVALID,
        ));
    }
    let settings = ScheduleSettings {
        time_zone: input.time_zone.trim().to_owned(),
        national_holidays: input.national_holidays,
    };
    state
        .store
        .put_setting(SCHEDULE_SETTING, &json!(settings))
        .await?;
    audit(
        state,
        who,
        "service_hours.settings",
        "setting:service_hours".into(),
        json!(settings),
    )
    .await
}

#[utoipa::path(put, path = "/api/v1/service-hours/settings", request_body = ScheduleSettings, responses((status = 200, body = ScheduleSettings), (status = 422)), tag = "administration")]
pub async fn schedule_settings_put(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<ScheduleSettings>,
) -> Result<Json<ScheduleSettings>, ApiError> {
    save_schedule_settings(&state, &who, &input).await?;
    Ok(Json(schedule_settings(&state).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct StatusQuery {
    pub inbox_id: String,
}

#[utoipa::path(get, path = "/api/v1/service-hours/status", params(StatusQuery), responses((status = 200, body = Object)), tag = "administration")]
pub async fn service_hours_status(
    State(state): State<AppState>,
    Authenticated(_who): Authenticated,
    Query(q): Query<StatusQuery>,
) -> Result<Json<Value>, ApiError> {
    let inbox = InboxId(parse_id("inbox_id", &q.inbox_id)?);
    let schedule = load_schedule(&state).await?;
    let (open, next) = schedule_status(&schedule, inbox, state.clock.now());
    Ok(Json(json!({"open": open, "next_opening": next})))
}

// ---------------------------------------------------------------- canned responses

#[derive(Debug, Deserialize, ToSchema)]
pub struct CannedInput {
    pub shortcut: String,
    pub content: String,
}

pub async fn save_canned(
    state: &AppState,
    who: &Principal,
    id: Option<i64>,
    input: &CannedInput,
) -> Result<i64, ApiError> {
    let shortcut = input.shortcut.trim().trim_start_matches('/').to_owned();
    if shortcut.is_empty() {
        return Err(ApiError::invalid("shortcut", "atalho é obrigatório"));
    }
    if shortcut.chars().count() > 40 || shortcut.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid(
            "shortcut",
            "atalho sem espaços, com até 40 caracteres",
        ));
    }
    let content = input.content.trim();
    if content.is_empty() {
        return Err(ApiError::invalid("content", "texto é obrigatório"));
    }
    if content.chars().count() > 4000 {
        return Err(ApiError::invalid(
            "content",
            "texto muito longo (máximo 4000 caracteres)",
        ));
    }
    let id = state
        .store
        .save_canned_response(id, &shortcut, content)
        .await
        .map_err(duplicate(
            "shortcut",
            "já existe uma resposta com este atalho",
        ))?;
    audit(
        state,
        who,
        "canned_response.save",
        format!("canned_response:{id}"),
        json!({"shortcut": shortcut}),
    )
    .await?;
    Ok(id)
}

#[utoipa::path(get, path = "/api/v1/canned-responses", responses((status = 200, body = Object)), tag = "administration")]
pub async fn canned_list(
    State(state): State<AppState>,
    Authenticated(_who): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = state
        .store
        .list_canned_responses()
        .await?
        .into_iter()
        .map(|c| json!({"id": c.id.to_string(), "shortcut": c.shortcut, "content": c.content}))
        .collect();
    Ok(Json(json!(items)))
}

#[utoipa::path(post, path = "/api/v1/canned-responses", request_body = CannedInput, responses((status = 201), (status = 422)), tag = "administration")]
pub async fn canned_create(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<CannedInput>,
) -> Result<Response, ApiError> {
    let id = save_canned(&state, &who, None, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id.to_string()}))).into_response())
}

#[utoipa::path(put, path = "/api/v1/canned-responses/{id}", request_body = CannedInput, responses((status = 200), (status = 422)), tag = "administration")]
pub async fn canned_update(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    Json(input): Json<CannedInput>,
) -> Result<Json<Value>, ApiError> {
    let id = save_canned(&state, &who, Some(path_id(&id)?), &input).await?;
    Ok(Json(json!({"id": id.to_string()})))
}

#[utoipa::path(delete, path = "/api/v1/canned-responses/{id}", responses((status = 204)), tag = "administration")]
pub async fn canned_delete(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(&id)?;
    state.store.delete_canned_response(id).await?;
    audit(
        &state,
        &who,
        "canned_response.delete",
        format!("canned_response:{id}"),
        json!({}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- ratings and notifications

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    pub id: String,
    pub kind: String,
    pub conversation_id: Option<String>,
    pub rating_rule_id: Option<String>,
    pub score: Option<u8>,
    /// The rule's description when it fired.
    pub description: Option<String>,
    #[schema(value_type = Option<String>)]
    pub treated_at: Option<Timestamp>,
    pub treatment_note: Option<String>,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

impl From<&NotificationRecord> for NotificationDto {
    fn from(n: &NotificationRecord) -> NotificationDto {
        NotificationDto {
            id: n.id.0.to_string(),
            kind: n.kind.clone(),
            conversation_id: n.conversation_id.map(|c| c.0.to_string()),
            rating_rule_id: n.rating_rule_id.map(|r| r.0.to_string()),
            score: n.score,
            description: n
                .payload
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned),
            treated_at: n.treated_at,
            treatment_note: n.treatment_note.clone(),
            created_at: n.created_at,
        }
    }
}

/// Filters of `/ratings` and `/notifications`.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct RatingQuery {
    pub min_score: Option<String>,
    pub max_score: Option<String>,
    pub rule_id: Option<String>,
    /// `true` or `false`.
    pub treated: Option<String>,
    /// `YYYY-MM-DD` (inclusive, in the schedule's time zone) or an RFC 3339 instant.
    pub from: Option<String>,
    /// `YYYY-MM-DD` (inclusive) or an RFC 3339 instant (exclusive).
    pub to: Option<String>,
    /// Whose notifications: empty = the caller's own; supervisors and administrators may ask
    /// for `all` or one operator's user id.
    pub operator: Option<String>,
    pub limit: Option<i64>,
}

/// Whose notifications a caller lists (`operator` of [`RatingQuery`]): `None` = everyone's.
pub fn notification_scope(who: &Principal, q: &RatingQuery) -> Result<Option<UserId>, ApiError> {
    let own = who.user_id();
    let Some(op) = nonempty(&q.operator) else {
        return Ok(own);
    };
    if who.role() < model::Role::Supervisor {
        // An operator only ever sees their own notifications.
        return match own {
            Some(u) if op == u.0.to_string() => Ok(Some(u)),
            _ => Err(ApiError::invalid(
                "operator",
                "você só pode ver as suas próprias notificações",
            )),
        };
    }
    if op == "all" {
        return Ok(None);
    }
    Ok(Some(UserId(parse_id("operator", op)?)))
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_instant(field: &str, s: &str, end_of_day: bool) -> Result<Timestamp, ApiError> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let d: jiff::civil::Date = s
        .parse()
        .map_err(|_| ApiError::invalid(field, "data inválida (use AAAA-MM-DD)"))?;
    let d = if end_of_day {
        d.tomorrow()
            .map_err(|_| ApiError::invalid(field, "data inválida"))?
    } else {
        d
    };
    d.to_zoned_datetime(
        jiff::tz::TimeZone::get(prosa_rules::service_hours::DEFAULT_TIME_ZONE)
            .unwrap_or(jiff::tz::TimeZone::UTC),
    )
    .map(|z| z.timestamp())
    .map_err(|_| ApiError::invalid(field, "data inválida"))
}

impl RatingQuery {
    pub fn filter(&self) -> Result<RatingFilter, ApiError> {
        let score = |field: &str, v: &Option<String>| -> Result<Option<u8>, ApiError> {
            nonempty(v)
                .map(|s| {
                    s.parse::<u8>().ok().filter(|n| *n <= 10).ok_or_else(|| {
                        ApiError::invalid(field, prosa_rules::validation::msg::SCORE_RANGE)
                    })
                })
                .transpose()
        };
        let treated = match nonempty(&self.treated) {
            None => None,
            Some("true") | Some("sim") => Some(true),
            Some("false") | Some("nao") | Some("não") => Some(false),
            Some(_) => return Err(ApiError::invalid("treated", "use true ou false")),
        };
        Ok(RatingFilter {
            min_score: score("min_score", &self.min_score)?,
            max_score: score("max_score", &self.max_score)?,
            rule_id: nonempty(&self.rule_id)
                .map(|s| parse_id("rule_id", s).map(RatingRuleId))
                .transpose()?,
            treated,
            from: nonempty(&self.from)
                .map(|s| parse_instant("from", s, false))
                .transpose()?,
            to: nonempty(&self.to)
                .map(|s| parse_instant("to", s, true))
                .transpose()?,
            user_id: None,
            limit: self.limit.unwrap_or(100),
        })
    }
}

#[utoipa::path(get, path = "/api/v1/ratings", params(RatingQuery), responses((status = 200, body = Object)), tag = "ratings")]
pub async fn rating_list(
    State(state): State<AppState>,
    Supervisor(_who): Supervisor,
    Query(q): Query<RatingQuery>,
) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = state
        .store
        .list_ratings(&q.filter()?)
        .await?
        .into_iter()
        .map(|r| {
            json!({
                "conversation_id": r.conversation_id.0.to_string(),
                "score": r.score,
                "comment": r.comment,
                "answered_at": r.answered_at,
                "notifications": r.notifications,
                "untreated": r.untreated,
            })
        })
        .collect();
    Ok(Json(json!(items)))
}

#[utoipa::path(get, path = "/api/v1/notifications", params(RatingQuery), responses((status = 200, body = Vec<NotificationDto>)), tag = "ratings")]
pub async fn notification_list(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Query(q): Query<RatingQuery>,
) -> Result<Json<Vec<NotificationDto>>, ApiError> {
    if who.user_id().is_none() && nonempty(&q.operator).is_none() {
        return Ok(Json(Vec::new()));
    }
    let mut f = q.filter()?;
    f.user_id = notification_scope(&who, &q)?;
    Ok(Json(
        state
            .store
            .list_notifications(&f)
            .await?
            .iter()
            .map(NotificationDto::from)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/notifications/unread-count", responses((status = 200, body = Object)), tag = "ratings")]
pub async fn notification_count(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
) -> Result<Json<Value>, ApiError> {
    let n = match who.user_id() {
        Some(u) => state.store.count_untreated_notifications(u).await?,
        None => 0,
    };
    Ok(Json(json!({"count": n})))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TreatInput {
    #[serde(default)]
    pub note: String,
}

/// Marks a notification of the caller treated (an administrator may treat anyone's).
pub async fn treat_notification(
    state: &AppState,
    who: &Principal,
    id: NotificationId,
    note: &str,
) -> Result<(), ApiError> {
    let n = state.store.notification_by_id(id).await?;
    let Some(user) = who.user() else {
        return Err(ApiError::Forbidden);
    };
    if n.user_id != user.id && user.role != model::Role::Admin {
        return Err(ApiError::NotFound);
    }
    let note = note.trim();
    if note.is_empty() {
        return Err(ApiError::invalid("note", "descreva o que foi verificado"));
    }
    if note.chars().count() > 4000 {
        return Err(ApiError::invalid(
            "note",
            "texto muito longo (máximo 4000 caracteres)",
        ));
    }
    state.store.treat_notification(id, user.id, note).await?;
    audit(
        state,
        who,
        "notification.treat",
        format!("notification:{id}"),
        json!({"note": note}),
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/treat", request_body = TreatInput, responses((status = 204), (status = 422)), tag = "ratings")]
pub async fn notification_treat(
    State(state): State<AppState>,
    Authenticated(who): Authenticated,
    Path(id): Path<String>,
    Json(input): Json<TreatInput>,
) -> Result<StatusCode, ApiError> {
    treat_notification(&state, &who, NotificationId(path_id(&id)?), &input.note).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- hooks

fn rules_of(records: &[RatingRuleRecord]) -> Vec<RatingRule> {
    records
        .iter()
        .map(|r| RatingRule {
            id: r.id,
            description: r.description.clone(),
            scores: r.scores.iter().copied().collect(),
            operators: r.operators.clone(),
            active: r.active,
        })
        .collect()
}

/// Stores a subscriber's score for a conversation and notifies every (rule, operator) it
/// matches; each operator's panel receives a `notification_created` event at once.
pub async fn record_rating(
    state: &AppState,
    conversation_id: ConversationId,
    score: u8,
    comment: Option<String>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        score <= prosa_rules::rating::MAX_SCORE,
        "score {score} out of 0..=10"
    );
    let rules = rules_of(&state.store.list_rating_rules().await?);
    let notifications: Vec<NewNotification> = prosa_rules::notifications_for(&rules, score)
        .into_iter()
        .map(|n| NewNotification {
            user_id: n.user_id,
            rating_rule_id: Some(n.rule_id),
            description: n.description,
        })
        .collect();
    let ids = state
        .store
        .record_rating(conversation_id, score, comment.as_deref(), &notifications)
        .await?;
    tracing::info!(conversation = %conversation_id, score, notifications = ids.len(), "rating recorded");
    Ok(())
}

/// Records that the subscriber was just asked for a score (the answer is awaited 24 h).
pub async fn request_rating(
    state: &AppState,
    conversation_id: ConversationId,
) -> anyhow::Result<()> {
    let expires = Timestamp::now() + jiff::SignedDuration::from_hours(RATING_REQUEST_HOURS);
    state.store.request_rating(conversation_id, expires).await?;
    Ok(())
}

/// Called for each incoming message: when the conversation awaits a score, reads it
/// (`parse_score`) and records it. Anything else gets one polite re-ask; a second miss closes the
/// request. `Ok(true)` when the message was taken as (or answered as) a rating answer, so the
/// caller does not pass it on; `Ok(false)` otherwise.
pub async fn maybe_rating_answer(
    state: &AppState,
    conversation_id: ConversationId,
    content: &MessageContent,
) -> anyhow::Result<bool> {
    let Some(pending) = state
        .store
        .pending_rating(conversation_id, Timestamp::now())
        .await?
    else {
        return Ok(false);
    };
    let text = content.text.as_deref().unwrap_or("");
    if let Some(score) = prosa_rules::parse_score(text, content.selected_option.as_deref()) {
        record_rating(state, conversation_id, score, None).await?;
        return Ok(true);
    }
    if pending.reasked {
        state.store.close_rating_request(conversation_id).await?;
        return Ok(false);
    }
    state
        .store
        .create_outgoing_message(&prosa_storage::conversations::NewOutgoing {
            conversation_id,
            author_kind: AuthorKind::Bot,
            author_id: None,
            private: false,
            content: MessageContent {
                text: Some(RATING_REASK.to_owned()),
                ..MessageContent::default()
            },
            client_id: None,
        })
        .await?;
    state.store.mark_rating_reasked(conversation_id).await?;
    Ok(true)
}
