//! Outbound URL policy (SSRF): URLs configured by users or found in payloads must not reach
//! the ISP's internal network unless the administrator allowed that exact host.

use std::net::IpAddr;

/// Which hosts may be private. Built from config; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    /// Hosts (names or IP literals, optionally with `:port`) allowed even when they resolve to
    /// loopback or private addresses.
    pub allowed_private_hosts: Vec<String>,
}

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    #[error("invalid URL: {0}")]
    Invalid(String),
    #[error("only http and https URLs are allowed")]
    Scheme,
    #[error("host does not resolve: {0}")]
    Unresolvable(String),
    #[error("host {0} points to a private or local address")]
    Private(String),
}

/// Whether an address is loopback, private, link-local, CGNAT, unspecified or multicast.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

impl EgressPolicy {
    /// Resolves the URL's host and refuses private targets that are not allowed.
    pub async fn check(&self, raw: &str) -> Result<url::Url, EgressError> {
        let url = url::Url::parse(raw).map_err(|e| EgressError::Invalid(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(EgressError::Scheme);
        }
        let host = url
            .host_str()
            .ok_or_else(|| EgressError::Invalid("no host".into()))?
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let with_port = format!("{host}:{port}");
        if self
            .allowed_private_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host) || h.eq_ignore_ascii_case(&with_port))
        {
            return Ok(url);
        }
        let addrs: Vec<_> = tokio::net::lookup_host((bare.as_str(), port))
            .await
            .map_err(|_| EgressError::Unresolvable(host.clone()))?
            .collect();
        if addrs.is_empty() {
            return Err(EgressError::Unresolvable(host));
        }
        if addrs.iter().any(|a| is_private(a.ip())) {
            return Err(EgressError::Private(host));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges() {
        for (ip, want) in [
            ("127.0.0.1", true),
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("192.168.1.1", true),
            ("169.254.169.254", true),
            ("100.64.0.1", true),
            ("100.128.0.1", false),
            ("0.0.0.0", true),
            ("8.8.8.8", false),
            ("::1", true),
            ("fd00::1", true),
            ("fe80::1", true),
            ("::ffff:127.0.0.1", true),
            ("2001:4860::8888", false),
        ] {
            assert_eq!(is_private(ip.parse().unwrap()), want, "{ip}");
        }
    }

    #[tokio::test]
    async fn policy_refuses_loopback_unless_allowed() {
        let p = EgressPolicy::default();
        assert_eq!(
            p.check("http://127.0.0.1:9/x").await,
            Err(EgressError::Private("127.0.0.1".into()))
        );
        assert_eq!(
            p.check("ftp://example.com/").await,
            Err(EgressError::Scheme)
        );
        assert!(matches!(
            p.check("not a url").await,
            Err(EgressError::Invalid(_))
        ));
        let allowed = EgressPolicy {
            allowed_private_hosts: vec!["127.0.0.1".into()],
        };
        assert!(allowed.check("http://127.0.0.1:9/x").await.is_ok());
    }
}
