//! The `/panel` and `/supervision` pages.

use crate::auth::MaybeUser;
use crate::pages::{page, require_person};
use axum::response::{IntoResponse, Response};
use maud::html;
use prosa_domain::model::Role;

pub async fn panel_page(MaybeUser(who): MaybeUser) -> Response {
    let who = match require_person(who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    page(
        &who,
        "Atendimento",
        "panel",
        html! { p { "…" } },
        &["panel.js"],
    )
}

pub async fn supervision_page(MaybeUser(who): MaybeUser) -> Response {
    let who = match require_person(who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if who.role() < Role::Supervisor {
        return axum::response::Redirect::to("/panel").into_response();
    }
    page(
        &who,
        "Supervisão",
        "supervision",
        html! { p { "…" } },
        &["panel.js"],
    )
}
