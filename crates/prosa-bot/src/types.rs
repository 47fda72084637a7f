//! The engine's inputs, outputs, state and settings.

use crate::understand::Understand;
use async_trait::async_trait;
use prosa_domain::message::MessageContent;
use prosa_erp::Erp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What happened in the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum BotInput {
    /// The conversation was opened (before or without a first message): greet.
    Start,
    /// The subscriber wrote.
    Message(Inbound),
    /// Inactivity timeout elapsed (the server's timer).
    Timeout,
}

/// A subscriber message as the bot reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inbound {
    pub text: Option<String>,
    /// The id of the option (button/list row) the subscriber picked.
    pub selected_option: Option<String>,
    /// Kinds of attachments (`audio`, `image`, `sticker`, `video`, `document`).
    pub attachments: Vec<String>,
    /// The provider sent a type Prosa does not understand.
    pub unsupported: bool,
}

impl BotInput {
    pub fn text(t: impl Into<String>) -> BotInput {
        BotInput::Message(Inbound {
            text: Some(t.into()),
            ..Inbound::default()
        })
    }

    pub fn option(id: impl Into<String>) -> BotInput {
        BotInput::Message(Inbound {
            selected_option: Some(id.into()),
            ..Inbound::default()
        })
    }

    /// From a stored incoming message.
    pub fn from_content(c: &MessageContent) -> BotInput {
        BotInput::Message(Inbound {
            text: c.text.clone().filter(|t| !t.trim().is_empty()),
            selected_option: c.selected_option.clone(),
            attachments: c.attachments.iter().map(|a| a.kind.clone()).collect(),
            unsupported: c.unsupported.is_some(),
        })
    }
}

/// The channel of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// Channel kind (`whatsapp`, `telegram`, `webchat`, …), used as the ticket origin.
    pub name: String,
    /// How many options the channel can show as buttons/list rows (0 = none). Menus with more
    /// options are written as numbered text.
    pub max_options: usize,
}

/// What the server knows about the contact before the bot asks anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownContact {
    /// The phone number the channel reported (WhatsApp), digits.
    pub phone: Option<String>,
    /// The ERP subscriber id linked in an earlier *verified* conversation (`LinkContact`).
    pub erp_subscriber_id: Option<String>,
    /// The document linked in an earlier verified conversation.
    pub document: Option<String>,
}

/// Verification failures per subject, across sessions and channels (stored by the server from
/// [`BotAction::RecordVerificationFailure`]; the server decides how long they count).
#[async_trait]
pub trait AttemptLedger: Send + Sync {
    async fn failed_attempts(&self, subject: &str) -> u32;
}

/// No memory of earlier failures.
#[async_trait]
impl AttemptLedger for () {
    async fn failed_attempts(&self, _subject: &str) -> u32 {
        0
    }
}

/// Everything the engine may consult during one turn.
pub struct BotContext<'a> {
    pub erp: &'a dyn Erp,
    pub understand: &'a dyn Understand,
    pub attempts: &'a dyn AttemptLedger,
    pub channel: ChannelInfo,
    pub contact: KnownContact,
    /// Whether the human queue is open now (service-hours rules).
    pub queue_open: bool,
    /// When it opens next, formatted pt-BR ("segunda-feira às 08:00").
    pub next_opening: Option<String>,
    pub now: jiff::Timestamp,
}

/// Why the bot hands the conversation to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandOffReason {
    /// The subscriber asked for a person.
    Requested,
    /// The bot failed to understand twice.
    NotUnderstood,
    /// Identity could not be confirmed (wrong answers, or too many attempts for this subject).
    VerificationFailed,
    /// The subscriber could not be identified (documents not found/invalid).
    IdentificationFailed,
    /// The ERP is down.
    ErpUnavailable,
    /// The ERP does not offer what is needed.
    Unsupported,
    Cancellation,
    Complaint,
    /// The request needs a person (e.g. a technical problem after the basic steps).
    NeedsPerson,
}

impl HandOffReason {
    pub fn as_str(self) -> &'static str {
        match self {
            HandOffReason::Requested => "requested",
            HandOffReason::NotUnderstood => "not_understood",
            HandOffReason::VerificationFailed => "verification_failed",
            HandOffReason::IdentificationFailed => "identification_failed",
            HandOffReason::ErpUnavailable => "erp_unavailable",
            HandOffReason::Unsupported => "unsupported",
            HandOffReason::Cancellation => "cancellation",
            HandOffReason::Complaint => "complaint",
            HandOffReason::NeedsPerson => "needs_person",
        }
    }
}

/// Something the server must do after a turn (in order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum BotAction {
    /// Identity confirmed: link the contact to this ERP subscriber (remembered for later
    /// conversations as [`KnownContact::erp_subscriber_id`]/`document`) and show it to operators.
    LinkContact {
        document: Option<String>,
        erp_subscriber_id: String,
    },
    /// A wrong confirmation answer: count it against `subject` (`"{erp kind}:{subscriber id}"`).
    RecordVerificationFailure {
        subject: String,
    },
    /// A ticket was opened in the ERP (show in the panel; the protocol is the contact's reference).
    OpenedTicket {
        ticket_id: String,
        protocol: Option<String>,
        subject: String,
    },
    OpenedServiceOrder {
        order_id: String,
    },
    RegisteredLead {
        lead_id: String,
    },
    TrustUnlocked {
        connection_id: String,
        until: Option<String>,
    },
    /// Give the conversation to the human queue (team hint: `financeiro`, `suporte`,
    /// `comercial`, `cancelamento`, `ouvidoria`). Out of hours it waits in the queue.
    HandOff {
        reason: HandOffReason,
        team: Option<String>,
        intent: Option<String>,
        protocol: Option<String>,
    },
    /// Close the conversation with this category.
    Close {
        category: String,
    },
    /// Ask the 0–10 rating (the server sends the question and collects the score).
    RequestRating,
}

impl fmt::Display for BotAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        match self {
            BotAction::LinkContact {
                document,
                erp_subscriber_id,
            } => {
                write!(
                    f,
                    "link_contact(document={}, subscriber={erp_subscriber_id})",
                    o(document)
                )
            }
            BotAction::RecordVerificationFailure { subject } => {
                write!(f, "record_verification_failure(subject={subject})")
            }
            BotAction::OpenedTicket {
                ticket_id,
                protocol,
                subject,
            } => {
                write!(
                    f,
                    "opened_ticket(id={ticket_id}, protocol={}, subject={subject})",
                    o(protocol)
                )
            }
            BotAction::OpenedServiceOrder { order_id } => {
                write!(f, "opened_service_order(id={order_id})")
            }
            BotAction::RegisteredLead { lead_id } => write!(f, "registered_lead(id={lead_id})"),
            BotAction::TrustUnlocked {
                connection_id,
                until,
            } => {
                write!(
                    f,
                    "trust_unlocked(connection={connection_id}, until={})",
                    o(until)
                )
            }
            BotAction::HandOff {
                reason,
                team,
                intent,
                protocol,
            } => write!(
                f,
                "hand_off(reason={}, team={}, intent={}, protocol={})",
                reason.as_str(),
                o(team),
                o(intent),
                o(protocol)
            ),
            BotAction::Close { category } => write!(f, "close(category={category})"),
            BotAction::RequestRating => f.write_str("request_rating"),
        }
    }
}

/// The result of one turn.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BotTurn {
    /// Messages to send, in order.
    pub replies: Vec<MessageContent>,
    pub actions: Vec<BotAction>,
    /// The bot closed the conversation.
    pub done: bool,
    /// The bot handed the conversation to people; it will not answer again.
    pub handoff: bool,
}

/// A question asked to confirm identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationKind {
    /// The number of the installation address.
    HouseNumber,
    BirthDate,
    Neighbourhood,
    /// The last 4 digits of a registered phone (skipped when identified by that phone).
    PhoneLastDigits,
    /// The first 5 digits of the CEP.
    CepPrefix,
}

/// Administrator settings of the bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BotSettings {
    /// The ISP's name (`{empresa}`).
    pub company_name: String,
    /// Confirmation questions by preference; the first one the ERP has data for is asked.
    pub confirmation: Vec<ConfirmationKind>,
    /// Wrong confirmation answers (per subject, across conversations) before hand-off.
    pub max_confirmation_attempts: u32,
    /// Invalid or unknown documents before hand-off.
    pub max_document_attempts: u32,
    /// Messages not understood in a row before hand-off.
    pub max_not_understood: u32,
    /// Below this confidence the bot shows the menu.
    pub min_confidence: f32,
    /// Open invoices shown at most.
    pub max_invoices: usize,
    pub category_resolved: String,
    pub category_no_request: String,
    pub category_timeout: String,
    /// Hand off to a person after registering a complaint.
    pub handoff_after_complaint: bool,
    /// Seconds without an answer from the subscriber before the bot closes the conversation
    /// (with the `timeout` text and `category_timeout`).
    pub inactivity_timeout_secs: u64,
    /// Seconds without an answer before the "você ainda está aí?" warning
    /// (`inactivity_warning`); 0 = no warning. Less than `inactivity_timeout_secs`.
    pub inactivity_warning_secs: u64,
    /// Seconds a conversation waits in the human queue before the subscriber is told their
    /// position (`queue_position`; an automatic assignment usually comes first); 0 = never tell.
    pub queue_position_delay_secs: u64,
    /// Seconds between updates while the position improves; 0 = tell once.
    pub queue_position_interval_secs: u64,
}

impl Default for BotSettings {
    fn default() -> BotSettings {
        BotSettings {
            company_name: "Prosa Net".into(),
            confirmation: vec![
                ConfirmationKind::HouseNumber,
                ConfirmationKind::BirthDate,
                ConfirmationKind::CepPrefix,
                ConfirmationKind::PhoneLastDigits,
            ],
            max_confirmation_attempts: 3,
            max_document_attempts: 3,
            max_not_understood: 2,
            min_confidence: 0.5,
            max_invoices: 3,
            category_resolved: "Resolvido pelo bot".into(),
            category_no_request: "Encerrado sem solicitação".into(),
            category_timeout: "Encerrado por inatividade".into(),
            handoff_after_complaint: true,
            inactivity_timeout_secs: 30 * 60,
            inactivity_warning_secs: 25 * 60,
            queue_position_delay_secs: 10,
            queue_position_interval_secs: 120,
        }
    }
}

/// A choice offered in a menu (id and label), kept to read "1", the id or the label back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItem {
    pub id: String,
    pub label: String,
}

/// What the bot expects next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Step {
    /// Nothing said yet.
    #[default]
    New,
    /// A request (free text or a main-menu choice).
    Request,
    Document,
    SubscriberChoice,
    Confirmation,
    ContractChoice,
    YesNo {
        question: Question,
    },
    HandedOff,
    Closed,
}

/// The yes/no question pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Question {
    AnythingElse,
    OfferUnlock,
    OfferInvoice,
    /// "Did the basic steps solve it?" (`no` opens a technical ticket).
    StepsSolved {
        slow: bool,
    },
    OfferWifiTicket,
}

/// A request waiting for identification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub intent: String,
    pub text: String,
}

/// The conversation's bot state: the server stores it (JSON) with the conversation and passes
/// it back on the next turn. Authority (who the subscriber is) comes only from here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BotState {
    pub step: Step,
    pub greeted: bool,
    /// The subscriber being identified or identified (ERP id).
    pub subscriber_id: Option<String>,
    /// Canonical document of that subscriber, when known.
    pub document: Option<String>,
    /// Whether identity was confirmed in this conversation.
    pub verified: bool,
    /// Identified through the channel phone (then the phone is not asked as confirmation).
    pub by_phone: bool,
    /// Channel identity (phone, remembered link) already tried.
    pub channel_identity_tried: bool,
    pub confirmation: Option<ConfirmationKind>,
    pub contract_id: Option<String>,
    pub contracts_checked: bool,
    /// The subscriber's contracts as offered (id `contrato:ID`, label), when there are several.
    pub contracts: Vec<MenuItem>,
    pub confirmation_failures: u32,
    pub document_failures: u32,
    pub not_understood: u32,
    pub pending: Option<Pending>,
    /// The last menu shown (for "1", "2"… answers).
    pub menu: Vec<MenuItem>,
    /// Something was done for the subscriber (decides the closing category).
    pub resolved: bool,
}
