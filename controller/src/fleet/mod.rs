//! What makes one controller serve a fleet: reads shared across groups (`reads`, on the
//! generic `coalesce`), Route 53 changes batched per zone (`dns_batch`), and every AWS call
//! paced under AWS's documented rate limits (`drctl_cloud::pacing`).

pub mod coalesce;
pub mod dns_batch;
pub mod reads;

use std::sync::Arc;

use drctl_cloud::pacing::{paced, PaceLimits, Pacer};
use drctl_cloud::Cloud;

pub use coalesce::Freshness;
pub use reads::FleetReads;

/// The cloud a fleet controller acts through: paced, with MoveDns batched per zone, and the
/// shared reads its observations go through.
pub fn fleet_cloud(raw: Cloud, limits: PaceLimits) -> (Cloud, Arc<FleetReads>) {
    let pacer = Pacer::new(limits);
    let paced_cloud = paced(raw.clone(), pacer.clone());
    let dns = dns_batch::BatchedDns::new(
        paced_cloud.dns.clone(),
        raw.dns.clone(),
        pacer.clone(),
        reads::LINGER,
    );
    let cloud = Cloud {
        dns: Arc::new(dns),
        ..paced_cloud
    };
    let reads = FleetReads::paced_by(cloud.clone(), pacer);
    (cloud, reads)
}
