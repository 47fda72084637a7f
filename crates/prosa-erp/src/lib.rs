//! ISP ERP integrations behind one object-safe trait, [`Erp`]: MK Solutions ([`MkErp`]), IXC
//! Provedor ([`IxcErp`]) and a demo ERP ([`DemoErp`]) whose data lives in Prosa's own database
//! through [`DemoStore`]. [`Resilient`] adds timeouts, retries of reads and a circuit breaker.
//!
//! This crate never touches a database and never logs a credential.
//!
//! ```no_run
//! # async fn f(config: prosa_erp::ErpConfig, store: std::sync::Arc<dyn prosa_erp::DemoStore>) -> Result<(), prosa_erp::ErpError> {
//! use prosa_erp::{Action, Erp, build_erp};
//! let erp = build_erp(&config, Some(store)).await?; // Arc<dyn Erp>
//! if erp.capabilities().supports(Action::TrustUnlock) {
//!     // offer "desbloqueio de confiança"
//! }
//! let health = erp.health(); // Up / Degraded / Down + last error, for the panel
//! # let _ = health; Ok(()) }
//! ```
//!
//! Tests of other crates can run the fake MK/IXC servers with the `fake` feature
//! (`prosa-erp = { workspace = true, features = ["fake"] }`): `FakeMk::start().await`,
//! `MkErp::new(fake.config())`, then inject faults with `fake.push_fault(…)`.

pub mod config;
pub mod demo;
pub mod erp;
pub mod error;
#[cfg(feature = "fake")]
pub mod fake;
pub mod ixc;
pub mod mk;
pub mod resilient;
pub mod text;
pub mod types;

pub use config::{ErpConfig, IxcConfig, MkConfig, build_erp};
pub use demo::{
    DemoData, DemoErp, DemoStore, DemoStoreError, MemoryDemoStore, demo_seed, reset_demo_store,
};
pub use erp::Erp;
pub use error::{ErpError, RefusalReason};
pub use ixc::IxcErp;
pub use mk::MkErp;
pub use resilient::{ResilienceConfig, Resilient};
pub use types::*;

use std::sync::Arc;

/// Wall clock, injectable for tests (token expiry, "today").
pub type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

/// The real clock.
pub fn system_clock() -> Clock {
    Arc::new(jiff::Timestamp::now)
}
