//! IXC Provedor adapter: table-oriented REST at `<base>/webservice/v1/<table>`,
//! `Authorization: Basic base64(<token as shown by IXC, "id:hash">)`, queries as POST with header
//! `ixcsoft: listar` and a JSON body `{qtype, query, oper, page, rp, sortname, sortorder}`,
//! answers `{page, total, registros}` with every value a string.
//!
//! Errors come with HTTP 200: `{"type":"error","message":…}` or an HTML page ("Ocorreu um erro
//! ao processar"); a wrong token gets a body that is not JSON (or HTTP 401 on some installs).
//! We detect them from the body. CPF/CNPJ are stored masked and searched masked.
//!
//! IXC tables return plain-text passwords (`senha`, `senha_rede_sem_fio`…): we read only the
//! fields we map and never log a record.
//!
//! Not offered: outages (no documented resource). Tickets and service orders need the ISP's
//! subject/department ids in [`IxcConfig`].

use crate::config::IxcConfig;
use crate::erp::Erp;
use crate::error::{ErpError, RefusalReason, fold, short, transport_error, unlock_refusal};
use crate::mk::http_client;
use crate::text::{self, cents, date_field, flag};
use crate::types::*;
use crate::{Clock, system_clock};
use async_trait::async_trait;
use base64::Engine;
use jiff::civil::Date;
use prosa_br::{Boleto, Document, PixCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// The IXC Provedor adapter.
pub struct IxcErp {
    cfg: IxcConfig,
    http: reqwest::Client,
    clock: Clock,
}

/// A search condition.
struct Query<'a> {
    qtype: &'a str,
    query: String,
    oper: &'a str,
    sortname: &'a str,
    /// `grid_param` filters: (column, operator, value).
    grid: Vec<(&'a str, &'a str, &'a str)>,
}

const MAX_PAGES: u32 = 20;

fn contract_status(s: Option<&str>) -> ContractStatus {
    match s {
        Some("A") => ContractStatus::Active,
        Some("I") | Some("C") | Some("D") => ContractStatus::Cancelled,
        Some("N") | Some("S") => ContractStatus::Suspended,
        _ => ContractStatus::Other,
    }
}

/// `status_internet`: A active, D disabled, CM manual block, CA automatic block, FA financial
/// (overdue), AA waiting for signature.
fn internet_block(s: Option<&str>) -> Option<&'static str> {
    match s {
        Some("CM") => Some("bloqueio manual"),
        Some("CA") => Some("bloqueio automático"),
        Some("FA") => Some("financeiro em atraso"),
        Some("D") => Some("desativado"),
        Some("AA") => Some("aguardando assinatura"),
        _ => None,
    }
}

fn ticket_status(s: Option<&str>) -> TicketStatus {
    match s {
        Some("S") | Some("F") => TicketStatus::Closed,
        Some("EP") | Some("AG") => TicketStatus::InProgress,
        _ => TicketStatus::Open,
    }
}

fn order_status(s: Option<&str>) -> ServiceOrderStatus {
    match s {
        Some("F") => ServiceOrderStatus::Closed,
        Some("AG") | Some("RAG") => ServiceOrderStatus::Scheduled,
        Some("EN") | Some("AS") | Some("DS") | Some("EX") | Some("AN") => {
            ServiceOrderStatus::InProgress
        }
        _ => ServiceOrderStatus::Open,
    }
}

fn subscriber(v: &Value) -> Option<Subscriber> {
    let id = text::text(v, &["id"])?;
    let mut phones = Vec::new();
    for key in ["whatsapp", "telefone_celular", "fone", "telefone_comercial"] {
        if let Some(p) = text::text(v, &[key]) {
            let p = text::national_phone(&p);
            if p.len() >= 8 && !phones.contains(&p) {
                phones.push(p);
            }
        }
    }
    Some(Subscriber {
        id,
        name: text::text(v, &["razao", "fantasia"]).unwrap_or_default(),
        document: text::text(v, &["cnpj_cpf"])
            .and_then(|d| Document::parse(&d).ok())
            .map(|d| d.canonical().to_owned()),
        active: text::text(v, &["ativo"]).is_none_or(|a| a == "S"),
        email: text::text(v, &["email"]),
        phones,
        address: Address {
            street: text::text(v, &["endereco"]),
            number: text::text(v, &["numero"]),
            complement: text::text(v, &["complemento"]),
            neighbourhood: text::text(v, &["bairro"]),
            city: None, // IXC internal city codes, not names
            state: None,
            cep: text::text(v, &["cep"]).as_deref().and_then(text::cep),
            full: None,
        },
        birth_date: date_field(v, &["data_nascimento"]),
    })
}

impl IxcErp {
    pub fn new(cfg: IxcConfig) -> Result<IxcErp, ErpError> {
        IxcErp::with_clock(cfg, system_clock())
    }

    pub fn with_clock(mut cfg: IxcConfig, clock: Clock) -> Result<IxcErp, ErpError> {
        cfg.base_url = cfg.base_url.trim_end_matches('/').to_owned();
        let http = http_client(cfg.timeout_ms)?;
        Ok(IxcErp { cfg, http, clock })
    }

    fn today(&self) -> Date {
        prosa_br::time::to_sp((self.clock)()).date()
    }

    fn auth_header(&self) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(self.cfg.token.expose_secret().as_bytes())
        )
    }

    /// Sends one request; `listar` adds the query header. Returns the parsed JSON, or the raw
    /// text when `raw` (protocol generation answers plain text).
    async fn post(&self, resource: &str, body: &Value, listar: bool) -> Result<Value, ErpError> {
        let text = self.post_text(resource, body, listar).await?;
        let trimmed = text.trim_start_matches('\u{feff}').trim();
        let mut v: Value = match serde_json::from_str(trimmed) {
            Ok(v) => v,
            Err(_) => {
                let lower = trimmed.to_lowercase();
                return Err(
                    if lower.starts_with('<')
                        || lower.contains("<html")
                        || lower.contains("<!doctype")
                    {
                        ErpError::Protocol(format!("{resource}: IXC answered an HTML error page"))
                    } else {
                        // A wrong token gets a non-JSON, non-HTML body.
                        ErpError::Unauthorized
                    },
                );
            }
        };
        text::repair_json(&mut v);
        // Some automation wrappers nest the answer in {data: …}.
        if let Some(inner) = v.get("data").filter(|d| d.is_object()).cloned()
            && v.get("registros").is_none()
            && v.get("type").is_none()
        {
            v = inner;
        }
        let kind = text::text(&v, &["type", "tipo"]).map(|t| fold(&t));
        if matches!(kind.as_deref(), Some("error" | "erro")) {
            let message = text::text(&v, &["message", "mensagem"]).unwrap_or_default();
            let m = fold(&message);
            tracing::debug!(erp = "ixc", resource, "ixc answered type=error");
            return Err(
                if m.contains("token")
                    || m.contains("autentica")
                    || m.contains("permiss")
                    || m.contains("nao autorizado")
                {
                    ErpError::Unauthorized
                } else if m.contains("nao encontrad")
                    || m.contains("nao existe")
                    || m.contains("not found")
                {
                    ErpError::NotFound
                } else {
                    ErpError::Refused {
                        reason: RefusalReason::Other,
                        detail: short(&message),
                    }
                },
            );
        }
        Ok(v)
    }

    async fn post_text(
        &self,
        resource: &str,
        body: &Value,
        listar: bool,
    ) -> Result<String, ErpError> {
        let url = format!("{}/webservice/v1/{resource}", self.cfg.base_url);
        let mut req = self
            .http
            .post(&url)
            .header(reqwest::header::AUTHORIZATION, self.auth_header())
            .json(body);
        if listar {
            req = req.header("ixcsoft", "listar");
        }
        let started = std::time::Instant::now();
        let resp = req.send().await.map_err(|e| transport_error(&e))?;
        let status = resp.status();
        tracing::debug!(
            erp = "ixc",
            resource,
            http_status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "ixc call"
        );
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(ErpError::Unauthorized);
        }
        if status.is_server_error() {
            return Err(ErpError::Unavailable(format!("HTTP {}", status.as_u16())));
        }
        if !status.is_success() {
            return Err(ErpError::Protocol(format!("HTTP {}", status.as_u16())));
        }
        let bytes = resp.bytes().await.map_err(|e| transport_error(&e))?;
        Ok(text::decode_body(&bytes))
    }

    /// Every record matching, page by page (at most [`MAX_PAGES`] pages).
    async fn list(&self, table: &str, q: Query<'_>) -> Result<Vec<Value>, ErpError> {
        let mut out = Vec::new();
        let rp = self.cfg.page_size.max(1);
        for page in 1..=MAX_PAGES {
            let mut body = json!({
                "qtype": q.qtype,
                "query": q.query,
                "oper": q.oper,
                "page": page.to_string(),
                "rp": rp.to_string(),
                "sortname": q.sortname,
                "sortorder": "asc",
            });
            if !q.grid.is_empty() {
                let grid: Vec<Value> = q
                    .grid
                    .iter()
                    .map(|(tb, op, p)| json!({"TB": tb, "OP": op, "P": p}))
                    .collect();
                body["grid_param"] = Value::String(Value::Array(grid).to_string());
            }
            let v = self.post(table, &body, true).await?;
            let total: usize = text::text(&v, &["total"])
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let rows = match v.get("registros") {
                Some(Value::Array(a)) => a.clone(),
                None | Some(Value::Null) if total == 0 => Vec::new(),
                _ => {
                    return Err(ErpError::Protocol(format!(
                        "{table}: answer without registros"
                    )));
                }
            };
            let n = rows.len();
            out.extend(rows);
            if n == 0 || out.len() >= total || n < rp as usize {
                break;
            }
        }
        Ok(out)
    }

    fn eq<'a>(qtype: &'a str, value: &str, sortname: &'a str) -> Query<'a> {
        Query {
            qtype,
            query: value.to_owned(),
            oper: "=",
            sortname,
            grid: Vec::new(),
        }
    }

    async fn online(&self, login: &str) -> Option<bool> {
        let rows = self
            .list(
                "radusuarios",
                Self::eq("radusuarios.login", login, "radusuarios.id"),
            )
            .await
            .ok()?;
        rows.first().and_then(|r| flag(r, &["online"]))
    }

    async fn insert(&self, resource: &str, body: &Value) -> Result<String, ErpError> {
        let v = self.post(resource, body, false).await?;
        text::text(&v, &["id"])
            .ok_or_else(|| ErpError::Protocol(format!("{resource}: insert answer without an id")))
    }
}

#[async_trait]
impl Erp for IxcErp {
    fn kind(&self) -> &'static str {
        "ixc"
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
            Action::TicketStatus,
            Action::ServiceOrderStatus,
            Action::RegisterLead,
        ]);
        if self.cfg.ticket_subject.is_some() && self.cfg.ticket_department.is_some() {
            c.0.insert(Action::OpenTicket);
        }
        if self.cfg.os_subject.is_some()
            && self.cfg.os_department.is_some()
            && self.cfg.os_branch.is_some()
        {
            c.0.insert(Action::OpenServiceOrder);
        }
        c
    }

    async fn test_connection(&self) -> Result<(), ErpError> {
        let body = json!({"qtype": "cliente.id", "query": "0", "oper": ">", "page": "1", "rp": "1", "sortname": "cliente.id", "sortorder": "asc"});
        self.post("cliente", &body, true).await.map(|_| ())
    }

    async fn find_by_document(&self, document: &Document) -> Result<Vec<Subscriber>, ErpError> {
        let rows = self
            .list(
                "cliente",
                Self::eq("cliente.cnpj_cpf", &document.formatted(), "cliente.id"),
            )
            .await?;
        Ok(rows.iter().filter_map(subscriber).collect())
    }

    async fn find_by_phone(&self, phone: &str) -> Result<Vec<Subscriber>, ErpError> {
        let national = text::national_phone(phone);
        if national.len() < 8 {
            return Err(ErpError::InvalidRequest("phone too short".into()));
        }
        // Stored masked "(99) 99999-9999": search the last 8 digits with mask, then check the
        // area code locally.
        let last8 = &national[national.len() - 8..];
        let needle = format!("{}-{}", &last8[..4], &last8[4..]);
        let mut out: Vec<Subscriber> = Vec::new();
        for col in [
            "cliente.whatsapp",
            "cliente.telefone_celular",
            "cliente.fone",
            "cliente.telefone_comercial",
        ] {
            let rows = self
                .list(
                    "cliente",
                    Query {
                        qtype: col,
                        query: needle.clone(),
                        oper: "L",
                        sortname: "cliente.id",
                        grid: Vec::new(),
                    },
                )
                .await?;
            for s in rows.iter().filter_map(subscriber) {
                let matches = s.phones.iter().any(|p| p.ends_with(&national));
                if matches && !out.iter().any(|o| o.id == s.id) {
                    out.push(s);
                }
            }
        }
        Ok(out)
    }

    async fn subscriber(&self, id: &str) -> Result<Subscriber, ErpError> {
        let rows = self
            .list("cliente", Self::eq("cliente.id", id, "cliente.id"))
            .await?;
        rows.iter().find_map(subscriber).ok_or(ErpError::NotFound)
    }

    async fn contracts(&self, subscriber_id: &str) -> Result<Vec<Contract>, ErpError> {
        let rows = self
            .list(
                "cliente_contrato",
                Self::eq(
                    "cliente_contrato.id_cliente",
                    subscriber_id,
                    "cliente_contrato.id",
                ),
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(Contract {
                    id: text::text(r, &["id"])?,
                    subscriber_id: subscriber_id.to_owned(),
                    plan: text::text(r, &["contrato"]),
                    status: contract_status(text::text(r, &["status"]).as_deref()),
                    address: Some(Address {
                        street: text::text(r, &["endereco"]),
                        number: text::text(r, &["numero"]),
                        neighbourhood: text::text(r, &["bairro"]),
                        cep: text::text(r, &["cep"]).as_deref().and_then(text::cep),
                        ..Address::default()
                    })
                    .filter(|a| a != &Address::default()),
                })
            })
            .collect())
    }

    async fn connections(&self, subscriber_id: &str) -> Result<Vec<Connection>, ErpError> {
        let rows = self
            .list(
                "cliente_contrato",
                Self::eq(
                    "cliente_contrato.id_cliente",
                    subscriber_id,
                    "cliente_contrato.id",
                ),
            )
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let Some(id) = text::text(r, &["id"]) else {
                continue;
            };
            if contract_status(text::text(r, &["status"]).as_deref()) == ContractStatus::Cancelled {
                continue;
            }
            let login = text::text(r, &["login"]);
            let online = match &login {
                Some(l) => self.online(l).await,
                None => None,
            };
            let internet = text::text(r, &["status_internet"]);
            let reason = internet_block(internet.as_deref());
            out.push(Connection {
                contract_id: Some(id.clone()),
                id,
                subscriber_id: subscriber_id.to_owned(),
                login,
                online,
                blocked: reason.is_some(),
                block_reason: reason.map(str::to_owned),
                speed_reduced: text::text(r, &["status_velocidade"]).is_some_and(|s| s == "R"),
                address: text::text(r, &["endereco"]),
            });
        }
        Ok(out)
    }

    async fn open_invoices(&self, subscriber_id: &str) -> Result<Vec<Invoice>, ErpError> {
        let q = Query {
            qtype: "fn_areceber.id_cliente",
            query: subscriber_id.to_owned(),
            oper: "=",
            sortname: "fn_areceber.data_vencimento",
            grid: vec![("fn_areceber.status", "=", "A")],
        };
        let rows = self.list("fn_areceber", q).await?;
        let today = self.today();
        let mut out = Vec::new();
        for r in &rows {
            if text::text(r, &["status"]).is_some_and(|s| s != "A") {
                continue;
            }
            let (Some(id), Some(due)) =
                (text::text(r, &["id"]), date_field(r, &["data_vencimento"]))
            else {
                return Err(ErpError::Protocol(
                    "fn_areceber: record without id or due date".into(),
                ));
            };
            let value = r
                .get("valor_aberto")
                .and_then(cents)
                .filter(|v| *v > 0)
                .or_else(|| r.get("valor").and_then(cents));
            out.push(Invoice {
                id,
                subscriber_id: subscriber_id.to_owned(),
                contract_id: text::text(r, &["id_contrato"]).filter(|c| c != "0"),
                description: text::text(r, &["obs", "documento"]),
                value_cents: value.ok_or_else(|| {
                    ErpError::Protocol("fn_areceber: record without value".into())
                })?,
                due_date: due,
                status: InvoiceStatus::unpaid(due, today),
                pdf_url: text::text(r, &["gateway_link"]),
                linha_digitavel: text::text(r, &["linha_digitavel"])
                    .and_then(|l| Boleto::parse(&l).ok())
                    .map(|b| b.linha_digitavel()),
            });
        }
        out.sort_by_key(|i| i.due_date);
        Ok(out)
    }

    async fn invoice_pix(&self, invoice_id: &str) -> Result<PixCharge, ErpError> {
        // IXC answers HTTP 500 for an unknown invoice here.
        let v = match self
            .post("get_pix", &json!({"id_areceber": invoice_id}), false)
            .await
        {
            Err(ErpError::Unavailable(d)) if d == "HTTP 500" => return Err(ErpError::NotFound),
            other => other?,
        };
        let code = v
            .pointer("/pix/dadosPix/pixCopiaECola")
            .and_then(Value::as_str)
            .or_else(|| v.pointer("/pix/qrCode/qrcode").and_then(Value::as_str))
            .ok_or_else(|| ErpError::Protocol("get_pix: answer without pixCopiaECola".into()))?;
        let pix = PixCode::parse(code)
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
        match self
            .post(
                "desbloqueio_confianca",
                &json!({"id": connection_id}),
                false,
            )
            .await
        {
            Ok(v) => {
                let kind = text::text(&v, &["type", "tipo"]).map(|t| fold(&t));
                if matches!(kind.as_deref(), Some("success" | "sucesso")) {
                    Ok(Unlock {
                        connection_id: connection_id.to_owned(),
                        until: None,
                        message: text::text(&v, &["message", "mensagem"]),
                    })
                } else {
                    Err(ErpError::Protocol(
                        "desbloqueio_confianca: unexpected answer".into(),
                    ))
                }
            }
            Err(ErpError::Refused { detail, .. }) => Err(ErpError::Refused {
                reason: unlock_refusal(&detail),
                detail,
            }),
            Err(e) => Err(e),
        }
    }

    async fn open_ticket(&self, t: &NewTicket) -> Result<Ticket, ErpError> {
        let (Some(subject), Some(dept)) = (&self.cfg.ticket_subject, &self.cfg.ticket_department)
        else {
            return Err(ErpError::Unsupported(Action::OpenTicket));
        };
        let protocol = self
            .post_text("gerar_protocolo_atendimento", &json!({}), false)
            .await?;
        let protocol = protocol.trim().trim_matches('"').to_owned();
        let protocol = (!protocol.is_empty() && protocol.len() < 40 && !protocol.contains('<'))
            .then_some(protocol);
        let body = json!({
            "tipo": "C",
            "id_cliente": t.subscriber_id,
            "id_contrato": t.contract_id.clone().unwrap_or_default(),
            "id_login": "",
            "id_assunto": subject,
            "id_ticket_setor": dept,
            "titulo": t.subject,
            "menssagem": format!("{}\n\nOrigem: {}", t.description, t.origin),
            "prioridade": "M",
            "origem_endereco": "C",
            "id_ticket_origem": "I",
            "su_status": "N",
            "status": "N",
            "protocolo": protocol.clone().unwrap_or_default(),
        });
        let id = self.insert("su_ticket", &body).await?;
        Ok(Ticket {
            protocol: protocol.or_else(|| Some(id.clone())),
            id,
            subscriber_id: Some(t.subscriber_id.clone()),
            subject: Some(t.subject.clone()),
            status: TicketStatus::Open,
        })
    }

    async fn ticket(&self, id: &str) -> Result<Ticket, ErpError> {
        let rows = self
            .list("su_ticket", Self::eq("su_ticket.id", id, "su_ticket.id"))
            .await?;
        rows.iter().find_map(ixc_ticket).ok_or(ErpError::NotFound)
    }

    async fn tickets(&self, subscriber_id: &str) -> Result<Vec<Ticket>, ErpError> {
        let rows = self
            .list(
                "su_ticket",
                Self::eq("su_ticket.id_cliente", subscriber_id, "su_ticket.id"),
            )
            .await?;
        Ok(rows.iter().filter_map(ixc_ticket).collect())
    }

    async fn open_service_order(&self, o: &NewServiceOrder) -> Result<ServiceOrder, ErpError> {
        let (Some(subject), Some(dept), Some(branch)) = (
            &self.cfg.os_subject,
            &self.cfg.os_department,
            &self.cfg.os_branch,
        ) else {
            return Err(ErpError::Unsupported(Action::OpenServiceOrder));
        };
        let body = json!({
            "tipo": "C",
            "id_cliente": o.subscriber_id,
            "id_contrato_kit": o.contract_id.clone().unwrap_or_default(),
            "id_ticket": o.ticket_id.clone().unwrap_or_default(),
            "id_assunto": subject,
            "setor": dept,
            "id_filial": branch,
            "prioridade": "N",
            "origem_endereco": "C",
            "status": "A",
            "mensagem": o.description,
        });
        let id = self.insert("su_oss_chamado", &body).await?;
        Ok(ServiceOrder {
            id,
            subscriber_id: Some(o.subscriber_id.clone()),
            description: Some(o.description.clone()),
            status: ServiceOrderStatus::Open,
            scheduled_for: None,
        })
    }

    async fn service_orders(&self, subscriber_id: &str) -> Result<Vec<ServiceOrder>, ErpError> {
        let rows = self
            .list(
                "su_oss_chamado",
                Self::eq(
                    "su_oss_chamado.id_cliente",
                    subscriber_id,
                    "su_oss_chamado.id",
                ),
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(ServiceOrder {
                    id: text::text(r, &["id"])?,
                    subscriber_id: text::text(r, &["id_cliente"]),
                    description: text::text(r, &["mensagem"]),
                    status: order_status(text::text(r, &["status"]).as_deref()),
                    scheduled_for: text::text(r, &["data_agenda"])
                        .filter(|d| !d.starts_with("0000")),
                })
            })
            .collect())
    }

    async fn register_lead(&self, l: &NewLead) -> Result<Lead, ErpError> {
        let body = json!({
            "nome": l.name,
            "fone_celular": l.phone.clone().unwrap_or_default(),
            "email": l.email.clone().unwrap_or_default(),
            "cnpj_cpf": l.document.as_deref().and_then(|d| Document::parse(d).ok()).map(|d| d.formatted()).unwrap_or_default(),
            "cep": l.cep.clone().unwrap_or_default(),
            "endereco": l.address.clone().unwrap_or_default(),
            "obs": format!("{} (origem: {})", l.notes.clone().unwrap_or_default(), l.origin),
        });
        Ok(Lead {
            id: self.insert("contato", &body).await?,
        })
    }
}

fn ixc_ticket(r: &Value) -> Option<Ticket> {
    Some(Ticket {
        id: text::text(r, &["id"])?,
        protocol: text::text(r, &["protocolo"]),
        subscriber_id: text::text(r, &["id_cliente"]),
        subject: text::text(r, &["titulo"]),
        status: ticket_status(text::text(r, &["su_status"]).as_deref()),
    })
}
