//! `SimWorld`: the application's writes.

use super::*;

impl SimWorld {
    /// Start the simulated application on the (first provisioned) global database: write n
    /// is attempted at start + n/rate at the then-writer.
    pub fn start_app_writes(&self, writes_per_second: u32) -> Result<(), SimError> {
        let gid = {
            let st = self.current();
            st.groups
                .first()
                .map(|g| g.spec.database.global_cluster_identifier.clone())
        };
        let gid = gid.ok_or_else(|| SimError::NotFound {
            what: "a provisioned group".to_string(),
        })?;
        self.start_app_writes_to(&gid, writes_per_second)
    }

    pub fn start_app_writes_to(
        &self,
        global: &str,
        writes_per_second: u32,
    ) -> Result<(), SimError> {
        let mut st = self.current();
        if !st.globals.contains_key(global) {
            return Err(SimError::NotFound {
                what: format!("global cluster {global}"),
            });
        }
        let t0 = st.now;
        let app = st.apps.entry(global.to_string()).or_insert(App {
            rate: writes_per_second,
            t0,
            running: false,
            next_n: 1,
            writes: Vec::new(),
            history: Vec::new(),
        });
        // Restarting keeps the numbering going.
        let next = app.next_n;
        app.rate = writes_per_second.max(1);
        app.t0 =
            t0 - i64::try_from((next - 1).saturating_mul(1000) / u64::from(app.rate)).unwrap_or(0);
        app.running = true;
        Ok(())
    }

    pub fn stop_app_writes(&self) {
        let mut st = self.current();
        for a in st.apps.values_mut() {
            a.running = false;
        }
    }

    /// What the application lost on the first provisioned global database.
    pub fn data_loss(&self) -> DataLossReport {
        let gid = {
            let st = self.current();
            st.groups
                .first()
                .map(|g| g.spec.database.global_cluster_identifier.clone())
        };
        gid.map(|g| self.data_loss_for(&g)).unwrap_or_default()
    }

    pub fn data_loss_for(&self, global: &str) -> DataLossReport {
        let st = self.current();
        st.apps
            .get(global)
            .map(|a| crate::checker::loss_report(global, &a.writes))
            .unwrap_or_else(|| DataLossReport {
                global: global.to_string(),
                ..DataLossReport::default()
            })
    }

    /// Every application write so far.
    pub fn writes(&self, global: &str) -> Vec<WriteRecord> {
        self.current()
            .apps
            .get(global)
            .map(|a| a.writes.clone())
            .unwrap_or_default()
    }
}
