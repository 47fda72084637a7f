//! The bot's texts and settings: every text has a pt-BR default (`prosa_bot::BotTexts`); the
//! administrator overrides any of them (placeholders checked: an unknown one is refused with
//! the list of those the text may use) and restores the default. The bot's settings
//! (company name, confirmation questions, attempts, inactivity timeout…) are edited here too.
//! Both are documents in the database; the bot reads them at each turn, so every instance
//! uses a change from its next turn on.

use super::audit;
use super::pages::{
    Fields, MultiForm, admin_only, admin_page, admin_post, back, csrf, err_response, many, one,
};
use crate::auth::{Admin, MaybeUser, Principal};
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use maud::html;
use prosa_bot::{Bot, BotSettings, BotTexts, ConfirmationKind};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use utoipa::ToSchema;

/// The setting document with the overridden texts (key → text).
pub const TEXTS_SETTING: &str = "bot_texts";
/// The setting document with the bot's settings.
pub const SETTINGS_SETTING: &str = "bot_settings";

/// The administrator's overrides.
pub async fn load_overrides(state: &AppState) -> prosa_storage::Result<Map<String, Value>> {
    Ok(state
        .store
        .setting(TEXTS_SETTING)
        .await?
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default())
}

/// The bot's settings (defaults where not set).
pub async fn load_settings(state: &AppState) -> prosa_storage::Result<BotSettings> {
    Ok(state
        .store
        .setting(SETTINGS_SETTING)
        .await?
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// The bot as the administrator configured it now.
pub async fn load_bot(state: &AppState) -> prosa_storage::Result<Bot> {
    let overrides = load_overrides(state).await?;
    Ok(Bot::new(
        BotTexts::with_overrides(&Value::Object(overrides)),
        load_settings(state).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BotTextDto {
    pub key: String,
    /// The text in use.
    pub value: String,
    /// The pt-BR default.
    pub default: String,
    pub overridden: bool,
    /// The placeholders this text may use (`nome` for `{nome}`).
    pub placeholders: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BotTextsDto {
    pub texts: Vec<BotTextDto>,
}

/// Changes to the texts: key → new text, or `null` to restore the default. Keys not given
/// keep their text.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotTextsInput {
    #[schema(value_type = Object)]
    pub texts: Map<String, Value>,
}

fn texts_dto(overrides: &Map<String, Value>) -> BotTextsDto {
    let defaults = BotTexts::default();
    let current = BotTexts::with_overrides(&Value::Object(overrides.clone()));
    BotTextsDto {
        texts: BotTexts::KEYS
            .iter()
            .map(|k| {
                let value = current.get(k).unwrap_or_default().to_owned();
                let default = defaults.get(k).unwrap_or_default().to_owned();
                BotTextDto {
                    key: (*k).to_owned(),
                    overridden: value != default,
                    placeholders: BotTexts::allowed_placeholders(k).unwrap_or_default(),
                    value,
                    default,
                }
            })
            .collect(),
    }
}

/// Applies changes (key → `Some(text)` or `None` to restore); every problem is returned
/// (key, pt-BR message) and nothing is saved when there is one.
pub async fn save_texts(
    state: &AppState,
    who: &Principal,
    changes: Vec<(String, Option<String>)>,
) -> Result<Result<(), Vec<(String, String)>>, ApiError> {
    let defaults = BotTexts::default();
    let mut overrides = load_overrides(state).await?;
    let mut errors = Vec::new();
    let (mut changed, mut restored) = (Vec::new(), Vec::new());
    for (key, value) in changes {
        let Some(default) = defaults.get(&key) else {
            errors.push((key.clone(), format!("texto desconhecido: {key}")));
            continue;
        };
        match value.map(|v| v.replace("\r\n", "\n")) {
            Some(v) if v != default => {
                if let Err(e) = BotTexts::check(&key, &v) {
                    errors.push((key, e));
                    continue;
                }
                if overrides.get(&key).and_then(Value::as_str) != Some(v.as_str()) {
                    overrides.insert(key.clone(), json!(v));
                    changed.push(key);
                }
            }
            _ => {
                if overrides.remove(&key).is_some() {
                    restored.push(key);
                }
            }
        }
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    if changed.is_empty() && restored.is_empty() {
        return Ok(Ok(()));
    }
    state
        .store
        .put_setting(TEXTS_SETTING, &Value::Object(overrides))
        .await?;
    audit(
        state,
        who,
        "bot.texts.update",
        "setting:bot_texts".into(),
        json!({"changed": changed, "restored": restored}),
    )
    .await?;
    Ok(Ok(()))
}

#[utoipa::path(get, path = "/api/v1/bot/texts", responses((status = 200, body = BotTextsDto)), tag = "administration")]
pub async fn texts_get(
    State(state): State<AppState>,
    Admin(_who): Admin,
) -> Result<Json<BotTextsDto>, ApiError> {
    Ok(Json(texts_dto(&load_overrides(&state).await?)))
}

#[utoipa::path(put, path = "/api/v1/bot/texts", request_body = BotTextsInput, responses((status = 200, body = BotTextsDto), (status = 422)), tag = "administration")]
pub async fn texts_put(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<BotTextsInput>,
) -> Result<Json<BotTextsDto>, ApiError> {
    let mut changes = Vec::new();
    for (k, v) in input.texts {
        match v {
            Value::Null => changes.push((k, None)),
            Value::String(s) => changes.push((k, Some(s))),
            _ => return Err(ApiError::invalid(k, "o texto deve ser uma string ou null")),
        }
    }
    if let Err(errors) = save_texts(&state, &who, changes).await? {
        let (field, message) = errors.into_iter().next().unwrap_or_default();
        return Err(ApiError::invalid(field, message));
    }
    Ok(Json(texts_dto(&load_overrides(&state).await?)))
}

/// Checks settings; the error names the field.
pub fn check_settings(s: &BotSettings) -> Result<(), ApiError> {
    let name_ok = |v: &str| !v.trim().is_empty() && v.chars().count() <= 100;
    if !name_ok(&s.company_name) {
        return Err(ApiError::invalid(
            "company_name",
            "informe o nome do provedor (até 100 caracteres)",
        ));
    }
    if s.confirmation.is_empty() {
        return Err(ApiError::invalid(
            "confirmation",
            "escolha ao menos uma pergunta de confirmação",
        ));
    }
    for (field, v) in [
        ("max_confirmation_attempts", s.max_confirmation_attempts),
        ("max_document_attempts", s.max_document_attempts),
        ("max_not_understood", s.max_not_understood),
    ] {
        if !(1..=10).contains(&v) {
            return Err(ApiError::invalid(field, "use um número de 1 a 10"));
        }
    }
    if !(1..=10).contains(&s.max_invoices) {
        return Err(ApiError::invalid("max_invoices", "use um número de 1 a 10"));
    }
    if !(0.0..=1.0).contains(&s.min_confidence) {
        return Err(ApiError::invalid(
            "min_confidence",
            "use um valor entre 0 e 1 (por exemplo 0,5)",
        ));
    }
    for (field, v) in [
        ("category_resolved", &s.category_resolved),
        ("category_no_request", &s.category_no_request),
        ("category_timeout", &s.category_timeout),
    ] {
        if !name_ok(v) {
            return Err(ApiError::invalid(
                field,
                "informe o nome da categoria (até 100 caracteres)",
            ));
        }
    }
    if !(1..=7 * 24 * 3600).contains(&s.inactivity_timeout_secs) {
        return Err(ApiError::invalid(
            "inactivity_timeout_secs",
            "o tempo de inatividade deve ficar entre 1 segundo e 7 dias",
        ));
    }
    if s.inactivity_warning_secs >= s.inactivity_timeout_secs {
        return Err(ApiError::invalid(
            "inactivity_warning_secs",
            "o aviso deve vir antes do encerramento (ou 0 para não avisar)",
        ));
    }
    if s.queue_position_delay_secs > 24 * 3600 {
        return Err(ApiError::invalid(
            "queue_position_delay_secs",
            "a espera antes de informar a posição deve ficar entre 0 (não informar) e 24 horas",
        ));
    }
    if s.queue_position_interval_secs != 0
        && !(5..=24 * 3600).contains(&s.queue_position_interval_secs)
    {
        return Err(ApiError::invalid(
            "queue_position_interval_secs",
            "o intervalo entre avisos de posição deve ficar entre 5 segundos e 24 horas (ou 0 para avisar uma vez)",
        ));
    }
    Ok(())
}

/// Saves settings given as a (partial) JSON object over the current ones.
pub async fn save_settings(
    state: &AppState,
    who: &Principal,
    changes: &Map<String, Value>,
) -> Result<BotSettings, ApiError> {
    let current = load_settings(state).await?;
    let mut v = serde_json::to_value(&current).map_err(anyhow::Error::from)?;
    for (k, x) in changes {
        if v.get(k).is_none() {
            return Err(ApiError::invalid(k.clone(), "ajuste desconhecido"));
        }
        v[k] = x.clone();
    }
    let settings: BotSettings = serde_json::from_value(v.clone()).map_err(|e| {
        let field = changes
            .keys()
            .find(|k| e.to_string().contains(k.as_str()))
            .cloned()
            .unwrap_or_default();
        ApiError::invalid(field, format!("valor inválido: {e}"))
    })?;
    check_settings(&settings)?;
    state.store.put_setting(SETTINGS_SETTING, &v).await?;
    audit(
        state,
        who,
        "bot.settings.update",
        "setting:bot_settings".into(),
        v,
    )
    .await?;
    Ok(settings)
}

#[utoipa::path(get, path = "/api/v1/bot/settings", responses((status = 200, body = Object)), tag = "administration")]
pub async fn settings_get(
    State(state): State<AppState>,
    Admin(_who): Admin,
) -> Result<Json<BotSettings>, ApiError> {
    Ok(Json(load_settings(&state).await?))
}

/// Changes some settings (the others keep their value).
#[utoipa::path(put, path = "/api/v1/bot/settings", request_body = Object, responses((status = 200, body = Object), (status = 422)), tag = "administration")]
pub async fn settings_put(
    State(state): State<AppState>,
    Admin(who): Admin,
    Json(input): Json<Value>,
) -> Result<Json<BotSettings>, ApiError> {
    let Value::Object(changes) = input else {
        return Err(ApiError::invalid("", "envie um objeto JSON"));
    };
    Ok(Json(save_settings(&state, &who, &changes).await?))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(texts_get, texts_put, settings_get, settings_put),
    components(schemas(BotTextDto, BotTextsDto, BotTextsInput))
)]
pub struct BotApiDoc;

// ---------------------------------------------------------------- page

const CONFIRMATIONS: &[(ConfirmationKind, &str, &str)] = &[
    (
        ConfirmationKind::HouseNumber,
        "house_number",
        "Número do endereço",
    ),
    (
        ConfirmationKind::BirthDate,
        "birth_date",
        "Data de nascimento",
    ),
    (
        ConfirmationKind::CepPrefix,
        "cep_prefix",
        "5 primeiros dígitos do CEP",
    ),
    (
        ConfirmationKind::PhoneLastDigits,
        "phone_last_digits",
        "4 últimos dígitos do telefone",
    ),
    (ConfirmationKind::Neighbourhood, "neighbourhood", "Bairro"),
];

type Errors = HashMap<String, String>;

fn err_for(errors: &Errors, field: &str) -> maud::Markup {
    html! {
        @if let Some(m) = errors.get(field) {
            span class="field-error" id=(format!("err-{field}")) role="alert" { (m) }
        }
    }
}

fn minutes(secs: u64) -> String {
    if secs.is_multiple_of(60) {
        (secs / 60).to_string()
    } else {
        format!("{:.2}", secs as f64 / 60.0)
    }
}

async fn view(
    state: &AppState,
    who: &Principal,
    errors: Errors,
    typed: Option<&Fields>,
    saved: Option<&str>,
) -> Response {
    let (overrides, settings) = match (load_overrides(state).await, load_settings(state).await) {
        (Ok(o), Ok(s)) => (o, s),
        (Err(e), _) | (_, Err(e)) => return err_response(e.into()),
    };
    let dto = texts_dto(&overrides);
    let typed_text = |k: &str, current: &str| {
        typed
            .and_then(|f| f.get(&format!("t.{k}")).and_then(|v| v.first()).cloned())
            .unwrap_or_else(|| current.to_owned())
    };
    let st = |k: &str, current: String| {
        typed
            .filter(|f| f.contains_key("company_name"))
            .map(|f| one(f, k).to_owned())
            .unwrap_or(current)
    };
    let chosen: Vec<String> = match typed.filter(|f| f.contains_key("company_name")) {
        Some(f) => many(f, "confirmation")
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        None => settings
            .confirmation
            .iter()
            .filter_map(|c| {
                CONFIRMATIONS
                    .iter()
                    .find(|(k, _, _)| k == c)
                    .map(|(_, id, _)| (*id).to_owned())
            })
            .collect(),
    };
    let body = html! {
        link rel="stylesheet" href=(prosa_web::asset_url("erp-admin.css"));
        @if let Some(m) = saved { div class="notice" role="status" { (m) } }
        @if !errors.is_empty() {
            div class="alert" role="alert" { "Há " (errors.len()) " problema(s) no formulário: veja as mensagens ao lado dos campos." }
        }
        h2 id="settings" { "Ajustes do bot" }
        form method="post" action="/admin/bot-texts/settings" class="admin-form" {
            (csrf(who))
            div class="settings-grid" {
                div {
                    label for="bs-company" { "Nome do provedor ({empresa})" }
                    input id="bs-company" name="company_name" value=(st("company_name", settings.company_name.clone())) required;
                    (err_for(&errors, "company_name"))
                }
                div {
                    label for="bs-timeout" { "Encerrar por inatividade após (minutos)" }
                    input id="bs-timeout" name="inactivity_timeout_min" type="number" min="1" step="any" value=(st("inactivity_timeout_min", minutes(settings.inactivity_timeout_secs)));
                    (err_for(&errors, "inactivity_timeout_secs"))
                }
                div {
                    label for="bs-warning" { "Perguntar \"você ainda está aí?\" após (minutos, 0 = não perguntar)" }
                    input id="bs-warning" name="inactivity_warning_min" type="number" min="0" step="any" value=(st("inactivity_warning_min", minutes(settings.inactivity_warning_secs)));
                    (err_for(&errors, "inactivity_warning_secs"))
                }
                div {
                    label for="bs-qdelay" { "Informar a posição na fila após (minutos de espera, 0 = não informar)" }
                    input id="bs-qdelay" name="queue_position_delay_min" type="number" min="0" step="any" value=(st("queue_position_delay_min", minutes(settings.queue_position_delay_secs)));
                    (err_for(&errors, "queue_position_delay_secs"))
                }
                div {
                    label for="bs-qinterval" { "Atualizar a posição a cada (minutos, 0 = informar uma vez)" }
                    input id="bs-qinterval" name="queue_position_interval_min" type="number" min="0" step="any" value=(st("queue_position_interval_min", minutes(settings.queue_position_interval_secs)));
                    (err_for(&errors, "queue_position_interval_secs"))
                }
                div {
                    label for="bs-conf" { "Respostas erradas na confirmação antes de passar a um atendente" }
                    input id="bs-conf" name="max_confirmation_attempts" type="number" min="1" max="10" value=(st("max_confirmation_attempts", settings.max_confirmation_attempts.to_string()));
                    (err_for(&errors, "max_confirmation_attempts"))
                }
                div {
                    label for="bs-doc" { "CPF/CNPJ inválidos antes de passar a um atendente" }
                    input id="bs-doc" name="max_document_attempts" type="number" min="1" max="10" value=(st("max_document_attempts", settings.max_document_attempts.to_string()));
                    (err_for(&errors, "max_document_attempts"))
                }
                div {
                    label for="bs-nu" { "Mensagens não entendidas seguidas antes de passar a um atendente" }
                    input id="bs-nu" name="max_not_understood" type="number" min="1" max="10" value=(st("max_not_understood", settings.max_not_understood.to_string()));
                    (err_for(&errors, "max_not_understood"))
                }
                div {
                    label for="bs-inv" { "Faturas mostradas no máximo" }
                    input id="bs-inv" name="max_invoices" type="number" min="1" max="10" value=(st("max_invoices", settings.max_invoices.to_string()));
                    (err_for(&errors, "max_invoices"))
                }
                div {
                    label for="bs-conf-min" { "Confiança mínima para agir sem menu (0 a 1)" }
                    input id="bs-conf-min" name="min_confidence" inputmode="decimal" value=(st("min_confidence", settings.min_confidence.to_string()));
                    (err_for(&errors, "min_confidence"))
                }
                div {
                    label for="bs-cat-timeout" { "Categoria ao encerrar por inatividade" }
                    input id="bs-cat-timeout" name="category_timeout" value=(st("category_timeout", settings.category_timeout.clone()));
                    (err_for(&errors, "category_timeout"))
                }
            }
            fieldset {
                legend { "Perguntas para confirmar a identidade (a primeira que o ERP tiver dados é usada)" }
                @for (_, id, label) in CONFIRMATIONS {
                    div class="check" {
                        input type="checkbox" id=(format!("bs-c-{id}")) name="confirmation" value=(id) checked[chosen.iter().any(|c| c == id)];
                        label for=(format!("bs-c-{id}")) { (label) }
                    }
                }
                (err_for(&errors, "confirmation"))
            }
            div class="check" {
                input type="checkbox" id="bs-complaint" name="handoff_after_complaint" checked[typed.filter(|f| f.contains_key("company_name")).map(|f| one(f, "handoff_after_complaint") == "on").unwrap_or(settings.handoff_after_complaint)];
                label for="bs-complaint" { "Passar a um atendente depois de registrar uma reclamação" }
            }
            button type="submit" { "Salvar ajustes" }
        }
        h2 id="texts" { "Textos do bot" }
        p class="hint" { "Cada texto tem um padrão em português. Use só os marcadores listados em cada um (por exemplo {nome}); eles são trocados pelos dados do assinante." }
        form method="post" action="/admin/bot-texts" class="admin-form texts-form" {
            (csrf(who))
            button type="submit" { "Salvar textos" }
            @for t in &dto.texts {
                @let id = format!("t-{}", t.key);
                div class=(if t.overridden { "text-item changed" } else { "text-item" }) id=(format!("item-{}", t.key)) {
                    label for=(id) { (label(&t.key)) " " span class="key" { "(" (t.key) ")" } }
                    textarea id=(id) name=(format!("t.{}", t.key)) rows=(if t.value.len() > 120 { 4 } else { 2 })
                        aria-describedby=(format!("{id}-default {id}-ph")) {
                        (typed_text(&t.key, &t.value))
                    }
                    (err_for(&errors, &t.key))
                    p class="default" id=(format!("{id}-default")) { "Padrão: " (t.default) }
                    div class="row" {
                        span class="hint placeholders" id=(format!("{id}-ph")) {
                            "Marcadores: "
                            @for p in &t.placeholders { code { "{" (p) "}" } }
                        }
                        @if t.overridden {
                            button type="submit" class="secondary" name="restore" value=(t.key) { "Restaurar padrão" }
                        }
                    }
                }
            }
            button type="submit" { "Salvar textos" }
        }
    };
    admin_page(who, "Bot: textos e ajustes", body)
}

pub async fn page(State(state): State<AppState>, MaybeUser(who): MaybeUser) -> Response {
    match admin_only(who) {
        Ok(p) => view(&state, &p, Errors::new(), None, None).await,
        Err(r) => r,
    }
}

pub async fn page_texts(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let restore = one(&f, "restore").to_owned();
    let changes: Vec<(String, Option<String>)> = if !restore.is_empty() {
        vec![(restore.clone(), None)]
    } else {
        let current = match load_overrides(&state).await {
            Ok(o) => BotTexts::with_overrides(&Value::Object(o)),
            Err(e) => return err_response(e.into()),
        };
        BotTexts::KEYS
            .iter()
            .filter_map(|k| {
                let v = f.get(&format!("t.{k}"))?.first()?.replace("\r\n", "\n");
                (current.get(k) != Some(v.as_str())).then(|| ((*k).to_owned(), Some(v)))
            })
            .collect()
    };
    match save_texts(&state, &who, changes).await {
        Ok(Ok(())) if !restore.is_empty() => back(&format!("/admin/bot-texts#item-{restore}")),
        Ok(Ok(())) => back("/admin/bot-texts#texts"),
        Ok(Err(errors)) => view(&state, &who, errors.into_iter().collect(), Some(&f), None).await,
        Err(e) => err_response(e),
    }
}

fn settings_changes(f: &Fields) -> Result<Map<String, Value>, (String, String)> {
    let mut m = Map::new();
    let int = |k: &str, field: &str| -> Result<u64, (String, String)> {
        one(f, k)
            .trim()
            .parse::<u64>()
            .map_err(|_| (field.to_owned(), "informe um número inteiro".to_owned()))
    };
    let mins = |k: &str, field: &str| -> Result<u64, (String, String)> {
        one(f, k)
            .trim()
            .replace(',', ".")
            .parse::<f64>()
            .ok()
            .filter(|m| *m >= 0.0 && m.is_finite())
            .map(|m| (m * 60.0).round() as u64)
            .ok_or_else(|| {
                (
                    field.to_owned(),
                    "informe os minutos (por exemplo 30)".to_owned(),
                )
            })
    };
    m.insert("company_name".into(), json!(one(f, "company_name").trim()));
    m.insert(
        "category_timeout".into(),
        json!(one(f, "category_timeout").trim()),
    );
    m.insert(
        "inactivity_timeout_secs".into(),
        json!(mins("inactivity_timeout_min", "inactivity_timeout_secs")?),
    );
    m.insert(
        "inactivity_warning_secs".into(),
        json!(mins("inactivity_warning_min", "inactivity_warning_secs")?),
    );
    m.insert(
        "queue_position_delay_secs".into(),
        json!(mins(
            "queue_position_delay_min",
            "queue_position_delay_secs"
        )?),
    );
    m.insert(
        "queue_position_interval_secs".into(),
        json!(mins(
            "queue_position_interval_min",
            "queue_position_interval_secs"
        )?),
    );
    for k in [
        "max_confirmation_attempts",
        "max_document_attempts",
        "max_not_understood",
        "max_invoices",
    ] {
        m.insert(k.into(), json!(int(k, k)?));
    }
    let conf: f64 = one(f, "min_confidence")
        .trim()
        .replace(',', ".")
        .parse()
        .map_err(|_| {
            (
                "min_confidence".to_owned(),
                "use um valor entre 0 e 1 (por exemplo 0,5)".to_owned(),
            )
        })?;
    m.insert("min_confidence".into(), json!(conf));
    let chosen = many(f, "confirmation");
    m.insert(
        "confirmation".into(),
        json!(
            CONFIRMATIONS
                .iter()
                .filter(|(_, id, _)| chosen.contains(id))
                .map(|(_, id, _)| *id)
                .collect::<Vec<_>>()
        ),
    );
    m.insert(
        "handoff_after_complaint".into(),
        json!(one(f, "handoff_after_complaint") == "on"),
    );
    Ok(m)
}

pub async fn page_settings(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = match settings_changes(&f) {
        Ok(changes) => save_settings(&state, &who, &changes)
            .await
            .map_err(|e| match e {
                ApiError::Invalid { field, message } => Ok((field, message)),
                other => Err(other),
            }),
        Err(p) => Err(Ok(p)),
    };
    match result {
        Ok(_) => view(&state, &who, Errors::new(), None, Some("Ajustes salvos.")).await,
        Err(Ok((field, message))) => {
            view(
                &state,
                &who,
                [(field, message)].into_iter().collect(),
                Some(&f),
                None,
            )
            .await
        }
        Err(Err(e)) => err_response(e),
    }
}

/// A pt-BR name for each text, for the page (the key is shown beside it).
pub fn label(key: &str) -> &'static str {
    match key {
        "greeting" => "Saudação",
        "ask_need" => "Pergunta \"como posso ajudar?\"",
        "ask_need_named" => "Pergunta \"como posso ajudar?\" com o nome",
        "ask_document" => "Pedido de CPF/CNPJ",
        "document_wrong_length" => "Documento com tamanho errado",
        "document_check_digits" => "Documento com dígitos verificadores errados",
        "document_repeated_digits" => "Documento com dígitos repetidos",
        "document_invalid_character" => "Documento com caracteres inválidos",
        "document_not_found" => "Documento sem cadastro",
        "choose_subscriber" => "Escolha entre cadastros",
        "subscriber_label" => "Nome de um cadastro na lista",
        "choose_contract" => "Escolha entre contratos",
        "invalid_choice" => "Opção inválida",
        "confirm_intro" => "Início da confirmação de identidade",
        "ask_house_number" => "Pergunta: número do endereço",
        "ask_birth_date" => "Pergunta: data de nascimento",
        "ask_neighbourhood" => "Pergunta: bairro",
        "ask_phone_last_digits" => "Pergunta: fim do telefone",
        "ask_cep_prefix" => "Pergunta: início do CEP",
        "confirmation_wrong" => "Resposta de confirmação errada",
        "confirmation_locked" => "Confirmação bloqueada",
        "confirmed" => "Identidade confirmada",
        "restart_identification" => "Identificação refeita",
        "not_understood" => "Mensagem não entendida",
        "out_of_scope" => "Assunto fora do atendimento",
        "media_unsupported" => "Áudio, imagem ou arquivo recebido",
        "anything_else" => "Pergunta \"algo mais?\"",
        "goodbye" => "Despedida",
        "inactivity_warning" => "Aviso de inatividade",
        "timeout" => "Encerramento por inatividade",
        "queue_position" => "Posição na fila de espera",
        "handoff" => "Transferência para atendente",
        "handoff_out_of_hours" => "Transferência fora do horário (com abertura)",
        "handoff_out_of_hours_unknown" => "Transferência fora do horário (sem abertura)",
        "erp_unavailable" => "ERP indisponível",
        "not_supported" => "Ação não disponível",
        "no_open_invoices" => "Sem faturas em aberto",
        "invoice_intro" => "Início da 2ª via",
        "invoice_item" => "Uma fatura da 2ª via",
        "invoice_status_open" => "Situação: em aberto",
        "invoice_status_overdue" => "Situação: vencida",
        "pix_intro" => "Início do Pix copia e cola",
        "debt_summary" => "Resumo de débitos",
        "debt_item" => "Um débito",
        "offer_invoice" => "Oferta de 2ª via",
        "payment_pending" => "Pagamento ainda não compensado",
        "payment_ok" => "Pagamentos em dia",
        "offer_unlock" => "Oferta de desbloqueio de confiança",
        "unlock_done" => "Desbloqueio feito (com data)",
        "unlock_done_no_date" => "Desbloqueio feito (sem data)",
        "unlock_not_blocked" => "Desbloqueio: conexão não bloqueada",
        "unlock_refused_already_used" => "Desbloqueio recusado: já usado",
        "unlock_refused_overdue" => "Desbloqueio recusado: atraso",
        "unlock_refused_inactive" => "Desbloqueio recusado: contrato inativo",
        "unlock_refused_other" => "Desbloqueio recusado: outro motivo",
        "offer_regularize" => "Oferta para regularizar",
        "outage" => "Falha na região",
        "outage_no_forecast" => "Falha sem previsão",
        "outage_default_description" => "Descrição padrão de falha",
        "connection_blocked" => "Conexão bloqueada",
        "connection_blocked_default_reason" => "Motivo padrão de bloqueio",
        "connection_reduced" => "Velocidade reduzida",
        "connection_online" => "Conexão online",
        "connection_offline" => "Conexão desconectada",
        "basic_steps" => "Passos básicos de conexão",
        "steps_resolved" => "Resolvido com os passos básicos",
        "technical_ticket_opened" => "Chamado técnico aberto",
        "equipment_order_opened" => "Ordem de serviço de equipamento aberta",
        "wifi_instructions" => "Instruções de Wi-Fi",
        "tickets_intro" => "Início da lista de chamados",
        "ticket_item" => "Um chamado",
        "order_item" => "Uma ordem de serviço",
        "order_scheduled" => "Visita agendada",
        "status_open" => "Situação: aberto",
        "status_in_progress" => "Situação: em andamento",
        "status_scheduled" => "Situação: agendado",
        "no_tickets" => "Sem chamados",
        "request_registered" => "Solicitação registrada",
        "cancellation_registered" => "Cancelamento registrado",
        "complaint_registered" => "Reclamação registrada",
        "lead_registered" => "Interesse de novo cliente registrado",
        "subject_address_change" => "Assunto: mudança de endereço",
        "subject_plan_change" => "Assunto: mudança de plano",
        "subject_account_change" => "Assunto: alteração cadastral",
        "subject_cancellation" => "Assunto: cancelamento",
        "subject_complaint" => "Assunto: reclamação",
        "subject_no_connection" => "Assunto: sem conexão",
        "subject_slow_connection" => "Assunto: internet lenta",
        "subject_equipment" => "Assunto: equipamento",
        "subject_wifi" => "Assunto: Wi-Fi",
        "option_invoice" => "Botão: 2ª via e Pix",
        "option_connection" => "Botão: problema na internet",
        "option_unlock" => "Botão: desbloqueio",
        "option_tickets" => "Botão: meus chamados",
        "option_cancellation" => "Botão: cancelamento",
        "option_complaint" => "Botão: reclamação",
        "option_human" => "Botão: falar com atendente",
        "option_yes" => "Botão: sim",
        "option_no" => "Botão: não",
        _ => "Texto",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_text_has_a_pt_br_label() {
        for k in prosa_bot::BotTexts::KEYS {
            assert_ne!(super::label(k), "Texto", "{k}");
        }
    }
}
