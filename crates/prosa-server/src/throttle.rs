//! Login throttling: after too many failed logins for one e-mail or from one IP address within
//! a sliding window, further attempts are refused (429 with `Retry-After`) without checking the
//! password. Failures are stored in the database, so every instance on a shared PostgreSQL
//! counts the same attempts.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use jiff::{SignedDuration, Timestamp};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// The address of the person logging in: the TCP peer, or — when the peer is a reverse proxy on
/// this machine (loopback) — the last address it appended to `X-Forwarded-For`.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = || {
            parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|a| a.trim().parse::<IpAddr>().ok())
                .next_back()
        };
        Ok(ClientIp(match peer {
            Some(ip) if ip.is_loopback() => forwarded().or(Some(ip)),
            other => other,
        }))
    }
}

fn email_subject(email: &str) -> String {
    format!("email:{}", email.trim().to_lowercase())
}

fn ip_subject(ip: IpAddr) -> String {
    format!("ip:{ip}")
}

/// Whether a login may be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// Refused; try again after this many seconds.
    Closed {
        retry_after_secs: u64,
    },
}

fn window(state: &AppState) -> SignedDuration {
    SignedDuration::from_secs(state.config.login_throttle.window_secs as i64)
}

/// Checks the e-mail's and the address's recent failures.
pub async fn gate(state: &AppState, email: &str, ip: Option<IpAddr>) -> Result<Gate, ApiError> {
    let config = &state.config.login_throttle;
    let now = Timestamp::now();
    let since = now - window(state);
    let mut checks = vec![(email_subject(email), config.max_failures_per_email)];
    if let Some(ip) = ip {
        checks.push((ip_subject(ip), config.max_failures_per_ip));
    }
    let mut wait = 0u64;
    for (subject, max) in checks {
        let (count, oldest) = state.store.login_failures(&subject, since).await?;
        if count >= i64::from(max)
            && let Some(oldest) = oldest
        {
            // The window slides: one attempt frees up when the oldest failure leaves it.
            let free_at = oldest + window(state);
            let secs = (free_at - now).as_secs().max(1) as u64;
            wait = wait.max(secs);
        }
    }
    Ok(if wait > 0 {
        Gate::Closed {
            retry_after_secs: wait,
        }
    } else {
        Gate::Open
    })
}

/// Records a failed login.
pub async fn failed(state: &AppState, email: &str, ip: Option<IpAddr>) -> Result<(), ApiError> {
    let email = email_subject(email);
    let ip = ip.map(ip_subject);
    let mut subjects = vec![email.as_str()];
    if let Some(ip) = &ip {
        subjects.push(ip.as_str());
    }
    let forget = Timestamp::now() - window(state);
    state.store.record_login_failure(&subjects, forget).await?;
    tracing::info!(subjects = ?subjects, "login failed");
    Ok(())
}

/// A successful login forgets the e-mail's failures (not the address's: one valid account must
/// not reset the count of an address trying many e-mails).
pub async fn succeeded(state: &AppState, email: &str) -> Result<(), ApiError> {
    state
        .store
        .clear_login_failures(&email_subject(email))
        .await?;
    Ok(())
}

/// The pt-BR text shown when logins are refused.
pub fn message(retry_after_secs: u64) -> String {
    let minutes = retry_after_secs.div_ceil(60);
    if minutes <= 1 {
        "Muitas tentativas de entrada sem sucesso. Tente de novo em 1 minuto.".into()
    } else {
        format!("Muitas tentativas de entrada sem sucesso. Tente de novo em {minutes} minutos.")
    }
}
