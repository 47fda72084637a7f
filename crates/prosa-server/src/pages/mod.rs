//! Server-rendered pages: login, logout, assets, and the entry redirect. The panel and the
//! administration pages live in their own modules.

use crate::auth::{MaybeUser, Principal};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use prosa_domain::model::Role;
use prosa_web::{LayoutUser, NavLink, layout};
use serde::Deserialize;

/// The navigation for a role.
pub fn nav_for(role: Role, active: &str) -> Vec<NavLink> {
    let mut links = vec![NavLink {
        href: "/panel",
        label: "Atendimento",
        active: active == "panel",
    }];
    if role >= Role::Supervisor {
        links.push(NavLink {
            href: "/supervision",
            label: "Supervisão",
            active: active == "supervision",
        });
    }
    links.push(NavLink {
        href: "/ratings",
        label: "Avaliações",
        active: active == "ratings",
    });
    if role == Role::Admin {
        links.push(NavLink {
            href: "/admin",
            label: "Administração",
            active: active == "admin",
        });
    }
    links
}

/// A full page for a signed-in person.
pub fn page(
    who: &Principal,
    title: &str,
    active: &str,
    body: Markup,
    scripts: &[&str],
) -> Response {
    let (name, role, csrf) = match who {
        Principal::Person {
            user, csrf_token, ..
        } => (user.name.as_str(), user.role, csrf_token.as_str()),
        Principal::Integration { token_name, user } => (
            token_name.as_str(),
            user.as_ref().map_or(Role::Admin, |u| u.role),
            "",
        ),
    };
    let user = LayoutUser {
        name,
        role_label: role.label_pt(),
        csrf_token: csrf,
    };
    // Every signed-in page: the live badge of untreated notifications (`shell.js`).
    let scripts: Vec<&str> = scripts.iter().copied().chain(["shell.js"]).collect();
    Html(layout(title, Some(&user), &nav_for(role, active), body, &scripts).into_string())
        .into_response()
}

pub async fn index(MaybeUser(who): MaybeUser) -> Redirect {
    match who {
        Some(_) => Redirect::to("/panel"),
        None => Redirect::to("/login"),
    }
}

fn login_page(error: Option<&str>, email: &str) -> Markup {
    let body = html! {
        div class="card login" {
            h1 { "Entrar no Prosa" }
            @if let Some(e) = error { div class="alert" role="alert" { (e) } }
            form method="post" action="/login" {
                label for="email" { "E-mail" }
                input id="email" name="email" type="email" autocomplete="username" required value=(email) autofocus;
                label for="password" { "Senha" }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                button type="submit" { "Entrar" }
            }
        }
    };
    layout("Entrar", None, &[], body, &[])
}

pub async fn login_form(MaybeUser(who): MaybeUser) -> Response {
    if who.is_some() {
        return Redirect::to("/panel").into_response();
    }
    Html(login_page(None, "").into_string()).into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
}

pub async fn login_submit(
    State(state): State<AppState>,
    crate::throttle::ClientIp(ip): crate::throttle::ClientIp,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    use crate::api::LoginOutcome;
    match crate::api::check_login(&state, &form.email, &form.password, ip).await? {
        LoginOutcome::Refused => {
            let page = login_page(Some("E-mail ou senha incorretos."), &form.email);
            Ok((StatusCode::UNAUTHORIZED, Html(page.into_string())).into_response())
        }
        LoginOutcome::Throttled { retry_after_secs } => {
            let page = login_page(
                Some(&crate::throttle::message(retry_after_secs)),
                &form.email,
            );
            Ok((
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry_after_secs.to_string())],
                Html(page.into_string()),
            )
                .into_response())
        }
        LoginOutcome::Accepted(user) => {
            let cookie = crate::api::start_session(&state, user.id).await?;
            let mut resp = Redirect::to("/panel").into_response();
            resp.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.into()))?,
            );
            Ok(resp)
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf_token: String,
}

pub async fn logout(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    if let Some(Principal::Person {
        session_hash,
        csrf_token,
        ..
    }) = &who
    {
        if *csrf_token != form.csrf_token {
            return Err(ApiError::Forbidden);
        }
        state.store.delete_session(session_hash).await?;
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("prosa_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(resp)
}

pub async fn asset(Path((_hash, name)): Path<(String, String)>) -> Response {
    match prosa_web::asset(&name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.mime),
                (
                    header::CACHE_CONTROL,
                    "public, max-age=31536000, immutable".to_owned(),
                ),
                (header::ETAG, format!("\"{}\"", a.hash)),
            ],
            a.bytes.into_owned(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Sends a signed-out visitor of a page to the login.
#[allow(clippy::result_large_err)] // a redirect, built once per page view
pub fn require_person(who: Option<Principal>) -> Result<Principal, Response> {
    match who {
        Some(p @ Principal::Person { .. }) => Ok(p),
        _ => Err(Redirect::to("/login").into_response()),
    }
}
