//! "Testar credenciais": one harmless read on the provider with the inbox's credentials,
//! through the inbox's configured base URL (checked against the egress policy), answered in
//! pt-BR for the administrator.
//!
//! WhatsApp Cloud `GET /{version}/{phone_number_id}`, Telegram `getMe`, Messenger and
//! Instagram `GET /{version}/me`, Evolution `connectionState`, Bot Framework a client-credentials
//! token request.

use crate::state::AppState;
use prosa_channel::SendError;
use prosa_channel::egress::EgressPolicy;
use prosa_domain::model::{ChannelKind, Inbox};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The answer shown next to the button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CheckOutcome {
    /// Whether the provider accepted the credentials.
    pub ok: bool,
    /// What happened, in pt-BR.
    pub message: String,
}

impl CheckOutcome {
    fn ok(message: impl Into<String>) -> CheckOutcome {
        CheckOutcome {
            ok: true,
            message: message.into(),
        }
    }
    fn fail(message: impl Into<String>) -> CheckOutcome {
        CheckOutcome {
            ok: false,
            message: message.into(),
        }
    }
}

/// Whether the kind has a provider to ask.
pub fn testable(kind: ChannelKind) -> bool {
    !matches!(kind, ChannelKind::Api | ChannelKind::WebChat)
}

fn setting<'a>(inbox: &'a Inbox, key: &str) -> Option<&'a str> {
    inbox
        .settings
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn egress(state: &AppState) -> EgressPolicy {
    EgressPolicy {
        allowed_private_hosts: state.config.egress.allowed_private_hosts.clone(),
    }
}

/// A provider answer: status and body (JSON when it parses).
struct Answer {
    status: u16,
    body: Value,
}

async fn call(
    state: &AppState,
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<Answer, CheckOutcome> {
    egress(state)
        .check(url)
        .await
        .map_err(|e| CheckOutcome::fail(format!("Endereço do provedor não permitido: {e}.")))?;
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let response = request.send().await.map_err(|e| {
        CheckOutcome::fail(if e.is_timeout() {
            format!("O provedor ({host}) não respondeu a tempo.")
        } else {
            format!("Não foi possível falar com {host}: verifique o endereço e a rede.")
        })
    })?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    Ok(Answer {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    })
}

fn graph_error(body: &Value) -> String {
    body.pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or("erro desconhecido")
        .chars()
        .take(200)
        .collect()
}

fn base<'a>(inbox: &'a Inbox, default: &'a str) -> &'a str {
    setting(inbox, "base_url")
        .unwrap_or(default)
        .trim_end_matches('/')
}

async fn whatsapp_cloud(state: &AppState, inbox: &Inbox) -> CheckOutcome {
    let (Some(token), Some(phone)) = (
        setting(inbox, "access_token"),
        setting(inbox, "phone_number_id"),
    ) else {
        return CheckOutcome::fail("Preencha o token de acesso e o ID do número.");
    };
    let version =
        setting(inbox, "api_version").unwrap_or(prosa_channel_whatsapp_cloud::DEFAULT_API_VERSION);
    let url = format!(
        "{}/{version}/{phone}",
        base(inbox, prosa_channel_whatsapp_cloud::DEFAULT_BASE_URL)
    );
    let a = match call(state, state.http.get(&url).bearer_auth(token), &url).await {
        Ok(a) => a,
        Err(o) => return o,
    };
    match a.status {
        200..=299 => CheckOutcome::ok(format!(
            "Credenciais válidas: número {} ({}).",
            a.body["display_phone_number"].as_str().unwrap_or(phone),
            a.body["verified_name"]
                .as_str()
                .unwrap_or("sem nome verificado")
        )),
        401 => CheckOutcome::fail(format!(
            "Token de acesso inválido ou expirado (a Meta respondeu 401: {}). Gere um token permanente de usuário do sistema no Business Manager.",
            graph_error(&a.body)
        )),
        400 | 404 => CheckOutcome::fail(format!(
            "A Meta não encontrou o número {phone} com este token ({}: {}). Confira o ID do número em WhatsApp → Configuração da API.",
            a.status,
            graph_error(&a.body)
        )),
        s => CheckOutcome::fail(format!("A Meta respondeu {s}: {}.", graph_error(&a.body))),
    }
}

async fn telegram(state: &AppState, inbox: &Inbox) -> CheckOutcome {
    let Some(token) = setting(inbox, "bot_token") else {
        return CheckOutcome::fail("Preencha o token do bot.");
    };
    let url = format!(
        "{}/bot{token}/getMe",
        base(inbox, prosa_channel_telegram::DEFAULT_BASE_URL)
    );
    let a = match call(state, state.http.get(&url), &url).await {
        Ok(a) => a,
        Err(o) => return o,
    };
    match a.status {
        200..=299 if a.body["ok"] == Value::Bool(true) => CheckOutcome::ok(format!(
            "Credenciais válidas: bot @{} ({}).",
            a.body
                .pointer("/result/username")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            a.body
                .pointer("/result/first_name")
                .and_then(Value::as_str)
                .unwrap_or("")
        )),
        401 | 404 => CheckOutcome::fail(
            "Token do bot recusado pelo Telegram (401 Unauthorized). Copie o token de novo no @BotFather (/mybots → API Token).",
        ),
        s => CheckOutcome::fail(format!(
            "O Telegram respondeu {s}: {}.",
            a.body["description"]
                .as_str()
                .unwrap_or("erro desconhecido")
        )),
    }
}

async fn meta(state: &AppState, inbox: &Inbox) -> CheckOutcome {
    let Some(token) =
        setting(inbox, "page_access_token").or_else(|| setting(inbox, "access_token"))
    else {
        return CheckOutcome::fail("Preencha o token de acesso da página.");
    };
    let version =
        setting(inbox, "api_version").unwrap_or(prosa_channel_messenger::DEFAULT_API_VERSION);
    let url = format!(
        "{}/{version}/me",
        base(inbox, prosa_channel_messenger::DEFAULT_BASE_URL)
    );
    let a = match call(state, state.http.get(&url).bearer_auth(token), &url).await {
        Ok(a) => a,
        Err(o) => return o,
    };
    match a.status {
        200..=299 => {
            let id = a.body["id"].as_str().unwrap_or("");
            let mut msg = format!(
                "Credenciais válidas: página {} ({id}).",
                a.body["name"].as_str().unwrap_or("sem nome")
            );
            if inbox.kind == ChannelKind::Messenger
                && let Some(page) = setting(inbox, "page_id")
                && page != id
            {
                msg = format!(
                    "O token é da página {id}, mas a caixa está configurada para a página {page}. Corrija o ID da página."
                );
                return CheckOutcome::fail(msg);
            }
            CheckOutcome::ok(msg)
        }
        401 => CheckOutcome::fail(format!(
            "Token da página inválido ou expirado (a Meta respondeu 401: {}). Gere um novo token em Meta for Developers → Messenger → Configurações.",
            graph_error(&a.body)
        )),
        s => CheckOutcome::fail(format!("A Meta respondeu {s}: {}.", graph_error(&a.body))),
    }
}

/// The state names Evolution uses, in pt-BR.
pub fn evolution_state_pt(state: &str) -> &'static str {
    match state {
        "open" => "conectado",
        "connecting" => "aguardando a leitura do QR code",
        "close" => "desconectado",
        "refused" => "conexão recusada",
        _ => "desconhecido",
    }
}

async fn evolution(state: &AppState, inbox: &Inbox) -> CheckOutcome {
    let Some(url) = setting(inbox, "base_url") else {
        return CheckOutcome::fail("Preencha o endereço do servidor Evolution.");
    };
    if let Err(e) = egress(state).check(url).await {
        return CheckOutcome::fail(format!("Endereço do provedor não permitido: {e}."));
    }
    let instance = setting(inbox, "instance").unwrap_or("");
    match prosa_channel_evolution::connection_state(&state.http, &inbox.settings).await {
        Ok(s) => CheckOutcome::ok(format!(
            "Credenciais válidas: instância {instance} — {}.",
            evolution_state_pt(&s)
        )),
        Err(SendError::Credentials(d)) if d.contains("instance not found") => {
            CheckOutcome::fail(format!(
                "A chave foi aceita, mas a instância {instance} não existe no servidor Evolution. Use “Conectar WhatsApp” para criá-la."
            ))
        }
        Err(SendError::Credentials(_)) => CheckOutcome::fail(
            "Chave de API recusada pelo servidor Evolution (401). Use a AUTHENTICATION_API_KEY do servidor.",
        ),
        Err(SendError::RetryLater { .. }) => CheckOutcome::fail(
            "Não foi possível falar com o servidor Evolution: verifique o endereço e se ele está no ar.",
        ),
        Err(e) => CheckOutcome::fail(format!("O servidor Evolution recusou: {e}.")),
    }
}

async fn botframework(state: &AppState, inbox: &Inbox) -> CheckOutcome {
    let (Some(app_id), Some(password)) = (setting(inbox, "app_id"), setting(inbox, "app_password"))
    else {
        return CheckOutcome::fail("Preencha o App ID e a senha do app.");
    };
    let url = setting(inbox, "token_url").unwrap_or(prosa_channel_botframework::DEFAULT_TOKEN_URL);
    let scope =
        setting(inbox, "token_scope").unwrap_or(prosa_channel_botframework::DEFAULT_TOKEN_SCOPE);
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "client_credentials")
        .append_pair("client_id", app_id)
        .append_pair("client_secret", password)
        .append_pair("scope", scope)
        .finish();
    let request = state
        .http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form);
    let a = match call(state, request, url).await {
        Ok(a) => a,
        Err(o) => return o,
    };
    match a.status {
        200..=299 if a.body["access_token"].is_string() => CheckOutcome::ok(format!(
            "Credenciais válidas: o Azure emitiu um token para o app {app_id}."
        )),
        400 | 401 => CheckOutcome::fail(format!(
            "App ID ou senha do app recusados pelo Azure ({}: {}). Gere um novo segredo em Azure → Registro de aplicativo → Certificados e segredos.",
            a.status,
            a.body["error_description"]
                .as_str()
                .or(a.body["error"].as_str())
                .unwrap_or("erro desconhecido")
                .chars()
                .take(200)
                .collect::<String>()
        )),
        s => CheckOutcome::fail(format!("O Azure respondeu {s}.")),
    }
}

/// Asks the provider whether the inbox's credentials work.
pub async fn test_credentials(state: &AppState, inbox: &Inbox) -> CheckOutcome {
    match inbox.kind {
        ChannelKind::WhatsappCloud => whatsapp_cloud(state, inbox).await,
        ChannelKind::Telegram => telegram(state, inbox).await,
        ChannelKind::Messenger | ChannelKind::Instagram => meta(state, inbox).await,
        ChannelKind::WhatsappEvolution => evolution(state, inbox).await,
        ChannelKind::BotFramework => botframework(state, inbox).await,
        ChannelKind::Api | ChannelKind::WebChat => {
            CheckOutcome::fail("Este canal não usa credenciais de um provedor.")
        }
    }
}

/// Runs the test on a stored inbox and records it in the audit trail.
pub async fn run_and_audit(
    state: &AppState,
    who: &crate::auth::Principal,
    id: prosa_domain::InboxId,
) -> Result<CheckOutcome, crate::error::ApiError> {
    let inbox = state.store.inbox_by_id(id).await?;
    if !testable(inbox.kind) {
        return Err(crate::error::ApiError::invalid(
            "channel.kind",
            "this channel has no provider credentials to test",
        ));
    }
    let outcome = test_credentials(state, &inbox).await;
    state
        .store
        .record_audit(&prosa_storage::AuditEntry {
            actor_user_id: who.user_id(),
            actor: who.actor(),
            action: "inbox.test_credentials".into(),
            target: format!("inbox:{}", inbox.id),
            detail: serde_json::json!({"ok": outcome.ok, "message": outcome.message}),
        })
        .await?;
    Ok(outcome)
}

/// `POST /api/v1/inboxes/{id}/test`: asks the provider whether the credentials work.
#[utoipa::path(post, path = "/api/v1/inboxes/{id}/test", responses((status = 200, body = CheckOutcome), (status = 404), (status = 422)), tag = "inboxes")]
pub async fn test_api(
    axum::extract::State(state): axum::extract::State<AppState>,
    crate::auth::Admin(who): crate::auth::Admin,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<axum::Json<CheckOutcome>, crate::error::ApiError> {
    let id: i64 = id.parse().map_err(|_| crate::error::ApiError::NotFound)?;
    Ok(axum::Json(
        run_and_audit(&state, &who, prosa_domain::InboxId(id)).await?,
    ))
}
