//! The one error type of the ERP layer. Messages never contain credentials, tokens or URLs.

use crate::types::Action;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why the ERP refused an action (trust unlock mostly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// Trust unlock already used in the period the ERP allows (typically once a month).
    AlreadyUsed,
    /// The connection/contract is not blocked.
    NotBlocked,
    /// Too many days overdue (or too much debt) for a trust unlock.
    TooManyDaysOverdue,
    /// The subscriber or contract is inactive/cancelled.
    Inactive,
    /// Any other business refusal; the ERP's message is in `detail`.
    Other,
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RefusalReason::AlreadyUsed => "already used in this period",
            RefusalReason::NotBlocked => "not blocked",
            RefusalReason::TooManyDaysOverdue => "too many days overdue",
            RefusalReason::Inactive => "inactive subscriber or contract",
            RefusalReason::Other => "refused",
        })
    }
}

/// What went wrong talking to the ERP, in terms of what the caller can do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErpError {
    /// The subscriber, invoice, ticket… does not exist.
    #[error("not found")]
    NotFound,
    /// This adapter (or this ERP install) does not offer the action.
    #[error("action not supported by this ERP: {0}")]
    Unsupported(Action),
    /// The ERP refused a business action; `detail` is the ERP's own message (no secrets).
    #[error("refused by the ERP ({reason}): {detail}")]
    Refused {
        reason: RefusalReason,
        detail: String,
    },
    /// The request was invalid for the ERP (e.g. "Documento inválido").
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Timeout, connection failure, 5xx, or the circuit breaker is open. Retry later.
    #[error("ERP unavailable: {0}")]
    Unavailable(String),
    /// The configured credentials were rejected.
    #[error("ERP rejected the configured credentials")]
    Unauthorized,
    /// The ERP answered something we cannot understand.
    #[error("invalid ERP response: {0}")]
    Protocol(String),
}

impl ErpError {
    /// Whether this failure says the ERP is unhealthy (counts for the circuit breaker).
    pub fn is_availability_failure(&self) -> bool {
        matches!(self, ErpError::Unavailable(_))
    }
}

/// Describes a reqwest failure without its URL (MK puts the session token in the query string).
pub(crate) fn transport_error(e: &reqwest::Error) -> ErpError {
    let what = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "broken response body"
    } else if e.is_request() {
        "request failed"
    } else {
        "transport error"
    };
    ErpError::Unavailable(what.to_owned())
}

/// Keeps an ERP-provided message short and on one line.
pub(crate) fn short(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 200 {
        one_line.chars().take(200).collect::<String>() + "…"
    } else {
        one_line
    }
}

impl ErpError {
    /// Replaces any occurrence of the given secrets in the error's text with `***` (defence in
    /// depth: an ERP could echo a credential in its own message).
    pub(crate) fn scrub(self, secrets: &[&str]) -> ErpError {
        let clean = |s: String| {
            secrets
                .iter()
                .filter(|x| x.len() >= 4)
                .fold(s, |acc, x| acc.replace(x, "***"))
        };
        match self {
            ErpError::Refused { reason, detail } => ErpError::Refused {
                reason,
                detail: clean(detail),
            },
            ErpError::InvalidRequest(d) => ErpError::InvalidRequest(clean(d)),
            ErpError::Unavailable(d) => ErpError::Unavailable(clean(d)),
            ErpError::Protocol(d) => ErpError::Protocol(clean(d)),
            other => other,
        }
    }
}

/// Lower-case without Portuguese accents, for matching ERP messages.
pub(crate) fn fold(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' => 'a',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ó' | 'ô' | 'õ' => 'o',
            'ú' | 'ü' => 'u',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

/// Classifies a refusal message of a trust unlock (MK, IXC and demo wording).
pub(crate) fn unlock_refusal(message: &str) -> RefusalReason {
    let m = fold(message);
    if m.contains("incompativel")
        || m.contains("nao esta bloquead")
        || m.contains("nao bloquead")
        || m.contains("not blocked")
    {
        RefusalReason::NotBlocked
    } else if m.contains("dias") && (m.contains("atraso") || m.contains("vencid")) {
        RefusalReason::TooManyDaysOverdue
    } else if m.contains("indisponivel")
        || m.contains("ja utiliz")
        || m.contains("ja foi")
        || m.contains("limite")
        || m.contains("ja realiz")
    {
        RefusalReason::AlreadyUsed
    } else if m.contains("inativ") || m.contains("cancelad") {
        RefusalReason::Inactive
    } else {
        RefusalReason::Other
    }
}
