//! Contract tests of the IXC adapter against the fake IXC server.

use prosa_br::{Boleto, Document, PixCode};
use prosa_erp::fake::ixc::{FAKE_IXC_RECORD_PASSWORD, FAKE_IXC_TOKEN};
use prosa_erp::fake::{BodyEncoding, FakeIxc, IxcFault};
use prosa_erp::*;
use std::time::Duration;

fn doc(s: &str) -> Document {
    Document::parse(s).unwrap()
}

async fn setup() -> (FakeIxc, IxcErp) {
    let fake = FakeIxc::start().await;
    let erp = IxcErp::new(fake.config()).unwrap();
    (fake, erp)
}

#[tokio::test]
async fn finds_by_masked_document_with_birth_date() {
    let (fake, erp) = setup().await;
    let found = erp.find_by_document(&doc("52998224725")).await.unwrap();
    assert_eq!(found.len(), 1);
    let s = &found[0];
    assert_eq!(
        (s.id.as_str(), s.name.as_str()),
        ("1001", "Maria Aparecida da Silva")
    );
    assert_eq!(s.birth_date, Some(jiff::civil::date(1985, 4, 12)));
    assert_eq!(s.address.number.as_deref(), Some("123"));
    assert_eq!(s.address.cep.as_deref(), Some("13010050"));
    assert_eq!(s.phones, vec!["11987654321".to_owned()]);
    let (resource, listar, body) = fake.calls().pop().unwrap();
    assert_eq!(resource, "cliente");
    assert!(listar, "ixcsoft: listar header");
    assert_eq!(
        body["query"], "529.982.247-25",
        "searched in punctuated form"
    );
    assert_eq!(body["qtype"], "cliente.cnpj_cpf");
    assert!(
        body.as_object().unwrap().values().all(|v| v.is_string()),
        "every value a string: {body}"
    );
    // Alphanumeric CNPJ.
    let tech = erp.find_by_document(&doc("12ABC34501DE35")).await.unwrap();
    assert_eq!(tech[0].name, "Tech Nova Soluções Digitais");
    assert_eq!(tech[0].document.as_deref(), Some("12ABC34501DE35"));
    assert!(
        erp.find_by_document(&doc("11.444.777/0001-61"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn phone_and_id_lookups() {
    let (_fake, erp) = setup().await;
    assert_eq!(
        erp.find_by_phone("5511987654321").await.unwrap()[0].id,
        "1001"
    );
    assert_eq!(
        erp.find_by_phone("(19) 3234-5678").await.unwrap()[0].id,
        "1005"
    );
    assert!(
        erp.find_by_phone("21987654321").await.unwrap().is_empty(),
        "same last digits, other area code"
    );
    assert_eq!(
        erp.subscriber("1004").await.unwrap().name,
        "Carlos Eduardo Oliveira"
    );
    assert_eq!(erp.subscriber("4242").await, Err(ErpError::NotFound));
}

#[tokio::test]
async fn contracts_connections_and_paging() {
    let (fake, erp) = setup().await;
    let contracts = erp.contracts("1003").await.unwrap();
    assert_eq!(contracts.len(), 2);
    assert_eq!(
        contracts[1].plan.as_deref(),
        Some("Fibra 100 Mega (casa de praia)")
    );
    let joao = erp.connections("1002").await.unwrap();
    assert_eq!(joao[0].id, "2002");
    assert!(joao[0].blocked);
    assert_eq!(
        joao[0].block_reason.as_deref(),
        Some("financeiro em atraso")
    );
    assert_eq!(joao[0].online, Some(false));
    assert_eq!(joao[0].login.as_deref(), Some("joao.santos"));
    let carlos = erp.connections("1004").await.unwrap();
    assert!(carlos[0].speed_reduced);
    let maria = erp.connections("1001").await.unwrap();
    assert_eq!((maria[0].online, maria[0].blocked), (Some(true), false));
    // Paging: one row per page.
    let mut cfg = fake.config();
    cfg.page_size = 1;
    let small = IxcErp::new(cfg).unwrap();
    assert_eq!(small.contracts("1003").await.unwrap().len(), 2);
    let pages: Vec<String> = fake
        .calls()
        .iter()
        .filter(|c| c.0 == "cliente_contrato")
        .map(|c| c.2["page"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        pages.ends_with(&["1".to_owned(), "2".to_owned()]),
        "{pages:?}"
    );
}

#[tokio::test]
async fn invoices_and_pix() {
    let (fake, erp) = setup().await;
    let inv = erp.open_invoices("1004").await.unwrap();
    assert_eq!(inv.len(), 2);
    assert!(inv.iter().all(|i| i.status == InvoiceStatus::Overdue));
    assert!(inv[0].due_date < inv[1].due_date);
    assert_eq!(
        Boleto::parse(inv[0].linha_digitavel.as_deref().unwrap())
            .unwrap()
            .value_cents(),
        10_990
    );
    let maria = erp.open_invoices("1001").await.unwrap();
    assert_eq!(
        maria.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        vec!["5002"],
        "paid one excluded"
    );
    assert_eq!(maria[0].status, InvoiceStatus::Open);
    let grid = fake
        .calls()
        .iter()
        .rev()
        .find(|c| c.0 == "fn_areceber")
        .unwrap()
        .2["grid_param"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(grid.contains("fn_areceber.status"), "{grid}");
    let pix = erp.invoice_pix("5002").await.unwrap();
    assert_eq!(
        PixCode::parse(&pix.copia_e_cola).unwrap().txid.as_deref(),
        Some("FAT5002")
    );
    assert_eq!(
        erp.invoice_pix("123456").await,
        Err(ErpError::NotFound),
        "IXC answers 500 for unknown invoices"
    );
}

#[tokio::test]
async fn trust_unlock_outcomes_in_both_key_languages() {
    for english in [false, true] {
        let (fake, erp) = setup().await;
        fake.with(|s| s.english_keys = english);
        let ok = erp.trust_unlock("1002", "2002").await.unwrap();
        assert_eq!(
            ok.message.as_deref(),
            Some("Desbloqueio de confiança efetuado com sucesso!")
        );
        let again = erp.trust_unlock("1002", "2002").await.unwrap_err();
        assert!(
            matches!(
                again,
                ErpError::Refused {
                    reason: RefusalReason::NotBlocked,
                    ..
                }
            ),
            "unblocked now: {again:?}"
        );
        let used = erp.trust_unlock("1004", "2005").await.unwrap_err();
        assert!(
            matches!(
                used,
                ErpError::Refused {
                    reason: RefusalReason::AlreadyUsed,
                    ..
                }
            ),
            "{used:?}"
        );
        let unknown = erp.trust_unlock("1", "999").await.unwrap_err();
        assert_eq!(unknown, ErpError::NotFound);
        let body = fake
            .calls()
            .iter()
            .find(|c| c.0 == "desbloqueio_confianca")
            .unwrap()
            .clone();
        assert!(!body.1, "writes go without the listar header");
        assert_eq!(body.2, serde_json::json!({"id": "2002"}));
    }
}

#[tokio::test]
async fn tickets_orders_and_leads() {
    let (fake, erp) = setup().await;
    let t = erp
        .open_ticket(&NewTicket {
            subscriber_id: "1001".into(),
            contract_id: Some("2001".into()),
            connection_id: None,
            subject: "Internet lenta".into(),
            description: "Lentidão à noite".into(),
            origin: "telegram".into(),
        })
        .await
        .unwrap();
    assert!(t.protocol.as_deref().unwrap().starts_with("2026"));
    let sent = fake
        .calls()
        .iter()
        .find(|c| c.0 == "su_ticket")
        .unwrap()
        .2
        .clone();
    assert_eq!(
        sent["menssagem"].as_str().unwrap(),
        "Lentidão à noite\n\nOrigem: telegram"
    );
    let read = erp.ticket(&t.id).await.unwrap();
    assert_eq!(
        (read.status, read.protocol),
        (TicketStatus::Open, t.protocol)
    );
    let all = erp.tickets("1002").await.unwrap();
    assert_eq!(all[0].status, TicketStatus::InProgress);
    assert_eq!(erp.ticket("31337").await, Err(ErpError::NotFound));
    let os = erp
        .open_service_order(&NewServiceOrder {
            subscriber_id: "1001".into(),
            contract_id: Some("2001".into()),
            connection_id: None,
            ticket_id: Some(t.id),
            description: "Trocar ONU".into(),
        })
        .await
        .unwrap();
    let orders = erp.service_orders("1001").await.unwrap();
    assert!(
        orders
            .iter()
            .any(|o| o.id == os.id && o.status == ServiceOrderStatus::Open)
    );
    assert_eq!(
        erp.service_orders("1002").await.unwrap()[0].status,
        ServiceOrderStatus::Scheduled
    );
    let lead = erp
        .register_lead(&NewLead {
            name: "Paula".into(),
            phone: Some("19999990000".into()),
            origin: "webchat".into(),
            ..NewLead::default()
        })
        .await
        .unwrap();
    assert!(!lead.id.is_empty());
    assert!(!erp.capabilities().supports(Action::Outages));
    assert_eq!(
        erp.outages().await,
        Err(ErpError::Unsupported(Action::Outages))
    );
}

#[tokio::test]
async fn error_shapes_map_to_typed_errors() {
    let (fake, erp) = setup().await;
    fake.push_fault(
        Some("cliente"),
        IxcFault::TypeError("Sem permissão para acessar o recurso".into()),
    );
    assert_eq!(erp.subscriber("1001").await, Err(ErpError::Unauthorized));
    fake.push_fault(
        Some("cliente"),
        IxcFault::TypeError("Parâmetro qtype inválido".into()),
    );
    assert!(matches!(
        erp.subscriber("1001").await,
        Err(ErpError::Refused { .. })
    ));
    fake.push_fault(Some("cliente"), IxcFault::HtmlPage);
    assert!(
        matches!(erp.subscriber("1001").await, Err(ErpError::Protocol(m)) if m.contains("HTML"))
    );
    fake.push_fault(Some("cliente"), IxcFault::Http(503));
    assert_eq!(
        erp.subscriber("1001").await,
        Err(ErpError::Unavailable("HTTP 503".into()))
    );
    fake.push_fault(Some("cliente"), IxcFault::Http(404));
    assert!(matches!(
        erp.subscriber("1001").await,
        Err(ErpError::Protocol(_))
    ));
    // Wrong token: non-JSON 200 body, or 401 on some installs.
    let mut cfg = fake.config();
    cfg.token = "37:wrong".to_owned().into();
    let bad = IxcErp::new(cfg).unwrap();
    assert_eq!(bad.test_connection().await, Err(ErpError::Unauthorized));
    fake.with(|s| s.unauthorized_as_401 = true);
    assert_eq!(bad.test_connection().await, Err(ErpError::Unauthorized));
    erp.test_connection().await.unwrap();
}

#[tokio::test]
async fn latin1_bodies_and_timeouts() {
    let (fake, erp) = setup().await;
    fake.with(|s| s.encoding = BodyEncoding::Latin1);
    assert_eq!(
        erp.subscriber("1002").await.unwrap().name,
        "João Pereira dos Santos"
    );
    fake.with(|s| s.encoding = BodyEncoding::BrokenEscapes);
    assert_eq!(
        erp.subscriber("1006").await.unwrap().name,
        "Tech Nova Soluções Digitais"
    );
    let mut cfg = fake.config();
    cfg.timeout_ms = 300;
    let quick = IxcErp::new(cfg).unwrap();
    fake.push_fault(Some("cliente"), IxcFault::Delay(Duration::from_secs(3)));
    assert_eq!(
        quick.subscriber("1001").await,
        Err(ErpError::Unavailable("timeout".into()))
    );
}

#[tokio::test]
async fn secrets_never_leave_the_adapter() {
    let (fake, erp) = setup().await;
    let mut seen = String::new();
    seen += &format!("{:?}", erp.find_by_document(&doc("52998224725")).await);
    seen += &format!("{:?}", erp.connections("1002").await);
    seen += &format!("{:?}", erp.subscriber("1003").await);
    let mut cfg = fake.config();
    cfg.token = "37:wrong-but-secret".to_owned().into();
    let bad = IxcErp::new(cfg.clone()).unwrap();
    seen += &format!("{:?} {:?}", bad.test_connection().await, cfg);
    seen += &format!("{:?}", fake.config());
    assert!(
        !seen.contains(FAKE_IXC_RECORD_PASSWORD),
        "record password leaked"
    );
    assert!(!seen.contains(FAKE_IXC_TOKEN), "token leaked");
    assert!(!seen.contains("wrong-but-secret"), "token leaked");
}
