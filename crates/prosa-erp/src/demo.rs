//! The demo ERP: realistic sample subscribers so a person can try the bot without an ERP.
//!
//! Its data lives in Prosa's own database, which this crate cannot touch: the server implements
//! [`DemoStore`] (load/save one JSON-serialisable [`DemoData`]). [`DemoErp::new`] seeds the
//! store when empty; [`DemoErp::reset`] restores the seed (`prosa demo reset`). The seed is
//! deterministic for a given `today`, and due dates are relative to it; invoice status (open or
//! overdue) is computed against the current day at query time. `DEMO.md` lists the subscribers.

use crate::erp::Erp;
use crate::error::{ErpError, RefusalReason};
use crate::types::*;
use crate::{Clock, system_clock};
use async_trait::async_trait;
use jiff::ToSpan;
use jiff::civil::Date;
use prosa_br::{Boleto, Document, StaticPix};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// Errors of a [`DemoStore`] implementation (whatever the server's storage returns).
pub type DemoStoreError = Box<dyn std::error::Error + Send + Sync>;

/// Where the demo ERP keeps its data (the server stores it in Prosa's database).
#[async_trait]
pub trait DemoStore: Send + Sync {
    /// The saved data, `None` when never saved.
    async fn load(&self) -> Result<Option<DemoData>, DemoStoreError>;
    async fn save(&self, data: &DemoData) -> Result<(), DemoStoreError>;
}

/// A [`DemoStore`] in memory, for tests.
#[derive(Default)]
pub struct MemoryDemoStore {
    data: Mutex<Option<DemoData>>,
}

impl MemoryDemoStore {
    pub fn new() -> MemoryDemoStore {
        MemoryDemoStore::default()
    }

    /// What was saved last.
    pub fn snapshot(&self) -> Option<DemoData> {
        self.data.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait]
impl DemoStore for MemoryDemoStore {
    async fn load(&self) -> Result<Option<DemoData>, DemoStoreError> {
        Ok(self.snapshot())
    }

    async fn save(&self, data: &DemoData) -> Result<(), DemoStoreError> {
        *self.data.lock().unwrap_or_else(|p| p.into_inner()) = Some(data.clone());
        Ok(())
    }
}

/// An invoice of the demo with its Pix code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoInvoice {
    pub invoice: Invoice,
    pub paid: bool,
    pub pix: String,
}

/// A trust unlock already granted (one per connection per calendar month).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoUnlock {
    pub connection_id: String,
    pub on: Date,
}

/// Everything the demo ERP knows; stored as one JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoData {
    pub version: u32,
    pub seeded_on: Date,
    pub subscribers: Vec<Subscriber>,
    pub contracts: Vec<Contract>,
    pub connections: Vec<Connection>,
    pub invoices: Vec<DemoInvoice>,
    pub outages: Vec<Outage>,
    pub tickets: Vec<Ticket>,
    pub service_orders: Vec<ServiceOrder>,
    pub leads: Vec<(String, NewLead)>,
    pub unlocks: Vec<DemoUnlock>,
    pub next_id: u64,
}

/// The demo ISP's Pix key (a valid CNPJ) and name.
pub const DEMO_PIX_KEY: &str = "11444777000161";
pub const DEMO_ISP_NAME: &str = "PROSA NET DEMO";
pub const DEMO_ISP_CITY: &str = "CAMPINAS";
/// Trust unlock is refused when the oldest unpaid invoice is more than this many days overdue.
pub const DEMO_MAX_DAYS_OVERDUE: i64 = 60;
/// Days a trust unlock lasts.
pub const DEMO_UNLOCK_DAYS: i64 = 3;

struct Person {
    id: &'static str,
    name: &'static str,
    document: &'static str,
    phone: &'static str,
    email: &'static str,
    street: &'static str,
    number: &'static str,
    neighbourhood: &'static str,
    city: &'static str,
    cep: &'static str,
    birth: Option<(i16, i8, i8)>,
}

const PEOPLE: [Person; 6] = [
    Person {
        id: "1001",
        name: "Maria Aparecida da Silva",
        document: "52998224725",
        phone: "11987654321",
        email: "maria.silva@example.com",
        street: "Rua das Flores",
        number: "123",
        neighbourhood: "Centro",
        city: "Campinas",
        cep: "13010050",
        birth: Some((1985, 4, 12)),
    },
    Person {
        id: "1002",
        name: "João Pereira dos Santos",
        document: "11144477735",
        phone: "19998765432",
        email: "joao.santos@example.com",
        street: "Avenida Brasil",
        number: "1500",
        neighbourhood: "Jardim Primavera",
        city: "Campinas",
        cep: "13070000",
        birth: Some((1979, 11, 3)),
    },
    Person {
        id: "1003",
        name: "Ana Carolina Souza",
        document: "12345678909",
        phone: "19991234567",
        email: "ana.souza@example.com",
        street: "Rua Sete de Setembro",
        number: "45",
        neighbourhood: "Jardim Primavera",
        city: "Campinas",
        cep: "13070120",
        birth: Some((1992, 7, 25)),
    },
    Person {
        id: "1004",
        name: "Carlos Eduardo Oliveira",
        document: "98765432100",
        phone: "19993456789",
        email: "carlos.oliveira@example.com",
        street: "Rua Barão de Jaguara",
        number: "900",
        neighbourhood: "Centro",
        city: "Campinas",
        cep: "13015001",
        birth: Some((1968, 1, 30)),
    },
    Person {
        id: "1005",
        name: "Padaria Pão Quente Ltda",
        document: "11222333000181",
        phone: "1932345678",
        email: "contato@paoquente.example.com",
        street: "Rua Dr. Quirino",
        number: "77",
        neighbourhood: "Cambuí",
        city: "Campinas",
        cep: "13025000",
        birth: None,
    },
    Person {
        id: "1006",
        name: "Tech Nova Soluções Digitais",
        document: "12ABC34501DE35",
        phone: "19994567890",
        email: "financeiro@technova.example.com",
        street: "Avenida Norte-Sul",
        number: "2100",
        neighbourhood: "Taquaral",
        city: "Campinas",
        cep: "13076000",
        birth: None,
    },
];

/// The deterministic demo data for a given `today`.
pub fn demo_seed(today: Date) -> DemoData {
    let day = |n: i64| {
        today
            .checked_add(n.days())
            .expect("invariant: demo dates stay in range")
    };
    let subscribers: Vec<Subscriber> = PEOPLE
        .iter()
        .map(|p| Subscriber {
            id: p.id.into(),
            name: p.name.into(),
            document: Some(p.document.into()),
            active: true,
            email: Some(p.email.into()),
            phones: vec![p.phone.into()],
            address: Address {
                street: Some(p.street.into()),
                number: Some(p.number.into()),
                complement: None,
                neighbourhood: Some(p.neighbourhood.into()),
                city: Some(p.city.into()),
                state: Some("SP".into()),
                cep: Some(p.cep.into()),
                full: Some(format!(
                    "{}, {} - {} - {}/SP",
                    p.street, p.number, p.neighbourhood, p.city
                )),
            },
            birth_date: p.birth.map(|(y, m, d)| jiff::civil::date(y, m, d)),
        })
        .collect();
    // (contract, subscriber, plan, connection, login, online, blocked reason, reduced)
    type Line = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        bool,
        Option<&'static str>,
        bool,
    );
    let lines: [Line; 7] = [
        (
            "2001",
            "1001",
            "Fibra 300 Mega",
            "3001",
            "maria.silva",
            true,
            None,
            false,
        ),
        (
            "2002",
            "1002",
            "Fibra 500 Mega",
            "3002",
            "joao.santos",
            false,
            Some("Inadimplência"),
            false,
        ),
        (
            "2003",
            "1003",
            "Fibra 300 Mega",
            "3003",
            "ana.souza",
            false,
            None,
            false,
        ),
        (
            "2004",
            "1003",
            "Fibra 100 Mega (casa de praia)",
            "3004",
            "ana.praia",
            true,
            None,
            false,
        ),
        (
            "2005",
            "1004",
            "Fibra 200 Mega",
            "3005",
            "carlos.oliveira",
            false,
            Some("Inadimplência"),
            true,
        ),
        (
            "2006",
            "1005",
            "Empresarial 500 Mega",
            "3006",
            "paoquente",
            true,
            None,
            false,
        ),
        (
            "2007",
            "1006",
            "Empresarial 1 Giga",
            "3007",
            "technova",
            false,
            Some("Inadimplência"),
            false,
        ),
    ];
    let contracts = lines
        .iter()
        .map(|l| Contract {
            id: l.0.into(),
            subscriber_id: l.1.into(),
            plan: Some(l.2.into()),
            status: if l.6.is_some() {
                ContractStatus::Suspended
            } else {
                ContractStatus::Active
            },
            address: None,
        })
        .collect();
    let connections = lines
        .iter()
        .map(|l| {
            let p = PEOPLE
                .iter()
                .find(|p| p.id == l.1)
                .expect("invariant: line of a demo person");
            Connection {
                id: l.3.into(),
                subscriber_id: l.1.into(),
                contract_id: Some(l.0.into()),
                login: Some(l.4.into()),
                online: Some(l.5),
                blocked: l.6.is_some(),
                block_reason: l.6.map(Into::into),
                speed_reduced: l.7,
                address: Some(if l.3 == "3004" {
                    "Avenida Beira-Mar, 10 - Centro - Ubatuba/SP".to_owned()
                } else {
                    format!("{}, {} - {}", p.street, p.number, p.neighbourhood)
                }),
            }
        })
        .collect();
    // (invoice, subscriber, contract, cents, due offset in days, paid)
    let bills: [(&str, &str, &str, u64, i64, bool); 12] = [
        ("5001", "1001", "2001", 9990, -20, true),
        ("5002", "1001", "2001", 9990, 10, false),
        ("5003", "1002", "2002", 12990, -15, false),
        ("5004", "1002", "2002", 12990, 15, false),
        ("5005", "1003", "2003", 9990, 5, false),
        ("5006", "1003", "2004", 7990, 5, false),
        ("5007", "1004", "2005", 10990, -40, false),
        ("5008", "1004", "2005", 10990, -10, false),
        ("5009", "1005", "2006", 29990, 7, false),
        ("5010", "1005", "2006", 29990, -23, true),
        ("5011", "1006", "2007", 49990, -75, false),
        ("5012", "1006", "2007", 49990, -45, false),
    ];
    let invoices = bills
        .iter()
        .map(|&(id, sub, contract, cents, offset, paid)| {
            let due = day(offset);
            let campo = format!("109{:0>8}{:0>14}", id, contract);
            let boleto = Boleto::generate("341", cents, Some(due), &campo)
                .expect("invariant: demo boleto inputs are valid");
            let pix = StaticPix::new(DEMO_PIX_KEY, DEMO_ISP_NAME, DEMO_ISP_CITY)
                .amount_cents(cents)
                .txid(format!("FAT{id}"))
                .to_payload()
                .expect("invariant: demo Pix inputs are valid");
            DemoInvoice {
                invoice: Invoice {
                    id: id.into(),
                    subscriber_id: sub.into(),
                    contract_id: Some(contract.into()),
                    description: Some(format!("Mensalidade {:02}/{}", due.month(), due.year())),
                    value_cents: cents,
                    due_date: due,
                    status: if paid {
                        InvoiceStatus::Paid
                    } else {
                        InvoiceStatus::unpaid(due, today)
                    },
                    pdf_url: Some(format!("https://demo.prosa.invalid/boletos/{id}.pdf")),
                    linha_digitavel: Some(boleto.linha_digitavel()),
                },
                paid,
                pix,
            }
        })
        .collect();
    let outages = vec![Outage {
        id: "9001".into(),
        description: Some("Rompimento de fibra no Jardim Primavera".into()),
        started: Some(format!("{} 08:30", day(0))),
        forecast: Some(format!("{} 18:00", day(0))),
        affected_connections: vec!["3003".into(), "3002".into()],
    }];
    let tickets = vec![
        Ticket {
            id: "7001".into(),
            protocol: Some(format!("{}000001", day(-30).strftime("%Y%m%d"))),
            subscriber_id: Some("1001".into()),
            subject: Some("Troca de senha do Wi-Fi".into()),
            status: TicketStatus::Closed,
        },
        Ticket {
            id: "7002".into(),
            protocol: Some(format!("{}000002", day(-2).strftime("%Y%m%d"))),
            subscriber_id: Some("1002".into()),
            subject: Some("Internet lenta".into()),
            status: TicketStatus::InProgress,
        },
    ];
    let service_orders = vec![ServiceOrder {
        id: "8001".into(),
        subscriber_id: Some("1002".into()),
        description: Some("Visita técnica: verificar ONU".into()),
        status: ServiceOrderStatus::Scheduled,
        scheduled_for: Some(format!("{} 14:00", day(1))),
    }];
    let unlocks = vec![DemoUnlock {
        connection_id: "3005".into(),
        on: day(0).first_of_month(),
    }];
    DemoData {
        version: 1,
        seeded_on: today,
        subscribers,
        contracts,
        connections,
        invoices,
        outages,
        tickets,
        service_orders,
        leads: Vec::new(),
        unlocks,
        next_id: 10_000,
    }
}

/// Overwrites the store with the seed for `today` — what `prosa demo reset` does, without
/// needing a running [`DemoErp`] (a running one keeps its copy until [`DemoErp::reset`]).
pub async fn reset_demo_store(store: &dyn DemoStore, today: Date) -> Result<(), ErpError> {
    store.save(&demo_seed(today)).await.map_err(store_err)
}

/// The demo ERP.
pub struct DemoErp {
    store: Arc<dyn DemoStore>,
    data: tokio::sync::Mutex<DemoData>,
    clock: Clock,
}

fn store_err(e: DemoStoreError) -> ErpError {
    ErpError::Unavailable(format!("demo store: {e}"))
}

impl DemoErp {
    /// Loads the demo data, seeding the store when it is empty.
    pub async fn new(store: Arc<dyn DemoStore>) -> Result<DemoErp, ErpError> {
        DemoErp::with_clock(store, system_clock()).await
    }

    pub async fn with_clock(store: Arc<dyn DemoStore>, clock: Clock) -> Result<DemoErp, ErpError> {
        let today = prosa_br::time::to_sp(clock()).date();
        let data = match store.load().await.map_err(store_err)? {
            Some(d) => d,
            None => {
                let seed = demo_seed(today);
                store.save(&seed).await.map_err(store_err)?;
                seed
            }
        };
        Ok(DemoErp {
            store,
            data: tokio::sync::Mutex::new(data),
            clock,
        })
    }

    fn today(&self) -> Date {
        prosa_br::time::to_sp((self.clock)()).date()
    }

    /// Restores the seed (relative to today) and saves it.
    pub async fn reset(&self) -> Result<(), ErpError> {
        let seed = demo_seed(self.today());
        self.store.save(&seed).await.map_err(store_err)?;
        *self.data.lock().await = seed;
        Ok(())
    }

    /// A copy of the current data.
    pub async fn data(&self) -> DemoData {
        self.data.lock().await.clone()
    }

    async fn write<T>(
        &self,
        f: impl FnOnce(&mut DemoData, Date) -> Result<T, ErpError>,
    ) -> Result<T, ErpError> {
        let mut guard = self.data.lock().await;
        let mut next = guard.clone();
        let out = f(&mut next, self.today())?;
        self.store.save(&next).await.map_err(store_err)?;
        *guard = next;
        Ok(out)
    }

    async fn read<T>(&self, f: impl FnOnce(&DemoData, Date) -> T) -> T {
        let guard = self.data.lock().await;
        f(&guard, self.today())
    }
}

fn next_id(d: &mut DemoData) -> String {
    d.next_id += 1;
    d.next_id.to_string()
}

#[async_trait]
impl Erp for DemoErp {
    fn kind(&self) -> &'static str {
        "demo"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::all()
    }

    async fn test_connection(&self) -> Result<(), ErpError> {
        self.store.load().await.map_err(store_err).map(|_| ())
    }

    async fn find_by_document(&self, document: &Document) -> Result<Vec<Subscriber>, ErpError> {
        Ok(self
            .read(|d, _| {
                d.subscribers
                    .iter()
                    .filter(|s| s.document.as_deref() == Some(document.canonical()))
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn find_by_phone(&self, phone: &str) -> Result<Vec<Subscriber>, ErpError> {
        let national = crate::text::national_phone(phone);
        if national.len() < 8 {
            return Err(ErpError::InvalidRequest("phone too short".into()));
        }
        Ok(self
            .read(|d, _| {
                d.subscribers
                    .iter()
                    .filter(|s| {
                        s.phones
                            .iter()
                            .any(|p| p.ends_with(&national) || national.ends_with(p.as_str()))
                    })
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn subscriber(&self, id: &str) -> Result<Subscriber, ErpError> {
        self.read(|d, _| d.subscribers.iter().find(|s| s.id == id).cloned())
            .await
            .ok_or(ErpError::NotFound)
    }

    async fn contracts(&self, subscriber_id: &str) -> Result<Vec<Contract>, ErpError> {
        Ok(self
            .read(|d, _| {
                d.contracts
                    .iter()
                    .filter(|c| c.subscriber_id == subscriber_id)
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn connections(&self, subscriber_id: &str) -> Result<Vec<Connection>, ErpError> {
        Ok(self
            .read(|d, _| {
                d.connections
                    .iter()
                    .filter(|c| c.subscriber_id == subscriber_id)
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn open_invoices(&self, subscriber_id: &str) -> Result<Vec<Invoice>, ErpError> {
        Ok(self
            .read(|d, today| {
                let mut v: Vec<Invoice> = d
                    .invoices
                    .iter()
                    .filter(|i| !i.paid && i.invoice.subscriber_id == subscriber_id)
                    .map(|i| Invoice {
                        status: InvoiceStatus::unpaid(i.invoice.due_date, today),
                        ..i.invoice.clone()
                    })
                    .collect();
                v.sort_by_key(|i| i.due_date);
                v
            })
            .await)
    }

    async fn invoice_pix(&self, invoice_id: &str) -> Result<PixCharge, ErpError> {
        self.read(|d, _| {
            let i = d
                .invoices
                .iter()
                .find(|i| i.invoice.id == invoice_id)
                .ok_or(ErpError::NotFound)?;
            if i.paid {
                return Err(ErpError::Refused {
                    reason: RefusalReason::Other,
                    detail: "Fatura já paga.".into(),
                });
            }
            Ok(PixCharge {
                invoice_id: Some(invoice_id.to_owned()),
                copia_e_cola: i.pix.clone(),
                value_cents: Some(i.invoice.value_cents),
            })
        })
        .await
    }

    async fn trust_unlock(
        &self,
        subscriber_id: &str,
        connection_id: &str,
    ) -> Result<Unlock, ErpError> {
        self.write(|d, today| {
            let conn = d
                .connections
                .iter()
                .find(|c| c.id == connection_id && c.subscriber_id == subscriber_id)
                .ok_or(ErpError::NotFound)?;
            if !conn.blocked {
                return Err(ErpError::Refused {
                    reason: RefusalReason::NotBlocked,
                    detail: "Conexão não está bloqueada.".into(),
                });
            }
            if d.unlocks.iter().any(|u| {
                u.connection_id == connection_id
                    && u.on.year() == today.year()
                    && u.on.month() == today.month()
            }) {
                return Err(ErpError::Refused {
                    reason: RefusalReason::AlreadyUsed,
                    detail: "Desbloqueio de confiança já utilizado neste mês.".into(),
                });
            }
            let contract = conn.contract_id.clone();
            let oldest = d
                .invoices
                .iter()
                .filter(|i| {
                    !i.paid && i.invoice.contract_id == contract && i.invoice.due_date < today
                })
                .map(|i| i.invoice.due_date)
                .min();
            if let Some(oldest) = oldest {
                let days = today.duration_since(oldest).as_hours() / 24;
                if days > DEMO_MAX_DAYS_OVERDUE {
                    return Err(ErpError::Refused {
                        reason: RefusalReason::TooManyDaysOverdue,
                        detail: format!(
                            "Fatura vencida há {days} dias (limite {DEMO_MAX_DAYS_OVERDUE})."
                        ),
                    });
                }
            }
            let conn = d
                .connections
                .iter_mut()
                .find(|c| c.id == connection_id)
                .ok_or(ErpError::NotFound)?;
            conn.blocked = false;
            conn.block_reason = None;
            conn.speed_reduced = false;
            conn.online = Some(true);
            d.unlocks.push(DemoUnlock {
                connection_id: connection_id.to_owned(),
                on: today,
            });
            Ok(Unlock {
                connection_id: connection_id.to_owned(),
                until: today.checked_add(DEMO_UNLOCK_DAYS.days()).ok(),
                message: Some("Conexão liberada por 3 dias. Reinicie o roteador.".into()),
            })
        })
        .await
    }

    async fn outages(&self) -> Result<Vec<Outage>, ErpError> {
        Ok(self.read(|d, _| d.outages.clone()).await)
    }

    async fn open_ticket(&self, t: &NewTicket) -> Result<Ticket, ErpError> {
        self.write(|d, today| {
            if !d.subscribers.iter().any(|s| s.id == t.subscriber_id) {
                return Err(ErpError::NotFound);
            }
            let id = next_id(d);
            let ticket = Ticket {
                protocol: Some(format!("{}{:0>6}", today.strftime("%Y%m%d"), id)),
                id,
                subscriber_id: Some(t.subscriber_id.clone()),
                subject: Some(t.subject.clone()),
                status: TicketStatus::Open,
            };
            d.tickets.push(ticket.clone());
            Ok(ticket)
        })
        .await
    }

    async fn ticket(&self, id: &str) -> Result<Ticket, ErpError> {
        self.read(|d, _| {
            d.tickets
                .iter()
                .find(|t| t.id == id || t.protocol.as_deref() == Some(id))
                .cloned()
        })
        .await
        .ok_or(ErpError::NotFound)
    }

    async fn tickets(&self, subscriber_id: &str) -> Result<Vec<Ticket>, ErpError> {
        Ok(self
            .read(|d, _| {
                d.tickets
                    .iter()
                    .filter(|t| t.subscriber_id.as_deref() == Some(subscriber_id))
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn open_service_order(&self, o: &NewServiceOrder) -> Result<ServiceOrder, ErpError> {
        self.write(|d, _| {
            if !d.subscribers.iter().any(|s| s.id == o.subscriber_id) {
                return Err(ErpError::NotFound);
            }
            let order = ServiceOrder {
                id: next_id(d),
                subscriber_id: Some(o.subscriber_id.clone()),
                description: Some(o.description.clone()),
                status: ServiceOrderStatus::Open,
                scheduled_for: None,
            };
            d.service_orders.push(order.clone());
            Ok(order)
        })
        .await
    }

    async fn service_orders(&self, subscriber_id: &str) -> Result<Vec<ServiceOrder>, ErpError> {
        Ok(self
            .read(|d, _| {
                d.service_orders
                    .iter()
                    .filter(|o| o.subscriber_id.as_deref() == Some(subscriber_id))
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn register_lead(&self, l: &NewLead) -> Result<Lead, ErpError> {
        self.write(|d, _| {
            let id = next_id(d);
            d.leads.push((id.clone(), l.clone()));
            Ok(Lead { id })
        })
        .await
    }
}
