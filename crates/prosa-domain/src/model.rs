//! The aggregates: users, teams, inboxes, contacts, conversations and their states.

use crate::ids::*;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a person may do. An operator is an `agent` in code and API ("atendente" on screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    #[serde(alias = "operator")]
    Agent,
    Supervisor,
    #[serde(alias = "administrator")]
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// Supervisors and administrators see every conversation.
    pub fn sees_everything(self) -> bool {
        matches!(self, Role::Supervisor | Role::Admin)
    }

    pub fn label_pt(self) -> &'static str {
        match self {
            Role::Agent => "Atendente",
            Role::Supervisor => "Supervisor",
            Role::Admin => "Administrador",
        }
    }
}

impl FromStr for Role {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Role, UnknownValue> {
        match s.trim().to_ascii_lowercase().as_str() {
            "agent" | "operator" | "atendente" => Ok(Role::Agent),
            "supervisor" => Ok(Role::Supervisor),
            "admin" | "administrator" | "administrador" => Ok(Role::Admin),
            _ => Err(UnknownValue::new("role", s)),
        }
    }
}

/// A text that names no known variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what}: {value:?}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

impl UnknownValue {
    pub fn new(what: &'static str, value: &str) -> UnknownValue {
        UnknownValue {
            what,
            value: value.to_owned(),
        }
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vmeta])* #[serde(rename = $text)] $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<$name, UnknownValue> {
                match s { $($text => Ok($name::$variant),)* _ => Err(UnknownValue::new($what, s)) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum!(
    /// The provider behind an inbox.
    ChannelKind, "channel kind" {
        Api => "api",
        WhatsappCloud => "whatsapp_cloud",
        WhatsappEvolution => "whatsapp_evolution",
        Telegram => "telegram",
        Messenger => "messenger",
        Instagram => "instagram",
        BotFramework => "bot_framework",
        WebChat => "web_chat",
    }
);

string_enum!(
    /// Who owns a conversation now.
    ConversationStatus, "conversation status" {
        /// The bot is serving it.
        Bot => "bot",
        /// In the human queue, waiting for an operator.
        Waiting => "waiting",
        /// An operator has it.
        Open => "open",
        /// Finished.
        Resolved => "resolved",
    }
);

string_enum!(
    /// Which way a message went.
    Direction, "direction" {
        Incoming => "incoming",
        Outgoing => "outgoing",
    }
);

string_enum!(
    /// Who wrote a message.
    AuthorKind, "author kind" {
        Contact => "contact",
        Agent => "agent",
        Bot => "bot",
        System => "system",
    }
);

string_enum!(
    /// How far an outgoing message got. Updates only move forward, see [`DeliveryStatus::advance`].
    DeliveryStatus, "delivery status" {
        Queued => "queued",
        Sent => "sent",
        Delivered => "delivered",
        Read => "read",
        Failed => "failed",
    }
);

impl DeliveryStatus {
    fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Queued => 0,
            DeliveryStatus::Sent => 1,
            DeliveryStatus::Failed => 2,
            DeliveryStatus::Delivered => 3,
            DeliveryStatus::Read => 4,
        }
    }

    /// The status after an update arrives: statuses never move back (a late `sent` after
    /// `read` changes nothing). `failed` overrides `queued` and `sent`, not `delivered`/`read`.
    pub fn advance(self, update: DeliveryStatus) -> DeliveryStatus {
        if update.rank() > self.rank() {
            update
        } else {
            self
        }
    }
}

string_enum!(
    /// State of an outbox item.
    OutboxStatus, "outbox status" {
        Pending => "pending",
        InFlight => "in_flight",
        Sent => "sent",
        Dead => "dead",
    }
);

string_enum!(
    /// An operator's availability.
    Presence, "presence" {
        Online => "online",
        Paused => "paused",
        Offline => "offline",
    }
);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub presence: Presence,
    pub pause_reason: Option<String>,
    pub team_ids: Vec<TeamId>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inbox {
    pub id: InboxId,
    pub name: String,
    pub kind: ChannelKind,
    /// The channel's settings, secrets included; never sent to a client as is.
    pub settings: serde_json::Value,
    pub team_id: Option<TeamId>,
    pub bot_enabled: bool,
    pub active: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// CPF or CNPJ, canonical form, once the subscriber proved it.
    pub document: Option<String>,
    pub erp_subscriber_id: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContactIdentity {
    pub id: ContactIdentityId,
    pub inbox_id: InboxId,
    pub contact_id: ContactId,
    pub external_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub inbox_id: InboxId,
    pub contact_id: ContactId,
    pub contact_identity_id: ContactIdentityId,
    pub status: ConversationStatus,
    pub assignee_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub category_id: Option<CategoryId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub first_response_at: Option<Timestamp>,
    pub waiting_since: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub last_message_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub active: bool,
    pub position: i64,
}

/// What a user may see of a conversation, computed from the user alone (no IO).
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: Option<UserId>,
    pub role: Role,
    pub team_ids: Vec<TeamId>,
    /// Operators may see their teams' conversations when the administrator allows it.
    pub team_visibility: bool,
}

impl Viewer {
    /// An integration (API token) acts with administrator rights.
    pub fn integration() -> Viewer {
        Viewer {
            user_id: None,
            role: Role::Admin,
            team_ids: Vec::new(),
            team_visibility: true,
        }
    }

    /// Whether this viewer may read a conversation with this owner and team.
    pub fn may_see(
        &self,
        status: ConversationStatus,
        assignee: Option<UserId>,
        team: Option<TeamId>,
    ) -> bool {
        if self.role.sees_everything() {
            return true;
        }
        if assignee.is_some() && assignee == self.user_id {
            return true;
        }
        let team_ok = match team {
            None => true,
            Some(t) => self.team_ids.contains(&t),
        };
        match status {
            // The waiting queue is the operators' shared work list, per team.
            ConversationStatus::Waiting => team_ok,
            ConversationStatus::Open | ConversationStatus::Resolved | ConversationStatus::Bot => {
                self.team_visibility && team.is_some() && team_ok
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_status_moves_forward_only() {
        use DeliveryStatus::*;
        let cases = [
            (Queued, Sent, Sent),
            (Sent, Delivered, Delivered),
            (Delivered, Sent, Delivered),
            (Read, Delivered, Read),
            (Sent, Failed, Failed),
            (Delivered, Failed, Delivered),
            (Failed, Sent, Failed),
            (Failed, Read, Read),
            (Queued, Queued, Queued),
        ];
        for (from, update, want) in cases {
            assert_eq!(from.advance(update), want, "{from} + {update}");
        }
    }

    #[test]
    fn viewer_rules() {
        let agent = Viewer {
            user_id: Some(UserId(1)),
            role: Role::Agent,
            team_ids: vec![TeamId(10)],
            team_visibility: false,
        };
        use ConversationStatus::*;
        assert!(agent.may_see(Waiting, None, None));
        assert!(agent.may_see(Waiting, None, Some(TeamId(10))));
        assert!(!agent.may_see(Waiting, None, Some(TeamId(11))));
        assert!(agent.may_see(Open, Some(UserId(1)), Some(TeamId(11))));
        assert!(!agent.may_see(Open, Some(UserId(2)), Some(TeamId(10))));
        assert!(!agent.may_see(Bot, None, None));
        let team_agent = Viewer {
            team_visibility: true,
            ..agent
        };
        assert!(team_agent.may_see(Open, Some(UserId(2)), Some(TeamId(10))));
        assert!(!team_agent.may_see(Open, Some(UserId(2)), Some(TeamId(11))));
        let sup = Viewer {
            user_id: Some(UserId(3)),
            role: Role::Supervisor,
            team_ids: vec![],
            team_visibility: false,
        };
        assert!(sup.may_see(Bot, None, Some(TeamId(11))));
        assert_eq!("operator".parse::<Role>(), Ok(Role::Agent));
        assert!("root".parse::<Role>().is_err());
    }
}
