//! Fake MK Solutions: `/mk/<Service>.rule` and the Node `/core-api/…` routes.

use super::{BodyEncoding, Server, capitalise_keys, encode, ids_to_numbers};
use crate::config::MkConfig;
use crate::demo::{DemoData, demo_seed};
use crate::types::Subscriber;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A fault to inject into the next matching call.
#[derive(Debug, Clone)]
pub enum MkFault {
    /// `{"Mensagem":…, "Num. ERRO":code, "status":"ERRO"}`.
    Erro { code: String, message: String },
    /// `{"status":"ERRO","mensagem":…}` (lower-case key, as trust unlock answers).
    ErroLower { message: String },
    /// `{"codigo_erro":…,"mensagem":…,"status":"ERRO"}` (Pix without a Pix profile).
    ErroCodigo { code: u32, message: String },
    /// An HTTP status with an HTML body (e.g. 500 `ServletException`).
    Http(u16),
    /// HTTP 200 with a body that is not JSON.
    NotJson,
    /// Sleep before answering normally.
    Delay(Duration),
    /// Invalidate every session token now (this call then gets "Token expirado.").
    ExpireSessions,
}

/// Everything the fake knows and the knobs.
pub struct MkState {
    pub user_token: String,
    pub password: String,
    pub sessions: Vec<String>,
    /// `Expire` returned at login.
    pub expire: String,
    pub logins: u32,
    /// Service names called, in order (`WSAutenticacao`, `core:pessoas/telefone`, …).
    pub calls: Vec<String>,
    /// Faults for the next calls: `(service filter, fault)`; `None` matches any non-login call.
    pub faults: VecDeque<(Option<String>, MkFault)>,
    /// Invalidate sessions after this many successful non-login calls (token expiry mid-session).
    pub expire_after_calls: Option<u32>,
    pub encoding: BodyEncoding,
    pub ids_as_numbers: bool,
    pub capitalise_keys: bool,
    /// Delay every call.
    pub delay: Option<Duration>,
    pub data: DemoData,
    /// Connections whose trust unlock was used this month.
    pub unlocked: Vec<String>,
    next_id: u64,
    ok_calls: u32,
}

/// A running fake MK server.
pub struct FakeMk {
    server: Server,
    state: Arc<Mutex<MkState>>,
}

/// Secrets used by the fake (the log-scanning test looks for them).
pub const FAKE_MK_USER_TOKEN: &str = "UTOK-7f3a9c2e5b1d4e";
pub const FAKE_MK_PASSWORD: &str = "ContraSenha-8x2kQ9";

type Shared = Arc<Mutex<MkState>>;

impl FakeMk {
    pub async fn start() -> FakeMk {
        let today = prosa_br::time::today_sp();
        let mut data = demo_seed(today);
        // A second registration under Ana's CPF (MK `Outros[]`).
        let mut second = data
            .subscribers
            .iter()
            .find(|s| s.id == "1003")
            .cloned()
            .expect("invariant: seed has Ana");
        second.id = "1013".into();
        second.address.full = Some("Avenida Beira-Mar, 10 - Centro - Ubatuba".into());
        data.subscribers.push(second);
        let state = Arc::new(Mutex::new(MkState {
            user_token: FAKE_MK_USER_TOKEN.into(),
            password: FAKE_MK_PASSWORD.into(),
            sessions: Vec::new(),
            expire: format!(
                "{} 23:59:59",
                today
                    .checked_add(jiff::Span::new().days(1))
                    .expect("invariant")
                    .strftime("%d/%m/%Y")
            ),
            logins: 0,
            calls: Vec::new(),
            faults: VecDeque::new(),
            expire_after_calls: None,
            encoding: BodyEncoding::Utf8,
            ids_as_numbers: false,
            capitalise_keys: false,
            delay: None,
            data,
            unlocked: vec!["3005".into()],
            next_id: 60_000,
            ok_calls: 0,
        }));
        let router = axum::Router::new()
            .route("/mk/{service}", get(rule))
            .route("/core-api/{*path}", get(core))
            .with_state(state.clone());
        FakeMk {
            server: Server::start(router).await,
            state,
        }
    }

    pub fn base_url(&self) -> String {
        self.server.url()
    }

    /// A config pointing at this fake, with ticket and service-order codes set.
    pub fn config(&self) -> MkConfig {
        let mut c = MkConfig::new(self.base_url(), FAKE_MK_USER_TOKEN, FAKE_MK_PASSWORD);
        c.timeout_ms = 2_000;
        c.ticket_process = Some("12".into());
        c.ticket_classification = Some("34".into());
        c.os_type = Some("5".into());
        c.os_technician = Some("7".into());
        c.os_group = Some("2".into());
        c
    }

    /// Reads or changes the state (knobs, data, counters).
    pub fn with<R>(&self, f: impl FnOnce(&mut MkState) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn push_fault(&self, service: Option<&str>, fault: MkFault) {
        self.with(|s| s.faults.push_back((service.map(str::to_owned), fault)));
    }

    pub fn logins(&self) -> u32 {
        self.with(|s| s.logins)
    }

    pub fn calls(&self) -> Vec<String> {
        self.with(|s| s.calls.clone())
    }

    /// Session tokens handed out so far (to check they never leak).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.with(|s| s.sessions.clone())
    }
}

fn erro(code: &str, message: &str) -> Value {
    json!({"Mensagem": message, "Num. ERRO": code, "status": "ERRO"})
}

fn mk_person(s: &Subscriber) -> Value {
    let phone = s.phones.first().map(|p| {
        if p.len() == 11 {
            format!("({}) {}-{}", &p[..2], &p[2..7], &p[7..])
        } else {
            format!("({}) {}-{}", &p[..2], &p[2..6], &p[6..])
        }
    });
    json!({
        "CodigoPessoa": s.id,
        "Nome": s.name,
        "Endereco": s.address.full.clone().map(|f| f.trim_end_matches("/SP").to_owned()),
        "CEP": s.address.cep.clone().map(|c| format!("{}-{}", &c[..5], &c[5..])),
        "Fone": phone,
        "Email": s.email,
        "Latitude": "-22.9",
        "Longitude": "-47.06",
        "Situacao": if s.active { "Ativo" } else { "Inativo" },
    })
}

fn respond(st: &MkState, mut v: Value) -> Response {
    if st.ids_as_numbers {
        ids_to_numbers(&mut v);
    }
    if st.capitalise_keys {
        capitalise_keys(&mut v);
    }
    let ct = match st.encoding {
        BodyEncoding::Utf8 => "application/json; charset=utf-8",
        _ => "application/json; charset=iso-8859-1",
    };
    ([(header::CONTENT_TYPE, ct)], encode(&v, st.encoding)).into_response()
}

async fn rule(
    State(state): State<Shared>,
    Path(service): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let name = service.trim_end_matches(".rule").to_owned();
    handle(state, name, q).await
}

async fn core(
    State(state): State<Shared>,
    Path(path): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    handle(state, format!("core:{path}"), q).await
}

async fn handle(state: Shared, name: String, q: HashMap<String, String>) -> Response {
    let (delay, fault) = {
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        st.calls.push(name.clone());
        let pos = if name == "WSAutenticacao" {
            st.faults
                .iter()
                .position(|(f, _)| f.as_deref() == Some("WSAutenticacao"))
        } else {
            st.faults
                .iter()
                .position(|(f, _)| f.as_deref().is_none_or(|f| f == name))
        };
        (st.delay, pos.and_then(|p| st.faults.remove(p)).map(|f| f.1))
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let mut st_guard = match fault {
        Some(MkFault::Delay(d)) => {
            tokio::time::sleep(d).await;
            state.lock().unwrap_or_else(|p| p.into_inner())
        }
        Some(MkFault::Http(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (
                status,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>javax.servlet.ServletException: process:321</body></html>",
            )
                .into_response();
        }
        Some(MkFault::NotJson) => {
            return ([(header::CONTENT_TYPE, "text/plain")], "Erro interno").into_response();
        }
        Some(MkFault::Erro { code, message }) => {
            let st = state.lock().unwrap_or_else(|p| p.into_inner());
            return respond(&st, erro(&code, &message));
        }
        Some(MkFault::ErroLower { message }) => {
            let st = state.lock().unwrap_or_else(|p| p.into_inner());
            return respond(&st, json!({"status": "ERRO", "mensagem": message}));
        }
        Some(MkFault::ErroCodigo { code, message }) => {
            let st = state.lock().unwrap_or_else(|p| p.into_inner());
            return respond(
                &st,
                json!({"codigo_erro": code, "mensagem": message, "status": "ERRO"}),
            );
        }
        Some(MkFault::ExpireSessions) => {
            let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
            st.sessions.clear();
            st
        }
        None => state.lock().unwrap_or_else(|p| p.into_inner()),
    };
    let st = &mut *st_guard;
    let token = q.get("token").cloned().unwrap_or_default();
    if name == "WSAutenticacao" {
        if token != st.user_token
            || q.get("password") != Some(&st.password)
            || q.get("sys").map(String::as_str) != Some("MK0")
        {
            return respond(
                st,
                json!({"CodToken": 0, "Mensagem": "Token not found.", "Num. ERRO": "999", "status": "ERRO"}),
            );
        }
        st.logins += 1;
        let session = format!("SESS{:04}-9d8c7b6a5f4e3d2c", st.logins);
        st.sessions.push(session.clone());
        let body = json!({"Expire": st.expire, "LimiteUso": 0, "ServicosAutorizados": [1, 6, 7, 8, 9], "Token": session, "status": "OK"});
        return respond(st, body);
    }
    if !st.sessions.contains(&token) {
        return respond(
            st,
            json!({"CodToken": 585185, "Mensagem": "Token expirado.", "Num. ERRO": "999", "status": "ERRO"}),
        );
    }
    if !name.starts_with("core:") && q.get("sys").map(String::as_str) != Some("MK0") {
        return respond(st, erro("004", "Parâmetro sys ausente."));
    }
    st.ok_calls += 1;
    if let Some(n) = st.expire_after_calls
        && st.ok_calls >= n
    {
        st.sessions.clear();
        st.expire_after_calls = None;
    }
    let arg = |k: &str| q.get(k).cloned().unwrap_or_default();
    let body = match name.as_str() {
        "WSMKConsultaDoc" => {
            let doc = arg("doc");
            if doc.len() != 11 && doc.len() != 14 {
                return respond(st, erro("002", "Documento inválido."));
            }
            let found: Vec<&Subscriber> = st.data.subscribers.iter().filter(|s| s.document.as_deref() == Some(doc.as_str())).collect();
            match found.split_first() {
                None => erro("003", "Documento não localizado."),
                Some((first, rest)) => {
                    let mut v = mk_person(first);
                    v["status"] = json!("OK");
                    v["Outros"] = Value::Array(rest.iter().map(|s| mk_person(s)).collect());
                    v
                }
            }
        }
        "WSMKConexoesPorCliente" => {
            let id = arg("cd_cliente");
            let conns: Vec<Value> = st
                .data
                .connections
                .iter()
                .filter(|c| c.subscriber_id == id)
                .map(|c| {
                    json!({
                        "codconexao": c.id, "contrato": c.contract_id, "username": c.login, "mac_address": "AA:BB:CC:DD:EE:FF",
                        "endereco": c.address, "cep": "13010-050", "cadastro": "01/02/2023",
                        "bloqueada": if c.blocked { "Sim" } else { "Não" }, "motivo_bloqueio": c.block_reason.clone().unwrap_or_default(),
                        "esta_reduzida": if c.speed_reduced { "Sim" } else { "Não" }, "latitude": "", "longitude": ""
                    })
                })
                .collect();
            let name = st.data.subscribers.iter().find(|s| s.id == id).map(|s| s.name.clone());
            match name {
                Some(n) => json!({"CodigoPessoa": id, "Nome": n, "status": "OK", "Conexoes": conns}),
                None => erro("003", "Cliente não localizado."),
            }
        }
        "WSMKConsultaConexaoAutenticada" => {
            let id = arg("codconexao");
            match st.data.connections.iter().find(|c| c.id == id) {
                Some(c) => json!({"status": "OK", "Autenticada": if c.online == Some(true) { "Sim" } else { "Não" }}),
                None => erro("003", "Conexão não localizada."),
            }
        }
        "WSMKContratosPorCliente" => {
            let id = arg("cd_cliente");
            let list: Vec<Value> = st
                .data
                .contracts
                .iter()
                .filter(|c| c.subscriber_id == id)
                .map(|c| json!({"codcontrato": c.id, "plano_acesso": c.plan, "adesao": "01/02/2023", "previsao_vencimento": "10", "cd_empresa": "1", "nome_empresa": "Prosa Net"}))
                .collect();
            json!({"CodigoPessoa": id, "Nome": "", "status": "OK", "ContratosAtivos": list})
        }
        "WSMKFaturasPendentes" => {
            let id = arg("cd_cliente");
            let list: Vec<Value> = st
                .data
                .invoices
                .iter()
                .filter(|i| !i.paid && i.invoice.subscriber_id == id)
                .map(|i| {
                    json!({"codfatura": i.invoice.id, "descricao": i.invoice.description, "data_vencimento": i.invoice.due_date.strftime("%d/%m/%Y").to_string(),
                           "valor_total": format!("{}.{:02}", i.invoice.value_cents / 100, i.invoice.value_cents % 100)})
                })
                .collect();
            json!({"status": "OK", "FaturasPendentes": list})
        }
        "WSMKSegundaViaCobranca" => {
            let id = arg("cd_fatura");
            match st.data.invoices.iter().find(|i| i.invoice.id == id) {
                Some(i) => json!({"status": "OK", "PathDownload": i.invoice.pdf_url, "Valor": format!("{},{:02}", i.invoice.value_cents / 100, i.invoice.value_cents % 100),
                                  "Vcto": i.invoice.due_date.strftime("%d/%m/%Y").to_string(), "LinhaDigitavel": i.invoice.linha_digitavel}),
                None => erro("003", "Fatura não localizada."),
            }
        }
        "WSMKRetornarCopieColaPix" => {
            let id = arg("CodigoFatura");
            match st.data.invoices.iter().find(|i| i.invoice.id == id) {
                Some(i) => json!({"codpessoa": i.invoice.subscriber_id, "nome_razaosocial": "", "status_contrato": "Não", "texto_qrcode": i.pix, "conexão_reduzida": "Não", "status": "OK"}),
                None => json!({"codigo_erro": 3, "mensagem": "Fatura não encontrada.", "status": "ERRO"}),
            }
        }
        "WSMKAutoDesbloqueio" | "WSMKAutoDesbloqueioV2" => {
            let id = arg("cd_conexao");
            let blocked = st.data.connections.iter().find(|c| c.id == id).map(|c| c.blocked);
            match blocked {
                None => json!({"status": "ERRO", "mensagem": "Conexão não localizada."}),
                Some(false) => json!({"status": "ERRO", "mensagem": "Status na conexão incompatível para auto-desbloqueio."}),
                Some(true) if st.unlocked.contains(&id) => json!({"status": "ERRO", "mensagem": "Operação indisponível para esta conexão."}),
                Some(true) => {
                    st.unlocked.push(id.clone());
                    if let Some(c) = st.data.connections.iter_mut().find(|c| c.id == id) {
                        c.blocked = false;
                        c.block_reason = None;
                    }
                    json!({"status": "OK"})
                }
            }
        }
        "WSMKNovoAtendimento" => {
            for k in ["cd_cliente", "cd_processo", "cd_classificacao_ate", "origem_contato", "info"] {
                if arg(k).is_empty() {
                    return respond(st, erro("005", &format!("Parâmetro {k} obrigatório.")));
                }
            }
            st.next_id += 1;
            json!({"status": "OK", "CodigoAtendimento": st.next_id.to_string(), "Protocolo": format!("2026{:08}", st.next_id)})
        }
        "WSMKCriarOrdemServico" => {
            for k in ["CodigoCliente", "DescricaoProblema", "CodigoTipoOS", "CodigoTecnico", "CodigoGrupoServico"] {
                if arg(k).is_empty() {
                    return respond(st, erro("005", &format!("Parâmetro {k} obrigatório.")));
                }
            }
            st.next_id += 1;
            json!({"status": "OK", "CodigoOS": st.next_id.to_string()})
        }
        "core:pessoas/telefone" => {
            let want = format!("{}{}", arg("ddd"), arg("fone"));
            let list: Vec<Value> = st.data.subscribers.iter().filter(|s| s.phones.contains(&want)).map(mk_person).collect();
            json!({"status": "OK", "pessoas": list})
        }
        "core:pessoas/id" => {
            let id = arg("id");
            match st.data.subscribers.iter().find(|s| s.id == id) {
                Some(s) => mk_person(s),
                None => erro("003", "Pessoa não encontrada."),
            }
        }
        "core:notificacoes/status" => {
            Value::Array(st.data.outages.iter().map(|o| json!({"cod": o.id, "descricao": o.description, "data_inicio": o.started, "previsao": o.forecast, "status": "A"})).collect())
        }
        "core:notificacoes/conexoes-afetadas" => {
            let id = arg("codigo_parada");
            let list: Vec<Value> = st.data.outages.iter().filter(|o| o.id == id).flat_map(|o| o.affected_connections.iter().map(|c| json!({"codconexao": c}))).collect();
            Value::Array(list)
        }
        _ => erro("404", "Web service não autorizado para este perfil."),
    };
    respond(st, body)
}
