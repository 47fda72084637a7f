//! Prosa's rule evaluation, pure and without IO.
//!
//! - [`service_hours`]: when the human queue is open ("regras de atendimento manual"): weekly rules
//!   with one or more intervals (midnight-crossing allowed), per-inbox selection, national holidays
//!   and the ISP's own closed dates, evaluated in the ISP's IANA time zone; the next opening and its
//!   pt-BR wording for the bot ("amanhã às 08:00").
//! - [`rating`]: rating rules ("regras de avaliação"): which rules a score fires and who gets
//!   notified; reading the subscriber's answer ([`rating::parse_score`]); CSAT and NPS.
//! - [`validation`]: per-field validation errors with pt-BR messages, shared by both.
//!
//! Everything is deterministic: callers pass the instant ("now") in.

pub mod rating;
pub mod service_hours;
pub mod validation;

pub use rating::{
    Notification, RatingRule, RatingRuleDraft, ScoreSummary, csat, matching_rules,
    notifications_for, nps, parse_score, summarize,
};
pub use service_hours::{
    ClockTime, ClosedDate, DayOff, Interval, IntervalDraft, Schedule, ServiceHoursRule,
    ServiceHoursRuleDraft, WeekdaySet, describe_next_opening, format_opening, is_open,
    next_opening, parse_weekday,
};
pub use validation::FieldError;
