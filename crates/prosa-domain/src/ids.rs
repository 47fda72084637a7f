//! Typed ids. Every table's primary key is an `i64`; the newtype keeps them apart.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    UserId,
    TeamId,
    InboxId,
    ContactId,
    ContactIdentityId,
    ConversationId,
    MessageId,
    CategoryId,
    OutboxId,
    InboundEventId,
    EventId,
    ApiTokenId,
    RatingId,
    RatingRuleId,
    ServiceHoursRuleId,
    NotificationId,
);
