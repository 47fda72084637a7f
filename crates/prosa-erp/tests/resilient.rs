//! Timeouts, retries and the circuit breaker, driven with tokio's paused clock.

use async_trait::async_trait;
use prosa_erp::*;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// An ERP whose answers are scripted; counts calls.
#[derive(Default)]
struct Scripted {
    answers: Mutex<VecDeque<Result<(), ErpError>>>,
    calls: AtomicU32,
    delay: Mutex<Option<Duration>>,
}

impl Scripted {
    fn with(answers: Vec<Result<(), ErpError>>) -> Scripted {
        Scripted {
            answers: Mutex::new(answers.into()),
            ..Scripted::default()
        }
    }

    async fn next(&self) -> Result<(), ErpError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let delay = *self.delay.lock().unwrap();
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        self.answers.lock().unwrap().pop_front().unwrap_or(Ok(()))
    }
}

#[async_trait]
impl Erp for Scripted {
    fn kind(&self) -> &'static str {
        "scripted"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::all()
    }
    async fn test_connection(&self) -> Result<(), ErpError> {
        self.next().await
    }
    async fn contracts(&self, _s: &str) -> Result<Vec<Contract>, ErpError> {
        self.next().await.map(|_| Vec::new())
    }
    async fn trust_unlock(&self, _s: &str, c: &str) -> Result<Unlock, ErpError> {
        self.next().await.map(|_| Unlock {
            connection_id: c.into(),
            until: None,
            message: None,
        })
    }
    async fn open_ticket(&self, _t: &NewTicket) -> Result<Ticket, ErpError> {
        self.next().await.map(|_| Ticket {
            id: "1".into(),
            protocol: None,
            subscriber_id: None,
            subject: None,
            status: TicketStatus::Open,
        })
    }
}

fn down() -> ErpError {
    ErpError::Unavailable("HTTP 503".into())
}

fn cfg() -> ResilienceConfig {
    ResilienceConfig {
        call_timeout_ms: 1_000,
        read_attempts: 3,
        backoff_base_ms: 100,
        failure_threshold: 5,
        cooldown_ms: 10_000,
    }
}

fn calls(r: &Resilient<Scripted>) -> u32 {
    r.inner().calls.load(Ordering::SeqCst)
}

#[tokio::test(start_paused = true)]
async fn reads_are_retried_with_backoff() {
    let r = Resilient::new(Scripted::with(vec![Err(down()), Err(down())]), cfg());
    let started = tokio::time::Instant::now();
    assert_eq!(r.contracts("1").await, Ok(vec![]));
    assert_eq!(calls(&r), 3);
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(100 + 200),
        "exponential backoff"
    );
    assert_eq!(r.health().state, HealthState::Up, "success resets");
    // Exhausted attempts surface the last error.
    let r = Resilient::new(
        Scripted::with(vec![Err(down()), Err(down()), Err(down()), Ok(())]),
        cfg(),
    );
    assert_eq!(r.contracts("1").await, Err(down()));
    assert_eq!(calls(&r), 3);
    assert_eq!(r.health().state, HealthState::Degraded);
    assert_eq!(
        r.health().last_error.as_deref(),
        Some("ERP unavailable: HTTP 503")
    );
}

#[tokio::test(start_paused = true)]
async fn business_errors_and_writes_are_not_retried() {
    let r = Resilient::new(Scripted::with(vec![Err(ErpError::NotFound)]), cfg());
    assert_eq!(r.contracts("1").await, Err(ErpError::NotFound));
    assert_eq!(calls(&r), 1);
    let r = Resilient::new(Scripted::with(vec![Err(down()), Err(down())]), cfg());
    assert_eq!(r.trust_unlock("1", "2").await.map(|_| ()), Err(down()));
    assert_eq!(calls(&r), 1, "trust unlock never retried");
    let t = NewTicket {
        subscriber_id: "1".into(),
        contract_id: None,
        connection_id: None,
        subject: "s".into(),
        description: "d".into(),
        origin: "webchat".into(),
    };
    assert_eq!(r.open_ticket(&t).await.map(|_| ()), Err(down()));
    assert_eq!(calls(&r), 2, "ticket never retried");
}

#[tokio::test(start_paused = true)]
async fn slow_calls_time_out() {
    let s = Scripted::default();
    *s.delay.lock().unwrap() = Some(Duration::from_secs(60));
    let r = Resilient::new(
        s,
        ResilienceConfig {
            read_attempts: 2,
            ..cfg()
        },
    );
    let started = tokio::time::Instant::now();
    assert_eq!(
        r.contracts("1").await,
        Err(ErpError::Unavailable("timeout".into()))
    );
    assert_eq!(calls(&r), 2);
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(1_000 + 100 + 1_000)
    );
}

#[tokio::test(start_paused = true)]
async fn circuit_opens_then_half_opens_after_cooldown() {
    let c = ResilienceConfig {
        read_attempts: 1,
        failure_threshold: 3,
        ..cfg()
    };
    let r = Resilient::new(
        Scripted::with(vec![Err(down()), Err(down()), Err(down())]),
        c,
    );
    for _ in 0..3 {
        assert_eq!(r.contracts("1").await, Err(down()));
    }
    assert_eq!(r.health().state, HealthState::Down);
    assert_eq!(r.health().consecutive_failures, 3);
    // Open: fails fast without calling the ERP.
    assert_eq!(
        r.contracts("1").await,
        Err(ErpError::Unavailable("circuit open".into()))
    );
    assert_eq!(
        r.trust_unlock("1", "2").await.map(|_| ()),
        Err(ErpError::Unavailable("circuit open".into()))
    );
    assert_eq!(calls(&r), 3);
    tokio::time::advance(Duration::from_millis(9_999)).await;
    assert_eq!(
        r.contracts("1").await,
        Err(ErpError::Unavailable("circuit open".into()))
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(r.health().state, HealthState::Degraded, "half-open");
    // Trial call succeeds: closed again.
    assert_eq!(r.contracts("1").await, Ok(vec![]));
    assert_eq!(calls(&r), 4);
    assert_eq!(r.health(), Health::up());
}

#[tokio::test(start_paused = true)]
async fn failed_trial_reopens_the_circuit() {
    let c = ResilienceConfig {
        read_attempts: 1,
        failure_threshold: 2,
        ..cfg()
    };
    let r = Resilient::new(
        Scripted::with(vec![Err(down()), Err(down()), Err(down())]),
        c,
    );
    r.contracts("1").await.unwrap_err();
    r.contracts("1").await.unwrap_err();
    tokio::time::advance(Duration::from_millis(10_000)).await;
    assert_eq!(r.contracts("1").await, Err(down()), "trial reaches the ERP");
    assert_eq!(r.health().state, HealthState::Down);
    assert_eq!(
        r.contracts("1").await,
        Err(ErpError::Unavailable("circuit open".into()))
    );
    assert_eq!(calls(&r), 3);
    tokio::time::advance(Duration::from_millis(10_000)).await;
    assert!(r.contracts("1").await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn not_found_does_not_count_and_unauthorized_is_down() {
    let c = ResilienceConfig {
        read_attempts: 1,
        failure_threshold: 2,
        ..cfg()
    };
    let r = Resilient::new(
        Scripted::with(vec![
            Err(down()),
            Err(ErpError::NotFound),
            Err(down()),
            Err(ErpError::Unauthorized),
        ]),
        c,
    );
    r.contracts("1").await.unwrap_err();
    r.contracts("1").await.unwrap_err();
    r.contracts("1").await.unwrap_err();
    assert_eq!(
        r.health().state,
        HealthState::Degraded,
        "the not-found answer reset the count"
    );
    r.test_connection().await.unwrap_err();
    let h = r.health();
    assert_eq!(h.state, HealthState::Down);
    assert_eq!(
        h.last_error.as_deref(),
        Some("ERP rejected the configured credentials")
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_trial_does_not_wedge_the_circuit() {
    let c = ResilienceConfig {
        read_attempts: 1,
        failure_threshold: 1,
        ..cfg()
    };
    let r = Resilient::new(Scripted::with(vec![Err(down())]), c);
    r.contracts("1").await.unwrap_err();
    tokio::time::advance(Duration::from_millis(10_000)).await;
    *r.inner().delay.lock().unwrap() = Some(Duration::from_millis(800));
    // The caller gives up on the trial (its future is dropped mid-flight).
    assert!(
        tokio::time::timeout(Duration::from_millis(100), r.contracts("1"))
            .await
            .is_err()
    );
    assert_eq!(
        r.contracts("1").await,
        Err(ErpError::Unavailable("circuit open".into())),
        "others still fail fast"
    );
    tokio::time::advance(Duration::from_millis(10_000)).await;
    assert_eq!(
        r.contracts("1").await,
        Ok(vec![]),
        "a new trial goes through"
    );
    assert_eq!(r.health().state, HealthState::Up);
}
