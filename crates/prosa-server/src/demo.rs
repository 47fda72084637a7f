//! The demo ERP keeps its data in Prosa's own database, as a setting document.

use async_trait::async_trait;
use prosa_erp::{DemoData, DemoStore, DemoStoreError};
use prosa_storage::Store;

const KEY: &str = "demo_erp";

/// [`DemoStore`] over the settings table.
pub struct SettingsDemoStore(pub Store);

#[async_trait]
impl DemoStore for SettingsDemoStore {
    async fn load(&self) -> Result<Option<DemoData>, DemoStoreError> {
        match self.0.setting(KEY).await? {
            None => Ok(None),
            Some(v) => Ok(Some(serde_json::from_value(v)?)),
        }
    }

    async fn save(&self, data: &DemoData) -> Result<(), DemoStoreError> {
        self.0
            .put_setting(KEY, &serde_json::to_value(data)?)
            .await?;
        Ok(())
    }
}

/// Restores the sample data (`prosa demo reset`).
pub async fn reset(store: &Store) -> anyhow::Result<()> {
    let today = prosa_br::time::today_sp();
    prosa_erp::reset_demo_store(&SettingsDemoStore(store.clone()), today)
        .await
        .map_err(|e| anyhow::anyhow!("resetting the demo ERP: {e}"))
}
