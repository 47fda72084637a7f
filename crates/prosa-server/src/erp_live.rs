//! The live ERP connection. The administrator may change the ERP (kind, address,
//! credentials) at run time: the settings saved in the database override the config file's
//! `[erp]`, and the running [`LiveErp`] is swapped without a restart. The instance that saves
//! swaps at once; every instance also re-reads the setting every [`REFRESH`], so with
//! PostgreSQL the others follow within that time.
//!
//! [`LiveErp`] is itself an [`Erp`]: every call goes to the current adapter and is counted in
//! the metrics (operation, outcome, duration; the circuit-breaker state), never with an id, a
//! document or a credential in a label.

use crate::config::Config;
use crate::metrics::{ErpCallLabel, ErpLabel, ErpOperationLabel, Metrics};
use async_trait::async_trait;
use prosa_br::Document;
use prosa_erp::*;
use prosa_storage::Store;
use serde_json::Value;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The setting document with the administrator's ERP connection.
pub const ERP_SETTING: &str = "erp_connection";

/// How often each instance re-reads the ERP setting.
pub const REFRESH: Duration = Duration::from_secs(2);

struct Current {
    erp: Arc<dyn Erp>,
    /// The settings it was built from (compared to notice a change).
    source: Value,
}

/// The ERP in use, swappable at run time, with metrics.
pub struct LiveErp {
    current: RwLock<Current>,
    metrics: Arc<Metrics>,
}

/// The label of an outcome: `ok` or the error kind.
pub fn outcome(e: &ErpError) -> &'static str {
    match e {
        ErpError::NotFound => "not_found",
        ErpError::Unsupported(_) => "unsupported",
        ErpError::Refused { .. } => "refused",
        ErpError::InvalidRequest(_) => "invalid_request",
        ErpError::Unavailable(d) if d == "circuit open" => "circuit_open",
        ErpError::Unavailable(d) if d == "timeout" => "timeout",
        ErpError::Unavailable(_) => "unavailable",
        ErpError::Unauthorized => "unauthorized",
        ErpError::Protocol(_) => "protocol",
    }
}

fn health_code(h: &Health) -> i64 {
    match h.state {
        HealthState::Up => 0,
        HealthState::Degraded => 1,
        HealthState::Down => 2,
    }
}

impl LiveErp {
    pub fn new(erp: Arc<dyn Erp>, source: Value, metrics: Arc<Metrics>) -> LiveErp {
        let live = LiveErp {
            current: RwLock::new(Current { erp, source }),
            metrics,
        };
        live.update_gauge();
        live
    }

    /// The adapter in use now.
    pub fn get(&self) -> Arc<dyn Erp> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .erp
            .clone()
    }

    /// The settings the adapter in use was built from (secrets included: never show them).
    pub fn source(&self) -> Value {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .source
            .clone()
    }

    /// Puts a new adapter in use; calls already running finish on the old one.
    pub fn replace(&self, erp: Arc<dyn Erp>, source: Value) {
        {
            let mut c = self.current.write().unwrap_or_else(|p| p.into_inner());
            *c = Current { erp, source };
        }
        self.metrics.erp_circuit_state.clear();
        self.update_gauge();
    }

    /// Sets the circuit-breaker gauge from the current adapter's health.
    pub fn update_gauge(&self) {
        let erp = self.get();
        self.metrics
            .erp_circuit_state
            .get_or_create(&ErpLabel {
                erp: erp.kind().to_owned(),
            })
            .set(health_code(&erp.health()));
    }

    fn observe<T>(
        &self,
        kind: &'static str,
        op: &'static str,
        start: Instant,
        r: &Result<T, ErpError>,
    ) {
        let outcome = match r {
            Ok(_) => "ok",
            Err(e) => outcome(e),
        };
        self.metrics
            .erp_calls
            .get_or_create(&ErpCallLabel {
                erp: kind.to_owned(),
                operation: op.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        self.metrics
            .erp_call_seconds
            .get_or_create(&ErpOperationLabel {
                erp: kind.to_owned(),
                operation: op.to_owned(),
            })
            .observe(start.elapsed().as_secs_f64());
        self.update_gauge();
    }
}

macro_rules! metered {
    ($self:ident, $op:literal, |$e:ident| $call:expr) => {{
        let $e = $self.get();
        let start = Instant::now();
        let r = $call.await;
        $self.observe($e.kind(), $op, start, &r);
        r
    }};
}

#[async_trait]
impl Erp for LiveErp {
    fn kind(&self) -> &'static str {
        self.get().kind()
    }
    fn capabilities(&self) -> Capabilities {
        self.get().capabilities()
    }
    fn health(&self) -> Health {
        self.get().health()
    }
    async fn test_connection(&self) -> Result<(), ErpError> {
        metered!(self, "test_connection", |e| e.test_connection())
    }
    async fn find_by_document(&self, d: &Document) -> Result<Vec<Subscriber>, ErpError> {
        metered!(self, "find_by_document", |e| e.find_by_document(d))
    }
    async fn find_by_phone(&self, p: &str) -> Result<Vec<Subscriber>, ErpError> {
        metered!(self, "find_by_phone", |e| e.find_by_phone(p))
    }
    async fn subscriber(&self, id: &str) -> Result<Subscriber, ErpError> {
        metered!(self, "subscriber", |e| e.subscriber(id))
    }
    async fn contracts(&self, s: &str) -> Result<Vec<Contract>, ErpError> {
        metered!(self, "contracts", |e| e.contracts(s))
    }
    async fn connections(&self, s: &str) -> Result<Vec<Connection>, ErpError> {
        metered!(self, "connections", |e| e.connections(s))
    }
    async fn open_invoices(&self, s: &str) -> Result<Vec<Invoice>, ErpError> {
        metered!(self, "open_invoices", |e| e.open_invoices(s))
    }
    async fn invoice_pix(&self, i: &str) -> Result<PixCharge, ErpError> {
        metered!(self, "invoice_pix", |e| e.invoice_pix(i))
    }
    async fn trust_unlock(&self, s: &str, c: &str) -> Result<Unlock, ErpError> {
        metered!(self, "trust_unlock", |e| e.trust_unlock(s, c))
    }
    async fn outages(&self) -> Result<Vec<Outage>, ErpError> {
        metered!(self, "outages", |e| e.outages())
    }
    async fn connection_outage(&self, c: &str) -> Result<Option<Outage>, ErpError> {
        metered!(self, "connection_outage", |e| e.connection_outage(c))
    }
    async fn open_ticket(&self, t: &NewTicket) -> Result<Ticket, ErpError> {
        metered!(self, "open_ticket", |e| e.open_ticket(t))
    }
    async fn ticket(&self, id: &str) -> Result<Ticket, ErpError> {
        metered!(self, "ticket", |e| e.ticket(id))
    }
    async fn tickets(&self, s: &str) -> Result<Vec<Ticket>, ErpError> {
        metered!(self, "tickets", |e| e.tickets(s))
    }
    async fn open_service_order(&self, o: &NewServiceOrder) -> Result<ServiceOrder, ErpError> {
        metered!(self, "open_service_order", |e| e.open_service_order(o))
    }
    async fn service_orders(&self, s: &str) -> Result<Vec<ServiceOrder>, ErpError> {
        metered!(self, "service_orders", |e| e.service_orders(s))
    }
    async fn register_lead(&self, l: &NewLead) -> Result<Lead, ErpError> {
        metered!(self, "register_lead", |e| e.register_lead(l))
    }
}

/// The ERP settings in effect: the administrator's (database) over the config file's.
pub async fn effective_settings(config: &Config, store: &Store) -> prosa_storage::Result<Value> {
    Ok(store
        .setting(ERP_SETTING)
        .await?
        .unwrap_or_else(|| config.erp.clone()))
}

/// Builds an adapter from settings (the demo keeps its data in `store`).
pub async fn build(settings: &Value, store: &Store) -> Result<Arc<dyn Erp>, ErpError> {
    let config: ErpConfig = serde_json::from_value(settings.clone())
        .map_err(|e| ErpError::InvalidRequest(format!("invalid ERP settings: {e}")))?;
    build_erp(
        &config,
        Some(Arc::new(crate::demo::SettingsDemoStore(store.clone()))),
    )
    .await
}

/// Picks up a change saved by any instance: rebuilds the adapter when the setting differs
/// from the one in use. True when it swapped.
pub async fn refresh(state: &crate::state::AppState) -> anyhow::Result<bool> {
    let settings = effective_settings(&state.config, &state.store).await?;
    if settings == state.erp.source() {
        return Ok(false);
    }
    let erp = build(&settings, &state.store)
        .await
        .map_err(|e| anyhow::anyhow!("building the ERP connection: {e}"))?;
    tracing::info!(
        erp = erp.kind(),
        "ERP connection changed; using the new settings"
    );
    state.erp.replace(erp, settings);
    Ok(true)
}

/// The worker that keeps this instance's ERP in line with the database.
pub async fn run_refresh(state: crate::state::AppState) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(REFRESH) => {}
            _ = state.shutdown.wait() => return,
        }
        if let Err(e) = refresh(&state).await {
            tracing::warn!(error = %format!("{e:#}"), "re-reading the ERP settings");
        }
    }
}
