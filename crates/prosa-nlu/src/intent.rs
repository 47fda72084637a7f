//! The 23 intent ids of `docs/intents.md`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! intents {
    ($($variant:ident => $id:literal),* $(,)?) => {
        /// The main request of one subscriber message (ids fixed by the spec).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Intent {
            $($variant),*
        }

        impl Intent {
            /// Every intent, in the order of the spec table.
            pub const ALL: [Intent; 23] = [$(Intent::$variant),*];

            /// The snake_case id used in data files, configuration and JSON.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Intent::$variant => $id),*
                }
            }
        }

        impl FromStr for Intent {
            type Err = UnknownIntent;
            fn from_str(s: &str) -> Result<Intent, UnknownIntent> {
                match s {
                    $($id => Ok(Intent::$variant),)*
                    _ => Err(UnknownIntent(s.to_string())),
                }
            }
        }
    };
}

intents! {
    Greeting => "greeting",
    ProvideDocument => "provide_document",
    InvoiceCopy => "invoice_copy",
    PixPayment => "pix_payment",
    DebtInquiry => "debt_inquiry",
    PaymentNotice => "payment_notice",
    TrustUnlock => "trust_unlock",
    NoConnection => "no_connection",
    SlowConnection => "slow_connection",
    EquipmentIssue => "equipment_issue",
    WifiSettings => "wifi_settings",
    TicketStatus => "ticket_status",
    AddressChange => "address_change",
    PlanChange => "plan_change",
    AccountChange => "account_change",
    Cancellation => "cancellation",
    NewService => "new_service",
    HumanAgent => "human_agent",
    Complaint => "complaint",
    Goodbye => "goodbye",
    Affirm => "affirm",
    Deny => "deny",
    OutOfScope => "out_of_scope",
}

impl Intent {
    /// Position in [`Intent::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Intent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that is not one of the 23 intent ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownIntent(pub String);

impl fmt::Display for UnknownIntent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown intent id {:?}", self.0)
    }
}

impl std::error::Error for UnknownIntent {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for (i, intent) in Intent::ALL.iter().enumerate() {
            assert_eq!(intent.index(), i);
            assert_eq!(intent.as_str().parse::<Intent>().unwrap(), *intent);
            let json = serde_json::to_string(intent).unwrap();
            assert_eq!(json, format!("\"{}\"", intent.as_str()));
            assert_eq!(serde_json::from_str::<Intent>(&json).unwrap(), *intent);
        }
        assert!("boleto".parse::<Intent>().is_err());
    }
}
