//! Prosa's server: the HTTP surface (webhooks, REST API, WebSocket, pages), the background
//! workers and the composition of every crate. The binary calls [`serve`].

// Page helpers return an axum `Response` as their error (a redirect or an error page).
#![allow(clippy::result_large_err)]

pub mod admin;
pub mod api;
pub mod auth;
pub mod bot;
pub mod channels;
pub mod clock;
pub mod config;
pub mod demo;
pub mod dto;
pub mod erp_live;
pub mod error;
pub mod hub;
pub mod inactivity;
pub mod maintenance;
pub mod metrics;
pub mod pages;
pub mod panel;
pub mod queue_position;
pub mod state;
pub mod throttle;
pub mod tokens;
pub mod webhook;
pub mod workers;
pub mod ws;

use crate::config::Config;
use crate::state::{AppState, Channels};
use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use prosa_channel::egress::EgressPolicy;
use prosa_storage::{Store, StoreOptions};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;

/// Opens the store the configuration names (migrating it).
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let mut options = StoreOptions::new(&config.database_url);
    options.sqlite_durability = config.sqlite_durability;
    options.max_connections = config.database_max_connections;
    Store::open(&options).await.with_context(|| {
        format!(
            "opening database {}",
            config::mask_url(&config.database_url)
        )
    })
}

/// Builds the shared state.
pub async fn app_state(config: Config, store: Store) -> anyhow::Result<AppState> {
    let erp_settings = erp_live::effective_settings(&config, &store)
        .await
        .context("reading the ERP settings")?;
    let erp = erp_live::build(&erp_settings, &store)
        .await
        .map_err(|e| anyhow::anyhow!("starting the ERP connection: {e}"))?;
    let metrics = Arc::new(metrics::Metrics::default());
    let egress = EgressPolicy {
        allowed_private_hosts: config.egress.allowed_private_hosts.clone(),
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_millis(config.outbox.send_timeout_ms))
        .user_agent(concat!("Prosa/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")?;
    let clock = config.clock;
    Ok(AppState {
        clock,
        config: Arc::new(config),
        store,
        hub: hub::EventHub::default(),
        erp: Arc::new(erp_live::LiveErp::new(erp, erp_settings, metrics.clone())),
        metrics,
        channels: Arc::new(Channels::new(egress, http.clone())),
        http,
        shutdown: state::tokio_util_shutdown::Shutdown::default(),
    })
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}

async fn metrics_page(State(state): State<AppState>) -> impl IntoResponse {
    if let Ok(s) = state.store.outbox_stats().await {
        state.metrics.outbox_depth.set(s.pending + s.in_flight);
        state.metrics.outbox_dead.set(s.dead);
    }
    if let Ok(n) = state.store.count_pending_inbound().await {
        state.metrics.inbound_pending.set(n);
    }
    state.erp.update_gauge();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

async fn openapi() -> impl IntoResponse {
    let mut doc = api::ApiDoc::openapi();
    doc.merge(admin::erp::ErpApiDoc::openapi());
    doc.merge(admin::bot_texts::BotApiDoc::openapi());
    axum::Json(doc)
}

/// Every route.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    let api = Router::new()
        .route("/inboxes", post(api::inbox_create).get(api::inbox_list))
        .route("/inboxes/{id}", get(api::inbox_get).put(api::inbox_update))
        .route("/conversations", get(api::conversation_list))
        .route("/conversations/{id}", get(api::conversation_get))
        .route(
            "/conversations/{id}/messages",
            get(api::message_list).post(api::message_create),
        )
        .route("/contacts", get(api::contact_list))
        .route("/contacts/{id}", get(api::contact_get))
        .route("/users", get(api::user_list).post(api::user_create))
        .route("/users/me", get(api::user_me))
        .route("/teams", get(api::team_list).post(api::team_create))
        .route("/outbox", get(api::outbox_list))
        .route("/tokens", post(api::token_create).get(tokens::token_list))
        .route("/tokens/{id}", axum::routing::delete(tokens::token_revoke))
        .route("/audit", get(api::audit_list))
        .route(
            "/session",
            post(api::session_create).delete(api::session_delete),
        )
        // ---- panel
        .route("/conversations/next", post(panel::take_next))
        .route("/conversations/{id}/take", post(panel::take))
        .route("/conversations/{id}/transfer", post(panel::transfer))
        .route("/conversations/{id}/return", post(panel::return_to_queue))
        .route("/conversations/{id}/close", post(panel::close))
        .route("/conversations/{id}/assign", post(panel::assign))
        .route("/conversations/{id}/erp", get(panel::erp))
        .route("/conversations/{id}/erp/invoice", post(panel::erp_invoice))
        .route("/users/me/presence", axum::routing::put(panel::presence))
        .route(
            "/categories",
            get(panel::category_list).post(panel::category_create),
        )
        .route("/panel/conversations", get(panel::panel_conversations))
        .route("/panel/operators", get(panel::operators))
        .route("/conversations/{id}/earlier", get(panel::history::earlier))
        .route(
            "/conversations/{id}/earlier/{earlier_id}/messages",
            get(panel::history::earlier_messages),
        )
        // ---- end panel
        // ---- admin
        .route(
            "/users/{id}",
            axum::routing::put(admin::people::user_update),
        )
        .route(
            "/teams/{id}",
            axum::routing::put(admin::people::team_update),
        )
        .route(
            "/categories/order",
            axum::routing::put(admin::people::category_order),
        )
        .route(
            "/categories/{id}",
            axum::routing::put(admin::category_update).delete(admin::category_delete),
        )
        .route(
            "/rating-rules",
            get(admin::rating_rule_list).post(admin::rating_rule_create),
        )
        .route(
            "/rating-rules/{id}",
            axum::routing::put(admin::rating_rule_update).delete(admin::rating_rule_delete),
        )
        .route("/service-hours", get(admin::service_hours_get))
        .route("/service-hours/status", get(admin::service_hours_status))
        .route("/service-hours/queue", get(admin::queue::queue_status_all))
        .route(
            "/service-hours/settings",
            axum::routing::put(admin::schedule_settings_put),
        )
        .route("/service-hours/rules", post(admin::service_hours_create))
        .route(
            "/service-hours/rules/{id}",
            axum::routing::put(admin::service_hours_update).delete(admin::service_hours_delete),
        )
        .route(
            "/service-hours/closed-dates",
            post(admin::closed_date_create),
        )
        .route(
            "/service-hours/closed-dates/{day}",
            axum::routing::delete(admin::closed_date_delete),
        )
        .route(
            "/canned-responses",
            get(admin::canned_list).post(admin::canned_create),
        )
        .route(
            "/canned-responses/{id}",
            axum::routing::put(admin::canned_update).delete(admin::canned_delete),
        )
        .route("/notifications", get(admin::notification_list))
        .route(
            "/notifications/unread-count",
            get(admin::notification_count),
        )
        .route("/notifications/{id}/treat", post(admin::notification_treat))
        .route("/ratings", get(admin::rating_list))
        .route("/erp", get(admin::erp::erp_get).put(admin::erp::erp_put))
        .route("/erp/test", post(admin::erp::erp_test))
        .route(
            "/bot/texts",
            get(admin::bot_texts::texts_get).put(admin::bot_texts::texts_put),
        )
        .route(
            "/bot/settings",
            get(admin::bot_texts::settings_get).put(admin::bot_texts::settings_put),
        )
        .route(
            "/assignment",
            get(admin::assignment::assignment_get).put(admin::assignment::assignment_put),
        )
        .route(
            "/teams/{id}/assignment",
            axum::routing::put(admin::assignment::team_assignment_put),
        )
        .route(
            "/users/{id}/max-conversations",
            axum::routing::put(admin::assignment::operator_limit_put),
        )
        // ---- end admin
        .route("/ws", get(ws::upgrade))
        // ---- channels
        .route(
            "/attachments/{message_id}/{index}",
            get(channels::media::serve),
        )
        .route("/inboxes/{id}/test", post(channels::check::test_api))
        .route(
            "/inboxes/{id}/evolution/connect",
            post(channels::pairing::connect_api),
        )
        .route(
            "/inboxes/{id}/evolution/state",
            get(channels::pairing::state_api),
        )
        .route(
            "/conversations/{id}/typing",
            post(channels::typing::operator_typing),
        )
        .route(
            "/conversations/{id}/attachments",
            post(channels::webchat::files::operator_upload).layer(DefaultBodyLimit::max(
                channels::webchat::files::MAX_FILE_BYTES,
            )),
        )
        .route("/openapi.json", get(openapi));
    Router::new()
        .route("/", get(pages::index))
        .route("/login", get(pages::login_form).post(pages::login_submit))
        .route("/logout", post(pages::logout))
        .route("/assets/{hash}/{name}", get(pages::asset))
        // ---- panel
        .route("/panel", get(panel::pages::panel_page))
        .route("/supervision", get(panel::pages::supervision_page))
        // ---- end panel
        // ---- admin
        .route("/admin", get(admin::pages::home))
        .route("/admin/users", get(admin::pages::users).post(admin::pages::users_create))
        .route("/admin/inboxes", get(admin::pages::inboxes::list).post(admin::pages::inboxes::create))
        .route("/admin/inboxes/new", get(admin::pages::inboxes::new_form))
        .route("/admin/inboxes/{id}", get(admin::pages::inboxes::detail).post(admin::pages::inboxes::update))
        .route("/admin/inboxes/{id}/test", post(admin::pages::inboxes::test))
        .route("/admin/inboxes/{id}/connect", post(admin::pages::inboxes::connect))
        .route("/admin/users/{id}/active", post(admin::pages::user_active))
        .route("/admin/users/{id}", post(admin::pages::user_edit))
        .route("/admin/teams/{id}", post(admin::pages::team_rename))
        .route("/admin/teams", get(admin::pages::teams).post(admin::pages::teams_create))
        .route("/admin/categories", get(admin::pages::categories).post(admin::pages::categories_create))
        .route("/admin/categories/{id}", post(admin::pages::categories_update))
        .route("/admin/rating-rules", get(admin::pages::rating_rules).post(admin::pages::rating_rules_save))
        .route("/admin/rating-rules/{id}", post(admin::pages::rating_rules_save))
        .route("/admin/rating-rules/{id}/delete", post(admin::pages::rating_rules_delete))
        .route("/admin/service-hours", get(admin::pages::service_hours))
        .route("/admin/service-hours/{what}", post(admin::pages::service_hours_post))
        .route("/admin/service-hours/rules/{id}", post(admin::pages::service_hours_rule_edit))
        .route("/admin/service-hours/{what}/{id}/delete", post(admin::pages::service_hours_remove))
        .route("/admin/canned-responses", get(admin::pages::canned).post(admin::pages::canned_post))
        .route("/admin/canned-responses/{id}/delete", post(admin::pages::canned_remove))
        .route("/admin/canned-responses/{id}", post(admin::pages::canned_edit))
        .route("/admin/audit", get(admin::pages::audit_page))
        .route("/admin/erp", get(admin::erp::page).post(admin::erp::page_save))
        .route("/admin/erp/test", post(admin::erp::page_test))
        .route("/admin/bot-texts", get(admin::bot_texts::page).post(admin::bot_texts::page_texts))
        .route("/admin/bot-texts/settings", post(admin::bot_texts::page_settings))
        .route("/admin/assignment", get(admin::pages::assignment::page_get))
        .route("/admin/assignment/{*rest}", post(admin::pages::assignment::page_post))
        .route("/ratings", get(admin::pages::ratings))
        .route("/ratings/{id}", get(admin::pages::rating_detail).post(admin::pages::rating_treat))
        // ---- end admin
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_page))
        .route("/webhooks/{kind}/{inbox_id}", post(webhook::receive).get(webhook::handshake))
        .route("/webhooks/meta", post(channels::meta::receive).get(channels::meta::handshake))
        // ---- channels
        .route("/widget.js", get(channels::webchat::widget_js))
        .route("/widget.css", get(channels::webchat::widget_css))
        .route("/widget-demo", get(channels::webchat::demo))
        .nest("/webchat", Router::new()
            .route("/{inbox_id}/session", post(channels::webchat::session).options(channels::webchat::preflight))
            .route("/{inbox_id}/offline", post(channels::webchat::offline).options(channels::webchat::preflight))
            .route("/{inbox_id}/ws", get(channels::webchat::upgrade))
            .route("/{inbox_id}/upload", post(channels::webchat::files::upload).options(channels::webchat::preflight)
                .layer(DefaultBodyLimit::max(channels::webchat::files::MAX_FILE_BYTES)))
            .route("/{inbox_id}/files/{message_id}/{index}", get(channels::webchat::files::file))
            .layer(DefaultBodyLimit::max(16 * 1024))
            .layer(SetResponseHeaderLayer::overriding(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"))))
        .nest("/api/v1", api)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .with_state(state)
}

/// Creates the first administrator when there is no user: from `admin_email`/`admin_password`
/// or with a random password. Returns the credentials to print once.
pub async fn bootstrap_admin(
    config: &Config,
    store: &Store,
) -> anyhow::Result<Option<(String, Option<String>)>> {
    use secrecy::ExposeSecret;
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let email = config
        .admin_email
        .clone()
        .unwrap_or_else(|| "admin@prosa.local".to_owned());
    let (password, generated) = match &config.admin_password {
        Some(p) => (p.expose_secret().to_owned(), false),
        None => (auth::random_password(), true),
    };
    let hash = auth::hash_password(&password)?;
    let id = store
        .create_user(&prosa_storage::users::NewUser {
            email: email.clone(),
            name: "Administrador".into(),
            password_hash: hash,
            role: prosa_domain::model::Role::Admin,
        })
        .await?;
    store
        .record_audit(&prosa_storage::AuditEntry {
            actor_user_id: None,
            actor: "system".into(),
            action: "user.bootstrap".into(),
            target: format!("user:{id}"),
            detail: serde_json::json!({"email": email}),
        })
        .await?;
    Ok(Some((email, generated.then_some(password))))
}

/// Whether the human queue of an inbox is open now, and when it opens next (pt-BR). Without
/// service-hours rules the queue is always open.
pub async fn queue_status(
    state: &AppState,
    inbox: prosa_domain::InboxId,
) -> (bool, Option<String>) {
    admin::queue_status(state, inbox).await
}

/// The 0–10 rating question, with the scores as options.
pub fn rating_request() -> prosa_domain::message::MessageContent {
    prosa_domain::message::MessageContent::text(
        "De 0 a 10, qual nota você dá para este atendimento?",
    )
    .with_options(
        (0..=10)
            .map(|n| prosa_domain::message::MessageOption {
                id: format!("score:{n}"),
                label: n.to_string(),
            })
            .collect(),
    )
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Binds, starts the workers and serves until the shutdown signal.
pub async fn start(config: Config, store: Store) -> anyhow::Result<Running> {
    let addr = config.listen_addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let bound = listener.local_addr()?;
    if store.backend() == prosa_storage::Backend::Sqlite {
        // SQLite means one instance: whatever was in flight belonged to a process that is gone.
        let n = store.recover_outbox_leases().await?;
        if n > 0 {
            tracing::warn!(
                items = n,
                "outbox items were in flight when Prosa stopped; resending them"
            );
        }
    }
    let state = app_state(config, store).await?;
    if let Some(banner) = state.clock.banner() {
        eprintln!("\n{0}\n{banner}\n{0}\n", "!".repeat(78));
        tracing::warn!("{banner}");
    }
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(hub::run_reader(
        state.store.clone(),
        state.hub.clone(),
        state.shutdown.clone(),
    ));
    tasks.spawn(hub::run_pg_listener(
        state.store.clone(),
        state.shutdown.clone(),
    ));
    tasks.spawn(workers::run_inbound(state.clone()));
    tasks.spawn(workers::run_outbox(state.clone()));
    tasks.spawn(panel::assign::run(state.clone()));
    tasks.spawn(maintenance::run(state.clone()));
    let nlu = Arc::new(
        tokio::task::spawn_blocking(prosa_nlu::Nlu::builtin)
            .await
            .context("training the NLU")?,
    );
    tasks.spawn(bot::run(state.clone(), nlu));
    tasks.spawn(channels::telegram::run_polling(state.clone()));
    tasks.spawn(erp_live::run_refresh(state.clone()));
    tasks.spawn(inactivity::run(state.clone()));
    tasks.spawn(queue_position::run(state.clone()));
    let app = router(state.clone());
    let shutdown = state.shutdown.clone();
    let handle = tokio::spawn(async move {
        let server = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.wait().await });
        let result = server.await.context("serving HTTP");
        while tasks.join_next().await.is_some() {}
        result
    });
    Ok(Running {
        addr: bound,
        state,
        handle,
    })
}

impl Running {
    /// Stops accepting, lets workers finish what they hold, and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.state.shutdown.trigger();
        let r = self.handle.await.context("server task")?;
        self.state.store.close().await;
        r
    }
}
