//! Timeouts, retries of idempotent reads, and a circuit breaker around any [`Erp`].
//!
//! - Every call is bounded by `call_timeout_ms`; a timeout is [`ErpError::Unavailable`].
//! - Reads are retried on `Unavailable` up to `read_attempts` times with exponential backoff
//!   (`backoff_base_ms`, ×2 each time). Writes (trust unlock, ticket, service order, lead) are
//!   never retried: a timed-out write may have happened.
//! - After `failure_threshold` consecutive `Unavailable` failures the circuit opens: calls fail
//!   at once with "circuit open" for `cooldown_ms`; then one trial call is let through
//!   (half-open): success closes the circuit, failure opens it again.
//!
//! Time comes from `tokio::time`, so tests drive it with a paused clock. No global state.

use crate::erp::Erp;
use crate::error::ErpError;
use crate::types::*;
use async_trait::async_trait;
use prosa_br::Document;
use serde::Deserialize;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

fn d_timeout() -> u64 {
    15_000
}
fn d_attempts() -> u32 {
    3
}
fn d_backoff() -> u64 {
    200
}
fn d_threshold() -> u32 {
    5
}
fn d_cooldown() -> u64 {
    30_000
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ResilienceConfig {
    #[serde(default = "d_timeout")]
    pub call_timeout_ms: u64,
    /// Attempts for reads (1 = no retry).
    #[serde(default = "d_attempts")]
    pub read_attempts: u32,
    #[serde(default = "d_backoff")]
    pub backoff_base_ms: u64,
    #[serde(default = "d_threshold")]
    pub failure_threshold: u32,
    #[serde(default = "d_cooldown")]
    pub cooldown_ms: u64,
}

impl Default for ResilienceConfig {
    fn default() -> Self {
        ResilienceConfig {
            call_timeout_ms: d_timeout(),
            read_attempts: d_attempts(),
            backoff_base_ms: d_backoff(),
            failure_threshold: d_threshold(),
            cooldown_ms: d_cooldown(),
        }
    }
}

#[derive(Default)]
struct Breaker {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    half_open: bool,
    unauthorized: bool,
    last_error: Option<String>,
}

/// An [`Erp`] with timeouts, retries and a circuit breaker.
pub struct Resilient<E> {
    inner: E,
    cfg: ResilienceConfig,
    state: Mutex<Breaker>,
}

const CIRCUIT_OPEN: &str = "circuit open";

impl<E: Erp> Resilient<E> {
    pub fn new(inner: E, cfg: ResilienceConfig) -> Resilient<E> {
        Resilient {
            inner,
            cfg,
            state: Mutex::new(Breaker::default()),
        }
    }

    pub fn inner(&self) -> &E {
        &self.inner
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Breaker> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets a call through unless the circuit is open. When the cool-down is over, the caller
    /// becomes the half-open trial and the window is pushed back one cool-down, so concurrent
    /// callers keep failing fast; a trial that is cancelled mid-flight thus only delays the next
    /// trial by one cool-down instead of wedging the circuit.
    fn admit(&self) -> Result<(), ErpError> {
        let mut b = self.lock();
        if let Some(until) = b.open_until {
            let now = Instant::now();
            if now < until {
                return Err(ErpError::Unavailable(CIRCUIT_OPEN.into()));
            }
            b.open_until = Some(now + Duration::from_millis(self.cfg.cooldown_ms));
            b.half_open = true;
        }
        Ok(())
    }

    fn record(&self, result: Result<(), &ErpError>) {
        let mut b = self.lock();
        match result {
            Ok(()) => *b = Breaker::default(),
            Err(e) if e.is_availability_failure() => {
                b.consecutive_failures += 1;
                b.last_error = Some(e.to_string());
                if b.open_until.is_some()
                    || b.consecutive_failures >= self.cfg.failure_threshold.max(1)
                {
                    if b.open_until.is_none() {
                        tracing::warn!(
                            erp = self.inner.kind(),
                            failures = b.consecutive_failures,
                            "ERP circuit opened"
                        );
                    }
                    b.open_until =
                        Some(Instant::now() + Duration::from_millis(self.cfg.cooldown_ms));
                }
                b.half_open = false;
            }
            Err(ErpError::Unauthorized) => {
                b.unauthorized = true;
                b.last_error = Some(ErpError::Unauthorized.to_string());
                if b.half_open {
                    b.half_open = false;
                    b.open_until = None;
                    b.consecutive_failures = 0;
                }
            }
            // Business answers (not found, refused…) prove the ERP is up.
            Err(_) => {
                let last = b.last_error.take();
                *b = Breaker::default();
                b.last_error = last;
            }
        }
    }

    async fn run<T, F, Fut>(&self, idempotent: bool, f: F) -> Result<T, ErpError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, ErpError>>,
    {
        let attempts = if idempotent {
            self.cfg.read_attempts.max(1)
        } else {
            1
        };
        let mut backoff = Duration::from_millis(self.cfg.backoff_base_ms);
        let mut attempt = 1;
        loop {
            self.admit()?;
            let result =
                match tokio::time::timeout(Duration::from_millis(self.cfg.call_timeout_ms), f())
                    .await
                {
                    Ok(r) => r,
                    Err(_) => Err(ErpError::Unavailable("timeout".into())),
                };
            match result {
                Ok(v) => {
                    self.record(Ok(()));
                    return Ok(v);
                }
                Err(e) => {
                    self.record(Err(&e));
                    if !(e.is_availability_failure() && attempt < attempts) {
                        return Err(e);
                    }
                    tracing::debug!(erp = self.inner.kind(), attempt, error = %e, "retrying ERP read");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
            }
        }
    }
}

#[async_trait]
impl<E: Erp> Erp for Resilient<E> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn health(&self) -> Health {
        let b = self.lock();
        let state = match b.open_until {
            Some(_) if b.half_open => HealthState::Degraded,
            Some(until) if Instant::now() < until => HealthState::Down,
            Some(_) => HealthState::Degraded,
            None if b.unauthorized => HealthState::Down,
            None if b.consecutive_failures > 0 => HealthState::Degraded,
            None => HealthState::Up,
        };
        Health {
            state,
            consecutive_failures: b.consecutive_failures,
            last_error: b.last_error.clone(),
        }
    }

    async fn test_connection(&self) -> Result<(), ErpError> {
        self.run(true, || self.inner.test_connection()).await
    }
    async fn find_by_document(&self, d: &Document) -> Result<Vec<Subscriber>, ErpError> {
        self.run(true, || self.inner.find_by_document(d)).await
    }
    async fn find_by_phone(&self, p: &str) -> Result<Vec<Subscriber>, ErpError> {
        self.run(true, || self.inner.find_by_phone(p)).await
    }
    async fn subscriber(&self, id: &str) -> Result<Subscriber, ErpError> {
        self.run(true, || self.inner.subscriber(id)).await
    }
    async fn contracts(&self, s: &str) -> Result<Vec<Contract>, ErpError> {
        self.run(true, || self.inner.contracts(s)).await
    }
    async fn connections(&self, s: &str) -> Result<Vec<Connection>, ErpError> {
        self.run(true, || self.inner.connections(s)).await
    }
    async fn open_invoices(&self, s: &str) -> Result<Vec<Invoice>, ErpError> {
        self.run(true, || self.inner.open_invoices(s)).await
    }
    /// Treated as a read: asking again for the same invoice's Pix returns the same charge.
    async fn invoice_pix(&self, i: &str) -> Result<PixCharge, ErpError> {
        self.run(true, || self.inner.invoice_pix(i)).await
    }
    async fn trust_unlock(&self, s: &str, c: &str) -> Result<Unlock, ErpError> {
        self.run(false, || self.inner.trust_unlock(s, c)).await
    }
    async fn outages(&self) -> Result<Vec<Outage>, ErpError> {
        self.run(true, || self.inner.outages()).await
    }
    async fn connection_outage(&self, c: &str) -> Result<Option<Outage>, ErpError> {
        self.run(true, || self.inner.connection_outage(c)).await
    }
    async fn open_ticket(&self, t: &NewTicket) -> Result<Ticket, ErpError> {
        self.run(false, || self.inner.open_ticket(t)).await
    }
    async fn ticket(&self, id: &str) -> Result<Ticket, ErpError> {
        self.run(true, || self.inner.ticket(id)).await
    }
    async fn tickets(&self, s: &str) -> Result<Vec<Ticket>, ErpError> {
        self.run(true, || self.inner.tickets(s)).await
    }
    async fn open_service_order(&self, o: &NewServiceOrder) -> Result<ServiceOrder, ErpError> {
        self.run(false, || self.inner.open_service_order(o)).await
    }
    async fn service_orders(&self, s: &str) -> Result<Vec<ServiceOrder>, ErpError> {
        self.run(true, || self.inner.service_orders(s)).await
    }
    async fn register_lead(&self, l: &NewLead) -> Result<Lead, ErpError> {
        self.run(false, || self.inner.register_lead(l)).await
    }
}
