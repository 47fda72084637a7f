//! The demo ERP: seed, rules, persistence through DemoStore, reset, and DEMO.md.

use jiff::ToSpan;
use jiff::civil::{Date, date};
use prosa_br::{Boleto, Cnpj, Cpf, Document, PixCode};
use prosa_erp::*;
use std::sync::Arc;

fn clock_at(d: Date) -> Clock {
    let ts = d
        .at(12, 0, 0, 0)
        .to_zoned_datetime(prosa_br::time::sao_paulo())
        .unwrap()
        .timestamp();
    Arc::new(move || ts)
}

async fn demo(today: Date) -> (Arc<MemoryDemoStore>, DemoErp) {
    let store = Arc::new(MemoryDemoStore::new());
    let erp = DemoErp::with_clock(store.clone(), clock_at(today))
        .await
        .unwrap();
    (store, erp)
}

const TODAY: Date = date(2026, 3, 15);

#[test]
fn seed_is_deterministic_and_valid() {
    let a = demo_seed(TODAY);
    assert_eq!(a, demo_seed(TODAY));
    assert_ne!(a, demo_seed(date(2026, 3, 16)));
    let mut alphanumeric = false;
    for s in &a.subscribers {
        let d = Document::parse(s.document.as_deref().unwrap()).unwrap();
        if let Document::Cnpj(c) = &d {
            alphanumeric |= c.is_alphanumeric();
        }
        assert!(!s.phones.is_empty() && s.address.number.is_some() && s.address.cep.is_some());
    }
    assert!(alphanumeric, "an alphanumeric CNPJ in the seed");
    assert!(
        a.subscribers
            .iter()
            .filter(|s| matches!(
                Document::parse(s.document.as_deref().unwrap()),
                Ok(Document::Cnpj(_))
            ))
            .count()
            >= 2
    );
    for i in &a.invoices {
        let b = Boleto::parse(i.invoice.linha_digitavel.as_deref().unwrap()).unwrap();
        assert_eq!(b.value_cents(), i.invoice.value_cents);
        assert_eq!(b.due_date(TODAY), Some(i.invoice.due_date));
        let p = PixCode::parse(&i.pix).unwrap();
        assert_eq!(p.amount_cents, Some(i.invoice.value_cents));
    }
    let statuses: Vec<InvoiceStatus> = a.invoices.iter().map(|i| i.invoice.status).collect();
    for s in [
        InvoiceStatus::Paid,
        InvoiceStatus::Open,
        InvoiceStatus::Overdue,
    ] {
        assert!(statuses.contains(&s), "{s:?}");
    }
    assert!(a.connections.iter().any(|c| c.blocked) && a.connections.iter().any(|c| !c.blocked));
    assert!(!a.outages[0].affected_connections.is_empty());
    // Round-trips through JSON (how the server stores it).
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(serde_json::from_str::<DemoData>(&json).unwrap(), a);
}

#[test]
fn demo_md_documents_every_subscriber() {
    let md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/DEMO.md")).unwrap();
    for s in demo_seed(TODAY).subscribers {
        let d = s.document.unwrap();
        let formatted = match d.len() {
            11 => Cpf::parse(&d).unwrap().formatted(),
            _ => Cnpj::parse(&d).unwrap().formatted(),
        };
        assert!(md.contains(&formatted), "DEMO.md lacks {formatted}");
        assert!(md.contains(&s.name), "DEMO.md lacks {}", s.name);
        assert!(
            md.contains(s.address.number.as_deref().unwrap()),
            "DEMO.md lacks the number of {}",
            s.name
        );
    }
}

#[tokio::test]
async fn seeds_an_empty_store_and_keeps_a_filled_one() {
    let (store, erp) = demo(TODAY).await;
    assert_eq!(store.snapshot().unwrap(), demo_seed(TODAY));
    erp.register_lead(&NewLead {
        name: "Paula".into(),
        origin: "webchat".into(),
        ..NewLead::default()
    })
    .await
    .unwrap();
    let saved = store.snapshot().unwrap();
    assert_eq!(saved.leads.len(), 1);
    // A later start (another day) loads what was saved instead of seeding again.
    let again = DemoErp::with_clock(
        store.clone(),
        clock_at(TODAY.checked_add(40.days()).unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(again.data().await, saved);
    // Reset restores the seed for today.
    again.reset().await.unwrap();
    assert_eq!(
        store.snapshot().unwrap(),
        demo_seed(TODAY.checked_add(40.days()).unwrap())
    );
    assert!(again.data().await.leads.is_empty());
    // The CLI's reset works on the store alone.
    let fresh = MemoryDemoStore::new();
    reset_demo_store(&fresh, TODAY).await.unwrap();
    assert_eq!(fresh.snapshot().unwrap(), demo_seed(TODAY));
}

#[tokio::test]
async fn lookups_and_invoice_statuses() {
    let (_store, erp) = demo(TODAY).await;
    let maria = erp
        .find_by_document(&Document::parse("529.982.247-25").unwrap())
        .await
        .unwrap();
    assert_eq!(maria[0].id, "1001");
    assert_eq!(maria[0].birth_date, Some(date(1985, 4, 12)));
    assert_eq!(
        erp.find_by_phone("+55 11 98765-4321").await.unwrap()[0].id,
        "1001"
    );
    assert_eq!(
        erp.find_by_document(&Document::parse("12.ABC.345/01DE-35").unwrap())
            .await
            .unwrap()[0]
            .id,
        "1006"
    );
    assert!(
        erp.find_by_document(&Document::parse("11.444.777/0001-61").unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(erp.subscriber("0").await, Err(ErpError::NotFound));
    let inv = erp.open_invoices("1002").await.unwrap();
    assert_eq!(
        inv.iter().map(|i| i.status).collect::<Vec<_>>(),
        vec![InvoiceStatus::Overdue, InvoiceStatus::Open]
    );
    // Status follows the calendar: 20 days later both are overdue.
    let store = Arc::new(MemoryDemoStore::new());
    store.save(&demo_seed(TODAY)).await.unwrap();
    let later = DemoErp::with_clock(store, clock_at(TODAY.checked_add(20.days()).unwrap()))
        .await
        .unwrap();
    assert!(
        later
            .open_invoices("1002")
            .await
            .unwrap()
            .iter()
            .all(|i| i.status == InvoiceStatus::Overdue)
    );
    assert!(
        matches!(erp.invoice_pix("5001").await, Err(ErpError::Refused { .. })),
        "paid invoice"
    );
    assert!(PixCode::parse(&erp.invoice_pix("5002").await.unwrap().copia_e_cola).is_ok());
    assert!(erp.connection_outage("3003").await.unwrap().is_some());
    assert!(erp.connection_outage("3001").await.unwrap().is_none());
    assert_eq!(erp.capabilities(), Capabilities::all());
}

#[tokio::test]
async fn trust_unlock_rules() {
    let (store, erp) = demo(TODAY).await;
    let refused = |r: Result<Unlock, ErpError>| match r {
        Err(ErpError::Refused { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(
        refused(erp.trust_unlock("1001", "3001").await),
        RefusalReason::NotBlocked
    );
    assert_eq!(
        refused(erp.trust_unlock("1004", "3005").await),
        RefusalReason::AlreadyUsed
    );
    assert_eq!(
        refused(erp.trust_unlock("1006", "3007").await),
        RefusalReason::TooManyDaysOverdue
    );
    assert_eq!(
        erp.trust_unlock("1001", "3002").await,
        Err(ErpError::NotFound),
        "someone else's connection"
    );
    let ok = erp.trust_unlock("1002", "3002").await.unwrap();
    assert_eq!(ok.until, Some(date(2026, 3, 18)));
    assert!(!erp.connections("1002").await.unwrap()[0].blocked);
    assert!(
        !store
            .snapshot()
            .unwrap()
            .connections
            .iter()
            .find(|c| c.id == "3002")
            .unwrap()
            .blocked,
        "persisted"
    );
    assert_eq!(
        refused(erp.trust_unlock("1002", "3002").await),
        RefusalReason::NotBlocked
    );
}

#[tokio::test]
async fn tickets_and_orders() {
    let (_store, erp) = demo(TODAY).await;
    let t = erp
        .open_ticket(&NewTicket {
            subscriber_id: "1003".into(),
            contract_id: Some("2003".into()),
            connection_id: Some("3003".into()),
            subject: "Sem internet".into(),
            description: "Desde cedo".into(),
            origin: "whatsapp".into(),
        })
        .await
        .unwrap();
    assert!(t.protocol.as_deref().unwrap().starts_with("20260315"));
    assert_eq!(
        erp.ticket(t.protocol.as_deref().unwrap()).await.unwrap().id,
        t.id
    );
    assert_eq!(erp.tickets("1003").await.unwrap().len(), 1);
    let nt = NewTicket {
        subscriber_id: "nobody".into(),
        contract_id: None,
        connection_id: None,
        subject: "x".into(),
        description: "y".into(),
        origin: "webchat".into(),
    };
    assert_eq!(erp.open_ticket(&nt).await, Err(ErpError::NotFound));
    let os = erp
        .open_service_order(&NewServiceOrder {
            subscriber_id: "1003".into(),
            contract_id: None,
            connection_id: None,
            ticket_id: Some(t.id),
            description: "ONU".into(),
        })
        .await
        .unwrap();
    assert_eq!(erp.service_orders("1003").await.unwrap(), vec![os]);
}

#[tokio::test]
async fn factory_builds_every_kind() {
    let demo_cfg: ErpConfig = serde_json::from_value(serde_json::json!({"kind": "demo"})).unwrap();
    let store: Arc<dyn DemoStore> = Arc::new(MemoryDemoStore::new());
    let erp = build_erp(&demo_cfg, Some(store)).await.unwrap();
    assert_eq!(erp.kind(), "demo");
    assert!(build_erp(&demo_cfg, None).await.is_err());
    let mk: ErpConfig = serde_json::from_value(serde_json::json!({"kind": "mk", "base_url": "http://127.0.0.1:9", "user_token": "u", "password": "p", "resilience": {"read_attempts": 1}})).unwrap();
    let erp = build_erp(&mk, None).await.unwrap();
    assert_eq!(erp.kind(), "mk");
    assert_eq!(erp.health().state, HealthState::Up);
    let ixc: ErpConfig = serde_json::from_value(serde_json::json!({"kind": "ixc", "base_url": "http://127.0.0.1:9", "token": "1:abc", "timeout_ms": 500})).unwrap();
    assert_eq!(build_erp(&ixc, None).await.unwrap().kind(), "ixc");
    let ErpConfig::Ixc { ixc, resilience } = ixc else {
        panic!()
    };
    assert_eq!(ixc.timeout_ms, 500);
    assert_eq!(resilience, ResilienceConfig::default());
}
