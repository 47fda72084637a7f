//! Transcript tests: `tests/transcripts/*.txt` run against the demo ERP on a fixed day.
//!
//! Format, one line each:
//! - `# comment`, blank lines ignored;
//! - `@phone 5511987654321`, `@remember 1001` (ERP id from an earlier verified conversation),
//!   `@channel webchat 0` (name, options the channel can show), `@closed segunda-feira às 08:00`
//!   (queue closed, next opening), `@open`, `@erp down` / `@erp up`, `@attempts demo:1001 2`
//!   (failures already in the ledger), `@never TEXT` (no reply of the whole transcript may
//!   contain it), `@session` (a new conversation: fresh state, same ERP and ledger);
//! - `> text`, `> [option ID]`, `> [audio]` (any attachment kind), `> [start]`, `> [timeout]`;
//! - `~ restart`: the state goes through JSON and back (the server restarted);
//! - `< text` a reply of the last turn contains it; `!< text` none does;
//! - `! text` an action of the last turn (its `Display`) contains it; `!! text` none does;
//! - `= handoff`, `= done`, `= open`: the last turn's flags.
//!
//! The harness stores `RecordVerificationFailure` in its ledger, as the server does.

use async_trait::async_trait;
use jiff::civil::{Date, date};
use prosa_bot::*;
use prosa_br::Document;
use prosa_erp::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const TODAY: Date = date(2026, 3, 15);

fn today_ts() -> jiff::Timestamp {
    TODAY
        .at(12, 0, 0, 0)
        .to_zoned_datetime(prosa_br::time::sao_paulo())
        .unwrap()
        .timestamp()
}

/// The demo ERP behind a switch that makes every call fail as `Unavailable`.
struct Switchable {
    inner: DemoErp,
    down: AtomicBool,
    /// Extra registrations under an existing document (`@twin`), without contracts.
    twins: Mutex<Vec<Subscriber>>,
}

impl Switchable {
    fn check(&self) -> Result<(), ErpError> {
        if self.down.load(Ordering::SeqCst) {
            Err(ErpError::Unavailable("timeout".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Erp for Switchable {
    fn kind(&self) -> &'static str {
        "demo"
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn test_connection(&self) -> Result<(), ErpError> {
        self.check()?;
        self.inner.test_connection().await
    }
    async fn find_by_document(&self, d: &Document) -> Result<Vec<Subscriber>, ErpError> {
        self.check()?;
        let mut found = self.inner.find_by_document(d).await?;
        let twins = self.twins.lock().unwrap().clone();
        found.extend(
            twins
                .into_iter()
                .filter(|t| t.document.as_deref() == Some(d.canonical())),
        );
        Ok(found)
    }
    async fn find_by_phone(&self, p: &str) -> Result<Vec<Subscriber>, ErpError> {
        self.check()?;
        self.inner.find_by_phone(p).await
    }
    async fn subscriber(&self, id: &str) -> Result<Subscriber, ErpError> {
        self.check()?;
        let twin = self
            .twins
            .lock()
            .unwrap()
            .iter()
            .find(|t| t.id == id)
            .cloned();
        match twin {
            Some(t) => Ok(t),
            None => self.inner.subscriber(id).await,
        }
    }
    async fn contracts(&self, id: &str) -> Result<Vec<Contract>, ErpError> {
        self.check()?;
        self.inner.contracts(id).await
    }
    async fn connections(&self, id: &str) -> Result<Vec<Connection>, ErpError> {
        self.check()?;
        self.inner.connections(id).await
    }
    async fn open_invoices(&self, id: &str) -> Result<Vec<Invoice>, ErpError> {
        self.check()?;
        self.inner.open_invoices(id).await
    }
    async fn invoice_pix(&self, id: &str) -> Result<PixCharge, ErpError> {
        self.check()?;
        self.inner.invoice_pix(id).await
    }
    async fn trust_unlock(&self, s: &str, c: &str) -> Result<Unlock, ErpError> {
        self.check()?;
        self.inner.trust_unlock(s, c).await
    }
    async fn outages(&self) -> Result<Vec<Outage>, ErpError> {
        self.check()?;
        self.inner.outages().await
    }
    async fn open_ticket(&self, t: &NewTicket) -> Result<Ticket, ErpError> {
        self.check()?;
        self.inner.open_ticket(t).await
    }
    async fn ticket(&self, id: &str) -> Result<Ticket, ErpError> {
        self.check()?;
        self.inner.ticket(id).await
    }
    async fn tickets(&self, id: &str) -> Result<Vec<Ticket>, ErpError> {
        self.check()?;
        self.inner.tickets(id).await
    }
    async fn open_service_order(&self, o: &NewServiceOrder) -> Result<ServiceOrder, ErpError> {
        self.check()?;
        self.inner.open_service_order(o).await
    }
    async fn service_orders(&self, id: &str) -> Result<Vec<ServiceOrder>, ErpError> {
        self.check()?;
        self.inner.service_orders(id).await
    }
    async fn register_lead(&self, l: &NewLead) -> Result<Lead, ErpError> {
        self.check()?;
        self.inner.register_lead(l).await
    }
}

#[derive(Default)]
struct Ledger(Mutex<HashMap<String, u32>>);

#[async_trait]
impl AttemptLedger for Ledger {
    async fn failed_attempts(&self, subject: &str) -> u32 {
        self.0.lock().unwrap().get(subject).copied().unwrap_or(0)
    }
}

fn show_reply(c: &prosa_domain::message::MessageContent) -> String {
    let mut s = c.text.clone().unwrap_or_default();
    for o in &c.options {
        s.push_str(&format!("\n  [{}: {}]", o.id, o.label));
    }
    for a in &c.attachments {
        s.push_str(&format!(
            "\n  [anexo {}: {}]",
            a.kind,
            a.url.as_deref().unwrap_or("-")
        ));
    }
    s
}

async fn run(name: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/transcripts")
        .join(format!("{name}.txt"));
    let script =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let store = Arc::new(MemoryDemoStore::new());
    let ts = today_ts();
    let demo = DemoErp::with_clock(store, Arc::new(move || ts))
        .await
        .unwrap();
    let erp = Switchable {
        inner: demo,
        down: AtomicBool::new(false),
        twins: Mutex::new(Vec::new()),
    };
    let ledger = Ledger::default();
    let mut bot = Bot::new(BotTexts::default(), BotSettings::default());
    let mut state = BotState::default();
    let mut channel = ChannelInfo {
        name: "whatsapp".into(),
        max_options: 10,
    };
    let mut contact = KnownContact::default();
    let mut queue_open = true;
    let mut next_opening: Option<String> = None;
    let mut never: Vec<String> = Vec::new();
    let mut all_replies: Vec<String> = Vec::new();
    let mut log = String::new();
    let mut last = BotTurn::default();
    let mut failures: Vec<String> = Vec::new();

    for (n, raw) in script.lines().enumerate() {
        let line = raw.trim_end();
        let lineno = n + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        let mut fail = |msg: String| failures.push(format!("line {lineno}: {msg}"));
        match tag {
            "@phone" => contact.phone = Some(rest.into()),
            "@remember" => contact.erp_subscriber_id = Some(rest.into()),
            "@channel" => {
                let (name, max) = rest.split_once(' ').unwrap_or((rest, "10"));
                channel = ChannelInfo {
                    name: name.into(),
                    max_options: max.parse().unwrap(),
                };
            }
            "@closed" => {
                queue_open = false;
                next_opening = (!rest.is_empty()).then(|| rest.to_owned());
            }
            "@open" => queue_open = true,
            "@erp" => erp.down.store(rest == "down", Ordering::SeqCst),
            "@attempts" => {
                let (subject, count) = rest.split_once(' ').unwrap();
                ledger
                    .0
                    .lock()
                    .unwrap()
                    .insert(subject.into(), count.parse().unwrap());
            }
            "@never" => never.push(rest.into()),
            // `@twin 1001 1901 Nome`: another registration with 1001's document and address.
            "@twin" => {
                let mut parts = rest.splitn(3, ' ');
                let (of, id, name) = (
                    parts.next().unwrap(),
                    parts.next().unwrap(),
                    parts.next().unwrap(),
                );
                let mut twin = erp.inner.subscriber(of).await.unwrap();
                twin.id = id.into();
                twin.name = name.into();
                erp.twins.lock().unwrap().push(twin);
            }
            // `@confirm neighbourhood birth_date`: the confirmation questions, by preference.
            "@confirm" => {
                bot.settings.confirmation = rest
                    .split(' ')
                    .map(|k| serde_json::from_value(serde_json::Value::String(k.into())).unwrap())
                    .collect();
            }
            "@session" => {
                state = BotState::default();
                log.push_str("---- new session ----\n");
            }
            "~" => {
                let json = serde_json::to_string(&state).unwrap();
                state = serde_json::from_str(&json).unwrap();
                log.push_str("~ (state restored from JSON)\n");
            }
            ">" => {
                let input = match rest {
                    "[start]" => BotInput::Start,
                    "[timeout]" => BotInput::Timeout,
                    r if r.starts_with("[option ") => {
                        BotInput::option(r["[option ".len()..r.len() - 1].to_owned())
                    }
                    r if r.starts_with('[') && r.ends_with(']') => BotInput::Message(Inbound {
                        attachments: vec![r[1..r.len() - 1].to_owned()],
                        ..Inbound::default()
                    }),
                    r => BotInput::text(r),
                };
                let ctx = BotContext {
                    erp: &erp,
                    understand: &KeywordUnderstanding,
                    attempts: &ledger,
                    channel: channel.clone(),
                    contact: contact.clone(),
                    queue_open,
                    next_opening: next_opening.clone(),
                    now: ts,
                };
                last = bot.handle(&mut state, input, &ctx).await;
                log.push_str(&format!("> {rest}\n"));
                for r in &last.replies {
                    let shown = show_reply(r);
                    log.push_str(&format!("< {}\n", shown.replace('\n', "\n  ")));
                    all_replies.push(shown);
                }
                for a in &last.actions {
                    log.push_str(&format!("! {a}\n"));
                    if let BotAction::RecordVerificationFailure { subject } = a {
                        *ledger.0.lock().unwrap().entry(subject.clone()).or_default() += 1;
                    }
                }
                // The state always survives JSON (the server stores it so).
                let json = serde_json::to_string(&state).unwrap();
                assert_eq!(serde_json::from_str::<BotState>(&json).unwrap(), state);
            }
            "<" => {
                if !last.replies.iter().any(|r| show_reply(r).contains(rest)) {
                    fail(format!("no reply contains {rest:?}"));
                }
            }
            "!<" => {
                if last.replies.iter().any(|r| show_reply(r).contains(rest)) {
                    fail(format!("a reply contains {rest:?}"));
                }
            }
            "!" => {
                if !last.actions.iter().any(|a| a.to_string().contains(rest)) {
                    fail(format!("no action contains {rest:?}"));
                }
            }
            "!!" => {
                if last.actions.iter().any(|a| a.to_string().contains(rest)) {
                    fail(format!("an action contains {rest:?}"));
                }
            }
            "=" => {
                let ok = match rest {
                    "handoff" => last.handoff && !last.done,
                    "done" => last.done && !last.handoff,
                    "open" => !last.done && !last.handoff,
                    other => panic!("unknown flag {other}"),
                };
                if !ok {
                    fail(format!(
                        "flags are done={} handoff={}, expected {rest}",
                        last.done, last.handoff
                    ));
                }
            }
            other => panic!("{}:{lineno}: unknown line kind {other:?}", path.display()),
        }
    }
    for word in &never {
        for r in &all_replies {
            if r.contains(word.as_str()) {
                failures.push(format!("@never {word:?} appears in: {r}"));
            }
        }
    }
    if std::env::var_os("TRANSCRIPT_LOG").is_some() {
        eprintln!("==== {name} ====\n{log}");
    }
    assert!(
        failures.is_empty(),
        "transcript {name} failed:\n{}\n\n---- what happened ----\n{log}",
        failures.join("\n")
    );
}

macro_rules! transcripts {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                run(stringify!($name)).await;
            }
        )*

        #[test]
        fn every_transcript_file_has_a_test() {
            let listed = [$(stringify!($name)),*];
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
            for entry in std::fs::read_dir(dir).unwrap() {
                let p = entry.unwrap().path();
                let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
                assert!(listed.contains(&stem.as_str()), "transcript {stem} is not listed in the macro");
            }
        }
    };
}

transcripts! {
    account_change_by_cnpj,
    address_and_plan_change,
    always_reachable_during_questions,
    anything_else_new_request,
    audio_message,
    cancellation,
    complaint,
    debt_inquiry,
    equipment_issue,
    erp_down,
    erp_down_mid_conversation,
    goodbye_rating,
    human_agent_in_hours,
    human_agent_out_of_hours,
    inactivity_timeout,
    invalid_document,
    invoice_copy_by_phone,
    menu_by_number_without_buttons,
    new_document_restarts_identification,
    new_service_lead,
    no_connection_outage_two_contracts,
    not_understood_twice,
    other_contract_restarts_identification,
    payment_notice_trust_unlock,
    pix_payment_by_cpf,
    prompt_injection,
    remembered_link,
    restart_mid_conversation,
    several_registrations,
    slow_connection_steps_then_ticket,
    ticket_status,
    tolerant_confirmation,
    trust_unlock_refused_alphanumeric_cnpj,
    trust_unlock_refused_already_used,
    verification_attempts_across_sessions,
    wifi_settings,
    wrong_confirmation_hands_off,
}
