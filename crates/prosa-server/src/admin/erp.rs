//! The ERP connection's administration: which ERP (demo, MK Solutions, IXC Provedor), its
//! address, credentials and time limit, and "Testar conexão" with the values of the form
//! before saving. Saved settings override the config file's `[erp]` and are put in use at
//! once (`crate::erp_live`). Credentials are stored and never shown back (the page shows
//! "••• definido"; the API names which are set); an empty credential field keeps the stored
//! one. The address goes through the SSRF egress policy unless the administrator allows a
//! private address (an ERP on the ISP's LAN). Every save and test is audited, without secrets.

use super::audit;
use super::pages::{
    Fields, MultiForm, Problem, admin_only, admin_page, admin_post, back, csrf, err_response,
    field_msg, general_msg, one, problem,
};
use crate::auth::{Admin, MaybeUser, Principal};
use crate::erp_live::{self, ERP_SETTING};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use prosa_channel::egress::{EgressError, EgressPolicy};
use prosa_erp::{Erp as _, ErpConfig, ErpError, HealthState};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Instant;
use utoipa::ToSchema;

/// The ERPs an administrator may choose.
pub const KINDS: &[(&str, &str)] = &[
    ("demo", "ERP de demonstração (embutido)"),
    ("mk", "MK Solutions"),
    ("ixc", "IXC Provedor"),
];

/// The credentials of each kind: (kind, field, label).
const SECRETS: &[(&str, &str, &str)] = &[
    ("mk", "user_token", "o token do usuário"),
    ("mk", "password", "a contra-senha do perfil de web services"),
    ("ixc", "token", "o token da API"),
];

const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// The ERP connection as the API shows it: never a credential's value.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErpSettingsDto {
    /// `demo`, `mk` or `ixc`.
    pub kind: String,
    pub base_url: Option<String>,
    /// Time limit of one request to the ERP, in milliseconds.
    pub timeout_ms: u64,
    /// The address may be on a private or local network (an ERP on the ISP's LAN).
    pub allow_private: bool,
    /// The credentials stored for this kind (names only; values are never returned).
    pub secrets_set: Vec<String>,
    /// `database` (saved by an administrator) or `config` (the config file's `[erp]`).
    pub source: String,
    /// Health of the connection in use: `up`, `degraded` or `down`.
    pub health: String,
    pub last_error: Option<String>,
}

/// A new ERP connection. Empty or absent credentials keep the stored ones (same kind).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErpSettingsInput {
    /// `demo`, `mk` or `ixc`.
    pub kind: String,
    /// MK: `https://host:port` (without `/mk`); IXC: `https://host` (without `/webservice/v1`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// MK: the user token.
    #[serde(default)]
    pub user_token: Option<String>,
    /// MK: the web-service profile's counter-password.
    #[serde(default)]
    pub password: Option<String>,
    /// IXC: the API token (`<user id>:<hash>`).
    #[serde(default)]
    pub token: Option<String>,
    /// 1000 to 60000 (default 10000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Allow a private or local address (refused by default: SSRF protection).
    #[serde(default)]
    pub allow_private: Option<bool>,
}

/// The result of "Testar conexão".
#[derive(Debug, Serialize, ToSchema)]
pub struct ErpTestDto {
    pub ok: bool,
    /// `ok`, `unauthorized`, `timeout`, `unreachable`, `unexpected`, `not_allowed` or `error`.
    pub outcome: String,
    /// What happened, in pt-BR.
    pub message: String,
    pub latency_ms: u64,
}

fn secrets_of(
    kind: &str,
) -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    let kind = kind.to_owned();
    SECRETS.iter().filter(move |(k, _, _)| *k == kind)
}

fn has(v: &Value, key: &str) -> bool {
    v.get(key)
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// The settings in use, as the API shows them.
pub async fn current(state: &AppState) -> Result<ErpSettingsDto, ApiError> {
    let v = state.erp.source();
    let source = if state.store.setting(ERP_SETTING).await?.is_some() {
        "database"
    } else {
        "config"
    };
    let kind = v["kind"].as_str().unwrap_or("demo").to_owned();
    let health = state.erp.health();
    Ok(ErpSettingsDto {
        base_url: v["base_url"].as_str().map(str::to_owned),
        timeout_ms: v["timeout_ms"].as_u64().unwrap_or(DEFAULT_TIMEOUT_MS),
        allow_private: v["allow_private"].as_bool().unwrap_or(false),
        secrets_set: secrets_of(&kind)
            .filter(|(_, f, _)| has(&v, f))
            .map(|(_, f, _)| (*f).to_owned())
            .collect(),
        source: source.into(),
        health: match health.state {
            HealthState::Up => "up",
            HealthState::Degraded => "degraded",
            HealthState::Down => "down",
        }
        .into(),
        last_error: health.last_error,
        kind,
    })
}

fn egress_problem(e: EgressError) -> ApiError {
    let message = match e {
        EgressError::Private(host) => format!(
            "o endereço {host} é de uma rede interna (privada ou local). Se o ERP fica na rede do provedor, marque \"Permitir endereço de rede interna\"."
        ),
        EgressError::Unresolvable(host) => {
            format!("não foi possível encontrar o servidor {host} (confira o nome)")
        }
        EgressError::Scheme => "use um endereço http:// ou https://".into(),
        EgressError::Invalid(_) => "endereço inválido".into(),
    };
    ApiError::invalid("base_url", message)
}

/// Checks the input against the settings in use and returns the settings to store (the
/// config document of `prosa_erp::ErpConfig`, with `allow_private`) and the names of the
/// credentials it replaces.
pub async fn validate(
    state: &AppState,
    input: &ErpSettingsInput,
) -> Result<(Value, Vec<String>), ApiError> {
    let kind = input.kind.trim();
    if !KINDS.iter().any(|(k, _)| *k == kind) {
        return Err(ApiError::invalid(
            "kind",
            "escolha o ERP: demonstração, MK Solutions ou IXC Provedor",
        ));
    }
    if kind == "demo" {
        return Ok((json!({"kind": "demo"}), Vec::new()));
    }
    let current = state.erp.source();
    let same_kind = current["kind"].as_str() == Some(kind);
    // The other options of the same kind (ticket codes from the config file…) are kept.
    let mut v = if same_kind {
        current.clone()
    } else {
        json!({})
    };
    v["kind"] = json!(kind);
    let base = input
        .base_url
        .as_deref()
        .unwrap_or("")
        .trim()
        .trim_end_matches('/')
        .to_owned();
    if base.is_empty() {
        return Err(ApiError::invalid(
            "base_url",
            "informe o endereço do ERP (por exemplo https://erp.provedor.com.br)",
        ));
    }
    match url::Url::parse(&base) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
        _ => {
            return Err(ApiError::invalid(
                "base_url",
                "endereço inválido: use http://servidor:porta ou https://servidor",
            ));
        }
    }
    let timeout_ms = input
        .timeout_ms
        .or_else(|| {
            if same_kind {
                current["timeout_ms"].as_u64()
            } else {
                None
            }
        })
        .unwrap_or(DEFAULT_TIMEOUT_MS);
    if !(1_000..=60_000).contains(&timeout_ms) {
        return Err(ApiError::invalid(
            "timeout_ms",
            "o tempo limite deve ficar entre 1 e 60 segundos",
        ));
    }
    let allow_private = input.allow_private.unwrap_or(false);
    if !allow_private {
        EgressPolicy {
            allowed_private_hosts: state.config.egress.allowed_private_hosts.clone(),
        }
        .check(&base)
        .await
        .map_err(egress_problem)?;
    }
    let mut replaced = Vec::new();
    for (_, field, label) in secrets_of(kind) {
        let typed = match *field {
            "user_token" => input.user_token.as_deref(),
            "password" => input.password.as_deref(),
            _ => input.token.as_deref(),
        }
        .map(str::trim)
        .unwrap_or("");
        if !typed.is_empty() {
            v[*field] = json!(typed);
            replaced.push((*field).to_owned());
        } else if !(same_kind && has(&current, field)) {
            return Err(ApiError::invalid(*field, format!("informe {label}")));
        }
    }
    v["base_url"] = json!(base);
    v["timeout_ms"] = json!(timeout_ms);
    v["allow_private"] = json!(allow_private);
    // One call may take two requests (MK logs in first): the whole call gets twice the time.
    let mut resilience = v.get("resilience").cloned().unwrap_or_else(|| json!({}));
    if !resilience.is_object() {
        resilience = json!({});
    }
    resilience["call_timeout_ms"] = json!(timeout_ms * 2 + 1_000);
    v["resilience"] = resilience;
    serde_json::from_value::<ErpConfig>(v.clone())
        .map_err(|e| ApiError::invalid("kind", format!("configuração inválida: {e}")))?;
    Ok((v, replaced))
}

fn test_result(e: Option<&ErpError>, latency_ms: u64, timeout_ms: u64) -> ErpTestDto {
    let (outcome, message) = match e {
        None => (
            "ok",
            format!("Conexão funcionando: o ERP respondeu em {latency_ms} ms."),
        ),
        Some(ErpError::Unauthorized) => (
            "unauthorized",
            "O ERP recusou as credenciais: confira o token e a senha.".to_owned(),
        ),
        Some(ErpError::Unavailable(d)) if d == "timeout" => (
            "timeout",
            format!(
                "Tempo esgotado: o ERP não respondeu em {} segundos.",
                timeout_ms.div_ceil(1000)
            ),
        ),
        Some(ErpError::Unavailable(_)) => (
            "unreachable",
            "Não foi possível conectar ao ERP: confira o endereço, a porta e se o servidor está no ar."
                .to_owned(),
        ),
        Some(ErpError::Protocol(_)) => (
            "unexpected",
            "O ERP respondeu algo inesperado: confira se o endereço aponta para o MK Solutions ou o IXC Provedor."
                .to_owned(),
        ),
        Some(other) => ("error", format!("O ERP respondeu com erro: {other}")),
    };
    ErpTestDto {
        ok: e.is_none(),
        outcome: outcome.into(),
        message,
        latency_ms,
    }
}

/// Tries the connection the input describes (not saved), once, without retries.
pub async fn test(
    state: &AppState,
    who: &Principal,
    input: &ErpSettingsInput,
) -> Result<ErpTestDto, ApiError> {
    let (mut v, _) = validate(state, input).await?;
    let timeout_ms = v["timeout_ms"].as_u64().unwrap_or(DEFAULT_TIMEOUT_MS);
    if v.get("resilience").is_some() {
        v["resilience"]["read_attempts"] = json!(1);
    }
    let start = Instant::now();
    let result = match erp_live::build(&v, &state.store).await {
        Ok(erp) => erp.test_connection().await,
        Err(e) => Err(e),
    };
    let dto = test_result(
        result.as_ref().err(),
        start.elapsed().as_millis() as u64,
        timeout_ms,
    );
    audit(
        state,
        who,
        "erp.test",
        "setting:erp".into(),
        json!({"kind": v["kind"], "base_url": v["base_url"], "outcome": dto.outcome}),
    )
    .await?;
    Ok(dto)
}

/// Saves the settings and puts them in use at once (other instances follow within
/// `erp_live::REFRESH`).
pub async fn save(
    state: &AppState,
    who: &Principal,
    input: &ErpSettingsInput,
) -> Result<ErpSettingsDto, ApiError> {
    let (v, replaced) = validate(state, input).await?;
    let erp = erp_live::build(&v, &state.store).await.map_err(|e| {
        ApiError::invalid(
            "base_url",
            format!("não foi possível usar estes dados: {e}"),
        )
    })?;
    state.store.put_setting(ERP_SETTING, &v).await?;
    state.erp.replace(erp, v.clone());
    audit(
        state,
        who,
        "erp.update",
        "setting:erp".into(),
        json!({
            "kind": v["kind"],
            "base_url": v["base_url"],
            "timeout_ms": v["timeout_ms"],
            "allow_private": v["allow_private"],
            "secrets_replaced": replaced,
        }),
    )
    .await?;
    current(state).await
}

#[utoipa::path(get, path = "/api/v1/erp", responses((status = 200, body = ErpSettingsDto)), tag = "administration")]
pub async fn erp_get(
    State(state): State<AppState>,
    Admin(_who): Admin,
) -> Result<Json<ErpSettingsDto>, ApiError> {
    Ok(Json(current(&state).await?))
}

#[utoipa::path(put, path = "/api/v1/erp", request_body = ErpSettingsInput, responses((status = 200, body = ErpSettingsDto), (status = 422)), tag = "administration")]
pub async fn erp_put(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<ErpSettingsInput>,
) -> Result<Json<ErpSettingsDto>, ApiError> {
    Ok(Json(save(&state, &who, &input).await?))
}

/// Tests the connection described by the body (the values of the form, before saving).
#[utoipa::path(post, path = "/api/v1/erp/test", request_body = ErpSettingsInput, responses((status = 200, body = ErpTestDto), (status = 422)), tag = "administration")]
pub async fn erp_test(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<ErpSettingsInput>,
) -> Result<Json<ErpTestDto>, ApiError> {
    Ok(Json(test(&state, &who, &input).await?))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(erp_get, erp_put, erp_test),
    components(schemas(ErpSettingsDto, ErpSettingsInput, ErpTestDto))
)]
pub struct ErpApiDoc;

// ---------------------------------------------------------------- page

fn input_of(f: &Fields) -> ErpSettingsInput {
    let opt = |k: &str| Some(one(f, k).to_owned()).filter(|s| !s.trim().is_empty());
    ErpSettingsInput {
        kind: one(f, "kind").to_owned(),
        base_url: opt("base_url"),
        user_token: opt("user_token"),
        password: opt("password"),
        token: opt("token"),
        timeout_ms: one(f, "timeout_secs")
            .trim()
            .replace(',', ".")
            .parse::<f64>()
            .ok()
            .map(|s| (s * 1000.0).round().max(0.0) as u64),
        allow_private: Some(one(f, "allow_private") == "on"),
    }
}

fn secret_field(id: &str, name: &str, label: &str, set: bool, p: &Option<Problem>) -> Markup {
    html! {
        label for=(id) { (label) }
        input id=(id) name=(name) type="password" autocomplete="off"
            placeholder=(if set { "••• definido — deixe em branco para manter" } else { "" })
            aria-describedby=(format!("{id}-hint"));
        span class="hint" id=(format!("{id}-hint")) {
            @if set { "••• definido. Digite um novo valor só para substituir." } @else { "Ainda não definido." }
        }
        (field_msg(p, name))
    }
}

async fn view(
    state: &AppState,
    who: &Principal,
    p: Option<Problem>,
    typed: Option<&Fields>,
    result: Option<ErpTestDto>,
) -> Response {
    let cur = match current(state).await {
        Ok(c) => c,
        Err(e) => return err_response(e),
    };
    let t = |k: &str, fallback: String| typed.map(|f| one(f, k).to_owned()).unwrap_or(fallback);
    let kind = t("kind", cur.kind.clone());
    let base_url = t("base_url", cur.base_url.clone().unwrap_or_default());
    let timeout = t(
        "timeout_secs",
        format!("{}", cur.timeout_ms as f64 / 1000.0),
    );
    let allow_private = typed
        .map(|f| one(f, "allow_private") == "on")
        .unwrap_or(cur.allow_private);
    let set = |f: &str| cur.kind == kind && cur.secrets_set.iter().any(|s| s == f);
    let (health_label, health_class) = match cur.health.as_str() {
        "up" => ("funcionando", "ok"),
        "degraded" => ("instável", "warn"),
        _ => ("indisponível", "bad"),
    };
    let kind_label = |k: &str| {
        KINDS
            .iter()
            .find(|(x, _)| *x == k)
            .map(|(_, l)| *l)
            .unwrap_or("?")
    };
    let body = html! {
        link rel="stylesheet" href=(prosa_web::asset_url("erp-admin.css"));
        div class="card erp-status" {
            p {
                "Em uso: " strong { (kind_label(&cur.kind)) }
                @if let Some(u) = &cur.base_url { " — " code { (u) } }
                " · situação: " span class=(format!("pill {health_class}")) { (health_label) }
            }
            @if let Some(e) = &cur.last_error { p class="hint" { "Último erro: " (e) } }
            p class="hint" {
                @if cur.source == "database" { "Definido nesta página (vale mais que o arquivo de configuração)." }
                @else { "Vem do arquivo de configuração; ao salvar aqui, esta página passa a valer." }
            }
        }
        (general_msg(&p, &["kind", "base_url", "user_token", "password", "token", "timeout_ms"]))
        form method="post" action="/admin/erp" class="admin-form" id="erp-form" novalidate {
            (csrf(who))
            label for="erp-kind" { "Sistema de gestão (ERP)" }
            select id="erp-kind" name="kind" {
                @for (k, l) in KINDS {
                    option value=(k) selected[*k == kind] { (l) }
                }
            }
            (field_msg(&p, "kind"))
            div data-erp-kinds="mk ixc" {
                label for="erp-base-url" { "Endereço do ERP" }
                input id="erp-base-url" name="base_url" type="url" value=(base_url)
                    placeholder="https://erp.provedor.com.br:8443" aria-describedby="erp-base-url-hint";
                span class="hint" id="erp-base-url-hint" { "MK: sem /mk no final. IXC: sem /webservice/v1." }
                (field_msg(&p, "base_url"))
            }
            fieldset data-erp-kinds="mk" {
                legend { "Credenciais do MK Solutions" }
                (secret_field("erp-user-token", "user_token", "Token do usuário", set("user_token"), &p))
                (secret_field("erp-password", "password", "Contra-senha do perfil de web services", set("password"), &p))
            }
            fieldset data-erp-kinds="ixc" {
                legend { "Credenciais do IXC Provedor" }
                (secret_field("erp-token", "token", "Token da API (id:hash)", set("token"), &p))
            }
            div data-erp-kinds="mk ixc" {
                label for="erp-timeout" { "Tempo limite de cada consulta (segundos)" }
                input id="erp-timeout" name="timeout_secs" type="number" min="1" max="60" step="any" value=(timeout);
                (field_msg(&p, "timeout_ms"))
                div class="check" {
                    input id="erp-private" name="allow_private" type="checkbox" checked[allow_private] aria-describedby="erp-private-hint";
                    label for="erp-private" { "Permitir endereço de rede interna" }
                }
                span class="hint" id="erp-private-hint" {
                    "Marque se o ERP fica na rede local do provedor (10.x, 192.168.x, localhost). Sem isso, endereços internos são recusados por segurança."
                }
            }
            div class="actions" {
                button type="submit" { "Salvar" }
                button type="submit" class="secondary" formaction="/admin/erp/test" id="erp-test" { "Testar conexão" }
            }
            div id="erp-test-result" role="status" aria-live="polite" class=(match &result { Some(r) if r.ok => "test-result ok", Some(_) => "test-result bad", None => "test-result" }) {
                @if let Some(r) = &result { (r.message) }
            }
        }
        script src=(prosa_web::asset_url("erp-admin.js")) defer {}
    };
    admin_page(who, "Conexão com o ERP", body)
}

pub async fn page(State(state): State<AppState>, MaybeUser(who): MaybeUser) -> Response {
    match admin_only(who) {
        Ok(p) => view(&state, &p, None, None, None).await,
        Err(r) => r,
    }
}

pub async fn page_save(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match save(&state, &who, &input_of(&f)).await {
        Ok(_) => back("/admin/erp"),
        Err(e) => match problem(e) {
            Ok(p) => view(&state, &who, Some(p), Some(&f), None).await,
            Err(r) => r,
        },
    }
}

/// "Testar conexão" without JavaScript: the page again, with the result (credentials typed
/// are not written back into the page).
pub async fn page_test(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match test(&state, &who, &input_of(&f)).await {
        Ok(r) => view(&state, &who, None, Some(&f), Some(r)).await,
        Err(e) => match problem(e) {
            Ok(p) => view(&state, &who, Some(p), Some(&f), None).await,
            Err(r) => r,
        },
    }
}
