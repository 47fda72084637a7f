//! Contract tests of the MK adapter against the fake MK server.

use prosa_br::{Boleto, Document, PixCode};
use prosa_erp::fake::mk::{FAKE_MK_PASSWORD, FAKE_MK_USER_TOKEN};
use prosa_erp::fake::{BodyEncoding, FakeMk, MkFault};
use prosa_erp::*;
use std::time::Duration;

fn doc(s: &str) -> Document {
    Document::parse(s).unwrap()
}

async fn setup() -> (FakeMk, MkErp) {
    let fake = FakeMk::start().await;
    let erp = MkErp::new(fake.config()).unwrap();
    (fake, erp)
}

fn assert_no_secret(fake: &FakeMk, text: &str) {
    assert!(
        !text.contains(FAKE_MK_USER_TOKEN),
        "user token leaked: {text}"
    );
    assert!(!text.contains(FAKE_MK_PASSWORD), "password leaked: {text}");
    for t in fake.issued_tokens() {
        assert!(!text.contains(&t), "session token leaked: {text}");
    }
}

#[tokio::test]
async fn identifies_by_document_with_confirmation_data() {
    let (fake, erp) = setup().await;
    let found = erp.find_by_document(&doc("529.982.247-25")).await.unwrap();
    assert_eq!(found.len(), 1);
    let s = &found[0];
    assert_eq!(s.id, "1001");
    assert_eq!(s.name, "Maria Aparecida da Silva");
    assert_eq!(s.document.as_deref(), Some("52998224725"));
    assert_eq!(s.phones, vec!["11987654321".to_owned()]);
    assert_eq!(s.address.cep.as_deref(), Some("13010050"));
    assert_eq!(s.address.street.as_deref(), Some("Rua das Flores"));
    assert_eq!(s.address.number.as_deref(), Some("123"));
    assert_eq!(s.address.neighbourhood.as_deref(), Some("Centro"));
    assert_eq!(s.address.city.as_deref(), Some("Campinas"));
    assert!(s.active);
    // Several registrations under one CPF (Outros[]).
    let ana = erp.find_by_document(&doc("123.456.789-09")).await.unwrap();
    assert_eq!(
        ana.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        vec!["1003", "1013"]
    );
    // Unknown document: empty, not an error.
    assert!(
        erp.find_by_document(&doc("111.444.777-35"))
            .await
            .unwrap()
            .len()
            == 1
    );
    assert!(
        erp.find_by_document(&doc("987.654.321-00"))
            .await
            .unwrap()
            .len()
            == 1
    );
    assert!(
        erp.find_by_document(&doc("11.444.777/0001-61"))
            .await
            .unwrap()
            .is_empty()
    );
    // Sent without punctuation.
    assert_eq!(fake.logins(), 1, "session token cached");
}

#[tokio::test]
async fn phone_and_id_lookups_use_core_api() {
    let (fake, erp) = setup().await;
    let by_phone = erp.find_by_phone("+55 (11) 98765-4321").await.unwrap();
    assert_eq!(
        by_phone.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        vec!["1001"]
    );
    assert!(erp.find_by_phone("11900000000").await.unwrap().is_empty());
    assert!(matches!(
        erp.find_by_phone("4321").await,
        Err(ErpError::InvalidRequest(_))
    ));
    assert_eq!(
        erp.subscriber("1002").await.unwrap().name,
        "João Pereira dos Santos"
    );
    assert_eq!(erp.subscriber("999").await, Err(ErpError::NotFound));
    assert!(fake.calls().iter().any(|c| c == "core:pessoas/telefone"));
}

#[tokio::test]
async fn contracts_connections_invoices_and_pix() {
    let (_fake, erp) = setup().await;
    let contracts = erp.contracts("1003").await.unwrap();
    assert_eq!(contracts.len(), 2);
    assert_eq!(contracts[0].plan.as_deref(), Some("Fibra 300 Mega"));

    let maria = erp.connections("1001").await.unwrap();
    assert_eq!(maria.len(), 1);
    assert_eq!(
        (maria[0].id.as_str(), maria[0].online, maria[0].blocked),
        ("3001", Some(true), false)
    );
    assert_eq!(maria[0].contract_id.as_deref(), Some("2001"));
    let carlos = erp.connections("1004").await.unwrap();
    assert!(carlos[0].blocked && carlos[0].speed_reduced);
    assert_eq!(carlos[0].block_reason.as_deref(), Some("Inadimplência"));
    assert_eq!(carlos[0].online, Some(false));

    let invoices = erp.open_invoices("1002").await.unwrap();
    assert_eq!(invoices.len(), 2);
    assert_eq!(invoices[0].status, InvoiceStatus::Overdue);
    assert_eq!(invoices[1].status, InvoiceStatus::Open);
    assert_eq!(invoices[0].value_cents, 12_990);
    assert!(
        invoices[0]
            .pdf_url
            .as_deref()
            .unwrap()
            .ends_with("5003.pdf")
    );
    let line = invoices[0].linha_digitavel.as_deref().unwrap();
    assert_eq!(Boleto::parse(line).unwrap().value_cents(), 12_990);
    assert!(
        erp.open_invoices("1001")
            .await
            .unwrap()
            .iter()
            .all(|i| i.id != "5001"),
        "paid invoice excluded"
    );

    let pix = erp.invoice_pix("5003").await.unwrap();
    let parsed = PixCode::parse(&pix.copia_e_cola).unwrap();
    assert_eq!(parsed.amount_cents, Some(12_990));
    assert_eq!(pix.value_cents, Some(12_990));
}

#[tokio::test]
async fn trust_unlock_outcomes() {
    let (fake, erp) = setup().await;
    let ok = erp.trust_unlock("1002", "3002").await.unwrap();
    assert_eq!(ok.connection_id, "3002");
    let again = erp.trust_unlock("1002", "3002").await.unwrap_err();
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
    let used = erp.trust_unlock("1004", "3005").await.unwrap_err();
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
    let not_blocked = erp.trust_unlock("1001", "3001").await.unwrap_err();
    assert!(
        matches!(
            not_blocked,
            ErpError::Refused {
                reason: RefusalReason::NotBlocked,
                ..
            }
        ),
        "{not_blocked:?}"
    );
    fake.push_fault(
        Some("WSMKAutoDesbloqueio"),
        MkFault::ErroLower {
            message: "Cliente com mais de 30 dias de atraso.".into(),
        },
    );
    let overdue = erp.trust_unlock("1006", "3007").await.unwrap_err();
    assert!(
        matches!(
            overdue,
            ErpError::Refused {
                reason: RefusalReason::TooManyDaysOverdue,
                ..
            }
        ),
        "{overdue:?}"
    );
    let mut cfg = fake.config();
    cfg.unlock_v2 = true;
    let v2 = MkErp::new(cfg).unwrap();
    v2.trust_unlock("1006", "3007").await.unwrap();
    assert!(fake.calls().iter().any(|c| c == "WSMKAutoDesbloqueioV2"));
}

#[tokio::test]
async fn outages_tickets_and_orders() {
    let (fake, erp) = setup().await;
    let outages = erp.outages().await.unwrap();
    assert_eq!(outages.len(), 1);
    assert!(
        outages[0]
            .description
            .as_deref()
            .unwrap()
            .contains("Jardim Primavera")
    );
    assert!(erp.connection_outage("3003").await.unwrap().is_some());
    assert!(erp.connection_outage("3001").await.unwrap().is_none());

    let t = erp
        .open_ticket(&NewTicket {
            subscriber_id: "1001".into(),
            contract_id: Some("2001".into()),
            connection_id: Some("3001".into()),
            subject: "Sem conexão".into(),
            description: "Cliente relata queda".into(),
            origin: "whatsapp".into(),
        })
        .await
        .unwrap();
    assert!(t.protocol.unwrap().starts_with("2026"));
    let os = erp
        .open_service_order(&NewServiceOrder {
            subscriber_id: "1001".into(),
            contract_id: None,
            connection_id: Some("3001".into()),
            ticket_id: Some(t.id),
            description: "ONU com LOS".into(),
        })
        .await
        .unwrap();
    assert_eq!(os.status, ServiceOrderStatus::Open);
    assert!(erp.capabilities().supports(Action::OpenTicket));
    assert!(!erp.capabilities().supports(Action::TicketStatus));
    assert_eq!(
        erp.ticket("1").await,
        Err(ErpError::Unsupported(Action::TicketStatus))
    );

    let mut bare = fake.config();
    bare.ticket_process = None;
    bare.os_type = None;
    let bare = MkErp::new(bare).unwrap();
    assert!(!bare.capabilities().supports(Action::OpenTicket));
    assert!(!bare.capabilities().supports(Action::OpenServiceOrder));
    let nt = NewTicket {
        subscriber_id: "1".into(),
        contract_id: None,
        connection_id: None,
        subject: "x".into(),
        description: "y".into(),
        origin: "webchat".into(),
    };
    assert_eq!(
        bare.open_ticket(&nt).await,
        Err(ErpError::Unsupported(Action::OpenTicket))
    );
}

#[tokio::test]
async fn token_is_cached_and_renewed_when_it_expires_mid_session() {
    let (fake, erp) = setup().await;
    erp.test_connection().await.unwrap();
    assert_eq!(fake.logins(), 1);
    erp.contracts("1001").await.unwrap();
    erp.contracts("1002").await.unwrap();
    assert_eq!(fake.logins(), 1);
    // MK invalidates the token after the next successful call.
    fake.with(|s| s.expire_after_calls = Some(1));
    erp.contracts("1001").await.unwrap();
    let c = erp.contracts("1003").await.unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(fake.logins(), 2, "renewed once and the call retried");
    // Expired exactly on this call.
    fake.push_fault(Some("WSMKContratosPorCliente"), MkFault::ExpireSessions);
    assert_eq!(erp.contracts("1003").await.unwrap().len(), 2);
    assert_eq!(fake.logins(), 3);
    // Rejected again right after renewal: retried once only, then Unauthorized.
    fake.push_fault(Some("WSMKContratosPorCliente"), MkFault::ExpireSessions);
    fake.push_fault(Some("WSMKContratosPorCliente"), MkFault::ExpireSessions);
    assert_eq!(erp.contracts("1003").await, Err(ErpError::Unauthorized));
    // "Token inválido." (code 001) also triggers renewal.
    fake.push_fault(
        Some("WSMKContratosPorCliente"),
        MkFault::Erro {
            code: "001".into(),
            message: "Token inválido.".into(),
        },
    );
    assert!(erp.contracts("1003").await.is_ok());
}

#[tokio::test]
async fn token_past_its_expire_is_renewed_before_use() {
    let (fake, erp) = setup().await;
    fake.with(|s| s.expire = "01/01/2020 00:00:00".into());
    erp.contracts("1001").await.unwrap();
    erp.contracts("1001").await.unwrap();
    assert_eq!(fake.logins(), 2);
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized() {
    let fake = FakeMk::start().await;
    let mut cfg = fake.config();
    cfg.password = "wrong-password".to_owned().into();
    let erp = MkErp::new(cfg).unwrap();
    assert_eq!(erp.test_connection().await, Err(ErpError::Unauthorized));
    assert_eq!(
        erp.find_by_document(&doc("529.982.247-25")).await,
        Err(ErpError::Unauthorized)
    );
}

#[tokio::test]
async fn erro_shapes_map_to_typed_errors() {
    let (fake, erp) = setup().await;
    fake.push_fault(
        Some("WSMKConsultaDoc"),
        MkFault::Erro {
            code: "002".into(),
            message: "Documento inválido.".into(),
        },
    );
    assert!(
        matches!(erp.find_by_document(&doc("529.982.247-25")).await, Err(ErpError::InvalidRequest(m)) if m == "Documento inválido.")
    );
    fake.push_fault(
        Some("WSMKConsultaDoc"),
        MkFault::Erro {
            code: "003".into(),
            message: "Documento não localizado.".into(),
        },
    );
    assert_eq!(
        erp.find_by_document(&doc("529.982.247-25")).await,
        Ok(vec![])
    );
    fake.push_fault(
        Some("WSMKRetornarCopieColaPix"),
        MkFault::ErroCodigo {
            code: 12,
            message: "Perfil de pagamento sem Pix habilitado.".into(),
        },
    );
    assert!(matches!(
        erp.invoice_pix("5002").await,
        Err(ErpError::Refused {
            reason: RefusalReason::Other,
            ..
        })
    ));
    fake.push_fault(Some("WSMKRetornarCopieColaPix"), MkFault::Http(500));
    assert_eq!(
        erp.invoice_pix("5002").await,
        Err(ErpError::Unavailable("HTTP 500".into()))
    );
    fake.push_fault(Some("WSMKContratosPorCliente"), MkFault::NotJson);
    assert!(matches!(
        erp.contracts("1001").await,
        Err(ErpError::Protocol(_))
    ));
    fake.push_fault(Some("WSMKContratosPorCliente"), MkFault::Http(404));
    assert!(matches!(
        erp.contracts("1001").await,
        Err(ErpError::Protocol(_))
    ));
    // 401 means the session token is gone: renew and retry.
    fake.push_fault(Some("WSMKContratosPorCliente"), MkFault::Http(401));
    assert!(erp.contracts("1001").await.is_ok());
    assert_eq!(
        erp.invoice_pix("nope").await.map(|_| ()),
        Err(ErpError::NotFound)
    );
}

#[tokio::test]
async fn slow_mk_times_out_as_unavailable() {
    let fake = FakeMk::start().await;
    let mut cfg = fake.config();
    cfg.timeout_ms = 300;
    let erp = MkErp::new(cfg).unwrap();
    erp.test_connection().await.unwrap();
    fake.push_fault(
        Some("WSMKContratosPorCliente"),
        MkFault::Delay(Duration::from_secs(3)),
    );
    assert_eq!(
        erp.contracts("1001").await,
        Err(ErpError::Unavailable("timeout".into()))
    );
    // Nothing listening: connection failure.
    let dead = MkErp::new(MkConfig::new("http://127.0.0.1:9", "t", "p")).unwrap();
    assert!(matches!(
        dead.test_connection().await,
        Err(ErpError::Unavailable(_))
    ));
}

#[tokio::test]
async fn latin1_bodies_broken_escapes_ids_and_casing() {
    for (encoding, numbers, capital) in [
        (BodyEncoding::Latin1, false, false),
        (BodyEncoding::BrokenEscapes, true, false),
        (BodyEncoding::Utf8, true, true),
        (BodyEncoding::Latin1, true, true),
    ] {
        let (fake, erp) = setup().await;
        fake.with(|s| {
            s.encoding = encoding;
            s.ids_as_numbers = numbers;
            s.capitalise_keys = capital;
        });
        let joao = erp.find_by_document(&doc("111.444.777-35")).await.unwrap();
        assert_eq!(joao[0].id, "1002", "{encoding:?}");
        assert_eq!(joao[0].name, "João Pereira dos Santos", "{encoding:?}");
        let conns = erp.connections("1002").await.unwrap();
        assert_eq!(conns[0].id, "3002");
        assert_eq!(
            conns[0].block_reason.as_deref(),
            Some("Inadimplência"),
            "{encoding:?}"
        );
        assert!(conns[0].blocked);
        let inv = erp.open_invoices("1002").await.unwrap();
        assert_eq!(inv.len(), 2);
        assert_eq!(
            inv[0]
                .description
                .as_deref()
                .map(|d| d.starts_with("Mensalidade")),
            Some(true)
        );
        let refused = erp.trust_unlock("1001", "3001").await.unwrap_err();
        assert_eq!(
            refused,
            ErpError::Refused {
                reason: RefusalReason::NotBlocked,
                detail: "Status na conexão incompatível para auto-desbloqueio.".into()
            },
            "{encoding:?}"
        );
        let outages = erp.outages().await.unwrap();
        assert_eq!(
            outages[0].affected_connections,
            vec!["3003".to_owned(), "3002".to_owned()]
        );
    }
}

#[tokio::test]
async fn errors_never_carry_secrets() {
    let (fake, erp) = setup().await;
    erp.test_connection().await.unwrap();
    let token = fake.issued_tokens().pop().unwrap();
    // An ERP message echoing the session token and the password is scrubbed.
    fake.push_fault(
        Some("WSMKContratosPorCliente"),
        MkFault::ErroLower {
            message: format!("Erro com {token} e {FAKE_MK_PASSWORD}"),
        },
    );
    fake.push_fault(
        Some("WSMKContratosPorCliente"),
        MkFault::ErroLower {
            message: format!("Erro com {token} e {FAKE_MK_PASSWORD}"),
        },
    );
    let e1 = erp.contracts("1001").await.unwrap_err();
    let e2 = erp.contracts("1001").await.unwrap_err();
    assert!(
        matches!(&e1, ErpError::Refused { detail, .. } if detail.contains("***")),
        "{e1:?}"
    );
    for e in [e1, e2] {
        assert_no_secret(&fake, &format!("{e} {e:?}"));
    }
    let cfg = fake.config();
    assert_no_secret(&fake, &format!("{cfg:?}"));
}
