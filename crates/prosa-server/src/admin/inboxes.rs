//! `/admin/inboxes`: the channels. A list with each inbox's health (last message in, last
//! error, dead letters); create and edit forms with each kind's fields (secrets are never shown
//! back: "definido", and a new value replaces the old); after saving, what to paste where in
//! the provider's screens; "Testar credenciais"; and, for Evolution, QR-code pairing followed
//! live by a short poll (`inboxes.js`).
//!
//! Declared inside `admin::pages` (it shares that module's form helpers); creating and saving
//! go through the REST handlers, so the page and the API validate and audit the same way.

use super::*;
use crate::api::{InboxInput, public_base};
use crate::auth::Admin;
use crate::channels::check::{CheckOutcome, testable};
use crate::channels::pairing::Pairing;
use crate::dto::SECRET_SETTINGS;
use prosa_domain::model::{ChannelKind, Inbox};
use prosa_storage::channel_admin::InboxStatus;
use serde_json::Map;

// ---------------------------------------------------------------- fields per kind

#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    Text,
    Url,
    Secret,
    /// One value per line, stored as a list.
    Lines,
    Select(&'static [(&'static str, &'static str)]),
}

struct FieldSpec {
    name: &'static str,
    label: &'static str,
    input: Input,
    required: bool,
    hint: &'static str,
    /// A blank secret is generated on creation (a token only Prosa and the provider share).
    generated: bool,
}

const fn f(
    name: &'static str,
    label: &'static str,
    input: Input,
    required: bool,
    hint: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        label,
        input,
        required,
        hint,
        generated: false,
    }
}

const fn gen_secret(name: &'static str, label: &'static str, hint: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        label,
        input: Input::Secret,
        required: false,
        hint,
        generated: true,
    }
}

const TELEGRAM_MODES: &[(&str, &str)] = &[
    ("webhook", "Webhook (Prosa com endereço HTTPS público)"),
    ("polling", "Long polling (servidor sem endereço público)"),
];

const API_FIELDS: &[FieldSpec] = &[
    gen_secret(
        "secret",
        "Segredo de assinatura",
        "HMAC-SHA256 das mensagens nos dois sentidos. Em branco, Prosa gera um.",
    ),
    f(
        "callback_url",
        "URL de callback",
        Input::Url,
        false,
        "Onde Prosa entrega as respostas (POST assinado). Opcional.",
    ),
];

const WHATSAPP_CLOUD_FIELDS: &[FieldSpec] = &[
    f(
        "phone_number_id",
        "ID do número de telefone",
        Input::Text,
        true,
        "Meta for Developers → WhatsApp → Configuração da API → “Identificação do número de telefone”.",
    ),
    f(
        "access_token",
        "Token de acesso",
        Input::Secret,
        true,
        "Token permanente de um usuário do sistema (Business Manager → Usuários do sistema).",
    ),
    f(
        "app_secret",
        "Chave secreta do app",
        Input::Secret,
        true,
        "Configurações do app → Básico → Chave secreta do app. Confere a assinatura X-Hub-Signature-256.",
    ),
    gen_secret(
        "verify_token",
        "Token de verificação do webhook",
        "Em branco, Prosa gera um; cole-o na Meta junto com a URL de callback.",
    ),
    f(
        "base_url",
        "Endereço da Graph API",
        Input::Url,
        false,
        "Em branco: https://graph.facebook.com. Mude só para homologação.",
    ),
];

const EVOLUTION_FIELDS: &[FieldSpec] = &[
    f(
        "base_url",
        "Endereço do servidor Evolution",
        Input::Url,
        true,
        "Ex.: https://evolution.seuprovedor.com.br",
    ),
    f(
        "api_key",
        "Chave de API",
        Input::Secret,
        true,
        "A AUTHENTICATION_API_KEY do servidor (ou o token da instância).",
    ),
    f(
        "instance",
        "Nome da instância",
        Input::Text,
        true,
        "Ex.: provedor-principal. “Conectar WhatsApp” cria a instância se ela não existir.",
    ),
    gen_secret(
        "webhook_token",
        "Token do webhook",
        "Enviado pelo Evolution no cabeçalho x-webhook-token. Em branco, Prosa gera um.",
    ),
];

const TELEGRAM_FIELDS: &[FieldSpec] = &[
    f(
        "bot_token",
        "Token do bot",
        Input::Secret,
        true,
        "O token que o @BotFather entrega (/newbot ou /mybots → API Token).",
    ),
    f(
        "mode",
        "Modo de recebimento",
        Input::Select(TELEGRAM_MODES),
        false,
        "",
    ),
    f(
        "base_url",
        "Endereço da Bot API",
        Input::Url,
        false,
        "Em branco: https://api.telegram.org.",
    ),
];

const MESSENGER_FIELDS: &[FieldSpec] = &[
    f(
        "page_id",
        "ID da página do Facebook",
        Input::Text,
        true,
        "Página → Sobre → Transparência da página → ID da página.",
    ),
    f(
        "page_access_token",
        "Token de acesso da página",
        Input::Secret,
        true,
        "Meta for Developers → Messenger → Configurações da API → Gerar token.",
    ),
    f(
        "app_secret",
        "Chave secreta do app",
        Input::Secret,
        true,
        "Configurações do app → Básico → Chave secreta do app.",
    ),
    gen_secret(
        "verify_token",
        "Token de verificação do webhook",
        "Em branco, Prosa gera um.",
    ),
    f(
        "base_url",
        "Endereço da Graph API",
        Input::Url,
        false,
        "Em branco: https://graph.facebook.com.",
    ),
];

const INSTAGRAM_FIELDS: &[FieldSpec] = &[
    f(
        "page_id",
        "ID da conta profissional do Instagram",
        Input::Text,
        true,
        "O ID da conta do Instagram vinculada à página (aparece em Meta for Developers → Instagram).",
    ),
    f(
        "page_access_token",
        "Token de acesso da página",
        Input::Secret,
        true,
        "Token da página do Facebook vinculada à conta do Instagram.",
    ),
    f(
        "app_secret",
        "Chave secreta do app",
        Input::Secret,
        true,
        "Configurações do app → Básico → Chave secreta do app.",
    ),
    gen_secret(
        "verify_token",
        "Token de verificação do webhook",
        "Em branco, Prosa gera um.",
    ),
    f(
        "base_url",
        "Endereço da Graph API",
        Input::Url,
        false,
        "Em branco: https://graph.facebook.com.",
    ),
];

const BOTFRAMEWORK_FIELDS: &[FieldSpec] = &[
    f(
        "app_id",
        "ID do aplicativo (Microsoft App ID)",
        Input::Text,
        true,
        "Azure → seu Azure Bot → Configuração → ID do aplicativo da Microsoft.",
    ),
    f(
        "app_password",
        "Senha do app (segredo do cliente)",
        Input::Secret,
        true,
        "Azure → Registro de aplicativo → Certificados e segredos → Novo segredo do cliente.",
    ),
    f(
        "token_url",
        "Endereço do token",
        Input::Url,
        false,
        "Em branco: login.microsoftonline.com/botframework.com (bots multilocatário).",
    ),
    f(
        "openid_metadata_url",
        "Metadados OpenID",
        Input::Url,
        false,
        "Em branco: login.botframework.com.",
    ),
];

const WEBCHAT_FIELDS: &[FieldSpec] = &[
    f(
        "title",
        "Título da janela do chat",
        Input::Text,
        false,
        "Ex.: Atendimento Provedor Exemplo.",
    ),
    f(
        "allowed_origins",
        "Sites que podem usar o chat",
        Input::Lines,
        false,
        "Um endereço por linha, ex.: https://www.seuprovedor.com.br. Em branco, qualquer site.",
    ),
    f(
        "identity_secret",
        "Segredo de identidade (opcional)",
        Input::Secret,
        false,
        "Com ele, o portal do assinante informa quem é o visitante (HMAC-SHA256). Ao menos 16 caracteres.",
    ),
];

fn fields(kind: ChannelKind) -> &'static [FieldSpec] {
    match kind {
        ChannelKind::Api => API_FIELDS,
        ChannelKind::WhatsappCloud => WHATSAPP_CLOUD_FIELDS,
        ChannelKind::WhatsappEvolution => EVOLUTION_FIELDS,
        ChannelKind::Telegram => TELEGRAM_FIELDS,
        ChannelKind::Messenger => MESSENGER_FIELDS,
        ChannelKind::Instagram => INSTAGRAM_FIELDS,
        ChannelKind::BotFramework => BOTFRAMEWORK_FIELDS,
        ChannelKind::WebChat => WEBCHAT_FIELDS,
    }
}

/// The kind's name as administrators know it.
pub fn kind_label(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Api => "API (sistemas do provedor)",
        ChannelKind::WhatsappCloud => "WhatsApp (API oficial da Meta)",
        ChannelKind::WhatsappEvolution => "WhatsApp (Evolution API, QR code)",
        ChannelKind::Telegram => "Telegram",
        ChannelKind::Messenger => "Facebook Messenger",
        ChannelKind::Instagram => "Instagram Direct",
        ChannelKind::BotFramework => "Microsoft Teams / Bot Framework",
        ChannelKind::WebChat => "Chat do site",
    }
}

/// Form field names carry a prefix so they never clash with the inbox's own fields.
fn form_name(setting: &str) -> String {
    format!("s.{setting}")
}

/// The API's English field messages, in pt-BR, keyed to the form's field names.
fn to_form_problem(e: ApiError) -> ApiError {
    let ApiError::Invalid { field, message } = e else {
        return e;
    };
    let field = match field.strip_prefix("channel.") {
        Some("kind") => "kind".to_owned(),
        Some(s) => form_name(s),
        None => field,
    };
    let message = match message.as_str() {
        "is required" => "campo obrigatório".to_owned(),
        "must be an http(s) URL" => "informe um endereço começando com http:// ou https://".into(),
        "must be a string" => "valor inválido".into(),
        "must be webhook or polling" => "escolha webhook ou long polling".into(),
        "must be 1-256 characters of A-Z a-z 0-9 _ -" => {
            "use de 1 a 256 caracteres entre A-Z, a-z, 0-9, _ e -".into()
        }
        "is required (or channel.webhook_jwt_key)" => "campo obrigatório".into(),
        "must be at least 16 characters" => "use ao menos 16 caracteres".into(),
        "must be a list of origins" => "um endereço por linha".into(),
        "must be at most 100 characters" => "no máximo 100 caracteres".into(),
        "cannot change; create another inbox" => {
            "o tipo não muda; crie outra caixa de entrada".into()
        }
        m if m.starts_with("telegram:") => format!(
            "o Telegram recusou o token ao registrar o webhook ({})",
            m.trim_start_matches("telegram:").trim()
        ),
        m if m.ends_with("is not available in this build") => {
            "este canal não está disponível nesta instalação".into()
        }
        m => m.to_owned(),
    };
    ApiError::Invalid { field, message }
}

// ---------------------------------------------------------------- page frame

fn inboxes_page(who: &Principal, title: &str, body: Markup) -> Response {
    let body = html! {
        link rel="stylesheet" href=(prosa_web::asset_url("admin.css"));
        link rel="stylesheet" href=(prosa_web::asset_url("inboxes.css"));
        div class="admin" {
            nav class="admin-nav" aria-label="Administração" {
                ul {
                    @for (href, label) in ADMIN_LINKS {
                        li { a href=(href) aria-current=[(*href == "/admin/inboxes").then_some("page")] { (label) } }
                    }
                }
            }
            section class="admin-body" aria-labelledby="page-title" {
                h1 id="page-title" { (title) }
                (body)
            }
        }
    };
    page(who, title, "admin", body, &["admin.js", "inboxes.js"])
}

fn when(t: Option<Timestamp>) -> String {
    t.map(fmt_time).unwrap_or_else(|| "nunca".into())
}

// ---------------------------------------------------------------- list

async fn list_view(state: &AppState, who: &Principal) -> Response {
    let inboxes = match state.store.list_inboxes().await {
        Ok(i) => i,
        Err(e) => return err_response(e.into()),
    };
    let statuses = state.store.inbox_statuses().await.unwrap_or_default();
    let body = html! {
        p { "Cada caixa de entrada é um canal por onde os assinantes falam com o provedor." }
        @if inboxes.is_empty() {
            p class="empty" { "Nenhuma caixa de entrada ainda." }
        } @else {
            table class="admin-table inbox-table" {
                caption class="sr-only" { "Caixas de entrada" }
                thead { tr {
                    th scope="col" { "Nome" } th scope="col" { "Canal" } th scope="col" { "Situação" }
                    th scope="col" { "Última mensagem recebida" } th scope="col" { "Último erro" } th scope="col" { "Falhas de envio" }
                } }
                tbody {
                    @for i in &inboxes {
                        @let s = statuses.get(&i.id).cloned().unwrap_or_default();
                        tr {
                            td { a href=(format!("/admin/inboxes/{}", i.id.0)) { (i.name) } }
                            td { (kind_label(i.kind)) }
                            td {
                                @if i.active { "Ativa" } @else { "Inativa" }
                                @if i.bot_enabled { " · robô ligado" }
                            }
                            td { (when(s.last_inbound_at)) }
                            td class="detail" {
                                @match &s.last_error {
                                    Some(e) => { span class="tag bad" { "erro" } " " (e) @if let Some(t) = s.last_error_at { " (" (fmt_time(t)) ")" } }
                                    None => { span class="tag ok" { "sem erros" } }
                                }
                            }
                            td {
                                @if s.dead_letters > 0 {
                                    span class="tag bad" { (s.dead_letters) " sem entrega" }
                                } @else { "0" }
                                @if s.outbox_pending > 0 { " · " (s.outbox_pending) " na fila" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Nova caixa de entrada" }
        form method="get" action="/admin/inboxes/new" class="admin-form inline-form" {
            label for="new-kind" { "Canal" }
            select id="new-kind" name="kind" {
                @for k in ChannelKind::ALL {
                    @if state.channels.get(*k).is_some() {
                        option value=(k.as_str()) { (kind_label(*k)) }
                    }
                }
            }
            button type="submit" { "Continuar" }
        }
    };
    inboxes_page(who, "Caixas de entrada", body)
}

pub async fn list(State(state): State<AppState>, MaybeUser(who): MaybeUser) -> Response {
    match admin_only(who) {
        Ok(p) => list_view(&state, &p).await,
        Err(r) => r,
    }
}

// ---------------------------------------------------------------- form

fn setting_str<'a>(settings: &'a Value, key: &str) -> Option<&'a str> {
    settings.get(key).and_then(Value::as_str)
}

/// The edit form. `inbox` is `None` when creating; `f` holds what was typed after an error.
fn form(
    who: &Principal,
    kind: ChannelKind,
    inbox: Option<&Inbox>,
    teams: &[prosa_domain::model::Team],
    p: &Option<Problem>,
    f: &Fields,
) -> Markup {
    let typed = !f.is_empty();
    let action = match inbox {
        Some(i) => format!("/admin/inboxes/{}", i.id.0),
        None => "/admin/inboxes".into(),
    };
    let name = if typed {
        one(f, "name").to_owned()
    } else {
        inbox.map(|i| i.name.clone()).unwrap_or_default()
    };
    let bot = if typed {
        one(f, "bot_enabled") == "on"
    } else {
        inbox.is_some_and(|i| i.bot_enabled)
    };
    let team = if typed {
        one(f, "team_id").to_owned()
    } else {
        inbox
            .and_then(|i| i.team_id)
            .map(|t| t.0.to_string())
            .unwrap_or_default()
    };
    let empty = Value::Null;
    let settings = inbox.map(|i| &i.settings).unwrap_or(&empty);
    let known: Vec<String> = ["name", "team_id", "kind"]
        .into_iter()
        .map(str::to_owned)
        .chain(fields(kind).iter().map(|s| form_name(s.name)))
        .collect();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    html! {
        (general_msg(p, &known))
        form method="post" action=(action) class="admin-form inbox-form" novalidate {
            (csrf(who))
            input type="hidden" name="kind" value=(kind.as_str());
            label for="i-name" { "Nome da caixa" }
            input id="i-name" name="name" required maxlength="100" value=(name)
                aria-describedby=[p.as_ref().filter(|p| p.field == "name").map(|_| "err-name")];
            (field_msg(p, "name"))
            fieldset {
                legend { (kind_label(kind)) }
                @for s in fields(kind) {
                    @let id = format!("i-{}", s.name);
                    @let fname = form_name(s.name);
                    @let hint_id = format!("hint-{}", s.name);
                    @let err = p.as_ref().is_some_and(|p| p.field == fname);
                    @let described = if err { format!("{hint_id} err-{fname}") } else { hint_id.clone() };
                    @let current = setting_str(settings, s.name);
                    label for=(id) {
                        (s.label)
                        @if s.required && !(s.input == Input::Secret && current.is_some_and(|c| !c.is_empty())) { " " span class="req" aria-hidden="true" { "*" } }
                    }
                    @match s.input {
                        Input::Secret => {
                            @let set = current.is_some_and(|c| !c.is_empty());
                            @if set {
                                p class="secret-state" id=(format!("state-{}", s.name)) { span class="tag ok" { "definido" } " — deixe em branco para manter, ou digite um novo valor para substituir." }
                            }
                            input id=(id) name=(fname) type="password" autocomplete="off" spellcheck="false"
                                required[s.required && !set && !s.generated]
                                placeholder=[set.then_some("(definido — em branco mantém)")]
                                aria-invalid=[err.then_some("true")]
                                aria-describedby=(described);
                        }
                        Input::Select(options) => {
                            @let value = if typed { one(f, &fname).to_owned() } else { current.unwrap_or("").to_owned() };
                            select id=(id) name=(fname) aria-describedby=(described) {
                                @for (v, l) in options {
                                    option value=(v) selected[value == *v] { (l) }
                                }
                            }
                        }
                        Input::Lines => {
                            @let value = if typed {
                                one(f, &fname).to_owned()
                            } else {
                                settings.get(s.name).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n")).unwrap_or_default()
                            };
                            textarea id=(id) name=(fname) rows="3" aria-invalid=[err.then_some("true")] aria-describedby=(described) { (value) }
                        }
                        Input::Text | Input::Url => {
                            @let value = if typed { one(f, &fname).to_owned() } else { current.unwrap_or("").to_owned() };
                            input id=(id) name=(fname) type=(if s.input == Input::Url { "url" } else { "text" })
                                value=(value) required[s.required] spellcheck="false"
                                aria-invalid=[err.then_some("true")]
                                aria-describedby=(described);
                        }
                    }
                    @if !s.hint.is_empty() { p class="hint" id=(hint_id) { (s.hint) } } @else { span id=(hint_id) hidden {} }
                    (field_msg(p, &fname))
                }
            }
            label for="i-team" { "Equipe que atende" }
            select id="i-team" name="team_id" {
                option value="" { "(nenhuma — fila geral)" }
                @for t in teams { option value=(t.id.0) selected[team == t.id.0.to_string()] { (t.name) } }
            }
            (field_msg(p, "team_id"))
            p class="check" {
                label {
                    input type="checkbox" name="bot_enabled" checked[bot];
                    " Robô atende primeiro (identifica o assinante e resolve segunda via, desbloqueio e chamados antes de passar para a fila)"
                }
            }
            button type="submit" { @if inbox.is_some() { "Salvar alterações" } @else { "Criar caixa de entrada" } }
        }
    }
}

#[derive(Deserialize)]
pub struct NewQuery {
    pub kind: Option<String>,
}

pub async fn new_form(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Query(q): Query<NewQuery>,
) -> Response {
    let who = match admin_only(who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(kind) = q
        .kind
        .as_deref()
        .and_then(|k| k.parse::<ChannelKind>().ok())
    else {
        return back("/admin/inboxes");
    };
    new_view(&state, &who, kind, None, &Fields::new()).await
}

async fn new_view(
    state: &AppState,
    who: &Principal,
    kind: ChannelKind,
    p: Option<Problem>,
    f: &Fields,
) -> Response {
    let teams = state.store.list_teams().await.unwrap_or_default();
    let body = html! {
        p { a href="/admin/inboxes" { "← Caixas de entrada" } }
        (form(who, kind, None, &teams, &p, f))
    };
    inboxes_page(who, &format!("Nova caixa: {}", kind_label(kind)), body)
}

/// Builds the API input from the form. Settings the form does not show are kept; secrets left
/// blank are left out (the API keeps the stored value); `generated` secrets are created when
/// blank on a new inbox. Returns the input and the secrets to show once.
fn input_from_form(
    kind: ChannelKind,
    f: &Fields,
    existing: Option<&Inbox>,
) -> (InboxInput, Map<String, Value>) {
    let mut settings = Map::new();
    if let Some(Value::Object(old)) = existing.map(|i| &i.settings) {
        for (k, v) in old {
            let shown = fields(kind).iter().any(|s| s.name == k);
            if !shown && !SECRET_SETTINGS.contains(&k.as_str()) {
                settings.insert(k.clone(), v.clone());
            }
        }
    }
    let mut reveal = Map::new();
    for s in fields(kind) {
        let raw = one(f, &form_name(s.name));
        let value = raw.trim();
        match s.input {
            Input::Secret => {
                if !value.is_empty() {
                    settings.insert(s.name.into(), json!(value));
                    reveal.insert(s.name.into(), json!(value));
                } else if s.generated && existing.is_none() {
                    let token = crate::auth::random_token();
                    settings.insert(s.name.into(), json!(token));
                    reveal.insert(s.name.into(), json!(token));
                }
            }
            Input::Lines => {
                let lines: Vec<Value> = raw
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| json!(l))
                    .collect();
                if !lines.is_empty() {
                    settings.insert(s.name.into(), Value::Array(lines));
                }
            }
            Input::Text | Input::Url | Input::Select(_) => {
                if !value.is_empty() {
                    settings.insert(s.name.into(), json!(value));
                }
            }
        }
    }
    settings.insert("kind".into(), json!(kind.as_str()));
    let team = one(f, "team_id").trim();
    (
        InboxInput {
            name: one(f, "name").to_owned(),
            channel: Value::Object(settings),
            team_id: (!team.is_empty()).then(|| team.to_owned()),
            bot_enabled: one(f, "bot_enabled") == "on",
        },
        reveal,
    )
}

pub async fn create(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    headers: axum::http::HeaderMap,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(kind) = one(&f, "kind").parse::<ChannelKind>() else {
        return back("/admin/inboxes");
    };
    let (input, reveal) = input_from_form(kind, &f, None);
    let result = crate::api::inbox_create(
        State(state.clone()),
        Admin(who.clone()),
        headers.clone(),
        Json(input),
    )
    .await;
    let created = match result {
        Ok(r) => r,
        Err(e) => {
            return match problem(to_form_problem(e)) {
                Ok(p) => new_view(&state, &who, kind, Some(p), &f).await,
                Err(r) => r,
            };
        }
    };
    let bytes = axum::body::to_bytes(created.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let id = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["id"].as_str().and_then(|s| s.parse::<i64>().ok()));
    let Some(id) = id else {
        return back("/admin/inboxes");
    };
    saved_redirect(&state, InboxId(id), reveal).await
}

/// After a save: redirect (so a reload never posts again) to the inbox page, which shows once
/// the secrets just typed or generated, kept meanwhile under a random one-time key.
async fn saved_redirect(state: &AppState, id: InboxId, reveal: Map<String, Value>) -> Response {
    let key = crate::auth::random_token();
    let flash = json!({"inbox": id.0, "reveal": reveal, "at": Timestamp::now().as_millisecond()});
    if let Err(e) = state
        .store
        .put_setting(&format!("{FLASH_PREFIX}{key}"), &flash)
        .await
    {
        return err_response(e.into());
    }
    Redirect::to(&format!("/admin/inboxes/{}?saved={key}", id.0)).into_response()
}

const FLASH_PREFIX: &str = "flash.inbox.";

/// How long the secrets of a save wait for the page that shows them once.
pub const FLASH_TTL: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Removes the one-time flashes of saves whose page was never opened, once older than
/// [`FLASH_TTL`], so the secrets they hold do not stay in the settings (the maintenance job
/// calls this every few minutes). Returns how many were removed.
pub async fn expire_flashes(state: &AppState, now: Timestamp) -> anyhow::Result<u64> {
    let ttl = jiff::SignedDuration::try_from(FLASH_TTL)?;
    Ok(state.store.expire_settings(FLASH_PREFIX, now - ttl).await?)
}

/// The one-time flash of a save, if `key` is one for this inbox and recent ([`FLASH_TTL`]).
async fn take_flash(state: &AppState, id: InboxId, key: &str) -> Option<Map<String, Value>> {
    if key.is_empty() || key.len() > 100 {
        return None;
    }
    let v = state
        .store
        .take_setting(&format!("{FLASH_PREFIX}{key}"))
        .await
        .ok()??;
    let fresh =
        Timestamp::now().as_millisecond() - v["at"].as_i64()? < FLASH_TTL.as_millis() as i64;
    (v["inbox"].as_i64() == Some(id.0) && fresh)
        .then(|| v["reveal"].as_object().cloned().unwrap_or_default())
}

pub async fn update(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = path_id(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let inbox = match state.store.inbox_by_id(InboxId(id)).await {
        Ok(i) => i,
        Err(e) => return err_response(e.into()),
    };
    let (input, reveal) = input_from_form(inbox.kind, &f, Some(&inbox));
    let result = crate::api::inbox_update(
        State(state.clone()),
        Admin(who.clone()),
        Path(id.to_string()),
        headers.clone(),
        Json(input),
    )
    .await;
    let extra = match result {
        Ok(_) => return saved_redirect(&state, inbox.id, reveal).await,
        Err(e) => match problem(to_form_problem(e)) {
            Ok(p) => Extra {
                problem: Some(p),
                typed: f,
                ..Extra::default()
            },
            Err(r) => return r,
        },
    };
    detail_view(&state, &who, inbox.id, &headers, extra).await
}

// ---------------------------------------------------------------- detail

/// What the detail page shows besides the inbox itself.
#[derive(Default)]
struct Extra {
    saved: bool,
    /// Secrets just typed or generated: shown once, right after saving.
    reveal: Map<String, Value>,
    problem: Option<Problem>,
    typed: Fields,
    check: Option<CheckOutcome>,
    pairing: Option<Pairing>,
}

#[derive(Deserialize)]
pub struct DetailQuery {
    /// The one-time key of a save just made.
    pub saved: Option<String>,
}

pub async fn detail(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
    headers: axum::http::HeaderMap,
) -> Response {
    let who = match admin_only(who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = path_id(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let id = InboxId(id);
    let mut extra = Extra::default();
    if let Some(key) = q.saved.as_deref()
        && let Some(reveal) = take_flash(&state, id, key).await
    {
        extra.saved = true;
        extra.reveal = reveal;
    }
    detail_view(&state, &who, id, &headers, extra).await
}

fn copy_field(id: &str, label: &str, value: &str) -> Markup {
    html! {
        div class="paste" {
            label for=(id) { (label) }
            div class="paste-row" {
                input id=(id) type="text" readonly value=(value) spellcheck="false";
                button type="button" class="secondary" data-copy=(id) { "Copiar" }
            }
        }
    }
}

fn secret_to_paste(extra: &Extra, inbox: &Inbox, key: &str, id: &str, label: &str) -> Markup {
    match extra.reveal.get(key).and_then(Value::as_str) {
        Some(v) => html! {
            (copy_field(id, label, v))
            p class="hint" { "Mostrado só agora. Depois de sair desta página, aparece apenas como “definido”." }
        },
        None => html! {
            p {
                strong { (label) ": " }
                @if setting_str(&inbox.settings, key).is_some_and(|s| !s.is_empty()) {
                    span class="tag ok" { "definido" }
                    " — por segurança não é mostrado de novo. Para colar no provedor, defina um novo valor no formulário abaixo e salve."
                } @else {
                    span class="tag bad" { "não definido" }
                }
            }
        },
    }
}

/// What to paste where, per kind.
fn paste_where(inbox: &Inbox, base: &str, public_configured: bool, extra: &Extra) -> Markup {
    let webhook = crate::dto::inbox_dto(inbox, base).webhook_url;
    html! {
        section class="card paste-card" aria-labelledby="paste-title" {
            h2 id="paste-title" { "O que colar e onde" }
            @if !public_configured && !matches!(inbox.kind, ChannelKind::WebChat) {
                p class="alert" role="note" {
                    "O endereço público do Prosa não está configurado (public_url): os endereços abaixo usam "
                    code { (base) } ". Os provedores exigem um endereço HTTPS acessível pela internet."
                }
            }
            @match inbox.kind {
                ChannelKind::WhatsappCloud => {
                    ol class="steps" {
                        li { "Em " strong { "developers.facebook.com" } " abra o seu app → " strong { "WhatsApp" } " → " strong { "Configuração" } "." }
                        li { "Em " strong { "Webhook" } ", clique em " strong { "Editar" } " e cole:" }
                    }
                    (copy_field("paste-webhook", "URL de callback", &webhook))
                    (secret_to_paste(extra, inbox, "verify_token", "paste-verify", "Token de verificação"))
                    ol class="steps" start="3" {
                        li { "Clique em " strong { "Verificar e salvar" } " (a Meta chama o Prosa, que responde ao desafio)." }
                        li { "Em " strong { "Campos do webhook" } ", clique em " strong { "Assinar" } " no campo " code { "messages" } "." }
                    }
                }
                ChannelKind::Messenger | ChannelKind::Instagram => {
                    ol class="steps" {
                        @if inbox.kind == ChannelKind::Messenger {
                            li { "Em " strong { "developers.facebook.com" } " abra o seu app → " strong { "Messenger" } " → " strong { "Configurações da API do Messenger" } " → " strong { "Configurar webhooks" } "." }
                        } @else {
                            li { "Em " strong { "developers.facebook.com" } " abra o seu app → " strong { "Instagram" } " → " strong { "Configuração da API com login do Facebook" } " → " strong { "Configurar webhooks" } "." }
                        }
                        li { "Cole a URL de callback e o token de verificação e clique em " strong { "Verificar e salvar" } ":" }
                    }
                    (copy_field("paste-webhook", "URL de callback", &webhook))
                    (secret_to_paste(extra, inbox, "verify_token", "paste-verify", "Token de verificação"))
                    ol class="steps" start="3" {
                        li { "Assine os campos " code { "messages" } ", " code { "messaging_postbacks" } ", " code { "message_deliveries" } " e " code { "message_reads" } "." }
                        li { "Em " strong { "Gerar tokens de acesso" } ", vincule a página e assine-a no app. A mesma URL serve para Messenger e Instagram do mesmo app." }
                    }
                }
                ChannelKind::WhatsappEvolution => {
                    p { "Clique em " strong { "Conectar WhatsApp" } " abaixo: o Prosa cria a instância no servidor Evolution já com o webhook apontado para cá. Para configurar à mão no Evolution Manager (" strong { "Instância → Eventos → Webhook" } "), use:" }
                    (copy_field("paste-webhook", "URL do webhook", &webhook))
                    (secret_to_paste(extra, inbox, "webhook_token", "paste-token", "Valor do cabeçalho x-webhook-token"))
                    p { "Eventos: " code { "MESSAGES_UPSERT" } ", " code { "MESSAGES_UPDATE" } ", " code { "CONNECTION_UPDATE" } " e " code { "QRCODE_UPDATED" } "; “Webhook por eventos” desligado; “Base64” desligado." }
                }
                ChannelKind::Telegram => {
                    @if setting_str(&inbox.settings, "mode") == Some("polling") {
                        p { "Modo long polling: o Prosa busca as mensagens no Telegram; não há nada a colar." }
                    } @else if public_configured {
                        p { "Nada a colar: ao salvar, o Prosa registrou o webhook no Telegram (" code { "setWebhook" } ") com um token secreto próprio. Endereço registrado:" }
                        (copy_field("paste-webhook", "Webhook", &webhook))
                    } @else {
                        p { "Sem endereço público configurado, use o modo " strong { "long polling" } " ou configure public_url e salve de novo." }
                    }
                    p class="hint" { "No @BotFather, use /setjoingroups para impedir que o bot entre em grupos." }
                }
                ChannelKind::BotFramework => {
                    ol class="steps" {
                        li { "No " strong { "portal.azure.com" } " abra o seu " strong { "Azure Bot" } " → " strong { "Configuração" } "." }
                        li { "Em " strong { "Ponto de extremidade de mensagens" } ", cole:" }
                    }
                    (copy_field("paste-webhook", "Ponto de extremidade de mensagens", &webhook))
                    ol class="steps" start="3" {
                        li { "Em " strong { "Canais" } ", ative " strong { "Microsoft Teams" } " (e " strong { "Web Chat" } ", se quiser)." }
                    }
                }
                ChannelKind::WebChat => {
                    p { "Cole esta linha no HTML do site do provedor, antes de " code { "</body>" } ", em todas as páginas onde o chat deve aparecer:" }
                    (copy_field("paste-script", "Código do chat", &format!("<script src=\"{}/widget.js\" data-inbox=\"{}\" async></script>", base.trim_end_matches('/'), inbox.id.0)))
                    @if setting_str(&inbox.settings, "identity_secret").is_some() {
                        p { "Para identificar o assinante logado no portal, acrescente " code { "data-identifier=\"ID do assinante\"" } " e " code { "data-identity-hash=\"HMAC-SHA256 hex do ID com o segredo de identidade\"" } ", calculado no servidor do portal (nunca no navegador)." }
                    }
                    p { a href=(format!("/widget-demo?inbox={}", inbox.id.0)) target="_blank" rel="noopener" { "Ver o chat numa página de exemplo" } }
                }
                ChannelKind::Api => {
                    p { "Os sistemas do provedor enviam mensagens por POST a esta URL, com o cabeçalho " code { "X-Prosa-Signature: sha256=<HMAC-SHA256 hex do corpo>" } ":" }
                    (copy_field("paste-webhook", "URL de entrada", &webhook))
                    (secret_to_paste(extra, inbox, "secret", "paste-secret", "Segredo de assinatura"))
                    @match setting_str(&inbox.settings, "callback_url") {
                        Some(cb) => p { "As respostas são entregues por POST assinado do mesmo jeito em " code { (cb) } "." },
                        None => p { "Sem URL de callback: as respostas ficam disponíveis só pela API REST." },
                    }
                }
            }
        }
    }
}

fn health_card(inbox: &Inbox, s: &InboxStatus) -> Markup {
    html! {
        section class="card" aria-labelledby="health-title" {
            h2 id="health-title" { "Saúde do canal" }
            dl class="health" {
                dt { "Canal" } dd { (kind_label(inbox.kind)) }
                dt { "Situação" } dd { @if inbox.active { "Ativa" } @else { "Inativa" } }
                dt { "Última mensagem recebida" } dd { (when(s.last_inbound_at)) }
                dt { "Último erro" }
                dd {
                    @match &s.last_error {
                        Some(e) => { span class="tag bad" { "erro" } " " (e) @if let Some(t) = s.last_error_at { " — " (fmt_time(t)) } }
                        None => { span class="tag ok" { "nenhum" } }
                    }
                }
                dt { "Mensagens sem entrega (fila morta)" }
                dd { @if s.dead_letters > 0 { span class="tag bad" { (s.dead_letters) } } @else { "0" } }
                dt { "Na fila de envio" } dd { (s.outbox_pending) }
            }
        }
    }
}

fn check_card(who: &Principal, inbox: &Inbox, check: &Option<CheckOutcome>) -> Markup {
    html! {
        section class="card" aria-labelledby="check-title" {
            h2 id="check-title" { "Credenciais" }
            form method="post" action=(format!("/admin/inboxes/{}/test", inbox.id.0)) class="inline-form" {
                (csrf(who))
                button type="submit" { "Testar credenciais" }
            }
            div id="check-result" role="status" aria-live="polite" {
                @if let Some(c) = check {
                    p class=(if c.ok { "check ok" } else { "check bad" }) {
                        span class=(if c.ok { "tag ok" } else { "tag bad" }) { @if c.ok { "OK" } @else { "Falhou" } }
                        " " (c.message)
                    }
                }
            }
        }
    }
}

fn pairing_card(who: &Principal, inbox: &Inbox, pairing: &Pairing) -> Markup {
    let connected = pairing.state == "open";
    html! {
        section class="card pairing" aria-labelledby="pair-title" data-pairing=(inbox.id.0)
            data-state=(pairing.state) {
            h2 id="pair-title" { "Conexão do WhatsApp" }
            p id="pair-state" role="status" aria-live="polite" {
                @if connected {
                    span class="tag ok" { "Conectado" }
                } @else {
                    "Estado: " strong { (pairing.state_label) }
                }
            }
            @if let Some(e) = &pairing.error {
                p class="field-error" role="alert" id="pair-error" { (e) }
            } @else {
                p class="field-error" role="alert" id="pair-error" hidden {}
            }
            figure id="pair-qr" hidden[pairing.qr.is_none() || connected] {
                img id="pair-qr-img" alt="QR code para conectar o WhatsApp" width="264" height="264"
                    src=(pairing.qr.clone().unwrap_or_default());
                figcaption {
                    "No celular do provedor: WhatsApp → " strong { "Configurações" } " → " strong { "Aparelhos conectados" } " → " strong { "Conectar um aparelho" } ", e aponte a câmera para o código. O código muda a cada poucos segundos; esta página acompanha sozinha."
                    @if let Some(code) = &pairing.pairing_code { br; "Ou use o código de pareamento: " strong { (code) } }
                }
            }
            @if !connected {
                form method="post" action=(format!("/admin/inboxes/{}/connect", inbox.id.0)) class="inline-form" {
                    (csrf(who))
                    button type="submit" { "Conectar WhatsApp" }
                }
            }
        }
    }
}

async fn service_hours_card(state: &AppState, inbox: &Inbox) -> Markup {
    let schedule = super::super::load_schedule(state).await.ok();
    let (open, next) = super::super::queue_status(state, inbox.id).await;
    let rules: Vec<String> = schedule
        .map(|s| {
            s.rules
                .into_iter()
                .filter(|r| r.active && (r.inbox_ids.is_empty() || r.inbox_ids.contains(&inbox.id)))
                .map(|r| r.description)
                .collect()
        })
        .unwrap_or_default();
    html! {
        section class="card" aria-labelledby="hours-title" {
            h2 id="hours-title" { "Horário de atendimento" }
            p {
                @if open { span class="badge open" { "Fila aberta agora" } } @else { span class="badge closed" { "Fila fechada agora" } }
                @if let Some(n) = next { " — " (n) }
            }
            @if rules.is_empty() {
                p { "Nenhuma regra de horário: a fila humana está sempre aberta." }
            } @else {
                p { "Regras que valem para esta caixa:" }
                ul { @for r in &rules { li { (r) } } }
            }
            p { a href="/admin/service-hours" { "Escolher as regras desta caixa em Horário de atendimento" } }
        }
    }
}

async fn detail_view(
    state: &AppState,
    who: &Principal,
    id: InboxId,
    headers: &axum::http::HeaderMap,
    extra: Extra,
) -> Response {
    let inbox = match state.store.inbox_by_id(id).await {
        Ok(i) => i,
        Err(e) => return err_response(e.into()),
    };
    let status = state
        .store
        .inbox_statuses()
        .await
        .ok()
        .and_then(|mut m| m.remove(&inbox.id))
        .unwrap_or_default();
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let base = public_base(state, host);
    let teams = state.store.list_teams().await.unwrap_or_default();
    let pairing = match (&extra.pairing, inbox.kind) {
        (Some(p), _) => Some(p.clone()),
        (None, ChannelKind::WhatsappEvolution) => {
            Some(crate::channels::pairing::status(state, &inbox).await)
        }
        _ => None,
    };
    let hours = service_hours_card(state, &inbox).await;
    let body = html! {
        p { a href="/admin/inboxes" { "← Caixas de entrada" } }
        div role="status" aria-live="polite" {
            @if extra.saved { p class="notice ok" { "Caixa de entrada salva." } }
        }
        (paste_where(&inbox, &base, state.config.public_url.is_some(), &extra))
        div class="inbox-cards" {
            (health_card(&inbox, &status))
            @if testable(inbox.kind) { (check_card(who, &inbox, &extra.check)) }
        }
        @if let Some(p) = &pairing { (pairing_card(who, &inbox, p)) }
        (hours)
        h2 { "Configuração" }
        (form(who, inbox.kind, Some(&inbox), &teams, &extra.problem, &extra.typed))
    };
    inboxes_page(who, &inbox.name, body)
}

/// `POST /admin/inboxes/{id}/test`.
pub async fn test(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = path_id(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match crate::channels::check::run_and_audit(&state, &who, InboxId(id)).await {
        Ok(outcome) => {
            detail_view(
                &state,
                &who,
                InboxId(id),
                &headers,
                Extra {
                    check: Some(outcome),
                    ..Extra::default()
                },
            )
            .await
        }
        Err(e) => err_response(e),
    }
}

/// `POST /admin/inboxes/{id}/connect` (Evolution).
pub async fn connect(
    State(state): State<AppState>,
    MaybeUser(who): MaybeUser,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    MultiForm(f): MultiForm,
) -> Response {
    let who = match admin_post(who, &f) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(id) = path_id(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let result = crate::channels::pairing::connect_api(
        State(state.clone()),
        Admin(who.clone()),
        Path(id.to_string()),
        headers.clone(),
    )
    .await;
    match result {
        Ok(Json(p)) => {
            detail_view(
                &state,
                &who,
                InboxId(id),
                &headers,
                Extra {
                    pairing: Some(p),
                    ..Extra::default()
                },
            )
            .await
        }
        Err(e) => err_response(e),
    }
}
