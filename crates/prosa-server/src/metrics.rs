//! Prometheus metrics, in a registry owned by the app state (no global recorder).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabel {
    pub channel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SendFailureLabel {
    pub channel: String,
    pub reason: String,
}

/// One ERP call: the adapter (`demo`, `mk`, `ixc`), the operation and how it ended (`ok` or
/// the error kind). Never an id, a document or a credential.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErpCallLabel {
    pub erp: String,
    pub operation: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErpOperationLabel {
    pub erp: String,
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErpLabel {
    pub erp: String,
}

fn erp_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

pub struct Metrics {
    registry: Registry,
    /// ERP calls by adapter, operation and outcome.
    pub erp_calls: Family<ErpCallLabel, Counter>,
    /// ERP call duration by adapter and operation.
    pub erp_call_seconds: Family<ErpOperationLabel, Histogram, fn() -> Histogram>,
    /// Circuit-breaker state of the live ERP: 0 closed (up), 1 degraded/half-open, 2 open (down).
    pub erp_circuit_state: Family<ErpLabel, Gauge>,
    pub messages_in: Family<ChannelLabel, Counter>,
    pub messages_out: Family<ChannelLabel, Counter>,
    pub duplicates: Family<ChannelLabel, Counter>,
    pub webhook_rejected: Family<ChannelLabel, Counter>,
    pub webhook_unavailable: Family<ChannelLabel, Counter>,
    pub webhook_unhandled: Family<ChannelLabel, Counter>,
    pub send_failures: Family<SendFailureLabel, Counter>,
    pub outbox_retries: Counter,
    pub dead_letters: Counter,
    pub outbox_depth: Gauge,
    pub outbox_dead: Gauge,
    pub inbound_pending: Gauge,
    pub ws_clients: Gauge,
    pub webhook_latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("prosa");
        let m = Metrics {
            messages_in: Family::default(),
            messages_out: Family::default(),
            duplicates: Family::default(),
            webhook_rejected: Family::default(),
            webhook_unavailable: Family::default(),
            webhook_unhandled: Family::default(),
            send_failures: Family::default(),
            outbox_retries: Counter::default(),
            dead_letters: Counter::default(),
            outbox_depth: Gauge::default(),
            outbox_dead: Gauge::default(),
            inbound_pending: Gauge::default(),
            ws_clients: Gauge::default(),
            webhook_latency: Histogram::new([
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            erp_calls: Family::default(),
            erp_call_seconds: Family::new_with_constructor(erp_histogram as fn() -> Histogram),
            erp_circuit_state: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "erp_calls",
            "ERP calls by adapter, operation and outcome (ok or the error kind)",
            m.erp_calls.clone(),
        );
        registry.register(
            "erp_call_seconds",
            "ERP call duration by adapter and operation",
            m.erp_call_seconds.clone(),
        );
        registry.register(
            "erp_circuit_state",
            "ERP circuit breaker: 0 closed, 1 degraded or half-open, 2 open",
            m.erp_circuit_state.clone(),
        );
        registry.register(
            "messages_in",
            "Inbound messages stored",
            m.messages_in.clone(),
        );
        registry.register(
            "messages_out",
            "Outbound messages accepted by the provider",
            m.messages_out.clone(),
        );
        registry.register(
            "inbound_duplicates",
            "Inbound deliveries already stored (provider retries)",
            m.duplicates.clone(),
        );
        registry.register(
            "webhook_rejected",
            "Inbound requests refused (signature, body)",
            m.webhook_rejected.clone(),
        );
        registry.register(
            "webhook_unavailable",
            "Inbound requests answered 503 because they could not be verified now",
            m.webhook_unavailable.clone(),
        );
        registry.register(
            "webhook_unhandled",
            "Verified inbound content kept but not usable (unreadable, no inbox for the account)",
            m.webhook_unhandled.clone(),
        );
        registry.register(
            "send_failures",
            "Failed send attempts by reason",
            m.send_failures.clone(),
        );
        registry.register(
            "outbox_retries",
            "Send attempts scheduled again",
            m.outbox_retries.clone(),
        );
        registry.register(
            "dead_letters",
            "Outbox items given up on",
            m.dead_letters.clone(),
        );
        registry.register(
            "outbox_depth",
            "Outbox items pending or in flight",
            m.outbox_depth.clone(),
        );
        registry.register(
            "outbox_dead",
            "Outbox items in the dead-letter state",
            m.outbox_dead.clone(),
        );
        registry.register(
            "inbound_pending",
            "Stored inbound items not processed yet",
            m.inbound_pending.clone(),
        );
        registry.register(
            "ws_clients",
            "Connected panel WebSocket clients",
            m.ws_clients.clone(),
        );
        registry.register(
            "webhook_latency_seconds",
            "Time from request to acknowledgement",
            m.webhook_latency.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("invariant: writing to a String");
        out
    }

    pub fn channel(kind: prosa_domain::model::ChannelKind) -> ChannelLabel {
        ChannelLabel {
            channel: kind.as_str().to_owned(),
        }
    }
}
