//! Changing what exists: a user's name, role, teams and activity; a team's name; the order of
//! the categories. REST endpoints and the functions the pages call; every change audited,
//! messages in pt-BR naming the field.

use super::{audit, duplicate, parse_id, path_id};
use crate::auth::{Admin, Principal};
use crate::dto::{TeamDto, UserDto};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use prosa_domain::model::Role;
use prosa_domain::{CategoryId, TeamId, UserId};
use prosa_storage::people::UserChange;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

/// What to change of a user; a missing field keeps its value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdateInput {
    pub name: Option<String>,
    /// `agent`, `supervisor` or `admin`.
    pub role: Option<String>,
    /// The user's teams after the change (replaces them).
    pub team_ids: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// Validates and applies a change to a user. An administrator cannot take away their own
/// administrator role nor deactivate themselves (nobody would be left to undo it).
pub async fn update_user(
    state: &AppState,
    who: &Principal,
    id: UserId,
    input: &UserUpdateInput,
) -> Result<(), ApiError> {
    let current = state.store.user_by_id(id).await?;
    let name = match &input.name {
        Some(n) => {
            let n = n.trim();
            if n.is_empty() {
                return Err(ApiError::invalid("name", "nome é obrigatório"));
            }
            if n.chars().count() > 100 {
                return Err(ApiError::invalid(
                    "name",
                    "nome muito longo (máximo 100 caracteres)",
                ));
            }
            n.to_owned()
        }
        None => current.name.clone(),
    };
    let role = match &input.role {
        Some(r) => r
            .trim()
            .parse::<Role>()
            .map_err(|_| ApiError::invalid("role", "papel inválido"))?,
        None => current.role,
    };
    let team_ids = match &input.team_ids {
        Some(ids) => {
            let teams = state.store.list_teams().await?;
            let mut out = Vec::new();
            for (n, t) in ids.iter().enumerate() {
                let field = format!("team_ids[{n}]");
                let t = TeamId(parse_id(&field, t)?);
                if !teams.iter().any(|x| x.id == t) {
                    return Err(ApiError::invalid(field, "equipe desconhecida"));
                }
                if !out.contains(&t) {
                    out.push(t);
                }
            }
            out
        }
        None => current.team_ids.clone(),
    };
    let active = input.active.unwrap_or(current.active);
    if who.user_id() == Some(id) {
        if role != Role::Admin {
            return Err(ApiError::invalid(
                "role",
                "você não pode remover o seu próprio papel de administrador",
            ));
        }
        if !active {
            return Err(ApiError::invalid(
                "active",
                "você não pode desativar a si mesmo",
            ));
        }
    }
    state
        .store
        .update_user(
            id,
            &UserChange {
                name: name.clone(),
                role,
                team_ids: team_ids.clone(),
            },
        )
        .await?;
    if active != current.active {
        state.store.set_user_active(id, active).await?;
    }
    let ids = |v: &[TeamId]| v.iter().map(|t| t.0.to_string()).collect::<Vec<_>>();
    audit(
        state,
        who,
        "user.update",
        format!("user:{id}"),
        json!({
            "name": name, "role": role.as_str(), "team_ids": ids(&team_ids), "active": active,
            "previous": {"name": current.name, "role": current.role.as_str(), "team_ids": ids(&current.team_ids), "active": current.active},
        }),
    )
    .await
}

#[utoipa::path(put, path = "/api/v1/users/{id}", request_body = UserUpdateInput, responses((status = 200, body = UserDto), (status = 404), (status = 422)), tag = "users")]
pub async fn user_update(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    Json(input): Json<UserUpdateInput>,
) -> Result<Json<UserDto>, ApiError> {
    let id = UserId(path_id(&id)?);
    update_user(&state, &who, id, &input).await?;
    Ok(Json(UserDto::from(&state.store.user_by_id(id).await?)))
}

/// Renames a team.
pub async fn rename_team(
    state: &AppState,
    who: &Principal,
    id: TeamId,
    name: &str,
) -> Result<(), ApiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid("name", "nome é obrigatório"));
    }
    if name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "nome muito longo (máximo 100 caracteres)",
        ));
    }
    let previous = state
        .store
        .list_teams()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or(ApiError::NotFound)?;
    state
        .store
        .rename_team(id, name)
        .await
        .map_err(duplicate("name", "já existe uma equipe com este nome"))?;
    audit(
        state,
        who,
        "team.rename",
        format!("team:{id}"),
        json!({"name": name, "previous_name": previous.name}),
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRenameInput {
    pub name: String,
}

#[utoipa::path(put, path = "/api/v1/teams/{id}", request_body = TeamRenameInput, responses((status = 200, body = TeamDto), (status = 404), (status = 422)), tag = "teams")]
pub async fn team_update(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    Json(input): Json<TeamRenameInput>,
) -> Result<Json<TeamDto>, ApiError> {
    let id = TeamId(path_id(&id)?);
    rename_team(&state, &who, id, &input.name).await?;
    Ok(Json(TeamDto {
        id: id.0.to_string(),
        name: input.name.trim().to_owned(),
    }))
}

/// Puts the categories in the given order (the first is shown first when closing).
pub async fn reorder_categories(
    state: &AppState,
    who: &Principal,
    order: &[CategoryId],
) -> Result<(), ApiError> {
    let all = state.store.list_categories_admin().await?;
    for (n, id) in order.iter().enumerate() {
        if !all.iter().any(|c| c.id == *id) {
            return Err(ApiError::invalid(
                format!("ids[{n}]"),
                "categoria desconhecida",
            ));
        }
        if order[..n].contains(id) {
            return Err(ApiError::invalid(format!("ids[{n}]"), "categoria repetida"));
        }
    }
    state.store.reorder_categories(order).await?;
    audit(
        state,
        who,
        "category.reorder",
        "category:*".into(),
        json!({"ids": order.iter().map(|c| c.0.to_string()).collect::<Vec<_>>()}),
    )
    .await
}

/// Moves one category a place up (`up = true`) or down.
pub async fn move_category(
    state: &AppState,
    who: &Principal,
    id: CategoryId,
    up: bool,
) -> Result<(), ApiError> {
    let mut ids: Vec<CategoryId> = state
        .store
        .list_categories_admin()
        .await?
        .iter()
        .map(|c| c.id)
        .collect();
    let at = ids
        .iter()
        .position(|c| *c == id)
        .ok_or(ApiError::NotFound)?;
    let to = if up { at.checked_sub(1) } else { Some(at + 1) };
    match to {
        Some(to) if to < ids.len() => {
            ids.swap(at, to);
            reorder_categories(state, who, &ids).await
        }
        // Already first (or last): nothing to do.
        _ => Ok(()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryOrderInput {
    /// Category ids, first shown first; ids left out keep their relative order after these.
    pub ids: Vec<String>,
}

#[utoipa::path(put, path = "/api/v1/categories/order", request_body = CategoryOrderInput, responses((status = 200, body = Vec<super::AdminCategoryDto>), (status = 422)), tag = "administration")]
pub async fn category_order(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<CategoryOrderInput>,
) -> Result<Json<Vec<super::AdminCategoryDto>>, ApiError> {
    let mut order = Vec::new();
    for (n, s) in input.ids.iter().enumerate() {
        order.push(CategoryId(parse_id(&format!("ids[{n}]"), s)?));
    }
    reorder_categories(&state, &who, &order).await?;
    Ok(Json(
        state
            .store
            .list_categories_admin()
            .await?
            .iter()
            .map(super::AdminCategoryDto::from)
            .collect(),
    ))
}
