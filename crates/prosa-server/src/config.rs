//! Configuration: built-in defaults, then an optional TOML file, then `PROSA_*` environment
//! variables (`__` nests: `PROSA_OUTBOX__MAX_ATTEMPTS`), then command-line flags. Built once in
//! `main`, validated as a whole (every problem listed), then passed around in `AppState`.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

fn mask<S: Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_str("********"),
        None => s.serialize_none(),
    }
}

/// Hides the password of a database URL.
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("********"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

fn mask_url_ser<S: Serializer>(value: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&mask_url(value))
}

/// Top-level settings, as environment variables see them.
const SETTINGS: &[&str] = &[
    "listen",
    "database_url",
    "data_dir",
    "public_url",
    "log_format",
    "log_level",
    "admin_email",
    "admin_password",
    "sqlite_durability",
    "max_body_bytes",
    "session_hours",
    "team_visibility",
    "time_zone",
    "outbox",
    "egress",
    "erp",
    "database_max_connections",
    "login_throttle",
    "event_retention_days",
];

/// Everything Prosa reads at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on; port 0 picks a free port (the bound address is printed).
    pub listen: String,
    /// `sqlite:PATH` (default, embedded) or `postgres://USER@HOST/DB` (several instances).
    #[serde(serialize_with = "mask_url_ser")]
    pub database_url: String,
    /// Folder for the SQLite database, uploaded and downloaded files.
    pub data_dir: PathBuf,
    /// The address subscribers' providers reach Prosa at (shown in the webhook URLs of the
    /// admin pages), e.g. `https://atendimento.provedor.com.br`.
    pub public_url: Option<String>,
    /// `text` or `json`.
    pub log_format: String,
    /// A tracing filter, e.g. `info` or `prosa_server=debug,info`.
    pub log_level: String,
    /// E-mail of the administrator created on the first start.
    pub admin_email: Option<String>,
    /// Password of that administrator (or `PROSA_ADMIN_PASSWORD_FILE`); random and printed
    /// once when not set.
    #[serde(serialize_with = "mask")]
    pub admin_password: Option<SecretString>,
    /// SQLite durability: `normal` (survives a crash of Prosa) or `full` (also power loss).
    pub sqlite_durability: prosa_storage::SqliteDurability,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Hours a login lasts.
    pub session_hours: u32,
    /// Operators also see their teams' conversations (not only the queue and their own).
    pub team_visibility: bool,
    /// The ISP's time zone.
    pub time_zone: String,
    pub outbox: OutboxConfig,
    pub egress: EgressConfig,
    /// The ISP's management system: `{kind = "demo"}` (built in, the default), or
    /// `{kind = "mk", base_url, ...}` / `{kind = "ixc", base_url, ...}`; see docs/config.md.
    #[serde(serialize_with = "mask_erp")]
    pub erp: serde_json::Value,
    /// The rules' clock: the wall clock, or (development and tests only) the one
    /// `PROSA_DEV_FAKE_NOW` starts; see `crate::clock`.
    #[serde(skip)]
    pub clock: crate::clock::Clock,
    /// Connections to the database (PostgreSQL pool; SQLite readers, besides its one writer).
    pub database_max_connections: u32,
    /// Refusing logins after repeated failures.
    pub login_throttle: LoginThrottleConfig,
    /// Days the event log (what live clients resume from) is kept; older events are pruned
    /// hourly, never one the live reader has not passed yet.
    pub event_retention_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginThrottleConfig {
    /// Failed logins for one e-mail within the window before further attempts are refused.
    pub max_failures_per_email: u32,
    /// Failed logins from one IP address within the window (several people may share one).
    pub max_failures_per_ip: u32,
    /// The sliding window, in seconds.
    pub window_secs: u64,
}

impl Default for LoginThrottleConfig {
    fn default() -> LoginThrottleConfig {
        LoginThrottleConfig {
            max_failures_per_email: 5,
            max_failures_per_ip: 20,
            window_secs: 900,
        }
    }
}

fn mask_erp<S: Serializer>(value: &serde_json::Value, s: S) -> Result<S::Ok, S::Error> {
    fn walk(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let secret = ["password", "token", "secret", "key"]
                            .iter()
                            .any(|w| k.to_ascii_lowercase().contains(w));
                        (
                            k.clone(),
                            if secret && !v.is_null() {
                                serde_json::json!("********")
                            } else {
                                walk(v)
                            },
                        )
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    walk(value).serialize(s)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// Attempts before a message becomes a dead letter.
    pub max_attempts: u32,
    /// First retry delay, doubled each attempt.
    pub base_delay_ms: u64,
    /// Longest delay between attempts.
    pub max_delay_ms: u64,
    /// How long a worker owns a claimed item before another may take it.
    pub lease_secs: u64,
    /// Sends in parallel per instance.
    pub concurrency: usize,
    /// Timeout of one send.
    pub send_timeout_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EgressConfig {
    /// Hosts that callback and media URLs may reach even though they are private or loopback
    /// (e.g. `erp.lan`, `10.0.0.5:8080`).
    pub allowed_private_hosts: Vec<String>,
}

impl Default for OutboxConfig {
    fn default() -> OutboxConfig {
        OutboxConfig {
            max_attempts: 8,
            base_delay_ms: 1_000,
            max_delay_ms: 3_600_000,
            lease_secs: 60,
            concurrency: 16,
            send_timeout_ms: 15_000,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/prosa.db".into(),
            data_dir: PathBuf::from("data"),
            public_url: None,
            log_format: "text".into(),
            log_level: "info".into(),
            admin_email: None,
            admin_password: None,
            sqlite_durability: prosa_storage::SqliteDurability::Normal,
            max_body_bytes: 1024 * 1024,
            session_hours: 12,
            team_visibility: false,
            time_zone: "America/Sao_Paulo".into(),
            outbox: OutboxConfig::default(),
            egress: EgressConfig::default(),
            erp: serde_json::json!({"kind": "demo"}),
            clock: crate::clock::Clock::system(),
            database_max_connections: 10,
            login_throttle: LoginThrottleConfig::default(),
            event_retention_days: 30,
        }
    }
}

/// Values given on the command line; `None` keeps the lower layers' value.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

impl Config {
    /// Loads the layers and validates the result, listing every problem.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, Vec<String>> {
        Config::load_from(file, overrides, |k| std::env::var(k).ok())
    }

    /// As [`Config::load`], with the environment given (tests).
    pub fn load_from(
        file: Option<&Path>,
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, Vec<String>> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(vec![format!(
                    "config file {} does not exist",
                    path.display()
                )]);
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        if let Some(url) = env("DATABASE_URL") {
            fig = fig.merge(Serialized::default("database_url", url));
        }
        // Only the variables that name a setting: other PROSA_* variables (tests, benchmarks)
        // are not configuration and must not be refused as unknown.
        fig = fig.merge(Env::prefixed("PROSA_").split("__").filter(|k| {
            let k = k.as_str().to_ascii_lowercase();
            !k.ends_with("_file")
                && SETTINGS
                    .iter()
                    .any(|s| k == *s || k.starts_with(&format!("{s}.")))
        }));
        if let Some(path) = env("PROSA_ADMIN_PASSWORD_FILE") {
            match std::fs::read_to_string(&path) {
                Ok(p) => {
                    fig = fig.merge(Serialized::default(
                        "admin_password",
                        p.trim_end_matches(['\n', '\r']).to_owned(),
                    ))
                }
                Err(e) => return Err(vec![format!("PROSA_ADMIN_PASSWORD_FILE {path}: {e}")]),
            }
        }
        fig = fig.merge(Serialized::defaults(overrides));
        let mut config: Config = fig
            .extract()
            .map_err(|e| e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
        let mut problems = config.problems();
        match crate::clock::Clock::from_env(&env) {
            Ok(Some(clock)) => config.clock = clock,
            Ok(None) => {}
            Err(e) => problems.push(e),
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// Everything wrong with this configuration.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.listen.parse::<SocketAddr>().is_err() {
            p.push(format!(
                "listen: {:?} is not an address like 127.0.0.1:8080",
                self.listen
            ));
        }
        if prosa_storage::backend_for_url(&self.database_url).is_none() {
            p.push(format!(
                "database_url: unknown scheme {:?}; use sqlite:PATH or postgres://...",
                self.database_url.split(':').next().unwrap_or("")
            ));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            p.push(format!(
                "log_format: {:?} must be text or json",
                self.log_format
            ));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            p.push(format!(
                "log_level: {:?} is not a valid filter",
                self.log_level
            ));
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            p.push(format!(
                "public_url: {url:?} must start with http:// or https://"
            ));
        }
        match (&self.admin_email, &self.admin_password) {
            (Some(e), _) if !e.contains('@') => {
                p.push(format!("admin_email: {e:?} is not an e-mail address"))
            }
            (None, Some(_)) => p.push("admin_password is set but admin_email is missing".into()),
            (_, Some(pw)) if pw.expose_secret().chars().count() < 8 => {
                p.push("admin_password: must have at least 8 characters".into())
            }
            _ => {}
        }
        if !(1..=1000).contains(&self.database_max_connections) {
            p.push("database_max_connections: must be between 1 and 1000".into());
        }
        let t = &self.login_throttle;
        if t.max_failures_per_email == 0 || t.max_failures_per_ip == 0 {
            p.push(
                "login_throttle: max_failures_per_email and max_failures_per_ip must be at least 1"
                    .into(),
            );
        }
        if !(1..=86_400).contains(&t.window_secs) {
            p.push("login_throttle.window_secs: must be between 1 and 86400".into());
        }
        if self.event_retention_days == 0 {
            p.push("event_retention_days: must be at least 1".into());
        }
        if self.max_body_bytes < 1024 {
            p.push("max_body_bytes: must be at least 1024".into());
        }
        if self.session_hours == 0 {
            p.push("session_hours: must be at least 1".into());
        }
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            p.push(format!("time_zone: unknown time zone {:?}", self.time_zone));
        }
        if let Err(e) = self.erp_config() {
            p.push(format!("erp: {e}"));
        }
        if self.outbox.max_attempts == 0 {
            p.push("outbox.max_attempts: must be at least 1".into());
        }
        if self.outbox.concurrency == 0 {
            p.push("outbox.concurrency: must be at least 1".into());
        }
        if self.outbox.base_delay_ms == 0 || self.outbox.max_delay_ms < self.outbox.base_delay_ms {
            p.push("outbox: base_delay_ms must be positive and at most max_delay_ms".into());
        }
        p
    }

    /// The ERP section, typed.
    pub fn erp_config(&self) -> Result<prosa_erp::ErpConfig, String> {
        serde_json::from_value(self.erp.clone()).map_err(|e| e.to_string())
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
            .parse()
            .expect("invariant: validated in Config::problems")
    }

    /// The effective configuration as TOML, secrets masked.
    pub fn dump(&self) -> String {
        toml_like(&serde_json::to_value(self).expect("invariant: config serializes"))
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}

/// Renders a JSON object as TOML (top-level keys, then tables).
fn toml_like(v: &serde_json::Value) -> String {
    let mut out = String::new();
    let mut tables = String::new();
    if let serde_json::Value::Object(map) = v {
        for (k, v) in map {
            match v {
                serde_json::Value::Null => out.push_str(&format!("# {k} = (not set)\n")),
                serde_json::Value::Object(inner) => {
                    tables.push_str(&format!("\n[{k}]\n"));
                    for (ik, iv) in inner {
                        tables.push_str(&format!("{ik} = {iv}\n"));
                    }
                }
                other => out.push_str(&format!("{k} = {other}\n")),
            }
        }
    }
    out + &tables
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::load_from(None, &Overrides::default(), env(&[])).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert!(c.database_url.starts_with("sqlite:"));
    }

    #[test]
    fn flags_beat_env_and_every_problem_is_listed() {
        let o = Overrides {
            listen: Some("127.0.0.1:0".into()),
            ..Overrides::default()
        };
        let c = Config::load_from(
            None,
            &o,
            env(&[("DATABASE_URL", "postgres://u:pw@localhost/db")]),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:0");
        assert_eq!(c.database_url, "postgres://u:pw@localhost/db");
        assert!(
            c.dump().contains("postgres://u:********@localhost/db"),
            "{}",
            c.dump()
        );

        let bad = Overrides {
            listen: Some("nowhere".into()),
            database_url: Some("mysql://x".into()),
            log_format: Some("xml".into()),
            ..Overrides::default()
        };
        let errs = Config::load_from(None, &bad, env(&[])).unwrap_err();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].contains("listen"));
        assert!(errs[1].contains("mysql"));
    }

    #[test]
    fn fake_clock_only_in_dev_mode() {
        let errs = Config::load_from(
            None,
            &Overrides::default(),
            env(&[("PROSA_DEV_FAKE_NOW", "2026-12-05T10:00:00-03:00")]),
        )
        .unwrap_err();
        assert!(
            errs.iter().any(|e| e.contains("PROSA_DEV_MODE")),
            "{errs:?}"
        );
        let c = Config::load_from(
            None,
            &Overrides::default(),
            env(&[
                ("PROSA_DEV_FAKE_NOW", "2026-12-05T10:00:00-03:00"),
                ("PROSA_DEV_MODE", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.clock.fake_start(),
            Some("2026-12-05T13:00:00Z".parse().unwrap())
        );
        assert!(!c.dump().contains("2026-12-05"), "not configuration");
    }

    #[test]
    fn secrets_are_masked_in_dump() {
        let mut c = Config {
            admin_email: Some("a@b.c".into()),
            admin_password: Some(SecretString::from("supersecret")),
            ..Config::default()
        };
        let d = c.dump();
        assert!(!d.contains("supersecret"));
        assert!(d.contains("admin_password = \"********\""));
        c.admin_password = Some(SecretString::from("short"));
        assert!(c.problems().iter().any(|p| p.contains("admin_password")));
    }

    #[test]
    fn file_layer_and_missing_file() {
        let dir = std::env::temp_dir().join(format!("prosa-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("prosa.toml");
        std::fs::write(
            &f,
            "listen = \"0.0.0.0:9000\"\n[outbox]\nmax_attempts = 3\n",
        )
        .unwrap();
        let c = Config::load_from(Some(&f), &Overrides::default(), env(&[])).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.outbox.max_attempts, 3);
        std::fs::write(&f, "lisen = 1\n").unwrap();
        let errs = Config::load_from(Some(&f), &Overrides::default(), env(&[])).unwrap_err();
        assert!(errs[0].contains("lisen"), "{errs:?}");
        assert!(
            Config::load_from(
                Some(&dir.join("nope.toml")),
                &Overrides::default(),
                env(&[])
            )
            .is_err()
        );
    }
}
