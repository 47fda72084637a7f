//! Captures every log line at TRACE during full MK and IXC sessions (including renewals,
//! timeouts and errors) and checks that no credential appears in it or in any error.

use prosa_br::Document;
use prosa_erp::fake::ixc::{FAKE_IXC_RECORD_PASSWORD, FAKE_IXC_TOKEN};
use prosa_erp::fake::mk::{FAKE_MK_PASSWORD, FAKE_MK_USER_TOKEN};
use prosa_erp::fake::{FakeIxc, FakeMk, IxcFault, MkFault};
use prosa_erp::*;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

#[tokio::test]
async fn no_credential_in_logs_or_errors() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(buffer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut outcomes = String::new();

    // MK: login, lookups, invoices, Pix, unlock, ticket, OS, outage, renewal, errors, timeout.
    let mk = FakeMk::start().await;
    let mut cfg = mk.config();
    cfg.timeout_ms = 500;
    let erp = Resilient::new(
        MkErp::new(cfg.clone()).unwrap(),
        ResilienceConfig {
            read_attempts: 2,
            backoff_base_ms: 10,
            ..ResilienceConfig::default()
        },
    );
    outcomes += &format!("{:?}\n", erp.test_connection().await);
    outcomes += &format!(
        "{:?}\n",
        erp.find_by_document(&Document::parse("529.982.247-25").unwrap())
            .await
    );
    outcomes += &format!("{:?}\n", erp.find_by_phone("11987654321").await);
    outcomes += &format!("{:?}\n", erp.connections("1002").await);
    outcomes += &format!("{:?}\n", erp.open_invoices("1002").await);
    outcomes += &format!("{:?}\n", erp.invoice_pix("5003").await);
    mk.with(|s| s.expire_after_calls = Some(1));
    outcomes += &format!("{:?}\n", erp.trust_unlock("1002", "3002").await);
    outcomes += &format!("{:?}\n", erp.trust_unlock("1002", "3002").await);
    let t = NewTicket {
        subscriber_id: "1002".into(),
        contract_id: Some("2002".into()),
        connection_id: Some("3002".into()),
        subject: "Desbloqueio".into(),
        description: "via bot".into(),
        origin: "whatsapp".into(),
    };
    outcomes += &format!("{:?}\n", erp.open_ticket(&t).await);
    outcomes += &format!(
        "{:?}\n",
        erp.open_service_order(&NewServiceOrder {
            subscriber_id: "1002".into(),
            contract_id: None,
            connection_id: None,
            ticket_id: None,
            description: "x".into()
        })
        .await
    );
    outcomes += &format!("{:?}\n", erp.outages().await);
    mk.push_fault(None, MkFault::Http(500));
    mk.push_fault(None, MkFault::Http(500));
    outcomes += &format!("{:?}\n", erp.contracts("1001").await);
    mk.push_fault(None, MkFault::Delay(Duration::from_secs(2)));
    outcomes += &format!("{:?}\n", erp.contracts("1001").await);
    mk.push_fault(None, MkFault::NotJson);
    outcomes += &format!("{:?}\n", erp.contracts("1001").await);
    mk.push_fault(
        None,
        MkFault::ErroLower {
            message: format!("eco {FAKE_MK_PASSWORD}"),
        },
    );
    outcomes += &format!("{:?}\n", erp.contracts("1001").await);
    outcomes += &format!("{:?}\n", erp.health());
    let mut wrong = cfg.clone();
    wrong.password = format!("{FAKE_MK_PASSWORD}-wrong").into();
    outcomes += &format!(
        "{:?}\n",
        MkErp::new(wrong.clone()).unwrap().test_connection().await
    );
    outcomes += &format!("{cfg:?} {wrong:?}\n");
    assert!(mk.logins() >= 2, "the session was renewed at least once");
    let sessions = mk.issued_tokens();
    assert!(!sessions.is_empty());

    // IXC: lookups (records carry plain-text passwords), unlock, ticket, errors.
    let ixc = FakeIxc::start().await;
    let ierp = IxcErp::new(ixc.config()).unwrap();
    outcomes += &format!(
        "{:?}\n",
        ierp.find_by_document(&Document::parse("111.444.777-35").unwrap())
            .await
    );
    outcomes += &format!("{:?}\n", ierp.connections("1002").await);
    outcomes += &format!("{:?}\n", ierp.open_invoices("1002").await);
    outcomes += &format!("{:?}\n", ierp.trust_unlock("1002", "2002").await);
    outcomes += &format!("{:?}\n", ierp.open_ticket(&t).await);
    ixc.push_fault(None, IxcFault::HtmlPage);
    outcomes += &format!("{:?}\n", ierp.subscriber("1002").await);
    let mut bad = ixc.config();
    bad.token = format!("{FAKE_IXC_TOKEN}x").into();
    outcomes += &format!(
        "{:?} {:?}\n",
        IxcErp::new(bad.clone()).unwrap().test_connection().await,
        bad
    );

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("mk call") && logs.contains("ixc call"),
        "the capture works: {logs}"
    );
    assert!(
        outcomes.contains("Unauthorized")
            && outcomes.contains("timeout")
            && outcomes.contains("HTTP 500"),
        "{outcomes}"
    );
    let ixc_basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(FAKE_IXC_TOKEN)
    };
    let mut secrets = vec![
        FAKE_MK_USER_TOKEN.to_owned(),
        FAKE_MK_PASSWORD.to_owned(),
        FAKE_IXC_TOKEN.to_owned(),
        FAKE_IXC_RECORD_PASSWORD.to_owned(),
        ixc_basic,
    ];
    secrets.extend(sessions);
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "secret {s} in logs:\n{logs}");
        assert!(
            !outcomes.contains(s.as_str()),
            "secret {s} in results/errors:\n{outcomes}"
        );
    }
    // URLs with query strings never appear in logs (MK puts the token there).
    assert!(!logs.contains("token="), "{logs}");
}
