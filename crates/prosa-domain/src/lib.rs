//! Prosa's domain: ids, validated values, state machines and events.
//!
//! Nothing here does IO: no database, no HTTP, no clock reads (callers pass `now`).

pub mod event;
pub mod ids;
pub mod message;
pub mod model;
pub mod phone;
pub mod queue;

pub use ids::*;
