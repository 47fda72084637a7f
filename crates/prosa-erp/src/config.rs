//! Configuration and the factory that builds an `Arc<dyn Erp>`.

use crate::demo::{DemoErp, DemoStore};
use crate::erp::Erp;
use crate::error::ErpError;
use crate::ixc::IxcErp;
use crate::mk::MkErp;
use crate::resilient::{ResilienceConfig, Resilient};
use secrecy::SecretString;
use serde::Deserialize;
use std::sync::Arc;

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_cd_servico() -> u32 {
    9999
}

fn default_page_size() -> u32 {
    50
}

/// MK Solutions. Secrets deserialize into `SecretString` and never print.
#[derive(Debug, Clone, Deserialize)]
pub struct MkConfig {
    /// `https://host:port` (without `/mk`).
    pub base_url: String,
    /// Node "core-api" base when it runs elsewhere (default: `base_url`).
    #[serde(default)]
    pub core_api_url: Option<String>,
    /// The user token from the user's registration in MK.
    pub user_token: SecretString,
    /// The web-service profile's counter-password ("contra-senha").
    pub password: SecretString,
    /// `cd_servico` for `WSAutenticacao` (9999 = every service of the profile).
    #[serde(default = "default_cd_servico")]
    pub cd_servico: u32,
    /// HTTP timeout per request.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Use `WSMKAutoDesbloqueioV2` (unblocks and removes speed reduction).
    #[serde(default)]
    pub unlock_v2: bool,
    /// `cd_processo` / `cd_classificacao_ate` for tickets (ISP-specific; no ticket without them).
    #[serde(default)]
    pub ticket_process: Option<String>,
    #[serde(default)]
    pub ticket_classification: Option<String>,
    /// `CodigoTipoOS` / `CodigoTecnico` / `CodigoGrupoServico` for service orders.
    #[serde(default)]
    pub os_type: Option<String>,
    #[serde(default)]
    pub os_technician: Option<String>,
    #[serde(default)]
    pub os_group: Option<String>,
}

impl MkConfig {
    pub fn new(
        base_url: impl Into<String>,
        user_token: impl Into<String>,
        password: impl Into<String>,
    ) -> MkConfig {
        MkConfig {
            base_url: base_url.into(),
            core_api_url: None,
            user_token: SecretString::from(user_token.into()),
            password: SecretString::from(password.into()),
            cd_servico: default_cd_servico(),
            timeout_ms: default_timeout_ms(),
            unlock_v2: false,
            ticket_process: None,
            ticket_classification: None,
            os_type: None,
            os_technician: None,
            os_group: None,
        }
    }
}

/// IXC Provedor.
#[derive(Debug, Clone, Deserialize)]
pub struct IxcConfig {
    /// `https://host` (without `/webservice/v1`).
    pub base_url: String,
    /// The API user's token as IXC shows it (`<user id>:<hash>`); sent as Basic credentials.
    pub token: SecretString,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Rows per page (`rp`).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// `id_assunto` and `id_ticket_setor` for tickets (no ticket without them).
    #[serde(default)]
    pub ticket_subject: Option<String>,
    #[serde(default)]
    pub ticket_department: Option<String>,
    /// `id_assunto`, `setor`, `id_filial` for service orders.
    #[serde(default)]
    pub os_subject: Option<String>,
    #[serde(default)]
    pub os_department: Option<String>,
    #[serde(default)]
    pub os_branch: Option<String>,
}

impl IxcConfig {
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> IxcConfig {
        IxcConfig {
            base_url: base_url.into(),
            token: SecretString::from(token.into()),
            timeout_ms: default_timeout_ms(),
            page_size: default_page_size(),
            ticket_subject: None,
            ticket_department: None,
            os_subject: None,
            os_department: None,
            os_branch: None,
        }
    }
}

/// Which ERP, e.g. in TOML:
///
/// ```toml
/// [erp]
/// kind = "mk"
/// base_url = "https://mk.example.net:8443"
/// user_token = "…"
/// password = "…"
/// [erp.resilience]
/// call_timeout_ms = 15000
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ErpConfig {
    Demo,
    Mk {
        #[serde(flatten)]
        mk: MkConfig,
        #[serde(default)]
        resilience: ResilienceConfig,
    },
    Ixc {
        #[serde(flatten)]
        ixc: IxcConfig,
        #[serde(default)]
        resilience: ResilienceConfig,
    },
}

/// Builds the configured ERP. MK and IXC come wrapped in [`Resilient`]; the demo needs the
/// store where it keeps its data (Prosa's database) and is seeded on first use.
pub async fn build_erp(
    config: &ErpConfig,
    demo_store: Option<Arc<dyn DemoStore>>,
) -> Result<Arc<dyn Erp>, ErpError> {
    Ok(match config {
        ErpConfig::Demo => {
            let store = demo_store.ok_or_else(|| {
                ErpError::InvalidRequest("the demo ERP needs a demo store".into())
            })?;
            Arc::new(DemoErp::new(store).await?)
        }
        ErpConfig::Mk { mk, resilience } => {
            Arc::new(Resilient::new(MkErp::new(mk.clone())?, resilience.clone()))
        }
        ErpConfig::Ixc { ixc, resilience } => Arc::new(Resilient::new(
            IxcErp::new(ixc.clone())?,
            resilience.clone(),
        )),
    })
}
