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
//!
//! ```
//! use prosa_domain::InboxId;
//! use prosa_rules::service_hours::{Interval, Schedule, ServiceHoursRule, WeekdaySet};
//! use prosa_rules::{describe_next_opening, is_open, parse_score};
//!
//! let schedule = Schedule::new(vec![ServiceHoursRule::new(
//!     "Atendimento",
//!     WeekdaySet::MON_FRI,
//!     vec![Interval::parse("08:00", "12:00").unwrap(), Interval::parse("13:00", "18:00").unwrap()],
//! )]);
//! // Saturday 2026-03-07 10:00 in São Paulo (13:00Z).
//! let now: jiff::Timestamp = "2026-03-07T13:00:00Z".parse().unwrap();
//! assert!(!is_open(&schedule, InboxId(1), now));
//! assert_eq!(
//!     describe_next_opening(&schedule, InboxId(1), now).as_deref(),
//!     Some("segunda-feira às 08:00")
//! );
//! assert_eq!(parse_score("nota 🔟", None), Some(10));
//! ```

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
