//! Ground truth: the world's state now as plain data (`SimWorld::snapshot`).

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorldSnapshot {
    pub at: Timestamp,
    pub at_ms: i64,
    pub regions_down: Vec<String>,
    pub route53_control_plane_up: bool,
    pub globals: Vec<GlobalTruth>,
    pub clusters: Vec<ClusterTruth>,
    pub records: Vec<RecordTruth>,
    pub services: Vec<ServiceTruth>,
}

impl WorldSnapshot {
    pub fn global(&self, id: &str) -> Option<&GlobalTruth> {
        self.globals.iter().find(|g| g.id == id)
    }

    /// The (first) cluster in `region`.
    pub fn cluster_in(&self, region: &str) -> Option<&ClusterTruth> {
        self.clusters.iter().find(|c| c.region == region)
    }

    pub fn service(&self, region: &str, cluster: &str, service: &str) -> Option<&ServiceTruth> {
        self.services
            .iter()
            .find(|s| s.region == region && s.cluster == cluster && s.service == service)
    }

    /// Clusters accepting writes now.
    pub fn writable_clusters(&self) -> Vec<&ClusterTruth> {
        self.clusters.iter().filter(|c| c.writable).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalTruth {
    pub id: String,
    pub writer_region: Option<String>,
    pub writer_cluster: Option<String>,
    /// `switching-over` / `failing-over` while one runs.
    pub operation: Option<String>,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterTruth {
    pub region: String,
    pub id: String,
    pub status: String,
    /// `writer`, `secondary`, `detached` (stale old primary), `standalone`.
    pub role: String,
    pub writable: bool,
    pub synchronization_status: Option<String>,
    pub lag_ms: Option<i64>,
    pub instances: u32,
    pub engine_version: String,
    pub deletion_protection: bool,
    pub last_write_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordTruth {
    pub hosted_zone_id: String,
    pub name: String,
    pub record_type: String,
    /// The region of the record's current value (control plane).
    pub points_to: Option<String>,
    /// The region DNS answers with (data plane: changes count once INSYNC).
    pub answers_with: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTruth {
    pub region: String,
    pub cluster: String,
    pub service: String,
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    pub min: Option<u32>,
    pub max: Option<u32>,
}
