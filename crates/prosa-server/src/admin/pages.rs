//! The administration pages (`/admin/...`, administrators only) and the rated conversations
//! (`/ratings`, every operator: their own notifications). Forms post with the session's CSRF
//! token and redirect back; a validation error re-renders the page with the pt-BR message next
//! to the field. Everything typed by a person is rendered through maud, which escapes it.

use super::*;
use crate::auth::MaybeUser;
use crate::pages::{page, require_person};
use axum::Form;
use axum::response::Redirect;
use maud::{Markup, html};
use prosa_domain::model::Role;
use std::collections::HashMap;

pub(super) type Fields = HashMap<String, Vec<String>>;

#[path = "inboxes.rs"]
pub mod inboxes;

pub mod assignment;

/// Reads an urlencoded body keeping repeated keys (checkbox groups, multi-selects).
pub struct MultiForm(pub Fields);

impl<S: Send + Sync> axum::extract::FromRequest<S> for MultiForm {
    type Rejection = ApiError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = bytes::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::TooLarge)?;
        let mut out: Fields = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(&bytes) {
            out.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        Ok(MultiForm(out))
    }
}

pub(super) fn one<'a>(f: &'a Fields, k: &str) -> &'a str {
    f.get(k)
        .and_then(|v| v.first())
        .map(String::as_str)
        .unwrap_or("")
}

pub(super) fn many<'a>(f: &'a Fields, k: &str) -> Vec<&'a str> {
    f.get(k)
        .map(|v| v.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

/// An error to show next to a field.
#[derive(Default, Clone)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

pub(super) fn problem(e: ApiError) -> Result<Problem, Response> {
    match e {
        ApiError::Invalid { field, message } => Ok(Problem { field, message }),
        ApiError::Conflict(message) => Ok(Problem {
            field: String::new(),
            message,
        }),
        ApiError::NotFound => Ok(Problem {
            field: String::new(),
            message: "registro não encontrado".into(),
        }),
        other => Err(other.into_response()),
    }
}

pub(super) fn field_msg(p: &Option<Problem>, field: &str) -> Markup {
    html! {
        @if let Some(p) = p {
            @if p.field == field {
                span class="field-error" id=(format!("err-{field}")) role="alert" { (p.message) }
            }
        }
    }
}

pub(super) fn general_msg(p: &Option<Problem>, known: &[&str]) -> Markup {
    html! {
        @if let Some(p) = p {
            @if !known.iter().any(|k| p.field == *k) {
                div class="alert" role="alert" {
                    @if !p.field.is_empty() { (p.field) ": " }
                    (p.message)
                }
            }
        }
    }
}

fn forbidden_page(who: &Principal) -> Response {
    let mut r = page(
        who,
        "Acesso negado",
        "",
        html! { div class="card" { h1 { "Acesso negado" } p { "Esta página é só para administradores." } } },
        &[],
    );
    *r.status_mut() = StatusCode::FORBIDDEN;
    r
}

/// The signed-in administrator, or the response to send instead (login or 403 page).
pub(super) fn admin_only(who: Option<Principal>) -> Result<Principal, Response> {
    let p = require_person(who)?;
    if p.role() != Role::Admin {
        return Err(forbidden_page(&p));
    }
    Ok(p)
}

/// For form posts: the administrator, with the form's CSRF token checked.
pub(super) fn admin_post(who: Option<Principal>, f: &Fields) -> Result<Principal, Response> {
    let p = admin_only(who)?;
    check_csrf(&p, f)?;
    Ok(p)
}

fn check_csrf(p: &Principal, f: &Fields) -> Result<(), Response> {
    if p.csrf_token() != Some(one(f, "csrf_token")) {
        return Err(ApiError::Forbidden.into_response());
    }
    Ok(())
}

pub(super) fn csrf(p: &Principal) -> Markup {
    html! { input type="hidden" name="csrf_token" value=(p.csrf_token().unwrap_or("")); }
}

pub(super) fn admin_page(who: &Principal, title: &str, body: Markup) -> Response {
    let body = html! {
        link rel="stylesheet" href=(prosa_web::asset_url("admin.css"));
        div class="admin" {
            nav class="admin-nav" aria-label="Administração" {
                ul {
                    @for (href, label) in ADMIN_LINKS {
                        li { a href=(href) aria-current=[(title == *label).then_some("page")] { (label) } }
                    }
                }
            }
            section class="admin-body" aria-labelledby="page-title" {
                h1 id="page-title" { (title) }
                (body)
            }
        }
    };
    page(who, title, "admin", body, &["admin.js"])
}

const ADMIN_LINKS: &[(&str, &str)] = &[
    ("/admin", "Administração"),
    ("/admin/users", "Usuários"),
    ("/admin/inboxes", "Caixas de entrada"),
    ("/admin/teams", "Equipes"),
    ("/admin/categories", "Categorias"),
    ("/admin/rating-rules", "Regras de avaliação"),
    ("/admin/service-hours", "Horário de atendimento"),
    ("/admin/canned-responses", "Respostas prontas"),
    ("/admin/erp", "Conexão com o ERP"),
    ("/admin/bot-texts", "Bot: textos e ajustes"),
    ("/admin/assignment", "Distribuição automática"),
    ("/admin/audit", "Trilha de auditoria"),
    ("/ratings", "Conversas avaliadas"),
];

pub(super) fn back(to: &str) -> Response {
    Redirect::to(to).into_response()
}

pub(super) fn err_response(e: ApiError) -> Response {
    e.into_response()
}

// ---------------------------------------------------------------- home

pub async fn home(MaybeUser(who): MaybeUser) -> Response {
    let who = match admin_only(who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let body = html! {
        p { "Configure usuários, equipes, categorias, regras de avaliação e horários de atendimento." }
        ul class="admin-cards" {
            @for (href, label) in &ADMIN_LINKS[1..] {
                li { a class="card" href=(href) { (label) } }
            }
        }
    };
    admin_page(&who, "Administração", body)
}

// ---------------------------------------------------------------- users and teams

async fn users_view(
    state: &AppState,
    who: &Principal,
    p: Option<Problem>,
    f: &Fields,
    editing: Option<UserId>,
) -> Response {
    let users = match state.store.list_users().await {
        Ok(u) => u,
        Err(e) => return err_response(e.into()),
    };
    let teams = state.store.list_teams().await.unwrap_or_default();
    let team_name = |t: &TeamId| {
        teams
            .iter()
            .find(|x| x.id == *t)
            .map(|x| x.name.clone())
            .unwrap_or_default()
    };
    let editing = editing.and_then(|id| users.iter().find(|u| u.id == id));
    // An error belongs to the form that was sent: the edit form, or the invitation.
    let empty = Fields::new();
    let (ep, p, f, ef) = match editing {
        Some(_) => (p, None, &empty, f),
        None => (None, p, f, &empty),
    };
    let body = html! {
        (general_msg(&p, &["email", "name", "password", "role"]))
        (general_msg(&ep, &["name", "role", "active", "team_ids"]))
        @if let Some(u) = editing {
            section class="card edit-card" aria-labelledby="edit-title" {
                h2 id="edit-title" { "Editar " (u.name) }
                p class="muted" { (u.email) }
                form method="post" action=(format!("/admin/users/{}", u.id.0)) class="admin-form" {
                    (csrf(who))
                    label for="e-name" { "Nome" }
                    input id="e-name" name="name" required maxlength="100" value=(if ef.contains_key("name") { one(ef, "name").to_owned() } else { u.name.clone() }) aria-describedby="err-name";
                    (field_msg(&ep, "name"))
                    label for="e-role" { "Papel" }
                    select id="e-role" name="role" aria-describedby="err-role" {
                        @for (v, l) in [("agent", "Atendente"), ("supervisor", "Supervisor"), ("admin", "Administrador")] {
                            option value=(v) selected[(if ef.contains_key("role") { one(ef, "role") } else { u.role.as_str() }) == v] { (l) }
                        }
                    }
                    (field_msg(&ep, "role"))
                    fieldset class="weekdays" {
                        legend { "Equipes" }
                        @if teams.is_empty() { p class="hint" { "Nenhuma equipe cadastrada." } }
                        @for t in &teams {
                            label { input type="checkbox" name="team_id" value=(t.id.0) checked[if ef.contains_key("role") { many(ef, "team_id").contains(&t.id.0.to_string().as_str()) } else { u.team_ids.contains(&t.id) }]; " " (t.name) }
                        }
                    }
                    (field_msg(&ep, "team_ids"))
                    label { input type="checkbox" name="active" value="true" checked[if ef.contains_key("role") { one(ef, "active") == "true" } else { u.active }]; " Ativo" }
                    (field_msg(&ep, "active"))
                    div class="form-actions" {
                        button type="submit" { "Salvar alterações" }
                        a href="/admin/users" { "Cancelar" }
                    }
                }
            }
        }
        table class="admin-table" {
            caption class="sr-only" { "Usuários" }
            thead { tr { th scope="col" { "Nome" } th scope="col" { "E-mail" } th scope="col" { "Papel" } th scope="col" { "Equipes" } th scope="col" { "Situação" } th scope="col" { span class="sr-only" { "Ações" } } } }
            tbody {
                @for u in &users {
                    tr {
                        td { (u.name) } td { (u.email) } td data-label="Papel" { (u.role.label_pt()) }
                        td data-label="Equipes" { (u.team_ids.iter().map(team_name).collect::<Vec<_>>().join(", ")) }
                        td data-label="Situação" { @if u.active { "Ativo" } @else { "Inativo" } }
                        td class="actions" {
                            a href=(format!("/admin/users?edit={}", u.id.0)) aria-label=(format!("Editar {}", u.name)) { "Editar" }
                            @if Some(u.id) != who.user_id() {
                                form method="post" action=(format!("/admin/users/{}/active", u.id.0)) class="inline-form" {
                                    (csrf(who))
                                    input type="hidden" name="active" value=(if u.active { "false" } else { "true" });
                                    button type="submit" class="secondary" { @if u.active { "Desativar" } @else { "Reativar" } }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Convidar usuário" }
        form method="post" action="/admin/users" class="admin-form" {
            (csrf(who))
            label for="u-name" { "Nome" }
            input id="u-name" name="name" required value=(one(f, "name"));
            (field_msg(&p, "name"))
            label for="u-email" { "E-mail" }
            input id="u-email" name="email" type="email" required value=(one(f, "email"));
            (field_msg(&p, "email"))
            label for="u-password" { "Senha inicial (mín. 8 caracteres)" }
            input id="u-password" name="password" type="password" autocomplete="new-password" required;
            (field_msg(&p, "password"))
            label for="u-role" { "Papel" }
            select id="u-role" name="role" {
                option value="agent" { "Atendente" }
                option value="supervisor" { "Supervisor" }
                option value="admin" { "Administrador" }
            }
            (field_msg(&p, "role"))
            label for="u-team" { "Equipe" }
            select id="u-team" name="team_id" {
                option value="" { "(nenhuma)" }
                @for t in &teams { option value=(t.id.0) { (t.name) } }
            }
            button type="submit" { "Criar usuário" }
        }
    };
    admin_page(who, "Usuários", body)
}

pub async fn users(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Query(q): Query<EditQuery>,
) -> Response {
    let editing = q.edit.as_deref().and_then(|s| s.parse().ok()).map(UserId);
    match admin_only(who) {
        Ok(p) => users_view(&state, &p, None, &Fields::new(), editing).await,
        Err(r) => r,
    }
}

pub async fn user_edit(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = path_id(&id).map(UserId) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let input = people::UserUpdateInput {
        name: Some(one(&f, "name").to_owned()),
        role: Some(one(&f, "role").to_owned()),
        team_ids: Some(many(&f, "team_id").into_iter().map(str::to_owned).collect()),
        active: Some(one(&f, "active") == "true"),
    };
    match people::update_user(&state, &who, id, &input).await {
        Ok(()) => back("/admin/users"),
        Err(e) => match problem(e) {
            Ok(mut p) => {
                if p.field.starts_with("team_ids") {
                    p.field = "team_ids".into();
                }
                users_view(&state, &who, Some(p), &f, Some(id)).await
            }
            Err(r) => r,
        },
    }
}

pub async fn users_create(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let input = crate::api::UserInput {
        email: one(&f, "email").to_owned(),
        name: one(&f, "name").to_owned(),
        role: one(&f, "role").to_owned(),
        password: one(&f, "password").to_owned(),
        team_ids: many(&f, "team_id")
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let result = async {
        let role = crate::api::validate_new_user(&input).map_err(|e| match e {
            ApiError::Invalid { field, .. } => ApiError::invalid(
                field.clone(),
                match field.as_str() {
                    "email" => "e-mail inválido",
                    "name" => "nome é obrigatório",
                    "password" => "a senha precisa de ao menos 8 caracteres",
                    _ => "papel inválido",
                },
            ),
            other => other,
        })?;
        let hash = crate::auth::hash_password(&input.password)?;
        let id = state
            .store
            .create_user(&prosa_storage::users::NewUser {
                email: input.email.clone(),
                name: input.name.trim().into(),
                password_hash: hash,
                role,
            })
            .await
            .map_err(duplicate("email", "e-mail já cadastrado"))?;
        for t in &input.team_ids {
            state
                .store
                .add_team_member(TeamId(parse_id("team_id", t)?), id)
                .await?;
        }
        audit(
            &state,
            &who,
            "user.create",
            format!("user:{id}"),
            json!({"email": input.email.trim().to_lowercase(), "role": role.as_str()}),
        )
        .await
    }
    .await;
    match result {
        Ok(()) => back("/admin/users"),
        Err(e) => match problem(e) {
            Ok(p) => users_view(&state, &who, Some(p), &f, None).await,
            Err(r) => r,
        },
    }
}

pub async fn user_active(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = path_id(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let active = one(&f, "active") == "true";
    if Some(UserId(id)) == who.user_id() {
        return back("/admin/users");
    }
    if let Err(e) = state.store.set_user_active(UserId(id), active).await {
        return err_response(e.into());
    }
    if let Err(e) = audit(
        &state,
        &who,
        if active {
            "user.activate"
        } else {
            "user.deactivate"
        },
        format!("user:{id}"),
        json!({}),
    )
    .await
    {
        return err_response(e);
    }
    back("/admin/users")
}

async fn teams_view(state: &AppState, who: &Principal, p: Option<Problem>) -> Response {
    let teams = state.store.list_teams().await.unwrap_or_default();
    let users = state.store.list_users().await.unwrap_or_default();
    let body = html! {
        (general_msg(&p, &["name"]))
        table class="admin-table" {
            caption class="sr-only" { "Equipes" }
            thead { tr { th scope="col" { "Nome" } th scope="col" { "Membros" } } }
            tbody {
                @for t in &teams {
                    tr {
                        td {
                            form method="post" action=(format!("/admin/teams/{}", t.id.0)) class="inline-form" {
                                (csrf(who))
                                label class="sr-only" for=(format!("tn-{}", t.id.0)) { "Novo nome de " (t.name) }
                                input id=(format!("tn-{}", t.id.0)) name="name" value=(t.name) required maxlength="100";
                                button type="submit" class="secondary" { "Renomear" }
                            }
                        }
                        td {
                            @let members = users.iter().filter(|u| u.team_ids.contains(&t.id)).map(|u| u.name.as_str()).collect::<Vec<_>>();
                            @if members.is_empty() { span class="muted" { "Nenhum membro (inclua pela edição do usuário)" } }
                            @else { (members.join(", ")) }
                        }
                    }
                }
            }
        }
        h2 { "Nova equipe" }
        form method="post" action="/admin/teams" class="admin-form" {
            (csrf(who))
            label for="t-name" { "Nome" }
            input id="t-name" name="name" required maxlength="100" aria-describedby="err-name";
            (field_msg(&p, "name"))
            button type="submit" { "Criar equipe" }
        }
    };
    admin_page(who, "Equipes", body)
}

pub async fn teams(State(state): State<AppState>, MaybeUser(who): MaybeUser) -> Response {
    match admin_only(who) {
        Ok(p) => teams_view(&state, &p, None).await,
        Err(r) => r,
    }
}

pub async fn teams_create(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let name = one(&f, "name").trim().to_owned();
    let result = async {
        if name.is_empty() {
            return Err(ApiError::invalid("name", "nome é obrigatório"));
        }
        let id = state
            .store
            .create_team(&name)
            .await
            .map_err(duplicate("name", "já existe uma equipe com este nome"))?;
        audit(
            &state,
            &who,
            "team.create",
            format!("team:{id}"),
            json!({"name": name}),
        )
        .await
    }
    .await;
    match result {
        Ok(()) => back("/admin/teams"),
        Err(e) => match problem(e) {
            Ok(p) => teams_view(&state, &who, Some(p)).await,
            Err(r) => r,
        },
    }
}

// ---------------------------------------------------------------- categories

async fn categories_view(state: &AppState, who: &Principal, p: Option<Problem>) -> Response {
    let cats = match state.store.list_categories_admin().await {
        Ok(c) => c,
        Err(e) => return err_response(e.into()),
    };
    let body = html! {
        (general_msg(&p, &["name"]))
        table class="admin-table" {
            caption class="sr-only" { "Categorias" }
            thead { tr { th scope="col" { "Ordem" } th scope="col" { "Nome" } th scope="col" { "Conversas" } th scope="col" { "Situação" } th scope="col" { span class="sr-only" { "Ações" } } } }
            tbody {
                @for (i, c) in cats.iter().enumerate() {
                    tr {
                        td data-label="Ordem" { (c.position) }
                        td class="cat-name" { (c.name) }
                        td data-label="Conversas" { (c.conversations) }
                        td data-label="Situação" { @if c.active { "Ativa" } @else { "Inativa" } }
                        td {
                            form method="post" action=(format!("/admin/categories/{}", c.id.0)) class="inline-form" {
                                (csrf(who))
                                label class="sr-only" for=(format!("cn-{}", c.id.0)) { "Novo nome de " (c.name) }
                                input id=(format!("cn-{}", c.id.0)) name="name" value=(c.name) required;
                                label class="sr-only" for=(format!("cp-{}", c.id.0)) { "Ordem de " (c.name) }
                                input id=(format!("cp-{}", c.id.0)) name="position" type="number" value=(c.position) class="narrow";
                                label { input type="checkbox" name="active" value="true" checked[c.active]; " Ativa" }
                                button type="submit" name="op" value="up" class="secondary icon" aria-label=(format!("Subir {}", c.name)) title="Subir" disabled[i == 0] { "↑" }
                                button type="submit" name="op" value="down" class="secondary icon" aria-label=(format!("Descer {}", c.name)) title="Descer" disabled[i + 1 == cats.len()] { "↓" }
                                button type="submit" name="op" value="save" { "Salvar" }
                                button type="submit" name="op" value="delete" class="danger" { "Excluir" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Nova categoria" }
        form method="post" action="/admin/categories" class="admin-form" {
            (csrf(who))
            label for="c-name" { "Nome" }
            input id="c-name" name="name" required aria-describedby="err-name";
            (field_msg(&p, "name"))
            button type="submit" { "Criar categoria" }
        }
    };
    admin_page(who, "Categorias", body)
}

pub async fn categories(State(state): State<AppState>, MaybeUser(who): MaybeUser) -> Response {
    match admin_only(who) {
        Ok(p) => categories_view(&state, &p, None).await,
        Err(r) => r,
    }
}

pub async fn categories_create(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match create_category(&state, &who, one(&f, "name")).await {
        Ok(_) => back("/admin/categories"),
        Err(e) => match problem(e) {
            Ok(p) => categories_view(&state, &who, Some(p)).await,
            Err(r) => r,
        },
    }
}

pub async fn categories_update(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = async {
        let id = CategoryId(path_id(&id)?);
        match one(&f, "op") {
            "delete" => return delete_category(&state, &who, id).await,
            "up" | "down" => {
                return people::move_category(&state, &who, id, one(&f, "op") == "up").await;
            }
            _ => {}
        }
        let name = check_category_name(one(&f, "name"))?;
        let position = one(&f, "position")
            .trim()
            .parse::<i64>()
            .map_err(|_| ApiError::invalid("position", "ordem deve ser um número"))?;
        let active = one(&f, "active") == "true";
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
            json!({"name": name, "active": active, "position": position}),
        )
        .await
    }
    .await;
    match result {
        Ok(()) => back("/admin/categories"),
        Err(e) => match problem(e) {
            Ok(p) => categories_view(&state, &who, Some(p)).await,
            Err(r) => r,
        },
    }
}

// ---------------------------------------------------------------- rating rules

async fn rating_rules_view(
    state: &AppState,
    who: &Principal,
    p: Option<Problem>,
    editing: Option<&RatingRuleRecord>,
    typed: Option<&Fields>,
) -> Response {
    let rules = state.store.list_rating_rules().await.unwrap_or_default();
    let users: Vec<_> = state
        .store
        .list_users()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|u| u.active)
        .collect();
    let name_of = |id: &UserId| {
        users
            .iter()
            .find(|u| u.id == *id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| format!("#{}", id.0))
    };
    // What the form shows: what was typed (after an error), the rule being edited, or nothing.
    let description = typed
        .map(|f| one(f, "description").to_owned())
        .or_else(|| editing.map(|r| r.description.clone()))
        .unwrap_or_default();
    let scores: Vec<u8> = match (typed, editing) {
        (Some(f), _) => many(f, "scores")
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect(),
        (None, Some(r)) => r.scores.clone(),
        _ => Vec::new(),
    };
    let selected: Vec<UserId> = match (typed, editing) {
        (Some(f), _) => many(f, "operators")
            .iter()
            .filter_map(|s| s.parse().ok().map(UserId))
            .collect(),
        (None, Some(r)) => r.operators.clone(),
        _ => Vec::new(),
    };
    let action = match editing {
        Some(r) => format!("/admin/rating-rules/{}", r.id.0),
        None => "/admin/rating-rules".to_owned(),
    };
    let body = html! {
        (general_msg(&p, &["description", "scores", "operators"]))
        table class="admin-table" {
            caption class="sr-only" { "Regras de avaliação" }
            thead { tr { th scope="col" { "Descrição" } th scope="col" { "Notas" } th scope="col" { "Operadores" } th scope="col" { "Situação" } th scope="col" { span class="sr-only" { "Ações" } } } }
            tbody {
                @if rules.is_empty() { tr { td colspan="5" class="empty-row" { "Nenhuma regra de avaliação cadastrada." } } }
                @for r in &rules {
                    tr {
                        td { (r.description) }
                        td data-label="Notas" { (r.scores.iter().map(u8::to_string).collect::<Vec<_>>().join(", ")) }
                        td data-label="Operadores" { (r.operators.iter().map(name_of).collect::<Vec<_>>().join(", ")) }
                        td data-label="Situação" { @if r.active { "Ativa" } @else { "Inativa" } }
                        td class="actions" {
                            a href=(format!("/admin/rating-rules?edit={}", r.id.0)) { "Editar" }
                            form method="post" action=(format!("/admin/rating-rules/{}/delete", r.id.0)) class="inline-form" {
                                (csrf(who))
                                button type="submit" class="danger" { "Excluir" }
                            }
                        }
                    }
                }
            }
        }
        h2 { @if editing.is_some() { "Editar regra" } @else { "Nova regra" } }
        form method="post" action=(action) class="admin-form" id="rating-rule-form" {
            (csrf(who))
            label for="r-description" { "Descrição" }
            input id="r-description" name="description" value=(description) maxlength="200" required placeholder="Ex.: Insatisfação";
            (field_msg(&p, "description"))
            fieldset class="scores" {
                legend { "Notas que disparam a regra" }
                @for s in 0u8..=10 {
                    label class="score" {
                        input type="checkbox" name="scores" value=(s) checked[scores.contains(&s)];
                        span { (s) }
                    }
                }
            }
            (field_msg(&p, "scores"))
            fieldset class="picker" data-picker="operators" {
                legend { "Operadores a notificar" }
                div class="picker-cols" {
                    div {
                        label for="pick-available" { "Disponíveis" }
                        select id="pick-available" multiple size="8" {
                            @for u in users.iter().filter(|u| !selected.contains(&u.id)) {
                                option value=(u.id.0) { (u.name) " (" (u.email) ")" }
                            }
                        }
                    }
                    div class="picker-buttons" {
                        button type="button" data-pick="add" aria-label="Adicionar selecionados" { "Adicionar →" }
                        button type="button" data-pick="remove" aria-label="Remover selecionados" { "← Remover" }
                    }
                    div {
                        label for="pick-selected" { "Selecionados" }
                        select id="pick-selected" name="operators" multiple size="8" aria-describedby="err-operators" {
                            @for id in &selected {
                                option value=(id.0) selected { (name_of(id)) }
                            }
                        }
                    }
                }
                p class="hint" { "Selecione nomes e use os botões (ou Enter na lista) para mover entre as listas." }
            }
            (field_msg(&p, "operators"))
            label { input type="checkbox" name="active" value="true" checked[editing.is_none_or(|r| r.active)]; " Ativa" }
            button type="submit" { "Salvar regra" }
            @if editing.is_some() { " " a href="/admin/rating-rules" { "Cancelar" } }
        }
    };
    admin_page(who, "Regras de avaliação", body)
}

#[derive(Deserialize)]
pub struct EditQuery {
    edit: Option<String>,
}

pub async fn rating_rules(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Query(q): Query<EditQuery>,
) -> Response {
    let who = match admin_only(who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let editing = match q.edit.as_deref().and_then(|s| s.parse().ok()) {
        Some(id) => state.store.rating_rule_by_id(RatingRuleId(id)).await.ok(),
        None => None,
    };
    rating_rules_view(&state, &who, None, editing.as_ref(), None).await
}

fn rule_input(f: &Fields) -> RatingRuleInput {
    RatingRuleInput {
        description: one(f, "description").to_owned(),
        scores: many(f, "scores")
            .iter()
            .map(|s| s.parse().unwrap_or(-1))
            .collect(),
        operators: many(f, "operators")
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        active: Some(one(f, "active") == "true"),
    }
}

pub async fn rating_rules_save(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    id: Option<Path<String>>,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let id = id.and_then(|Path(s)| s.parse().ok()).map(RatingRuleId);
    let editing = match id {
        Some(id) => state.store.rating_rule_by_id(id).await.ok(),
        None => None,
    };
    match save_rating_rule(&state, &who, id, &rule_input(&f)).await {
        Ok(_) => back("/admin/rating-rules"),
        Err(e) => match problem(e) {
            Ok(mut p) => {
                if p.field.starts_with("scores") {
                    p.field = "scores".into();
                }
                if p.field.starts_with("operators") {
                    p.field = "operators".into();
                }
                rating_rules_view(&state, &who, Some(p), editing.as_ref(), Some(&f)).await
            }
            Err(r) => r,
        },
    }
}

pub async fn rating_rules_delete(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = path_id(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let description = match state.store.rating_rule_by_id(RatingRuleId(id)).await {
        Ok(r) => r.description,
        Err(e) => return err_response(e.into()),
    };
    if let Err(e) = state.store.delete_rating_rule(RatingRuleId(id)).await {
        return err_response(e.into());
    }
    if let Err(e) = audit(
        &state,
        &who,
        "rating_rule.delete",
        format!("rating_rule:{id}"),
        json!({"description": description}),
    )
    .await
    {
        return err_response(e);
    }
    back("/admin/rating-rules")
}

// ---------------------------------------------------------------- service hours

const WEEKDAYS: &[(&str, &str)] = &[
    ("mon", "Segunda"),
    ("tue", "Terça"),
    ("wed", "Quarta"),
    ("thu", "Quinta"),
    ("fri", "Sexta"),
    ("sat", "Sábado"),
    ("sun", "Domingo"),
];

/// A stored service-hours rule as the form's fields (to edit it).
fn hours_fields(r: &ServiceHoursRecord) -> Fields {
    let mut f = Fields::new();
    f.insert("description".into(), vec![r.description.clone()]);
    f.insert(
        "weekdays".into(),
        r.weekdays.split(',').map(str::to_owned).collect(),
    );
    f.insert(
        "start".into(),
        r.intervals.iter().map(|(s, _)| s.clone()).collect(),
    );
    f.insert(
        "end".into(),
        r.intervals.iter().map(|(_, e)| e.clone()).collect(),
    );
    f.insert(
        "inbox_ids".into(),
        r.inbox_ids.iter().map(i64::to_string).collect(),
    );
    f.insert(
        "active".into(),
        vec![if r.active { "true" } else { "false" }.into()],
    );
    f
}

/// The rule form's fields: what the administrator typed, else what there is to edit.
fn hours_input(f: &Fields) -> ServiceHoursInput {
    let starts = many(f, "start");
    let ends = many(f, "end");
    let intervals = starts
        .iter()
        .zip(ends.iter())
        .filter(|(s, e)| !s.trim().is_empty() || !e.trim().is_empty())
        .map(|(s, e)| prosa_rules::IntervalDraft {
            start: (*s).to_owned(),
            end: (*e).to_owned(),
        })
        .collect();
    ServiceHoursInput {
        description: one(f, "description").to_owned(),
        weekdays: many(f, "weekdays")
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        intervals,
        inbox_ids: many(f, "inbox_ids")
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        active: Some(one(f, "active") == "true"),
    }
}

async fn service_hours_view(
    state: &AppState,
    who: &Principal,
    p: Option<Problem>,
    typed: Option<&Fields>,
    editing: Option<i64>,
) -> Response {
    let rules = state.store.list_service_hours().await.unwrap_or_default();
    let editing = editing.and_then(|id| rules.iter().find(|r| r.id == id));
    let from_record = match (typed, editing) {
        (None, Some(r)) => Some(hours_fields(r)),
        _ => None,
    };
    let typed = typed.or(from_record.as_ref());
    let closed = state.store.list_closed_dates().await.unwrap_or_default();
    let settings = schedule_settings(state).await.unwrap_or_default();
    let inboxes = state.store.list_inboxes().await.unwrap_or_default();
    let schedule = load_schedule(state).await.unwrap_or_default();
    let statuses: Vec<(String, bool, Option<String>)> = inboxes
        .iter()
        .map(|i| {
            let (open, next) = schedule_status(&schedule, i.id, state.clock.now());
            (i.name.clone(), open, next)
        })
        .collect();
    let t = |k: &str| typed.map(|f| one(f, k).to_owned()).unwrap_or_default();
    let typed_days: Vec<String> = typed
        .map(|f| {
            many(f, "weekdays")
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        })
        .unwrap_or_else(|| {
            ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec()
        });
    let starts: Vec<String> = typed
        .map(|f| many(f, "start").iter().map(|s| (*s).to_owned()).collect())
        .unwrap_or_default();
    let ends: Vec<String> = typed
        .map(|f| many(f, "end").iter().map(|s| (*s).to_owned()).collect())
        .unwrap_or_default();
    let rows = starts.len().max(2);
    let typed_inboxes: Vec<String> = typed
        .map(|f| {
            many(f, "inbox_ids")
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        })
        .unwrap_or_default();
    let body = html! {
        (general_msg(&p, &["description", "weekdays", "intervals", "intervals[0].start", "intervals[0].end", "intervals[1].start", "intervals[1].end", "date", "time_zone"]))
        section aria-labelledby="now-title" class="card queue-status" {
            h2 id="now-title" { "Fila aberta agora?" }
            @if statuses.is_empty() { p { "Nenhuma caixa de entrada cadastrada." } }
            ul {
                @for (name, open, next) in &statuses {
                    li {
                        strong { (name) } ": "
                        @if *open { span class="badge open" { "aberta" } }
                        @else {
                            span class="badge closed" { "fechada" }
                            @if let Some(n) = next { " — abre " (n) }
                        }
                    }
                }
            }
        }
        h2 { "Regras" }
        table class="admin-table" {
            caption class="sr-only" { "Regras de atendimento" }
            thead { tr { th scope="col" { "Descrição" } th scope="col" { "Dias" } th scope="col" { "Horários" } th scope="col" { "Caixas" } th scope="col" { span class="sr-only" { "Ações" } } } }
            tbody {
                @if rules.is_empty() { tr { td colspan="5" class="empty-row" { "Nenhuma regra cadastrada: a fila fica sempre aberta." } } }
                @for r in &rules {
                    tr {
                        td { (r.description) }
                        td data-label="Dias" { (r.weekdays.split(',').filter_map(|d| WEEKDAYS.iter().find(|w| w.0 == d).map(|w| w.1)).collect::<Vec<_>>().join(", ")) }
                        td data-label="Horários" { (r.intervals.iter().map(|(s, e)| format!("{s}–{e}")).collect::<Vec<_>>().join(", ")) }
                        td data-label="Caixas" { @if r.inbox_ids.is_empty() { "Todas" } @else { (r.inbox_ids.iter().filter_map(|id| inboxes.iter().find(|i| i.id.0 == *id).map(|i| i.name.clone())).collect::<Vec<_>>().join(", ")) } }
                        td class="actions" {
                            @if !r.active { span class="muted" { "(inativa) " } }
                            a href=(format!("/admin/service-hours?edit={}", r.id)) aria-label=(format!("Editar {}", r.description)) { "Editar" }
                            form method="post" action=(format!("/admin/service-hours/rules/{}/delete", r.id)) class="inline-form" {
                                (csrf(who))
                                button type="submit" class="danger" { "Excluir" }
                            }
                        }
                    }
                }
            }
        }
        h3 id="rule-form-title" { @if let Some(r) = editing { "Editar regra “" (r.description) "”" } @else { "Nova regra" } }
        form method="post" action=(editing.map(|r| format!("/admin/service-hours/rules/{}", r.id)).unwrap_or_else(|| "/admin/service-hours/rules".into())) class="admin-form" aria-labelledby="rule-form-title" {
            (csrf(who))
            label for="s-description" { "Descrição" }
            input id="s-description" name="description" value=(t("description")) required placeholder="Ex.: Atendimento";
            (field_msg(&p, "description"))
            fieldset class="weekdays" {
                legend { "Dias da semana" }
                @for (id, label) in WEEKDAYS {
                    label { input type="checkbox" name="weekdays" value=(id) checked[typed_days.iter().any(|d| d == id)]; " " (label) }
                }
            }
            (field_msg(&p, "weekdays"))
            fieldset class="intervals" {
                legend { "Horários (HH:MM–HH:MM)" }
                @for n in 0..rows {
                    div class="interval" {
                        label for=(format!("start-{n}")) { "Início " (n + 1) }
                        input id=(format!("start-{n}")) name="start" inputmode="numeric" pattern="[0-9]{1,2}:[0-9]{2}" placeholder="08:00" value=(starts.get(n).cloned().unwrap_or_default());
                        label for=(format!("end-{n}")) { "Fim " (n + 1) }
                        input id=(format!("end-{n}")) name="end" inputmode="numeric" pattern="[0-9]{1,2}:[0-9]{2}" placeholder="18:00" value=(ends.get(n).cloned().unwrap_or_default());
                        (field_msg(&p, &format!("intervals[{n}].start")))
                        (field_msg(&p, &format!("intervals[{n}].end")))
                    }
                }
                p class="hint" { "Deixe em branco os horários que não usar." }
            }
            (field_msg(&p, "intervals"))
            label for="s-inboxes" { "Caixas de entrada (nenhuma = todas)" }
            select id="s-inboxes" name="inbox_ids" multiple size="3" {
                @for i in &inboxes { option value=(i.id.0) selected[typed_inboxes.contains(&i.id.0.to_string())] { (i.name) } }
            }
            label { input type="checkbox" name="active" value="true" checked[typed.is_none_or(|f| one(f, "active") == "true")]; " Ativa" }
            div class="form-actions" {
                button type="submit" { @if editing.is_some() { "Salvar regra" } @else { "Adicionar regra" } }
                @if editing.is_some() { a href="/admin/service-hours" { "Cancelar" } }
            }
        }
        h2 { "Datas fechadas" }
        ul class="admin-list" {
            @for c in &closed {
                li {
                    time datetime=(c.day) { (c.day.parse::<jiff::civil::Date>().map(|d| d.strftime("%d/%m/%Y").to_string()).unwrap_or_else(|_| c.day.clone())) }
                    @if let Some(d) = &c.description { " — " (d) }
                    form method="post" action=(format!("/admin/service-hours/closed-dates/{}/delete", c.day)) class="inline-form" {
                        (csrf(who))
                        button type="submit" class="danger" { "Remover" }
                    }
                }
            }
        }
        form method="post" action="/admin/service-hours/closed-dates" class="admin-form" {
            (csrf(who))
            label for="d-date" { "Data" }
            input id="d-date" name="date" type="date" required;
            (field_msg(&p, "date"))
            label for="d-description" { "Descrição (opcional)" }
            input id="d-description" name="description";
            button type="submit" { "Adicionar data" }
        }
        h2 { "Calendário" }
        form method="post" action="/admin/service-hours/settings" class="admin-form" {
            (csrf(who))
            label for="z-zone" { "Fuso horário" }
            input id="z-zone" name="time_zone" value=(settings.time_zone) required;
            (field_msg(&p, "time_zone"))
            label { input type="checkbox" name="national_holidays" value="true" checked[settings.national_holidays]; " Fechar nos feriados nacionais" }
            button type="submit" { "Salvar calendário" }
        }
    };
    admin_page(who, "Horário de atendimento", body)
}

pub async fn service_hours(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Query(q): Query<EditQuery>,
) -> Response {
    let editing = q.edit.as_deref().and_then(|s| s.parse().ok());
    match admin_only(who) {
        Ok(p) => service_hours_view(&state, &p, None, None, editing).await,
        Err(r) => r,
    }
}

pub async fn service_hours_rule_edit(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = path_id(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Err(e) = find_service_hours(&state, id).await {
        return err_response(e);
    }
    match save_service_hours(&state, &who, Some(id), &hours_input(&f)).await {
        Ok(_) => back("/admin/service-hours"),
        Err(e) => match problem(e) {
            Ok(p) => service_hours_view(&state, &who, Some(p), Some(&f), Some(id)).await,
            Err(r) => r,
        },
    }
}

pub async fn service_hours_post(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(what): Path<String>,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = match what.as_str() {
        "rules" => save_service_hours(&state, &who, None, &hours_input(&f))
            .await
            .map(|_| ()),
        "closed-dates" => {
            add_closed_date(
                &state,
                &who,
                &ClosedDateInput {
                    date: one(&f, "date").to_owned(),
                    description: Some(one(&f, "description").to_owned()),
                },
            )
            .await
        }
        "settings" => {
            save_schedule_settings(
                &state,
                &who,
                &ScheduleSettings {
                    time_zone: one(&f, "time_zone").to_owned(),
                    national_holidays: one(&f, "national_holidays") == "true",
                },
            )
            .await
        }
        _ => Err(ApiError::NotFound),
    };
    match result {
        Ok(()) => back("/admin/service-hours"),
        Err(e) => match problem(e) {
            Ok(p) => service_hours_view(&state, &who, Some(p), Some(&f), None).await,
            Err(r) => r,
        },
    }
}

pub async fn service_hours_remove(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path((what, id)): Path<(String, String)>,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = match what.as_str() {
        "rules" => match path_id(&id) {
            Ok(n) => state
                .store
                .delete_service_hours(n)
                .await
                .map_err(ApiError::from),
            Err(e) => Err(e),
        },
        "closed-dates" => state
            .store
            .delete_closed_date(&id)
            .await
            .map_err(ApiError::from),
        _ => Err(ApiError::NotFound),
    };
    if let Err(e) = result {
        return err_response(e);
    }
    if let Err(e) = audit(
        &state,
        &who,
        match what.as_str() {
            "rules" => "service_hours.delete",
            _ => "closed_date.delete",
        },
        match what.as_str() {
            "rules" => format!("service_hours_rule:{id}"),
            _ => format!("closed_date:{id}"),
        },
        json!({}),
    )
    .await
    {
        return err_response(e);
    }
    back("/admin/service-hours")
}

// ---------------------------------------------------------------- canned responses

async fn canned_view(
    state: &AppState,
    who: &Principal,
    p: Option<Problem>,
    typed: Option<&Fields>,
    editing: Option<i64>,
) -> Response {
    let items = state
        .store
        .list_canned_responses()
        .await
        .unwrap_or_default();
    let editing = editing.and_then(|id| items.iter().find(|c| c.id == id));
    let from_record = match (typed, editing) {
        (None, Some(c)) => Some(Fields::from([
            ("shortcut".to_owned(), vec![c.shortcut.clone()]),
            ("content".to_owned(), vec![c.content.clone()]),
        ])),
        _ => None,
    };
    let typed = typed.or(from_record.as_ref());
    let t = |k: &str| typed.map(|f| one(f, k).to_owned()).unwrap_or_default();
    let body = html! {
        (general_msg(&p, &["shortcut", "content"]))
        table class="admin-table" {
            caption class="sr-only" { "Respostas prontas" }
            thead { tr { th scope="col" { "Atalho" } th scope="col" { "Texto" } th scope="col" { span class="sr-only" { "Ações" } } } }
            tbody {
                @if items.is_empty() { tr { td colspan="3" class="empty-row" { "Nenhuma resposta pronta cadastrada." } } }
                @for c in &items {
                    tr {
                        td { code { "/" (c.shortcut) } }
                        td class="pre" { (c.content) }
                        td class="actions" {
                            a href=(format!("/admin/canned-responses?edit={}", c.id)) aria-label=(format!("Editar /{}", c.shortcut)) { "Editar" }
                            form method="post" action=(format!("/admin/canned-responses/{}/delete", c.id)) class="inline-form" {
                                (csrf(who))
                                button type="submit" class="danger" { "Excluir" }
                            }
                        }
                    }
                }
            }
        }
        h2 id="canned-form-title" { @if let Some(c) = editing { "Editar /" (c.shortcut) } @else { "Nova resposta" } }
        form method="post" action=(editing.map(|c| format!("/admin/canned-responses/{}", c.id)).unwrap_or_else(|| "/admin/canned-responses".into())) class="admin-form" aria-labelledby="canned-form-title" {
            (csrf(who))
            label for="cr-shortcut" { "Atalho" }
            input id="cr-shortcut" name="shortcut" value=(t("shortcut")) required placeholder="boleto";
            (field_msg(&p, "shortcut"))
            label for="cr-content" { "Texto" }
            textarea id="cr-content" name="content" rows="4" required aria-describedby="cr-content-hint" { (t("content")) }
            p id="cr-content-hint" class="muted" { "No painel, o atendente digita / e o atalho. Marcadores preenchidos ao inserir: {nome} e {primeiro_nome} (do cliente), {atendente}." }
            (field_msg(&p, "content"))
            div class="form-actions" {
                button type="submit" { "Salvar resposta" }
                @if editing.is_some() { a href="/admin/canned-responses" { "Cancelar" } }
            }
        }
    };
    admin_page(who, "Respostas prontas", body)
}

pub async fn canned(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Query(q): Query<EditQuery>,
) -> Response {
    let editing = q.edit.as_deref().and_then(|s| s.parse().ok());
    match admin_only(who) {
        Ok(p) => canned_view(&state, &p, None, None, editing).await,
        Err(r) => r,
    }
}

pub async fn canned_edit(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = path_id(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let exists = state
        .store
        .list_canned_responses()
        .await
        .map(|l| l.iter().any(|c| c.id == id));
    match exists {
        Ok(true) => {}
        Ok(false) => return err_response(ApiError::NotFound),
        Err(e) => return err_response(e.into()),
    }
    let input = CannedInput {
        shortcut: one(&f, "shortcut").to_owned(),
        content: one(&f, "content").to_owned(),
    };
    match save_canned(&state, &who, Some(id), &input).await {
        Ok(_) => back("/admin/canned-responses"),
        Err(e) => match problem(e) {
            Ok(p) => canned_view(&state, &who, Some(p), Some(&f), Some(id)).await,
            Err(r) => r,
        },
    }
}

pub async fn canned_post(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let input = CannedInput {
        shortcut: one(&f, "shortcut").to_owned(),
        content: one(&f, "content").to_owned(),
    };
    match save_canned(&state, &who, None, &input).await {
        Ok(_) => back("/admin/canned-responses"),
        Err(e) => match problem(e) {
            Ok(p) => canned_view(&state, &who, Some(p), Some(&f), None).await,
            Err(r) => r,
        },
    }
}

pub async fn canned_remove(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = path_id(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Err(e) = state.store.delete_canned_response(id).await {
        return err_response(e.into());
    }
    if let Err(e) = audit(
        &state,
        &who,
        "canned_response.delete",
        format!("canned_response:{id}"),
        json!({}),
    )
    .await
    {
        return err_response(e);
    }
    back("/admin/canned-responses")
}

// ---------------------------------------------------------------- audit

pub async fn audit_page(State(state): State<AppState>, MaybeUser(who): MaybeUser) -> Response {
    let who = match admin_only(who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let entries = state.store.list_audit(200).await.unwrap_or_default();
    let body = html! {
        p { "As 200 alterações mais recentes." }
        table class="admin-table" {
            caption class="sr-only" { "Trilha de auditoria" }
            thead { tr { th scope="col" { "Quando" } th scope="col" { "Quem" } th scope="col" { "Ação" } th scope="col" { "Alvo" } th scope="col" { "Detalhes" } } }
            tbody {
                @for e in &entries {
                    tr {
                        td { (fmt_time(e.created_at)) }
                        td data-label="Quem" { (e.entry.actor) }
                        td data-label="Ação" { code { (e.entry.action) } }
                        td data-label="Alvo" { (e.entry.target) }
                        td class="detail" { (e.entry.detail.to_string()) }
                    }
                }
            }
        }
    };
    admin_page(&who, "Trilha de auditoria", body)
}

fn fmt_time(t: Timestamp) -> String {
    let tz = jiff::tz::TimeZone::get(prosa_rules::service_hours::DEFAULT_TIME_ZONE)
        .unwrap_or(jiff::tz::TimeZone::UTC);
    t.to_zoned_datetime(tz)
        .strftime("%d/%m/%Y %H:%M")
        .to_string()
}

// ---------------------------------------------------------------- rated conversations

fn ratings_page(who: &Principal, title: &str, body: Markup) -> Response {
    let body = html! {
        link rel="stylesheet" href=(prosa_web::asset_url("admin.css"));
        section class="ratings" aria-labelledby="page-title" {
            h1 id="page-title" { (title) }
            (body)
        }
    };
    page(who, title, "ratings", body, &["admin.js"])
}

pub async fn ratings(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Query(q): Query<RatingQuery>,
) -> Response {
    let who = match require_person(who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (mut filter, mut problem_) = match q.filter() {
        Ok(f) => (f, None),
        Err(e) => (
            RatingFilter {
                limit: 100,
                ..RatingFilter::default()
            },
            problem(e).ok(),
        ),
    };
    filter.user_id = match notification_scope(&who, &q) {
        Ok(scope) => scope,
        Err(e) => {
            problem_ = problem_.or(problem(e).ok());
            who.user_id()
        }
    };
    let items = state
        .store
        .list_notifications(&filter)
        .await
        .unwrap_or_default();
    let rules = state.store.list_rating_rules().await.unwrap_or_default();
    let supervisor = who.role() >= Role::Supervisor;
    let users = if supervisor {
        state.store.list_users().await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let user_name = |id: UserId| {
        users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.clone())
            .unwrap_or_default()
    };
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let body = html! {
        (general_msg(&problem_, &[]))
        form method="get" action="/ratings" class="filters" aria-label="Filtros" {
            @if supervisor {
                label { "Operador "
                    select name="operator" {
                        option value="" { "Minhas notificações" }
                        option value="all" selected[q.operator.as_deref() == Some("all")] { "Todos os operadores" }
                        @for u in &users {
                            @if Some(u.id) != who.user_id() {
                                option value=(u.id.0) selected[q.operator.as_deref() == Some(&u.id.0.to_string())] { (u.name) }
                            }
                        }
                    }
                }
            }
            label { "Nota mínima " input name="min_score" type="number" min="0" max="10" value=(v(&q.min_score)) class="narrow"; }
            label { "Nota máxima " input name="max_score" type="number" min="0" max="10" value=(v(&q.max_score)) class="narrow"; }
            label { "Regra "
                select name="rule_id" {
                    option value="" { "Todas" }
                    @for r in &rules { option value=(r.id.0) selected[q.rule_id.as_deref() == Some(&r.id.0.to_string())] { (r.description) } }
                }
            }
            label { "Situação "
                select name="treated" {
                    option value="" { "Todas" }
                    option value="false" selected[q.treated.as_deref() == Some("false")] { "Não tratadas" }
                    option value="true" selected[q.treated.as_deref() == Some("true")] { "Tratadas" }
                }
            }
            label { "De " input name="from" type="date" value=(v(&q.from)); }
            label { "Até " input name="to" type="date" value=(v(&q.to)); }
            button type="submit" { "Filtrar" }
        }
        @if items.is_empty() { p class="empty" { "Nenhuma conversa avaliada com esses filtros." } }
        ul class="rating-list" aria-live="polite" {
            @for n in &items {
                li class={ "rating-item" @if n.treated_at.is_none() { " untreated" } } {
                    a href=(format!("/ratings/{}", n.id.0)) {
                        span class="score" aria-label="Nota" { (n.score.map(|s| s.to_string()).unwrap_or_default()) }
                        span class="desc" { (n.payload.get("description").and_then(Value::as_str).unwrap_or("")) }
                        span class="conv" { "Conversa #" (n.conversation_id.map(|c| c.0).unwrap_or(0)) }
                        @if filter.user_id != Some(n.user_id) { span class="for" { "para " (user_name(n.user_id)) } }
                        span class="when" { (fmt_time(n.created_at)) }
                        span class="state" { @if n.treated_at.is_some() { "Tratada" } @else { "Não tratada" } }
                    }
                }
            }
        }
    };
    ratings_page(&who, "Conversas avaliadas", body)
}

async fn rating_detail_view(
    state: &AppState,
    who: &Principal,
    id: NotificationId,
    p: Option<Problem>,
) -> Response {
    let n = match state.store.notification_by_id(id).await {
        Ok(n) => n,
        Err(e) => return err_response(e.into()),
    };
    let supervisor = who.role() >= Role::Supervisor;
    if Some(n.user_id) != who.user_id() && !supervisor {
        return err_response(ApiError::NotFound);
    }
    let messages = match n.conversation_id {
        Some(c) => state
            .store
            .list_messages(c, None, None, 200)
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    // Who wrote each message, in pt-BR: the subscriber's name, the operator's name, Bot, Sistema.
    let contact = match n.conversation_id {
        Some(c) => match state.store.conversation_by_id(c).await {
            Ok(conv) => state
                .store
                .contact_by_id(conv.contact_id)
                .await
                .ok()
                .and_then(|c| c.name),
            Err(_) => None,
        },
        None => None,
    };
    let users = state.store.list_users().await.unwrap_or_default();
    let author = |m: &prosa_domain::message::Message| -> String {
        use prosa_domain::model::AuthorKind;
        match m.author_kind {
            AuthorKind::Contact => contact.clone().unwrap_or_else(|| "Cliente".into()),
            AuthorKind::Agent => m
                .author_id
                .and_then(|id| users.iter().find(|u| u.id == id))
                .map(|u| u.name.clone())
                .unwrap_or_else(|| "Atendente".into()),
            AuthorKind::Bot => "Bot".into(),
            AuthorKind::System => "Sistema".into(),
        }
    };
    let notified = users
        .iter()
        .find(|u| u.id == n.user_id)
        .map(|u| u.name.clone())
        .unwrap_or_default();
    let body = html! {
        p { a href="/ratings" { "← Voltar" } }
        dl class="card rating-facts" {
            dt { "Regra" } dd { (n.payload.get("description").and_then(Value::as_str).unwrap_or("")) }
            dt { "Nota" } dd { (n.score.map(|s| s.to_string()).unwrap_or_default()) }
            dt { "Cliente" } dd { (contact.clone().unwrap_or_else(|| "—".into())) }
            dt { "Conversa" } dd { "#" (n.conversation_id.map(|c| c.0).unwrap_or(0)) }
            dt { "Avaliada em" } dd { (fmt_time(n.created_at)) }
            dt { "Notificado" } dd { (notified) }
        }
        h2 { "Mensagens" }
        ol class="transcript" {
            @for m in messages.iter().filter(|m| !m.private) {
                li class=(format!("msg {}", m.direction.as_str())) {
                    span class="who" { (author(m)) " · " (fmt_time(m.sent_at)) }
                    p { (m.content.text.clone().unwrap_or_else(|| m.content.unsupported.clone().unwrap_or_default())) }
                }
            }
        }
        h2 { "Tratamento" }
        @if let Some(at) = n.treated_at {
            p { "Tratada em " (fmt_time(at)) }
            p class="pre" { (n.treatment_note.clone().unwrap_or_default()) }
        } @else if Some(n.user_id) != who.user_id() && who.role() != Role::Admin {
            p class="muted" { "Ainda não tratada pelo operador notificado." }
        } @else {
            form method="post" action=(format!("/ratings/{}", n.id.0)) class="admin-form" {
                (csrf(who))
                label for="note" { "O que foi verificado" }
                textarea id="note" name="note" rows="4" required aria-describedby="err-note" {}
                (field_msg(&p, "note"))
                button type="submit" { "Marcar como tratada" }
            }
        }
    };
    ratings_page(who, "Conversa avaliada", body)
}

pub async fn rating_detail(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
) -> Response {
    let who = match require_person(who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match path_id(&id) {
        Ok(id) => rating_detail_view(&state, &who, NotificationId(id), None).await,
        Err(e) => err_response(e),
    }
}

pub async fn rating_treat(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let who = match require_person(who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if who.csrf_token() != f.get("csrf_token").map(String::as_str) {
        return err_response(ApiError::Forbidden);
    }
    let Ok(id) = path_id(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let note = f.get("note").cloned().unwrap_or_default();
    match treat_notification(&state, &who, NotificationId(id), &note).await {
        Ok(()) => back(&format!("/ratings/{id}")),
        Err(e) => match problem(e) {
            Ok(p) => rating_detail_view(&state, &who, NotificationId(id), Some(p)).await,
            Err(r) => r,
        },
    }
}

pub async fn team_rename(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = path_id(&id).map(TeamId) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match people::rename_team(&state, &who, id, one(&f, "name")).await {
        Ok(()) => back("/admin/teams"),
        Err(e) => match problem(e) {
            Ok(p) => teams_view(&state, &who, Some(p)).await,
            Err(r) => r,
        },
    }
}
