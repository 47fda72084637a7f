//! Fake IXC Provedor: `POST /webservice/v1/<resource>`, Basic auth, `ixcsoft: listar` queries.

use super::{BodyEncoding, Server, encode};
use crate::config::IxcConfig;
use crate::demo::demo_seed;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A fault to inject into the next matching call.
#[derive(Debug, Clone)]
pub enum IxcFault {
    /// HTTP 200 `{"type":"error","message":…}`.
    TypeError(String),
    /// HTTP 200 with the "Ocorreu um erro ao processar" HTML page.
    HtmlPage,
    /// HTTP status with an HTML body.
    Http(u16),
    /// Sleep before answering normally.
    Delay(Duration),
}

pub struct IxcState {
    pub token: String,
    /// Answer a wrong token with HTTP 401 instead of a non-JSON 200 body.
    pub unauthorized_as_401: bool,
    /// Trust-unlock answers with `type/message` instead of `tipo/mensagem`.
    pub english_keys: bool,
    pub encoding: BodyEncoding,
    pub delay: Option<Duration>,
    pub faults: VecDeque<(Option<String>, IxcFault)>,
    /// `(resource, listar header present, body)` of every call.
    pub calls: Vec<(String, bool, Value)>,
    pub tables: BTreeMap<String, Vec<Value>>,
    pub pix: BTreeMap<String, String>,
    pub unlocked: Vec<String>,
    next_id: u64,
}

pub struct FakeIxc {
    server: Server,
    state: Arc<Mutex<IxcState>>,
}

/// The fake's API token (`user id:hash`, as IXC shows it).
pub const FAKE_IXC_TOKEN: &str =
    "37:4be1f0c9a8d7e6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1";
/// A plain-text password the fake puts in every `cliente`/`radusuarios` record (must never leak).
pub const FAKE_IXC_RECORD_PASSWORD: &str = "senhaDoCliente#2026";

type Shared = Arc<Mutex<IxcState>>;

fn masked_phone(p: &str) -> String {
    if p.len() == 11 {
        format!("({}) {}-{}", &p[..2], &p[2..7], &p[7..])
    } else {
        format!("({}) {}-{}", &p[..2], &p[2..6], &p[6..])
    }
}

fn all_strings(v: Value) -> Value {
    match v {
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, all_strings(v))).collect())
        }
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(if b { "S" } else { "N" }.into()),
        Value::Null => Value::String(String::new()),
        other => other,
    }
}

impl FakeIxc {
    pub async fn start() -> FakeIxc {
        let today = prosa_br::time::today_sp();
        let data = demo_seed(today);
        let mut tables: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let clientes = data
            .subscribers
            .iter()
            .map(|s| {
                let doc = s.document.as_deref().and_then(|d| prosa_br::Document::parse(d).ok()).map(|d| d.formatted()).unwrap_or_default();
                let phone = s.phones.first().map(|p| masked_phone(p)).unwrap_or_default();
                let mobile = phone.len() == 15;
                all_strings(json!({
                    "id": s.id, "razao": s.name, "fantasia": "", "cnpj_cpf": doc, "ativo": "S", "email": s.email,
                    "whatsapp": if mobile { phone.clone() } else { String::new() },
                    "telefone_celular": if mobile { phone.clone() } else { String::new() },
                    "fone": if mobile { String::new() } else { phone.clone() }, "telefone_comercial": "",
                    "endereco": s.address.street, "numero": s.address.number, "complemento": "", "bairro": s.address.neighbourhood,
                    "cidade": "3512", "uf": "25", "cep": s.address.cep.clone().map(|c| format!("{}-{}", &c[..5], &c[5..])),
                    "data_nascimento": s.birth_date.map(|d| d.to_string()).unwrap_or_else(|| "0000-00-00".into()),
                    "senha": FAKE_IXC_RECORD_PASSWORD, "hotsite_acesso": "S",
                }))
            })
            .collect();
        tables.insert("cliente".into(), clientes);
        let contratos = data
            .connections
            .iter()
            .map(|c| {
                let plan = data.contracts.iter().find(|k| Some(&k.id) == c.contract_id.as_ref()).and_then(|k| k.plan.clone());
                all_strings(json!({
                    "id": c.contract_id, "id_cliente": c.subscriber_id, "contrato": plan, "status": "A",
                    "status_internet": if c.blocked { "FA" } else { "A" }, "status_velocidade": if c.speed_reduced { "R" } else { "N" },
                    "login": c.login, "pago_ate_data": "0000-00-00", "endereco": c.address,
                }))
            })
            .collect();
        tables.insert("cliente_contrato".into(), contratos);
        let rad = data
            .connections
            .iter()
            .map(|c| all_strings(json!({"id": c.id, "login": c.login, "online": if c.online == Some(true) { "S" } else { "N" }, "senha": FAKE_IXC_RECORD_PASSWORD, "ultima_conexao_final": "0000-00-00 00:00:00"})))
            .collect();
        tables.insert("radusuarios".into(), rad);
        let mut pix = BTreeMap::new();
        let areceber = data
            .invoices
            .iter()
            .map(|i| {
                pix.insert(i.invoice.id.clone(), i.pix.clone());
                let value = format!("{}.{:02}", i.invoice.value_cents / 100, i.invoice.value_cents % 100);
                all_strings(json!({
                    "id": i.invoice.id, "id_cliente": i.invoice.subscriber_id, "id_contrato": i.invoice.contract_id,
                    "data_vencimento": i.invoice.due_date.to_string(), "valor": value, "valor_aberto": if i.paid { "0.00".to_owned() } else { value.clone() },
                    "status": if i.paid { "R" } else { "A" }, "linha_digitavel": i.invoice.linha_digitavel, "gateway_link": i.invoice.pdf_url,
                    "pix_txid": format!("FAT{}", i.invoice.id), "obs": i.invoice.description,
                }))
            })
            .collect();
        tables.insert("fn_areceber".into(), areceber);
        let tickets = data
            .tickets
            .iter()
            .map(|t| {
                let st = match t.status {
                    crate::types::TicketStatus::Closed => "S",
                    crate::types::TicketStatus::InProgress => "EP",
                    crate::types::TicketStatus::Open => "N",
                };
                all_strings(json!({"id": t.id, "protocolo": t.protocol, "id_cliente": t.subscriber_id, "titulo": t.subject, "su_status": st}))
            })
            .collect();
        tables.insert("su_ticket".into(), tickets);
        let oss = data
            .service_orders
            .iter()
            .map(|o| all_strings(json!({"id": o.id, "id_cliente": o.subscriber_id, "mensagem": o.description, "status": "AG", "data_agenda": o.scheduled_for})))
            .collect();
        tables.insert("su_oss_chamado".into(), oss);
        tables.insert("contato".into(), Vec::new());
        let state = Arc::new(Mutex::new(IxcState {
            token: FAKE_IXC_TOKEN.into(),
            unauthorized_as_401: false,
            english_keys: false,
            encoding: BodyEncoding::Utf8,
            delay: None,
            faults: VecDeque::new(),
            calls: Vec::new(),
            tables,
            pix,
            unlocked: vec!["2005".into()],
            next_id: 90_000,
        }));
        let router = axum::Router::new()
            .route("/webservice/v1/{resource}", post(handle))
            .with_state(state.clone());
        FakeIxc {
            server: Server::start(router).await,
            state,
        }
    }

    pub fn base_url(&self) -> String {
        self.server.url()
    }

    /// A config pointing at this fake, with ticket and service-order ids set; small pages so
    /// paging is exercised.
    pub fn config(&self) -> IxcConfig {
        let mut c = IxcConfig::new(self.base_url(), FAKE_IXC_TOKEN);
        c.timeout_ms = 2_000;
        c.page_size = 2;
        c.ticket_subject = Some("3".into());
        c.ticket_department = Some("1".into());
        c.os_subject = Some("8".into());
        c.os_department = Some("2".into());
        c.os_branch = Some("1".into());
        c
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut IxcState) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn push_fault(&self, resource: Option<&str>, fault: IxcFault) {
        self.with(|s| s.faults.push_back((resource.map(str::to_owned), fault)));
    }

    pub fn calls(&self) -> Vec<(String, bool, Value)> {
        self.with(|s| s.calls.clone())
    }
}

const HTML_ERROR: &str = "<!DOCTYPE html><html><head><title>Erro</title></head><body><h1>Ocorreu um erro ao processar</h1></body></html>";

fn json_response(st: &IxcState, v: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "text/x-json")],
        encode(v, st.encoding),
    )
        .into_response()
}

fn matches(row: &Value, col: &str, oper: &str, query: &str) -> bool {
    let Some(val) = row.get(col).and_then(Value::as_str) else {
        return false;
    };
    match oper {
        "=" => val == query,
        "!=" => val != query,
        "L" => val.contains(query),
        ">" => val
            .parse::<f64>()
            .ok()
            .zip(query.parse::<f64>().ok())
            .is_some_and(|(a, b)| a > b),
        "<" => val
            .parse::<f64>()
            .ok()
            .zip(query.parse::<f64>().ok())
            .is_some_and(|(a, b)| a < b),
        _ => false,
    }
}

async fn handle(
    State(state): State<Shared>,
    Path(resource): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let listar = headers.get("ixcsoft").and_then(|v| v.to_str().ok()) == Some("listar");
    let (delay, fault) = {
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        st.calls.push((resource.clone(), listar, body.clone()));
        let pos = st
            .faults
            .iter()
            .position(|(f, _)| f.as_deref().is_none_or(|f| f == resource));
        (st.delay, pos.and_then(|p| st.faults.remove(p)).map(|f| f.1))
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    match fault {
        Some(IxcFault::Delay(d)) => tokio::time::sleep(d).await,
        Some(IxcFault::HtmlPage) => {
            return ([(header::CONTENT_TYPE, "text/html")], HTML_ERROR).into_response();
        }
        Some(IxcFault::Http(code)) => {
            return (
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                [(header::CONTENT_TYPE, "text/html")],
                HTML_ERROR,
            )
                .into_response();
        }
        Some(IxcFault::TypeError(m)) => {
            return (
                [(header::CONTENT_TYPE, "text/html")],
                json!({"type": "error", "message": m}).to_string(),
            )
                .into_response();
        }
        None => {}
    }
    let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
    let st = &mut *guard;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(st.token.as_bytes())
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(expected.as_str())
    {
        if st.unauthorized_as_401 {
            return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
        }
        return (
            [(header::CONTENT_TYPE, "text/plain")],
            "Token de acesso inválido!",
        )
            .into_response();
    }
    let s = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if listar {
        let Some(rows) = st.tables.get(&resource) else {
            return json_response(
                st,
                &json!({"type": "error", "message": format!("Tabela {resource} não existe!")}),
            );
        };
        let qtype = s("qtype");
        let col = qtype.split('.').next_back().unwrap_or_default().to_owned();
        let (oper, query) = (s("oper"), s("query"));
        let grid: Vec<Value> = serde_json::from_str(&s("grid_param")).unwrap_or_default();
        let page: usize = s("page").parse().unwrap_or(1).max(1);
        let rp: usize = s("rp").parse().unwrap_or(20).max(1);
        if qtype.is_empty() || oper.is_empty() {
            return ([(header::CONTENT_TYPE, "text/html")], HTML_ERROR).into_response();
        }
        let all: Vec<&Value> = rows
            .iter()
            .filter(|r| matches(r, &col, &oper, &query))
            .filter(|r| {
                grid.iter().all(|g| {
                    let c = g["TB"]
                        .as_str()
                        .unwrap_or_default()
                        .split('.')
                        .next_back()
                        .unwrap_or_default();
                    matches(
                        r,
                        c,
                        g["OP"].as_str().unwrap_or("="),
                        g["P"].as_str().unwrap_or_default(),
                    )
                })
            })
            .collect();
        let total = all.len();
        let page_rows: Vec<Value> = all
            .into_iter()
            .skip((page - 1) * rp)
            .take(rp)
            .cloned()
            .collect();
        let v = if total == 0 {
            json!({"page": page.to_string(), "total": "0"})
        } else {
            json!({"page": page.to_string(), "total": total.to_string(), "registros": page_rows})
        };
        return json_response(st, &v);
    }
    let (ok_key, msg_key, ok, err) = if st.english_keys {
        ("type", "message", "success", "error")
    } else {
        ("tipo", "mensagem", "sucesso", "erro")
    };
    match resource.as_str() {
        "desbloqueio_confianca" => {
            let id = s("id");
            let status = st.tables["cliente_contrato"]
                .iter()
                .find(|c| c["id"] == id.as_str())
                .map(|c| c["status_internet"].as_str().unwrap_or_default().to_owned());
            let v = match status.as_deref() {
                None => json!({ok_key: err, msg_key: "Contrato não encontrado!"}),
                Some("A") => json!({ok_key: err, msg_key: "Contrato não está bloqueado."}),
                Some(_) if st.unlocked.contains(&id) => {
                    json!({ok_key: err, msg_key: "Desbloqueio de confiança já utilizado neste mês."})
                }
                Some(_) => {
                    st.unlocked.push(id.clone());
                    if let Some(c) = st
                        .tables
                        .get_mut("cliente_contrato")
                        .and_then(|t| t.iter_mut().find(|c| c["id"] == id.as_str()))
                    {
                        c["status_internet"] = json!("A");
                    }
                    json!({ok_key: ok, msg_key: "Desbloqueio de confiança efetuado com sucesso!"})
                }
            };
            json_response(st, &v)
        }
        "get_pix" => {
            let id = s("id_areceber");
            match st.pix.get(&id) {
                Some(code) => {
                    let v = json!({"type": "success", "gateway": "Banco Demo", "pix": {"dadosPix": {"pixCopiaECola": code, "status": "ATIVA", "valor": {"original": "0.00"}}, "qrCode": {"qrcode": code, "imagemQrcode": "data:image/png;base64,AAAA"}}});
                    json_response(st, &v)
                }
                None => {
                    (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
                }
            }
        }
        "gerar_protocolo_atendimento" => {
            st.next_id += 1;
            (
                [(header::CONTENT_TYPE, "text/html")],
                format!("2026{:08}", st.next_id),
            )
                .into_response()
        }
        "su_ticket" | "su_oss_chamado" | "contato" => {
            let required: &[&str] = match resource.as_str() {
                "su_ticket" => &[
                    "id_cliente",
                    "id_assunto",
                    "titulo",
                    "menssagem",
                    "id_ticket_setor",
                ],
                "su_oss_chamado" => &[
                    "id_assunto",
                    "setor",
                    "id_filial",
                    "prioridade",
                    "origem_endereco",
                    "status",
                ],
                _ => &["nome"],
            };
            if let Some(missing) = required.iter().find(|k| s(k).is_empty()) {
                return json_response(
                    st,
                    &json!({"type": "error", "message": format!("Campo {missing} obrigatório!")}),
                );
            }
            st.next_id += 1;
            let id = st.next_id.to_string();
            let mut row = all_strings(body.clone());
            row["id"] = json!(id);
            if resource == "su_ticket" {
                row["su_status"] = json!("N");
            }
            st.tables.entry(resource.clone()).or_default().push(row);
            json_response(
                st,
                &json!({"type": "success", "message": "Registro inserido com sucesso!", "id": id}),
            )
        }
        _ => json_response(
            st,
            &json!({"type": "error", "message": format!("Recurso {resource} não existe!")}),
        ),
    }
}
