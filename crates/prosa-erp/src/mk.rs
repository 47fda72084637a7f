//! MK Solutions adapter (`/mk/<WebService>.rule?sys=MK0&token=…`, JSON out, business errors as
//! HTTP 200 with `"status":"ERRO"`), plus the Node "core-api" for phone lookup, person by id and
//! outage notifications.
//!
//! Session: `WSAutenticacao` with the user token and the profile's counter-password gives a
//! session token and its `Expire` (`dd/MM/yyyy HH:mm:ss`, São Paulo time). We cache it until 5
//! minutes before that, renew it when MK says "Token expirado/inválido/not found" (or HTTP 401)
//! in the middle of a session, and retry the call once.
//!
//! Secrets: the session token, the user token and the password live in `SecretString`s, are put
//! in the query string only when sending, and never appear in logs or errors (we log the web
//! service name, never the URL; reqwest errors are reduced to their kind; ERP messages are
//! scrubbed of the secrets).
//!
//! Not offered (no documented per-id endpoint): ticket status, service-order status, leads.
//! Ticket and service-order opening need the ISP's codes in [`MkConfig`]; without them those
//! actions are not in [`Erp::capabilities`].

use crate::config::MkConfig;
use crate::erp::Erp;
use crate::error::{ErpError, RefusalReason, fold, short, transport_error, unlock_refusal};
use crate::text::{self, cents, date_field, field, flag, list};
use crate::types::*;
use crate::{Clock, system_clock};
use async_trait::async_trait;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use prosa_br::{Boleto, Document, PixCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::time::Duration;

struct Session {
    token: SecretString,
    renew_at: Option<Timestamp>,
}

/// The MK Solutions adapter.
pub struct MkErp {
    cfg: MkConfig,
    http: reqwest::Client,
    session: tokio::sync::Mutex<Option<Session>>,
    clock: Clock,
}

enum CallError {
    /// MK rejected the session token: renew and retry once.
    Token,
    Erp(ErpError),
}

impl From<ErpError> for CallError {
    fn from(e: ErpError) -> Self {
        CallError::Erp(e)
    }
}

/// Which MK service family a call goes to.
#[derive(Clone, Copy)]
enum Api {
    /// `/mk/<name>.rule`
    Rule,
    /// `<core_api_url>/core-api/<path>`
    Core,
}

pub(crate) fn http_client(timeout_ms: u64) -> Result<reqwest::Client, ErpError> {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(timeout_ms.max(1)))
        .connect_timeout(Duration::from_millis(timeout_ms.clamp(1, 5_000)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| ErpError::Protocol("cannot build the HTTP client".into()))
}

fn parse_expire(s: &str) -> Option<Timestamp> {
    let (d, t) = s.trim().split_once(' ')?;
    let day = text::date(d)?;
    let mut hms = t.split(':').map(|x| x.parse::<i8>().ok());
    let (h, m, sec) = (
        hms.next()??,
        hms.next()??,
        hms.next().flatten().unwrap_or(0),
    );
    let dt = day.at(h, m, sec, 0);
    prosa_br::time::from_sp_civil(dt)
}

fn origin_code(channel: &str) -> &'static str {
    match fold(channel).as_str() {
        "email" | "e-mail" => "1",
        "site" | "webchat" | "web" => "5",
        "telefone" | "phone" | "voice" => "6",
        "whatsapp" | "whatsapp_cloud" => "9",
        "facebook" => "10",
        "instagram" => "11",
        "messenger" => "12",
        _ => "13",
    }
}

fn split_phones(s: &str) -> Vec<String> {
    s.split([',', '/', ';', '|'])
        .map(text::national_phone)
        .filter(|p| p.len() >= 8)
        .collect()
}

/// Fills the parts of an address from MK's one-line `Endereco` ("Rua X, 123 - Bairro - Cidade")
/// when MK did not send them split.
fn split_address(full: &str, a: &mut Address) {
    let Some((street, rest)) = full.split_once(',') else {
        a.street.get_or_insert_with(|| full.trim().to_owned());
        return;
    };
    a.street.get_or_insert_with(|| street.trim().to_owned());
    let mut parts = rest.split(" - ").map(str::trim).filter(|p| !p.is_empty());
    if let Some(n) = parts.next() {
        a.number.get_or_insert_with(|| n.to_owned());
    }
    if let Some(b) = parts.next() {
        a.neighbourhood.get_or_insert_with(|| b.to_owned());
    }
    if let Some(c) = parts.next() {
        a.city.get_or_insert_with(|| c.to_owned());
    }
}

fn person(v: &Value, document: Option<&str>) -> Option<Subscriber> {
    let id = text::text(
        v,
        &[
            "CodigoPessoa",
            "codpessoa",
            "cd_pessoa",
            "codigo",
            "codigo_pessoa",
            "id",
        ],
    )?;
    let name = text::text(
        v,
        &["Nome", "nome_razaosocial", "razao", "nome_razao_social"],
    )
    .unwrap_or_default();
    let mut address = Address {
        street: text::text(v, &["Logradouro", "rua"]),
        number: text::text(v, &["Numero", "num"]),
        complement: text::text(v, &["Complemento"]),
        neighbourhood: text::text(v, &["Bairro"]),
        city: text::text(v, &["Cidade", "municipio"]),
        state: text::text(v, &["Estado", "uf", "siglaestado"]),
        cep: text::text(v, &["CEP"]).as_deref().and_then(text::cep),
        full: text::text(v, &["Endereco", "endereco_completo"]),
    };
    if let Some(full) = address.full.clone() {
        split_address(&full, &mut address);
    }
    let mut phones = Vec::new();
    for key in ["Fone", "Celular", "telefone", "fone_celular", "whatsapp"] {
        if let Some(p) = text::text(v, &[key]) {
            for p in split_phones(&p) {
                if !phones.contains(&p) {
                    phones.push(p);
                }
            }
        }
    }
    let document = text::text(v, &["cpf_cnpj", "doc", "documento", "cpf", "cnpj"])
        .and_then(|d| Document::parse(&d).ok())
        .map(|d| d.canonical().to_owned())
        .or_else(|| document.map(str::to_owned));
    let active = text::text(v, &["Situacao", "situacao_pessoa"])
        .is_none_or(|s| fold(&s).starts_with("ativ") || s == "A");
    Some(Subscriber {
        id,
        name,
        document,
        active,
        email: text::text(v, &["Email", "e_mail"]),
        phones,
        address,
        birth_date: date_field(v, &["DataNascimento", "data_nascimento", "nascimento"]),
    })
}

impl MkErp {
    pub fn new(cfg: MkConfig) -> Result<MkErp, ErpError> {
        MkErp::with_clock(cfg, system_clock())
    }

    /// With an injected clock (token expiry, "today" for overdue invoices).
    pub fn with_clock(mut cfg: MkConfig, clock: Clock) -> Result<MkErp, ErpError> {
        cfg.base_url = cfg.base_url.trim_end_matches('/').to_owned();
        let http = http_client(cfg.timeout_ms)?;
        Ok(MkErp {
            cfg,
            http,
            session: tokio::sync::Mutex::new(None),
            clock,
        })
    }

    fn today(&self) -> Date {
        prosa_br::time::to_sp((self.clock)()).date()
    }

    fn scrub(&self, e: ErpError, session: Option<&SecretString>) -> ErpError {
        let mut secrets = vec![
            self.cfg.user_token.expose_secret(),
            self.cfg.password.expose_secret(),
        ];
        if let Some(s) = session {
            secrets.push(s.expose_secret());
        }
        e.scrub(&secrets)
    }

    async fn send(
        &self,
        api: Api,
        name: &str,
        token: &str,
        params: &[(&str, String)],
    ) -> Result<Value, CallError> {
        let url = match api {
            Api::Rule => format!("{}/mk/{name}.rule", self.cfg.base_url),
            Api::Core => {
                let base = self
                    .cfg
                    .core_api_url
                    .as_deref()
                    .unwrap_or(&self.cfg.base_url)
                    .trim_end_matches('/');
                format!("{base}/core-api/{name}")
            }
        };
        let mut query: Vec<(&str, &str)> = Vec::with_capacity(params.len() + 2);
        if matches!(api, Api::Rule) {
            query.push(("sys", "MK0"));
        }
        query.push(("token", token));
        query.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
        let started = std::time::Instant::now();
        let resp = self
            .http
            .get(&url)
            .query(&query)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let status = resp.status();
        tracing::debug!(
            erp = "mk",
            service = name,
            http_status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "mk call"
        );
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(CallError::Token);
        }
        if status.is_server_error() {
            return Err(ErpError::Unavailable(format!("HTTP {}", status.as_u16())).into());
        }
        if !status.is_success() {
            return Err(ErpError::Protocol(format!("HTTP {}", status.as_u16())).into());
        }
        let bytes = resp.bytes().await.map_err(|e| transport_error(&e))?;
        let body = text::decode_body(&bytes);
        let mut v: Value = serde_json::from_str(body.trim_start_matches('\u{feff}'))
            .map_err(|_| ErpError::Protocol(format!("{name}: body is not JSON")))?;
        text::repair_json(&mut v);
        let is_error = text::text(&v, &["status"])
            .is_some_and(|s| s.eq_ignore_ascii_case("erro") || s.eq_ignore_ascii_case("error"));
        if is_error {
            let code = text::text(&v, &["Num. ERRO", "codigo_erro", "CodErro", "cod_erro"])
                .unwrap_or_default();
            let message =
                text::text(&v, &["Mensagem", "mensagem", "message", "erro"]).unwrap_or_default();
            let m = fold(&message);
            tracing::debug!(erp = "mk", service = name, code = %code, "mk answered ERRO");
            if m.contains("token") {
                return Err(CallError::Token);
            }
            if code == "003"
                || m.contains("nao localizad")
                || m.contains("nao encontrad")
                || m.contains("not found")
            {
                return Err(ErpError::NotFound.into());
            }
            if code == "002" || m.contains("invalid") {
                return Err(ErpError::InvalidRequest(short(&message)).into());
            }
            return Err(ErpError::Refused {
                reason: RefusalReason::Other,
                detail: short(&message),
            }
            .into());
        }
        Ok(v)
    }

    /// A session token, logging in when there is none or it is about to expire.
    async fn token(&self, force: bool) -> Result<SecretString, ErpError> {
        let mut guard = self.session.lock().await;
        let now = (self.clock)();
        if !force
            && let Some(s) = guard.as_ref()
            && s.renew_at.is_none_or(|t| now < t)
        {
            return Ok(s.token.clone());
        }
        *guard = None;
        let params = [
            ("password", self.cfg.password.expose_secret().to_owned()),
            ("cd_servico", self.cfg.cd_servico.to_string()),
        ];
        let v = match self
            .send(
                Api::Rule,
                "WSAutenticacao",
                self.cfg.user_token.expose_secret(),
                &params,
            )
            .await
        {
            Ok(v) => v,
            Err(CallError::Token) => return Err(ErpError::Unauthorized),
            Err(CallError::Erp(
                ErpError::Refused { .. } | ErpError::InvalidRequest(_) | ErpError::NotFound,
            )) => return Err(ErpError::Unauthorized),
            Err(CallError::Erp(e)) => return Err(self.scrub(e, None)),
        };
        let token = text::text(&v, &["Token", "TokenAutenticacao"])
            .ok_or_else(|| ErpError::Protocol("authentication answer without a token".into()))?;
        let renew_at = text::text(&v, &["Expire"])
            .as_deref()
            .and_then(parse_expire)
            .map(|t| t - SignedDuration::from_mins(5));
        tracing::debug!(erp = "mk", "mk session renewed");
        let token = SecretString::from(token);
        *guard = Some(Session {
            token: token.clone(),
            renew_at,
        });
        Ok(token)
    }

    async fn call_api(
        &self,
        api: Api,
        name: &str,
        params: &[(&str, String)],
    ) -> Result<Value, ErpError> {
        let token = self.token(false).await?;
        match self.send(api, name, token.expose_secret(), params).await {
            Ok(v) => Ok(v),
            Err(CallError::Erp(e)) => Err(self.scrub(e, Some(&token))),
            Err(CallError::Token) => {
                tracing::debug!(
                    erp = "mk",
                    service = name,
                    "mk session token rejected, renewing"
                );
                let token = self.token(true).await?;
                match self.send(api, name, token.expose_secret(), params).await {
                    Ok(v) => Ok(v),
                    Err(CallError::Token) => Err(ErpError::Unauthorized),
                    Err(CallError::Erp(e)) => Err(self.scrub(e, Some(&token))),
                }
            }
        }
    }

    async fn call(&self, ws: &str, params: &[(&str, String)]) -> Result<Value, ErpError> {
        self.call_api(Api::Rule, ws, params).await
    }

    fn ticket_codes(&self) -> Option<(&str, &str)> {
        Some((
            self.cfg.ticket_process.as_deref()?,
            self.cfg.ticket_classification.as_deref()?,
        ))
    }

    fn order_codes(&self) -> Option<(&str, &str, &str)> {
        Some((
            self.cfg.os_type.as_deref()?,
            self.cfg.os_technician.as_deref()?,
            self.cfg.os_group.as_deref()?,
        ))
    }

    async fn online(&self, connection_id: &str) -> Option<bool> {
        let v = self
            .call(
                "WSMKConsultaConexaoAutenticada",
                &[("codconexao", connection_id.to_owned())],
            )
            .await
            .ok()?;
        flag(
            &v,
            &[
                "Autenticada",
                "autenticado",
                "online",
                "conectado",
                "conexao_autenticada",
            ],
        )
    }
}

#[async_trait]
impl Erp for MkErp {
    fn kind(&self) -> &'static str {
        "mk"
    }

    fn capabilities(&self) -> Capabilities {
        let mut c = Capabilities::of(&[
            Action::FindByDocument,
            Action::FindByPhone,
            Action::FindById,
            Action::Contracts,
            Action::Connections,
            Action::OpenInvoices,
            Action::InvoicePix,
            Action::TrustUnlock,
            Action::Outages,
        ]);
        if self.ticket_codes().is_some() {
            c.0.insert(Action::OpenTicket);
        }
        if self.order_codes().is_some() {
            c.0.insert(Action::OpenServiceOrder);
        }
        c
    }

    async fn test_connection(&self) -> Result<(), ErpError> {
        self.token(true).await.map(|_| ())
    }

    async fn find_by_document(&self, document: &Document) -> Result<Vec<Subscriber>, ErpError> {
        let v = match self
            .call(
                "WSMKConsultaDoc",
                &[("doc", document.canonical().to_owned())],
            )
            .await
        {
            Ok(v) => v,
            Err(ErpError::NotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out: Vec<Subscriber> = person(&v, Some(document.canonical())).into_iter().collect();
        for other in list(&v, &["Outros"]) {
            if let Some(p) = person(other, Some(document.canonical()))
                && !out.iter().any(|s| s.id == p.id)
            {
                out.push(p);
            }
        }
        Ok(out)
    }

    async fn find_by_phone(&self, phone: &str) -> Result<Vec<Subscriber>, ErpError> {
        let national = text::national_phone(phone);
        if national.len() < 10 {
            return Err(ErpError::InvalidRequest("phone needs the area code".into()));
        }
        let (ddd, number) = national.split_at(2);
        let v = match self
            .call_api(
                Api::Core,
                "pessoas/telefone",
                &[("ddd", ddd.to_owned()), ("fone", number.to_owned())],
            )
            .await
        {
            Ok(v) => v,
            Err(ErpError::NotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let items = if v.is_array() {
            list(&v, &[])
        } else {
            list(&v, &["pessoas", "dados", "data", "resultado"])
        };
        let items = if items.is_empty() && field(&v, &["CodigoPessoa", "codigo", "id"]).is_some() {
            vec![&v]
        } else {
            items
        };
        Ok(items.into_iter().filter_map(|p| person(p, None)).collect())
    }

    async fn subscriber(&self, id: &str) -> Result<Subscriber, ErpError> {
        let v = self
            .call_api(Api::Core, "pessoas/id", &[("id", id.to_owned())])
            .await?;
        let p = if v.is_array() {
            list(&v, &[]).into_iter().next()
        } else {
            list(&v, &["pessoa", "dados", "data"])
                .into_iter()
                .next()
                .or(Some(&v))
        };
        p.and_then(|p| person(p, None)).ok_or(ErpError::NotFound)
    }

    async fn contracts(&self, subscriber_id: &str) -> Result<Vec<Contract>, ErpError> {
        let v = match self
            .call(
                "WSMKContratosPorCliente",
                &[("cd_cliente", subscriber_id.to_owned())],
            )
            .await
        {
            Ok(v) => v,
            Err(ErpError::NotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(list(&v, &["ContratosAtivos", "Contratos"])
            .into_iter()
            .filter_map(|c| {
                Some(Contract {
                    id: text::text(c, &["codcontrato", "CodigoContrato", "contrato"])?,
                    subscriber_id: subscriber_id.to_owned(),
                    plan: text::text(c, &["plano_acesso", "plano", "descricao"]),
                    status: ContractStatus::Active,
                    address: None,
                })
            })
            .collect())
    }

    async fn connections(&self, subscriber_id: &str) -> Result<Vec<Connection>, ErpError> {
        let v = match self
            .call(
                "WSMKConexoesPorCliente",
                &[("cd_cliente", subscriber_id.to_owned())],
            )
            .await
        {
            Ok(v) => v,
            Err(ErpError::NotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for c in list(&v, &["Conexoes"]) {
            let Some(id) = text::text(c, &["codconexao", "CodigoConexao", "cd_conexao"]) else {
                continue;
            };
            let online = self.online(&id).await;
            out.push(Connection {
                subscriber_id: subscriber_id.to_owned(),
                contract_id: text::text(c, &["contrato", "codcontrato", "CodigoContrato"]),
                login: text::text(c, &["username", "login"]),
                online,
                blocked: flag(c, &["bloqueada", "bloqueado"]).unwrap_or(false),
                block_reason: text::text(c, &["motivo_bloqueio", "MotivoBloqueio"]),
                speed_reduced: flag(c, &["esta_reduzida", "reduzida", "conexao_reduzida"])
                    .unwrap_or(false),
                address: text::text(c, &["endereco", "Endereco"]),
                id,
            });
        }
        Ok(out)
    }

    async fn open_invoices(&self, subscriber_id: &str) -> Result<Vec<Invoice>, ErpError> {
        let v = match self
            .call(
                "WSMKFaturasPendentes",
                &[("cd_cliente", subscriber_id.to_owned())],
            )
            .await
        {
            Ok(v) => v,
            Err(ErpError::NotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let today = self.today();
        let mut out = Vec::new();
        for f in list(&v, &["FaturasPendentes", "Faturas"]) {
            let Some(id) = text::text(f, &["codfatura", "cd_fatura", "CodigoFatura"]) else {
                continue;
            };
            let mut due = date_field(f, &["data_vencimento", "vencimento", "Vcto"]);
            let mut value = field(f, &["valor_total", "valor", "Valor"]).and_then(cents);
            let mut pdf_url = None;
            let mut line = text::text(f, &["linha_digitavel", "LinhaDigitavel"]);
            match self
                .call("WSMKSegundaViaCobranca", &[("cd_fatura", id.clone())])
                .await
            {
                Ok(sv) => {
                    pdf_url = text::text(&sv, &["PathDownload", "link", "url"]);
                    due = date_field(&sv, &["Vcto", "DataVencimento", "data_vencimento"]).or(due);
                    value = field(&sv, &["Valor", "valor_total"])
                        .and_then(cents)
                        .or(value);
                    line = text::text(
                        &sv,
                        &["LinhaDigitavel", "linha_digitavel", "CodigoDigitavel", "ld"],
                    )
                    .or(line);
                }
                Err(e @ (ErpError::Unavailable(_) | ErpError::Unauthorized)) => return Err(e),
                Err(e) => {
                    tracing::debug!(erp = "mk", error = %e, "second copy unavailable for an invoice")
                }
            }
            let Some(due) = due else {
                return Err(ErpError::Protocol("invoice without a due date".into()));
            };
            let linha_digitavel = line
                .and_then(|l| Boleto::parse(&l).ok())
                .map(|b| b.linha_digitavel());
            out.push(Invoice {
                id,
                subscriber_id: subscriber_id.to_owned(),
                contract_id: text::text(f, &["cd_contrato", "codcontrato", "contrato"]),
                description: text::text(f, &["descricao", "Descricao"]),
                value_cents: value
                    .ok_or_else(|| ErpError::Protocol("invoice without a value".into()))?,
                due_date: due,
                status: InvoiceStatus::unpaid(due, today),
                pdf_url,
                linha_digitavel,
            });
        }
        out.sort_by_key(|i| i.due_date);
        Ok(out)
    }

    async fn invoice_pix(&self, invoice_id: &str) -> Result<PixCharge, ErpError> {
        let v = self
            .call(
                "WSMKRetornarCopieColaPix",
                &[("CodigoFatura", invoice_id.to_owned())],
            )
            .await?;
        let code = text::text(&v, &["texto_qrcode", "copia_cola", "pix"])
            .ok_or_else(|| ErpError::Protocol("Pix answer without texto_qrcode".into()))?;
        let pix = PixCode::parse(&code)
            .map_err(|e| ErpError::Protocol(format!("invalid Pix code from the ERP: {e}")))?;
        Ok(PixCharge {
            invoice_id: Some(invoice_id.to_owned()),
            copia_e_cola: pix.payload,
            value_cents: pix.amount_cents,
        })
    }

    async fn trust_unlock(
        &self,
        _subscriber_id: &str,
        connection_id: &str,
    ) -> Result<Unlock, ErpError> {
        let ws = if self.cfg.unlock_v2 {
            "WSMKAutoDesbloqueioV2"
        } else {
            "WSMKAutoDesbloqueio"
        };
        match self
            .call(ws, &[("cd_conexao", connection_id.to_owned())])
            .await
        {
            Ok(v) => Ok(Unlock {
                connection_id: connection_id.to_owned(),
                until: date_field(&v, &["data_desbloqueio_ate", "ate", "DataLimite"]),
                message: text::text(&v, &["Mensagem", "mensagem"]),
            }),
            Err(ErpError::Refused { detail, .. }) => Err(ErpError::Refused {
                reason: unlock_refusal(&detail),
                detail,
            }),
            Err(e) => Err(e),
        }
    }

    async fn outages(&self) -> Result<Vec<Outage>, ErpError> {
        let v = match self
            .call_api(
                Api::Core,
                "notificacoes/status",
                &[("status", "A".to_owned())],
            )
            .await
        {
            Ok(v) => v,
            Err(ErpError::NotFound) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for n in list(&v, &["notificacoes", "dados", "data"]) {
            let Some(id) = text::text(n, &["cod", "codigo", "codigo_parada", "id"]) else {
                continue;
            };
            let affected = match self
                .call_api(
                    Api::Core,
                    "notificacoes/conexoes-afetadas",
                    &[("codigo_parada", id.clone())],
                )
                .await
            {
                Ok(a) => list(&a, &["conexoes", "dados", "data"])
                    .into_iter()
                    .filter_map(|c| text::text(c, &["codconexao", "cd_conexao", "conexao"]))
                    .collect(),
                Err(ErpError::NotFound) => Vec::new(),
                Err(e) => return Err(e),
            };
            out.push(Outage {
                id,
                description: text::text(n, &["descricao", "motivo", "titulo"]),
                started: text::text(n, &["data_inicio", "inicio", "data_abertura"]),
                forecast: text::text(n, &["previsao", "previsao_retorno", "data_previsao"]),
                affected_connections: affected,
            });
        }
        Ok(out)
    }

    async fn open_ticket(&self, t: &NewTicket) -> Result<Ticket, ErpError> {
        let (process, class) = self
            .ticket_codes()
            .ok_or(ErpError::Unsupported(Action::OpenTicket))?;
        let mut params = vec![
            ("cd_cliente", t.subscriber_id.clone()),
            ("cd_processo", process.to_owned()),
            ("cd_classificacao_ate", class.to_owned()),
            ("origem_contato", origin_code(&t.origin).to_owned()),
            ("info", format!("{}\n{}", t.subject, t.description)),
        ];
        if let Some(c) = &t.contract_id {
            params.push(("cd_contrato", c.clone()));
        }
        if let Some(c) = &t.connection_id {
            params.push(("conexao_associada", c.clone()));
        }
        let v = self.call("WSMKNovoAtendimento", &params).await?;
        let id = text::text(&v, &["CodigoAtendimento", "cd_atendimento", "id", "codigo"])
            .ok_or_else(|| ErpError::Protocol("ticket answer without an id".into()))?;
        Ok(Ticket {
            protocol: text::text(&v, &["Protocolo", "protocolo", "NumeroProtocolo"])
                .or_else(|| Some(id.clone())),
            id,
            subscriber_id: Some(t.subscriber_id.clone()),
            subject: Some(t.subject.clone()),
            status: TicketStatus::Open,
        })
    }

    async fn open_service_order(&self, o: &NewServiceOrder) -> Result<ServiceOrder, ErpError> {
        let (kind, tech, group) = self
            .order_codes()
            .ok_or(ErpError::Unsupported(Action::OpenServiceOrder))?;
        let mut params = vec![
            ("CodigoCliente", o.subscriber_id.clone()),
            ("DescricaoProblema", o.description.clone()),
            ("CodigoTipoOS", kind.to_owned()),
            ("CodigoTecnico", tech.to_owned()),
            ("CodigoGrupoServico", group.to_owned()),
            ("categoria", "1".to_owned()),
        ];
        for (k, v) in [
            ("CodigoConexao", &o.connection_id),
            ("CodigoContrato", &o.contract_id),
            ("CodigoAtendimento", &o.ticket_id),
        ] {
            if let Some(v) = v {
                params.push((k, v.clone()));
            }
        }
        let v = self.call("WSMKCriarOrdemServico", &params).await?;
        Ok(ServiceOrder {
            id: text::text(
                &v,
                &["CodigoOS", "codigo_os", "CodigoOrdemServico", "cd_os", "id"],
            )
            .ok_or_else(|| ErpError::Protocol("service order answer without an id".into()))?,
            subscriber_id: Some(o.subscriber_id.clone()),
            description: Some(o.description.clone()),
            status: ServiceOrderStatus::Open,
            scheduled_for: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn expire_is_sao_paulo_time() {
        let t = parse_expire("30/10/2020 17:50:56").unwrap();
        assert_eq!(t, "2020-10-30T20:50:56Z".parse::<Timestamp>().unwrap());
        assert_eq!(parse_expire("garbage"), None);
    }

    #[test]
    fn address_split() {
        let mut a = Address::default();
        split_address("Rua das Flores, 123 - Centro - Campinas", &mut a);
        assert_eq!(a.street.as_deref(), Some("Rua das Flores"));
        assert_eq!(a.number.as_deref(), Some("123"));
        assert_eq!(a.neighbourhood.as_deref(), Some("Centro"));
        assert_eq!(a.city.as_deref(), Some("Campinas"));
        let _ = date(2020, 1, 1);
    }

    #[test]
    fn origin_codes() {
        assert_eq!(origin_code("WhatsApp"), "9");
        assert_eq!(origin_code("telegram"), "13");
        assert_eq!(origin_code("webchat"), "5");
    }
}
