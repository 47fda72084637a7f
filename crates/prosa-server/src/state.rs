//! What every handler and worker shares.

use crate::config::Config;
use crate::hub::EventHub;
use crate::metrics::Metrics;
use prosa_channel::ChannelAdapter;
use prosa_channel::egress::EgressPolicy;
use prosa_domain::model::ChannelKind;
use prosa_storage::Store;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub hub: EventHub,
    pub metrics: Arc<Metrics>,
    pub http: reqwest::Client,
    pub channels: Arc<Channels>,
    /// The ISP's management system (demo, MK or IXC), with timeouts and a circuit breaker;
    /// swapped at run time when the administrator changes it (`erp_live`).
    pub erp: Arc<crate::erp_live::LiveErp>,
    pub shutdown: tokio_util_shutdown::Shutdown,
    /// The rules' "now" (service hours, bot hand-off text, queue status).
    pub clock: crate::clock::Clock,
}

/// The adapters by channel kind.
pub struct Channels {
    adapters: HashMap<ChannelKind, Arc<dyn ChannelAdapter>>,
}

impl Channels {
    pub fn new(egress: EgressPolicy, http: reqwest::Client) -> Channels {
        let mut adapters: HashMap<ChannelKind, Arc<dyn ChannelAdapter>> = HashMap::new();
        adapters.insert(
            ChannelKind::Api,
            Arc::new(prosa_channel::api::ApiChannel {
                egress: egress.clone(),
            }),
        );
        adapters.insert(
            ChannelKind::WhatsappCloud,
            Arc::new(prosa_channel_whatsapp_cloud::WhatsAppCloudChannel::new()),
        );
        adapters.insert(
            ChannelKind::Telegram,
            Arc::new(prosa_channel_telegram::TelegramChannel::new()),
        );
        adapters.insert(
            ChannelKind::Messenger,
            Arc::new(prosa_channel_messenger::MetaMessagingChannel::messenger()),
        );
        adapters.insert(
            ChannelKind::Instagram,
            Arc::new(prosa_channel_messenger::MetaMessagingChannel::instagram()),
        );
        adapters.insert(
            ChannelKind::WhatsappEvolution,
            Arc::new(prosa_channel_evolution::EvolutionChannel::new()),
        );
        adapters.insert(
            ChannelKind::BotFramework,
            Arc::new(prosa_channel_botframework::BotFrameworkChannel::new(
                http, egress,
            )),
        );
        adapters.insert(
            ChannelKind::WebChat,
            Arc::new(crate::channels::webchat::WebChatChannel),
        );
        Channels { adapters }
    }

    pub fn get(&self, kind: ChannelKind) -> Option<&Arc<dyn ChannelAdapter>> {
        self.adapters.get(&kind)
    }

    pub fn kinds(&self) -> Vec<ChannelKind> {
        let mut k: Vec<_> = self.adapters.keys().copied().collect();
        k.sort_by_key(|k| k.as_str());
        k
    }
}

/// A shutdown signal every task watches.
pub mod tokio_util_shutdown {
    use tokio::sync::watch;

    #[derive(Clone)]
    pub struct Shutdown {
        tx: std::sync::Arc<watch::Sender<bool>>,
        rx: watch::Receiver<bool>,
    }

    impl Default for Shutdown {
        fn default() -> Shutdown {
            let (tx, rx) = watch::channel(false);
            Shutdown {
                tx: std::sync::Arc::new(tx),
                rx,
            }
        }
    }

    impl Shutdown {
        pub fn trigger(&self) {
            let _ = self.tx.send(true);
        }

        pub fn is_triggered(&self) -> bool {
            *self.rx.borrow()
        }

        pub async fn wait(&self) {
            let mut rx = self.rx.clone();
            while !*rx.borrow_and_update() {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}
