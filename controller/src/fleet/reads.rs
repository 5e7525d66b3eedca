//! The reads one observation makes, shared across the fleet (docs/design-contract.md §3, "Observation is
//! batched for scale"): one paginated DescribeGlobalClusters for many groups, DescribeDBClusters
//! per region, ListResourceRecordSets once per hosted zone, DescribeServices ten at a time per
//! ECS cluster, DescribeScalableTargets fifty at a time, GetMetricData five hundred lags at a
//! time, and one GetChange per change id however many groups wait on it.
//!
//! Listing a whole account or zone is chosen only when it costs fewer calls than asking for
//! the items one by one (a zone may hold thousands of records drctl does not care about).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use drctl_cloud::{
    ChangeStatus, Cloud, CloudResult, DbCluster, DnsRecord, EcsService, GlobalCluster, LagQuery,
    Service, ECS_SERVICES_PER_DESCRIBE, LAG_QUERIES_PER_CALL, RDS_FILTER_VALUES_MAX,
    RDS_GLOBAL_CLUSTERS_PER_PAGE, ROUTE53_RECORD_SETS_PER_PAGE, SCALABLE_TARGET_IDS_PER_DESCRIBE,
};

use drctl_cloud::pacing::{PaceLimits, Pacer};

use super::coalesce::{Coalescer, Context, Darkness, Freshness, ReadKind};

/// How long a shared read may linger for other groups' reads before it is sent. A call takes
/// 50-150 ms; 10 ms is noise on the recovery path and enough for every pass that starts in
/// the same instant to join.
pub const LINGER: Duration = Duration::from_millis(10);

/// The fleet's shared reads. One per controller; `dry_run` makes its own.
pub struct FleetReads {
    ctx: Arc<Context>,
    globals: Arc<Coalescer<Globals>>,
    records: Arc<Coalescer<Records>>,
    services: Arc<Coalescer<Services>>,
    clusters: Arc<Coalescer<Clusters>>,
    targets: Arc<Coalescer<Targets>>,
    lags: Arc<Coalescer<Lags>>,
    changes: Arc<Coalescer<Changes>>,
}

impl FleetReads {
    /// Reads through `cloud` as it is (a dry run's: nothing to share, nothing paced here).
    pub fn new(cloud: Cloud) -> Arc<Self> {
        FleetReads::paced_by(cloud, Pacer::new(PaceLimits::none()))
    }

    /// Reads through `cloud`, whose calls `pacer` paces.
    pub fn paced_by(cloud: Cloud, pacer: Arc<Pacer>) -> Arc<Self> {
        Arc::new(FleetReads {
            ctx: Arc::new(Context {
                cloud,
                linger: LINGER,
                darkness: Darkness::default(),
                pacer,
            }),
            globals: Coalescer::new(Globals::default()),
            records: Coalescer::new(Records::default()),
            services: Coalescer::new(Services),
            clusters: Coalescer::new(Clusters),
            targets: Coalescer::new(Targets),
            lags: Coalescer::new(Lags),
            changes: Coalescer::new(Changes),
        })
    }

    /// The cloud the reads go to (for the per-group reads that are not shared).
    pub fn cloud(&self) -> &Cloud {
        &self.ctx.cloud
    }

    /// Regions whose RDS endpoint is dark now.
    pub fn dark_rds_regions(&self) -> Vec<String> {
        self.ctx.darkness.dark_regions(Service::Rds)
    }

    pub async fn global_cluster(
        &self,
        region: &str,
        id: &str,
        freshness: Freshness,
    ) -> CloudResult<Option<GlobalCluster>> {
        self.globals
            .get(
                &self.ctx,
                region.to_string(),
                id.to_ascii_lowercase(),
                freshness,
            )
            .await
    }

    pub async fn record(
        &self,
        zone: &str,
        name: &str,
        record_type: &str,
        freshness: Freshness,
    ) -> CloudResult<Option<DnsRecord>> {
        let item = (
            crate::observed::fqdn(name),
            record_type.to_ascii_uppercase(),
        );
        self.records
            .get(&self.ctx, zone.to_string(), item, freshness)
            .await
    }

    pub async fn service(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        freshness: Freshness,
    ) -> CloudResult<Option<EcsService>> {
        let key = (region.to_string(), cluster.to_string());
        self.services
            .get(&self.ctx, key, service.to_string(), freshness)
            .await
    }

    pub async fn cluster(
        &self,
        region: &str,
        id: &str,
        freshness: Freshness,
    ) -> CloudResult<Option<DbCluster>> {
        self.clusters
            .get(&self.ctx, region.to_string(), id.to_string(), freshness)
            .await
    }

    /// (min, max) of a scalable target, None when it is not registered.
    pub async fn scalable_target(
        &self,
        region: &str,
        resource_id: &str,
        freshness: Freshness,
    ) -> CloudResult<Option<(u32, u32)>> {
        self.targets
            .get(
                &self.ctx,
                region.to_string(),
                resource_id.to_string(),
                freshness,
            )
            .await
    }

    pub async fn lag(
        &self,
        primary_region: &str,
        query: LagQuery,
        freshness: Freshness,
    ) -> CloudResult<Option<f64>> {
        self.lags
            .get(&self.ctx, primary_region.to_string(), query, freshness)
            .await
    }

    pub async fn change(&self, change_id: &str) -> CloudResult<ChangeStatus> {
        self.changes
            .get(&self.ctx, change_id.to_string(), (), Freshness::Fresh)
            .await
    }
}

/// Answer `asked` one call each, concurrently (when that is cheaper than a listing).
async fn one_by_one<I, O, F, Fut>(asked: Vec<I>, call: F) -> CloudResult<Vec<(I, O)>>
where
    I: Clone,
    F: Fn(I) -> Fut,
    Fut: std::future::Future<Output = CloudResult<O>>,
{
    let calls = asked.iter().cloned().map(|i| {
        let fut = call(i.clone());
        async move { fut.await.map(|o| (i, o)) }
    });
    crate::observe::join_all(calls.collect())
        .await
        .into_iter()
        .collect()
}

/// Each of `ids` with what `found` holds for it (None: the call did not return it, so it
/// does not exist).
fn answer_each<T, O>(
    ids: Vec<String>,
    found: &[T],
    is: impl Fn(&T, &str) -> bool,
    out: impl Fn(&T) -> O,
) -> Vec<(String, Option<O>)> {
    ids.into_iter()
        .map(|id| {
            let answer = found.iter().find(|f| is(f, &id)).map(&out);
            (id, answer)
        })
        .collect()
}

/// The pages a listing took last time, by key (1 until a listing has been made).
#[derive(Default)]
struct ListingSizes(Mutex<BTreeMap<String, usize>>);

impl ListingSizes {
    fn pages(&self, key: &str) -> usize {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
            .unwrap_or(1)
    }

    /// The listing was refused (a policy written per group grants only filtered reads): a
    /// refresh is then never cheaper than asking one by one.
    fn refused(&self, key: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), usize::MAX);
    }

    fn remember(&self, key: &str, items: usize, per_page: usize) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), items.div_ceil(per_page).max(1));
    }
}

/// One filtered DescribeGlobalClusters per global cluster asked for.
async fn globals_one_by_one(
    cloud: &Cloud,
    region: &str,
    asked: Vec<String>,
) -> CloudResult<Vec<(String, Option<GlobalCluster>)>> {
    one_by_one(asked, |id| {
        let cloud = cloud.clone();
        let region = region.to_string();
        async move { cloud.aurora.describe_global_cluster(&region, &id).await }
    })
    .await
}

#[derive(Default)]
struct Globals {
    sizes: ListingSizes,
}

#[async_trait]
impl ReadKind for Globals {
    type Key = String;
    type Item = String;
    type Out = Option<GlobalCluster>;
    const SERVICE: Service = Service::Rds;
    const OPERATION: &'static str = "DescribeGlobalClusters";

    fn region(key: &String) -> &str {
        key
    }

    fn refresh_calls(&self, region: &String, _interest: usize) -> usize {
        self.sizes.pages(region)
    }

    async fn fetch(
        &self,
        cloud: &Cloud,
        region: &String,
        asked: Vec<String>,
        interest: Vec<String>,
    ) -> CloudResult<Vec<(String, Option<GlobalCluster>)>> {
        if asked.len() < self.sizes.pages(region).max(2) {
            return globals_one_by_one(cloud, region, asked).await;
        }
        let all = match cloud.aurora.describe_global_clusters(region).await {
            Ok(all) => all,
            // A policy written per group grants DescribeGlobalClusters on that group's
            // global cluster only: ask one by one.
            Err(e) if !e.is_retryable() => {
                self.sizes.refused(region);
                return globals_one_by_one(cloud, region, asked).await;
            }
            Err(e) => return Err(e),
        };
        self.sizes
            .remember(region, all.len(), RDS_GLOBAL_CLUSTERS_PER_PAGE);
        let by_id: BTreeMap<String, GlobalCluster> = all
            .into_iter()
            .map(|g| (g.identifier.to_ascii_lowercase(), g))
            .collect();
        let wanted: BTreeSet<String> = asked.into_iter().chain(interest).collect();
        Ok(wanted
            .into_iter()
            .map(|id| {
                let found = by_id.get(&id).cloned();
                (id, found)
            })
            .collect())
    }
}

#[derive(Default)]
struct Records {
    sizes: ListingSizes,
}

#[async_trait]
impl ReadKind for Records {
    type Key = String;
    type Item = (String, String);
    type Out = Option<DnsRecord>;
    const SERVICE: Service = Service::Route53;
    const OPERATION: &'static str = "ListResourceRecordSets";

    /// Route 53's control plane is one endpoint, whatever the zone.
    fn region(_zone: &String) -> &str {
        ""
    }

    fn refresh_calls(&self, zone: &String, _interest: usize) -> usize {
        self.sizes.pages(zone)
    }

    async fn fetch(
        &self,
        cloud: &Cloud,
        zone: &String,
        asked: Vec<(String, String)>,
        interest: Vec<(String, String)>,
    ) -> CloudResult<Vec<((String, String), Option<DnsRecord>)>> {
        if asked.len() < self.sizes.pages(zone).max(2) {
            return one_by_one(asked, |(name, kind)| {
                let cloud = cloud.clone();
                let zone = zone.clone();
                async move { cloud.dns.get_record(&zone, &name, &kind).await }
            })
            .await;
        }
        let all = cloud.dns.list_records(zone).await?;
        self.sizes
            .remember(zone, all.len(), ROUTE53_RECORD_SETS_PER_PAGE);
        let by_key: BTreeMap<(String, String), DnsRecord> = all
            .into_iter()
            .map(|r| {
                (
                    (
                        crate::observed::fqdn(&r.name),
                        r.record_type.to_ascii_uppercase(),
                    ),
                    r,
                )
            })
            .collect();
        let wanted: BTreeSet<(String, String)> = asked.into_iter().chain(interest).collect();
        Ok(wanted
            .into_iter()
            .map(|k| {
                let found = by_key.get(&k).cloned();
                (k, found)
            })
            .collect())
    }
}

struct Services;

#[async_trait]
impl ReadKind for Services {
    type Key = (String, String);
    type Item = String;
    type Out = Option<EcsService>;
    const SERVICE: Service = Service::Ecs;
    const OPERATION: &'static str = "DescribeServices";
    const PER_CALL: Option<usize> = Some(ECS_SERVICES_PER_DESCRIBE);

    fn region(key: &(String, String)) -> &str {
        &key.0
    }

    async fn fetch(
        &self,
        cloud: &Cloud,
        (region, cluster): &(String, String),
        asked: Vec<String>,
        interest: Vec<String>,
    ) -> CloudResult<Vec<(String, Option<EcsService>)>> {
        let names = Self::padded(asked, &interest);
        let found = cloud.ecs.describe_services(region, cluster, &names).await?;
        Ok(answer_each(
            names,
            &found,
            |s, n| s.service == n,
            Clone::clone,
        ))
    }
}

struct Clusters;

#[async_trait]
impl ReadKind for Clusters {
    type Key = String;
    type Item = String;
    type Out = Option<DbCluster>;
    const SERVICE: Service = Service::Rds;
    const OPERATION: &'static str = "DescribeDBClusters";
    const PER_CALL: Option<usize> = Some(RDS_FILTER_VALUES_MAX);

    fn region(key: &String) -> &str {
        key
    }

    async fn fetch(
        &self,
        cloud: &Cloud,
        region: &String,
        asked: Vec<String>,
        interest: Vec<String>,
    ) -> CloudResult<Vec<(String, Option<DbCluster>)>> {
        let ids = Self::padded(asked, &interest);
        let found = cloud.aurora.describe_clusters(region, &ids).await?;
        Ok(answer_each(
            ids,
            &found,
            |c, id| c.identifier.eq_ignore_ascii_case(id),
            Clone::clone,
        ))
    }
}

struct Targets;

#[async_trait]
impl ReadKind for Targets {
    type Key = String;
    type Item = String;
    type Out = Option<(u32, u32)>;
    const SERVICE: Service = Service::AutoScaling;
    const OPERATION: &'static str = "DescribeScalableTargets";
    const PER_CALL: Option<usize> = Some(SCALABLE_TARGET_IDS_PER_DESCRIBE);

    fn region(key: &String) -> &str {
        key
    }

    async fn fetch(
        &self,
        cloud: &Cloud,
        region: &String,
        asked: Vec<String>,
        interest: Vec<String>,
    ) -> CloudResult<Vec<(String, Option<(u32, u32)>)>> {
        let ids = Self::padded(asked, &interest);
        let found = cloud
            .autoscaling
            .describe_scalable_targets(region, &ids)
            .await?;
        Ok(answer_each(
            ids,
            &found,
            |t, id| t.resource_id == id,
            |t| (t.min, t.max),
        ))
    }
}

struct Lags;

#[async_trait]
impl ReadKind for Lags {
    type Key = String;
    type Item = LagQuery;
    type Out = Option<f64>;
    const SERVICE: Service = Service::CloudWatch;
    const OPERATION: &'static str = "GetMetricData";
    const PER_CALL: Option<usize> = Some(LAG_QUERIES_PER_CALL);

    fn region(key: &String) -> &str {
        key
    }

    async fn fetch(
        &self,
        cloud: &Cloud,
        region: &String,
        asked: Vec<LagQuery>,
        interest: Vec<LagQuery>,
    ) -> CloudResult<Vec<(LagQuery, Option<f64>)>> {
        let queries = Self::padded(asked, &interest);
        let lags = cloud.lag.replication_lags(region, &queries).await?;
        Ok(queries.into_iter().zip(lags).collect())
    }
}

struct Changes;

#[async_trait]
impl ReadKind for Changes {
    type Key = String;
    type Item = ();
    type Out = ChangeStatus;
    const SERVICE: Service = Service::Route53;
    const OPERATION: &'static str = "GetChange";

    fn region(_id: &String) -> &str {
        ""
    }

    async fn fetch(
        &self,
        cloud: &Cloud,
        id: &String,
        _asked: Vec<()>,
        _interest: Vec<()>,
    ) -> CloudResult<Vec<((), ChangeStatus)>> {
        Ok(vec![((), cloud.dns.get_change(id).await?)])
    }
}
