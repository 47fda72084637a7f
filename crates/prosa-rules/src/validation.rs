//! Per-field validation errors (pt-BR messages for the panel).

use serde::{Deserialize, Serialize};
use std::fmt;

/// One invalid field. `field` is a path such as `description`, `weekdays[2]` or
/// `intervals[0].start`; `message` is shown to the administrator as is (pt-BR).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error under a parent path (`rules[1].` + `description`).
    pub fn prefixed(self, prefix: &str) -> FieldError {
        FieldError {
            field: format!("{prefix}.{}", self.field),
            message: self.message,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// pt-BR messages, as constants so the server and tests can match on them.
pub mod msg {
    pub const DESCRIPTION_REQUIRED: &str = "descrição é obrigatória";
    pub const DESCRIPTION_TOO_LONG: &str = "descrição muito longa (máximo 200 caracteres)";
    pub const WEEKDAY_REQUIRED: &str = "informe ao menos um dia da semana";
    pub const WEEKDAY_INVALID: &str = "dia da semana inválido";
    pub const INTERVAL_REQUIRED: &str = "informe ao menos um horário";
    pub const TIME_INVALID: &str = "horário inválido (use HH:MM)";
    pub const START_EQUALS_END: &str = "início e fim iguais";
    pub const TIME_ZONE_INVALID: &str = "fuso horário inválido";
    pub const CLOSED_DATE_DUPLICATE: &str = "data repetida";
    pub const SCORE_REQUIRED: &str = "informe ao menos uma nota";
    pub const SCORE_RANGE: &str = "as notas vão de 0 a 10";
    pub const OPERATOR_REQUIRED: &str = "informe ao menos um operador";
}

/// Maximum description length, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 200;

/// Errors of a description field (required, trimmed, at most [`DESCRIPTION_MAX_CHARS`]).
pub(crate) fn check_description(description: &str, out: &mut Vec<FieldError>) {
    let d = description.trim();
    if d.is_empty() {
        out.push(FieldError::new("description", msg::DESCRIPTION_REQUIRED));
    } else if d.chars().count() > DESCRIPTION_MAX_CHARS {
        out.push(FieldError::new("description", msg::DESCRIPTION_TOO_LONG));
    }
}
