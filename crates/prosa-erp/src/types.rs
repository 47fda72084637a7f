//! Domain types shared by every adapter. Plain serde structs; ids are strings because ERPs send
//! them as numbers or strings.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// An action of the ERP layer; [`Capabilities`] lists the ones an adapter offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    FindByDocument,
    FindByPhone,
    FindById,
    Contracts,
    Connections,
    OpenInvoices,
    InvoicePix,
    TrustUnlock,
    Outages,
    OpenTicket,
    TicketStatus,
    OpenServiceOrder,
    ServiceOrderStatus,
    RegisterLead,
}

impl Action {
    pub const ALL: [Action; 14] = [
        Action::FindByDocument,
        Action::FindByPhone,
        Action::FindById,
        Action::Contracts,
        Action::Connections,
        Action::OpenInvoices,
        Action::InvoicePix,
        Action::TrustUnlock,
        Action::Outages,
        Action::OpenTicket,
        Action::TicketStatus,
        Action::OpenServiceOrder,
        Action::ServiceOrderStatus,
        Action::RegisterLead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::FindByDocument => "find_by_document",
            Action::FindByPhone => "find_by_phone",
            Action::FindById => "find_by_id",
            Action::Contracts => "contracts",
            Action::Connections => "connections",
            Action::OpenInvoices => "open_invoices",
            Action::InvoicePix => "invoice_pix",
            Action::TrustUnlock => "trust_unlock",
            Action::Outages => "outages",
            Action::OpenTicket => "open_ticket",
            Action::TicketStatus => "ticket_status",
            Action::OpenServiceOrder => "open_service_order",
            Action::ServiceOrderStatus => "service_order_status",
            Action::RegisterLead => "register_lead",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The actions an adapter supports, so the bot and the panel only offer those.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Capabilities(pub BTreeSet<Action>);

impl Capabilities {
    pub fn all() -> Capabilities {
        Capabilities(Action::ALL.into_iter().collect())
    }

    pub fn of(actions: &[Action]) -> Capabilities {
        Capabilities(actions.iter().copied().collect())
    }

    pub fn supports(&self, action: Action) -> bool {
        self.0.contains(&action)
    }
}

/// A postal address, split as far as the ERP allows (for identity confirmation questions).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Address {
    pub street: Option<String>,
    pub number: Option<String>,
    pub complement: Option<String>,
    pub neighbourhood: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    /// 8 digits, no punctuation.
    pub cep: Option<String>,
    /// The whole address as the ERP wrote it, when it does not split it (MK `Endereco`).
    pub full: Option<String>,
}

/// A subscriber (a "pessoa"/"cliente" registration). One CPF may have several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    pub id: String,
    pub name: String,
    /// CPF or CNPJ, canonical (digits / upper-case characters, no punctuation).
    pub document: Option<String>,
    pub active: bool,
    pub email: Option<String>,
    /// Phone numbers, digits only (with area code when the ERP has it).
    pub phones: Vec<String>,
    pub address: Address,
    pub birth_date: Option<Date>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractStatus {
    Active,
    Suspended,
    Cancelled,
    Other,
}

/// A contract (plan subscription).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub id: String,
    pub subscriber_id: String,
    pub plan: Option<String>,
    pub status: ContractStatus,
    pub address: Option<Address>,
}

/// A connection (access point / login). In IXC a contract is the connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub id: String,
    pub subscriber_id: String,
    pub contract_id: Option<String>,
    pub login: Option<String>,
    /// `None` when the ERP could not say.
    pub online: Option<bool>,
    pub blocked: bool,
    pub block_reason: Option<String>,
    pub speed_reduced: bool,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Open,
    Overdue,
    Paid,
}

/// An invoice ("fatura", "título a receber").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub id: String,
    pub subscriber_id: String,
    pub contract_id: Option<String>,
    pub description: Option<String>,
    pub value_cents: u64,
    pub due_date: Date,
    pub status: InvoiceStatus,
    pub pdf_url: Option<String>,
    /// 47 digits, validated; `None` when the ERP had none or sent an invalid one.
    pub linha_digitavel: Option<String>,
}

impl InvoiceStatus {
    /// Open or overdue by due date, as of `today`.
    pub fn unpaid(due: Date, today: Date) -> InvoiceStatus {
        if due < today {
            InvoiceStatus::Overdue
        } else {
            InvoiceStatus::Open
        }
    }
}

/// A Pix copia-e-cola for an invoice; the code has been validated (CRC, GUI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PixCharge {
    pub invoice_id: Option<String>,
    pub copia_e_cola: String,
    pub value_cents: Option<u64>,
}

/// A successful trust unlock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unlock {
    pub connection_id: String,
    /// Until when, when the ERP says.
    pub until: Option<Date>,
    pub message: Option<String>,
}

/// An outage ("massiva", "notificação de parada") in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outage {
    pub id: String,
    pub description: Option<String>,
    pub started: Option<String>,
    pub forecast: Option<String>,
    /// Affected connection ids, when the ERP lists them.
    pub affected_connections: Vec<String>,
}

/// A ticket to open ("atendimento", protocol).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTicket {
    pub subscriber_id: String,
    pub contract_id: Option<String>,
    pub connection_id: Option<String>,
    pub subject: String,
    pub description: String,
    /// The channel name (`whatsapp`, `telegram`, `webchat`, …); adapters map it to their codes.
    pub origin: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    InProgress,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: String,
    pub protocol: Option<String>,
    pub subscriber_id: Option<String>,
    pub subject: Option<String>,
    pub status: TicketStatus,
}

/// A service order ("ordem de serviço", OS) to open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewServiceOrder {
    pub subscriber_id: String,
    pub contract_id: Option<String>,
    pub connection_id: Option<String>,
    pub ticket_id: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceOrderStatus {
    Open,
    Scheduled,
    InProgress,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceOrder {
    pub id: String,
    pub subscriber_id: Option<String>,
    pub description: Option<String>,
    pub status: ServiceOrderStatus,
    pub scheduled_for: Option<String>,
}

/// A sales lead (someone asking for coverage/plans).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NewLead {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub document: Option<String>,
    pub cep: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
    pub origin: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    pub id: String,
}

/// What the panel shows about the ERP link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Up,
    Degraded,
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub state: HealthState,
    pub consecutive_failures: u32,
    /// Display of the last failure (never contains secrets).
    pub last_error: Option<String>,
}

impl Health {
    pub fn up() -> Health {
        Health {
            state: HealthState::Up,
            consecutive_failures: 0,
            last_error: None,
        }
    }
}
