//! Automatic assignment settings: on/off per team and for conversations without a team, the
//! limit of simultaneous conversations per team and per operator. Administrators only; every
//! change is audited.

use super::*;
use prosa_storage::assignment::GlobalAssignment;

/// Highest limit of simultaneous conversations an administrator may set.
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalAssignmentDto {
    /// Assign conversations without a team automatically (among every operator).
    pub enabled: bool,
    /// Caps each operator's own limit for these conversations; null = each operator's limit.
    pub max_conversations: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamAssignmentInput {
    pub auto_assign: bool,
    /// Caps each member's own limit inside this team; null = each member's limit.
    pub max_conversations: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamAssignmentDto {
    pub team_id: String,
    pub name: String,
    pub auto_assign: bool,
    pub max_conversations: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorLimitDto {
    pub user_id: String,
    pub name: String,
    pub max_conversations: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentDto {
    pub global: GlobalAssignmentDto,
    pub teams: Vec<TeamAssignmentDto>,
    pub operators: Vec<OperatorLimitDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorLimitInput {
    pub max_conversations: i64,
}

pub fn check_limit(field: &str, n: Option<i64>) -> Result<Option<i64>, ApiError> {
    match n {
        Some(v) if !(1..=MAX_LIMIT).contains(&v) => Err(ApiError::invalid(
            field,
            format!("limite deve ser um número de 1 a {MAX_LIMIT}"),
        )),
        other => Ok(other),
    }
}

pub async fn assignment_view(state: &AppState) -> Result<AssignmentDto, ApiError> {
    let global = state.store.global_assignment().await?;
    let teams = state.store.team_assignments().await?;
    let limits = state.store.max_conversations().await?;
    let users = state.store.list_users().await?;
    Ok(AssignmentDto {
        global: GlobalAssignmentDto {
            enabled: global.enabled,
            max_conversations: global.max_conversations,
        },
        teams: teams
            .into_iter()
            .map(|t| TeamAssignmentDto {
                team_id: t.team_id.0.to_string(),
                name: t.name,
                auto_assign: t.auto_assign,
                max_conversations: t.max_conversations,
            })
            .collect(),
        operators: users
            .iter()
            .filter(|u| u.active && u.role != prosa_domain::model::Role::Admin)
            .map(|u| OperatorLimitDto {
                user_id: u.id.0.to_string(),
                name: u.name.clone(),
                max_conversations: limits
                    .iter()
                    .find(|(id, _)| *id == u.id)
                    .map(|(_, n)| *n)
                    .unwrap_or(5),
            })
            .collect(),
    })
}

#[utoipa::path(get, path = "/api/v1/assignment", responses((status = 200, body = AssignmentDto)), tag = "administration")]
pub async fn assignment_get(
    State(state): State<AppState>,
    Admin(_who): Admin,
) -> Result<Json<AssignmentDto>, ApiError> {
    Ok(Json(assignment_view(&state).await?))
}

pub async fn save_global(
    state: &AppState,
    who: &Principal,
    input: &GlobalAssignmentDto,
) -> Result<(), ApiError> {
    let max = check_limit("max_conversations", input.max_conversations)?;
    state
        .store
        .set_global_assignment(&GlobalAssignment {
            enabled: input.enabled,
            max_conversations: max,
        })
        .await?;
    audit(
        state,
        who,
        "assignment.global",
        "assignment:global".into(),
        json!({"enabled": input.enabled, "max_conversations": max}),
    )
    .await
}

#[utoipa::path(put, path = "/api/v1/assignment", request_body = GlobalAssignmentDto, responses((status = 204), (status = 422)), tag = "administration")]
pub async fn assignment_put(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<GlobalAssignmentDto>,
) -> Result<StatusCode, ApiError> {
    save_global(&state, &who, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn save_team(
    state: &AppState,
    who: &Principal,
    team: TeamId,
    input: &TeamAssignmentInput,
) -> Result<(), ApiError> {
    let max = check_limit("max_conversations", input.max_conversations)?;
    state
        .store
        .set_team_assignment(team, input.auto_assign, max)
        .await?;
    audit(
        state,
        who,
        "assignment.team",
        format!("team:{}", team.0),
        json!({"auto_assign": input.auto_assign, "max_conversations": max}),
    )
    .await
}

#[utoipa::path(put, path = "/api/v1/teams/{id}/assignment", request_body = TeamAssignmentInput, responses((status = 204), (status = 404), (status = 422)), tag = "administration")]
pub async fn team_assignment_put(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    Json(input): Json<TeamAssignmentInput>,
) -> Result<StatusCode, ApiError> {
    save_team(&state, &who, TeamId(path_id(&id)?), &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn save_operator_limit(
    state: &AppState,
    who: &Principal,
    user: UserId,
    max: i64,
) -> Result<(), ApiError> {
    check_limit("max_conversations", Some(max))?;
    state.store.set_max_conversations(user, max).await?;
    audit(
        state,
        who,
        "assignment.operator_limit",
        format!("user:{}", user.0),
        json!({"max_conversations": max}),
    )
    .await
}

#[utoipa::path(put, path = "/api/v1/users/{id}/max-conversations", request_body = OperatorLimitInput, responses((status = 204), (status = 404), (status = 422)), tag = "administration")]
pub async fn operator_limit_put(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    Json(input): Json<OperatorLimitInput>,
) -> Result<StatusCode, ApiError> {
    save_operator_limit(&state, &who, UserId(path_id(&id)?), input.max_conversations).await?;
    Ok(StatusCode::NO_CONTENT)
}
