//! `/admin/assignment`: automatic assignment on/off and limits of simultaneous conversations.

use super::*;
use crate::admin::assignment::{
    GlobalAssignmentDto, MAX_LIMIT, TeamAssignmentInput, assignment_view, save_global,
    save_operator_limit, save_team,
};

const TITLE: &str = "Distribuição automática";

/// An optional limit typed in a form: empty = none; anything else must be a number.
fn typed_limit(f: &Fields, key: &str) -> Result<Option<i64>, ApiError> {
    let v = one(f, key).trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse().map(Some).map_err(|_| {
        ApiError::invalid(
            "max_conversations",
            format!("limite deve ser um número de 1 a {MAX_LIMIT}"),
        )
    })
}

/// What the form shows: what was typed when it is the form being corrected, else the saved value.
fn shown(typed: Option<(&str, &Fields)>, form: &str, key: &str, saved: String) -> String {
    match typed {
        Some((at, f)) if at == form => one(f, key).to_owned(),
        _ => saved,
    }
}

fn shown_check(typed: Option<(&str, &Fields)>, form: &str, key: &str, saved: bool) -> bool {
    match typed {
        Some((at, f)) if at == form => one(f, key) == "true",
        _ => saved,
    }
}

async fn view(
    state: &AppState,
    who: &Principal,
    p: Option<Problem>,
    typed: Option<(&str, &Fields)>,
) -> Response {
    let at = typed.map(|(a, _)| a);
    let data = match assignment_view(state).await {
        Ok(d) => d,
        Err(e) => return err_response(e),
    };
    // Errors are shown next to the form they came from.
    let msg = |form: &str| {
        let p = if at == Some(form) { p.clone() } else { None };
        html! { (general_msg(&p, &["max_conversations"])) (field_msg(&p, "max_conversations")) }
    };
    let limit = |n: Option<i64>| n.map(|v| v.to_string()).unwrap_or_default();
    let body = html! {
        p class="muted" {
            "Conversas que entram na fila vão, da mais antiga para a mais nova, para o atendente "
            "online da equipe da conversa que está há mais tempo sem receber uma, desde que esteja "
            "abaixo do seu limite de conversas simultâneas. Atendentes em pausa ou offline não recebem."
        }
        h2 { "Conversas sem equipe" }
        form method="post" action="/admin/assignment/global" class="admin-form" {
            (csrf(who))
            label { input type="checkbox" name="enabled" value="true" checked[shown_check(typed, "global", "enabled", data.global.enabled)]; " Distribuir automaticamente entre todos os atendentes" }
            label for="as-global-max" { "Limite por atendente (vazio = limite de cada atendente)" }
            input id="as-global-max" name="max_conversations" inputmode="numeric" value=(shown(typed, "global", "max_conversations", limit(data.global.max_conversations)));
            (msg("global"))
            button type="submit" { "Salvar" }
        }
        h2 { "Equipes" }
        @if data.teams.is_empty() {
            p class="muted" { "Nenhuma equipe cadastrada." }
        }
        @for t in &data.teams {
            @let form = format!("team:{}", t.team_id);
            form method="post" action=(format!("/admin/assignment/team/{}", t.team_id)) class="admin-form" aria-label=(format!("Equipe {}", t.name)) {
                (csrf(who))
                h3 { (t.name) }
                label { input type="checkbox" name="auto_assign" value="true" checked[shown_check(typed, &form, "auto_assign", t.auto_assign)]; " Distribuir automaticamente" }
                label for=(format!("as-team-{}", t.team_id)) { "Limite por atendente nesta equipe (vazio = limite de cada atendente)" }
                input id=(format!("as-team-{}", t.team_id)) name="max_conversations" inputmode="numeric" value=(shown(typed, &form, "max_conversations", limit(t.max_conversations)));
                (msg(&form))
                button type="submit" { "Salvar equipe" }
            }
        }
        h2 { "Limite de conversas simultâneas por atendente" }
        table class="admin-table" {
            caption class="sr-only" { "Limite por atendente" }
            thead { tr { th scope="col" { "Atendente" } th scope="col" { "Limite" } } }
            tbody {
                @for o in &data.operators {
                    tr {
                        td { (o.name) }
                        td {
                            @let form = format!("user:{}", o.user_id);
                            form method="post" action=(format!("/admin/assignment/user/{}", o.user_id)) class="inline-form" {
                                (csrf(who))
                                label class="sr-only" for=(format!("as-user-{}", o.user_id)) { "Limite de " (o.name) }
                                input id=(format!("as-user-{}", o.user_id)) name="max_conversations" inputmode="numeric" class="narrow" value=(shown(typed, &form, "max_conversations", o.max_conversations.to_string()));
                                button type="submit" class="secondary" { "Salvar" }
                                (msg(&form))
                            }
                        }
                    }
                }
            }
        }
    };
    admin_page(who, TITLE, body)
}

pub async fn page_get(State(state): State<AppState>, MaybeUser(who): MaybeUser) -> Response {
    match admin_only(who) {
        Ok(p) => view(&state, &p, None, None).await,
        Err(r) => r,
    }
}

/// `/admin/assignment/global`, `/admin/assignment/team/{id}`, `/admin/assignment/user/{id}`.
pub async fn page_post(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(rest): Path<String>,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (form, result) = match rest.split_once('/') {
        None if rest == "global" => (
            "global".to_owned(),
            match typed_limit(&f, "max_conversations") {
                Ok(max) => {
                    save_global(
                        &state,
                        &who,
                        &GlobalAssignmentDto {
                            enabled: one(&f, "enabled") == "true",
                            max_conversations: max,
                        },
                    )
                    .await
                }
                Err(e) => Err(e),
            },
        ),
        Some(("team", id)) => {
            let Ok(id) = path_id(id) else {
                return StatusCode::NOT_FOUND.into_response();
            };
            (
                format!("team:{id}"),
                match typed_limit(&f, "max_conversations") {
                    Ok(max) => {
                        save_team(
                            &state,
                            &who,
                            TeamId(id),
                            &TeamAssignmentInput {
                                auto_assign: one(&f, "auto_assign") == "true",
                                max_conversations: max,
                            },
                        )
                        .await
                    }
                    Err(e) => Err(e),
                },
            )
        }
        Some(("user", id)) => {
            let Ok(id) = path_id(id) else {
                return StatusCode::NOT_FOUND.into_response();
            };
            (
                format!("user:{id}"),
                match typed_limit(&f, "max_conversations") {
                    Ok(Some(max)) => save_operator_limit(&state, &who, UserId(id), max).await,
                    Ok(None) => Err(ApiError::invalid(
                        "max_conversations",
                        "limite é obrigatório",
                    )),
                    Err(e) => Err(e),
                },
            )
        }
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match result {
        Ok(()) => back("/admin/assignment"),
        Err(e) => match problem(e) {
            Ok(p) => {
                let mut r = view(&state, &who, Some(p), Some((&form, &f))).await;
                *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                r
            }
            Err(r) => r,
        },
    }
}
