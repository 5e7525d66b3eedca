//! Client-side pacing: a token bucket per AWS service and account (and region, where AWS
//! meters per region), in front of every port. A mass failover of hundreds of groups is then
//! paced at a rate AWS accepts, instead of being throttled into exponential backoff, which is
//! slower and puts every group's recovery at the mercy of the retry jitter.
//!
//! The limits and their sources are in `docs/rate-limits.md`. Calls wait for a token in
//! arrival order (a bucket that is short goes into debt, and each later caller waits its
//! turn), so pacing never reorders one group's calls. A method that makes several calls
//! (chunks of a batch, pages of a listing) takes a token for each: AWS counts calls, not
//! methods.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::error::{CloudResult, Service};
use crate::model::*;
use crate::model::{
    ECS_SERVICES_PER_DESCRIBE, LAG_QUERIES_PER_CALL, RDS_FILTER_VALUES_MAX,
    RDS_GLOBAL_CLUSTERS_PER_PAGE, SCALABLE_TARGET_IDS_PER_DESCRIBE,
};
use crate::ports::*;

/// A sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

/// How fast drctl lets itself call each service. None: not paced.
#[derive(Debug, Clone, PartialEq)]
pub struct PaceLimits {
    /// Per account and region.
    pub rds: Option<Rate>,
    /// Per account (Route 53's control plane is one endpoint).
    pub route53: Option<Rate>,
    /// Per account and region.
    pub ecs: Option<Rate>,
    /// Per account and region.
    pub autoscaling: Option<Rate>,
    /// Per account and region.
    pub cloudwatch: Option<Rate>,
}

impl Default for PaceLimits {
    /// 80% of what AWS documents (docs/rate-limits.md), leaving room for the account's other
    /// clients (consoles, pipelines, other tools) that share the same buckets. Services
    /// whose limits AWS does not publish in numbers drctl can cite are not paced here (the
    /// SDK's retries meet their throttling); set them once measured.
    fn default() -> Self {
        PaceLimits {
            rds: Some(Rate {
                per_second: 9.6,
                burst: 240.0,
            }),
            route53: Some(Rate {
                per_second: 4.0,
                burst: 4.0,
            }),
            ecs: None,
            autoscaling: None,
            cloudwatch: None,
        }
    }
}

impl PaceLimits {
    /// No pacing at all (a single group's tests, where timing must match the unpaced world).
    pub fn none() -> Self {
        PaceLimits {
            rds: None,
            route53: None,
            ecs: None,
            autoscaling: None,
            cloudwatch: None,
        }
    }

    fn rate(&self, service: Service) -> Option<Rate> {
        match service {
            Service::Rds => self.rds,
            Service::Route53 => self.route53,
            Service::Ecs => self.ecs,
            Service::AutoScaling => self.autoscaling,
            Service::CloudWatch => self.cloudwatch,
            Service::RoutingControl
            | Service::RecoveryControlConfig
            | Service::Http
            | Service::S3
            | Service::DynamoDb => None,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    /// May go below zero: tokens promised to callers still waiting.
    tokens: f64,
    last: Instant,
}

/// The buckets, shared by every port of one `Cloud`.
#[derive(Debug)]
pub struct Pacer {
    limits: PaceLimits,
    buckets: Mutex<HashMap<(Service, String), Bucket>>,
}

impl Pacer {
    pub fn new(limits: PaceLimits) -> Arc<Self> {
        Arc::new(Pacer {
            limits,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// How long the caller must wait for its token, reserving it now.
    fn reserve(&self, service: Service, region: &str) -> Duration {
        let Some(rate) = self.limits.rate(service) else {
            return Duration::ZERO;
        };
        if rate.per_second <= 0.0 {
            return Duration::ZERO;
        }
        // Route 53 meters per account; the others per account and region.
        let scope = if service == Service::Route53 {
            String::new()
        } else {
            region.to_string()
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry((service, scope)).or_insert(Bucket {
            tokens: rate.burst,
            last: now,
        });
        let refill = (now - bucket.last).as_secs_f64() * rate.per_second;
        bucket.tokens = (bucket.tokens + refill).min(rate.burst);
        bucket.last = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / rate.per_second)
        }
    }

    /// How long until a token of `service` in `region` is free, without taking it.
    fn until_free(&self, service: Service, region: &str) -> Duration {
        let Some(rate) = self.limits.rate(service).filter(|r| r.per_second > 0.0) else {
            return Duration::ZERO;
        };
        let scope = if service == Service::Route53 {
            ""
        } else {
            region
        };
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(bucket) = buckets.get(&(service, scope.to_string())) else {
            return Duration::ZERO;
        };
        let refill = (Instant::now() - bucket.last).as_secs_f64() * rate.per_second;
        let tokens = (bucket.tokens + refill).min(rate.burst);
        if tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - tokens) / rate.per_second)
        }
    }

    /// Wait until a token of `service` in `region` is free, without taking it. A batch that
    /// waits here before closing collects every request that arrives meanwhile (group
    /// commit): the busier the service, the larger the batches, with no delay when idle.
    pub async fn ready(&self, service: Service, region: &str) {
        let wait = self.until_free(service, region);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Wait for a token of `service` in `region`.
    pub async fn take(&self, service: Service, region: &str) {
        self.take_n(service, region, 1).await;
    }

    /// Wait for `n` tokens: a method that makes `n` calls (chunks of a batch).
    pub async fn take_n(&self, service: Service, region: &str, n: usize) {
        let mut wait = Duration::ZERO;
        for _ in 0..n {
            wait = self.reserve(service, region);
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Book the further pages a listing turned out to need (known only from its answer):
    /// later callers wait for them.
    pub fn charge_pages(&self, service: Service, region: &str, items: usize, per_page: usize) {
        for _ in 1..calls_for(items, per_page) {
            self.reserve(service, region);
        }
    }
}

/// How many calls `items` take at `per_call` a call (at least one).
pub fn calls_for(items: usize, per_call: usize) -> usize {
    items.div_ceil(per_call.max(1)).max(1)
}

/// `cloud` with every call paced by `pacer`.
pub fn paced(cloud: Cloud, pacer: Arc<Pacer>) -> Cloud {
    let inner = Arc::new(cloud.clone());
    let paced = Arc::new(Paced { inner, pacer });
    Cloud {
        aurora: paced.clone(),
        lag: paced.clone(),
        alarms: paced.clone(),
        dns: paced.clone(),
        ecs: paced.clone(),
        autoscaling: paced,
        // ARC publishes no rates drctl can cite (docs/rate-limits.md): not paced; its
        // throttling is retried by the next pass, on another endpoint.
        routing: cloud.routing,
        recovery_config: cloud.recovery_config,
        health: cloud.health,
        clock: cloud.clock,
        // rdsReplica groups make a handful of calls per pass, outside the fleet's shared
        // reads: not paced yet (the SDK's standard retry absorbs throttling).
        rds_instances: cloud.rds_instances,
        replica_lag: cloud.replica_lag,
        // The dependencies are read once per full pass of the groups that declare them, a
        // few calls each; S3 and DynamoDB control-plane rates are not paced here.
        s3: cloud.s3,
        tables: cloud.tables,
        dependency_metrics: cloud.dependency_metrics,
        // Memoized fleet-wide (crate::offerings): a handful of calls per 30 minutes.
        offerings: cloud.offerings,
    }
}

struct Paced {
    inner: Arc<Cloud>,
    pacer: Arc<Pacer>,
}

/// Route 53's control plane is one global endpoint.
const GLOBAL: &str = "";

#[async_trait]
impl Aurora for Paced {
    async fn describe_global_cluster(
        &self,
        region: &str,
        global_cluster_id: &str,
    ) -> CloudResult<Option<GlobalCluster>> {
        self.pacer.take(Service::Rds, region).await;
        self.inner
            .aurora
            .describe_global_cluster(region, global_cluster_id)
            .await
    }

    async fn describe_global_clusters(&self, region: &str) -> CloudResult<Vec<GlobalCluster>> {
        self.pacer.take(Service::Rds, region).await;
        let all = self.inner.aurora.describe_global_clusters(region).await?;
        self.pacer.charge_pages(
            Service::Rds,
            region,
            all.len(),
            RDS_GLOBAL_CLUSTERS_PER_PAGE,
        );
        Ok(all)
    }

    async fn describe_clusters(&self, region: &str, ids: &[String]) -> CloudResult<Vec<DbCluster>> {
        let calls = calls_for(ids.len(), RDS_FILTER_VALUES_MAX);
        self.pacer.take_n(Service::Rds, region, calls).await;
        self.inner.aurora.describe_clusters(region, ids).await
    }

    async fn describe_instances(
        &self,
        region: &str,
        cluster_id: &str,
    ) -> CloudResult<Vec<DbInstance>> {
        self.pacer.take(Service::Rds, region).await;
        self.inner
            .aurora
            .describe_instances(region, cluster_id)
            .await
    }

    async fn switchover_global_cluster(
        &self,
        region: &str,
        global_cluster_id: &str,
        target_cluster_arn: &str,
    ) -> CloudResult<()> {
        self.pacer.take(Service::Rds, region).await;
        self.inner
            .aurora
            .switchover_global_cluster(region, global_cluster_id, target_cluster_arn)
            .await
    }

    async fn failover_global_cluster(
        &self,
        region: &str,
        global_cluster_id: &str,
        target_cluster_arn: &str,
        allow_data_loss: bool,
    ) -> CloudResult<()> {
        self.pacer.take(Service::Rds, region).await;
        self.inner
            .aurora
            .failover_global_cluster(
                region,
                global_cluster_id,
                target_cluster_arn,
                allow_data_loss,
            )
            .await
    }

    async fn describe_cluster_snapshots(
        &self,
        region: &str,
        query: &SnapshotQuery,
    ) -> CloudResult<Vec<ClusterSnapshot>> {
        self.pacer.take(Service::Rds, region).await;
        self.inner
            .aurora
            .describe_cluster_snapshots(region, query)
            .await
    }

    async fn create_cluster_snapshot(
        &self,
        region: &str,
        cluster_id: &str,
        snapshot_id: &str,
    ) -> CloudResult<()> {
        self.pacer.take(Service::Rds, region).await;
        self.inner
            .aurora
            .create_cluster_snapshot(region, cluster_id, snapshot_id)
            .await
    }

    async fn copy_cluster_snapshot(
        &self,
        region: &str,
        source_snapshot_id: &str,
        target_snapshot_id: &str,
    ) -> CloudResult<()> {
        self.pacer.take(Service::Rds, region).await;
        self.inner
            .aurora
            .copy_cluster_snapshot(region, source_snapshot_id, target_snapshot_id)
            .await
    }

    async fn set_deletion_protection(
        &self,
        region: &str,
        cluster_id: &str,
        enabled: bool,
    ) -> CloudResult<()> {
        self.pacer.take(Service::Rds, region).await;
        self.inner
            .aurora
            .set_deletion_protection(region, cluster_id, enabled)
            .await
    }

    async fn delete_instance(&self, region: &str, instance_id: &str) -> CloudResult<()> {
        self.pacer.take(Service::Rds, region).await;
        self.inner.aurora.delete_instance(region, instance_id).await
    }

    async fn delete_cluster(&self, region: &str, cluster_id: &str) -> CloudResult<()> {
        self.pacer.take(Service::Rds, region).await;
        self.inner.aurora.delete_cluster(region, cluster_id).await
    }

    async fn create_secondary_cluster(&self, request: &CreateSecondaryCluster) -> CloudResult<()> {
        self.pacer.take(Service::Rds, &request.region).await;
        self.inner.aurora.create_secondary_cluster(request).await
    }

    async fn create_instance(&self, request: &CreateInstance) -> CloudResult<()> {
        self.pacer.take(Service::Rds, &request.region).await;
        self.inner.aurora.create_instance(request).await
    }
}

#[async_trait]
impl Alarms for Paced {
    async fn describe_alarms(
        &self,
        region: &str,
        names: &[String],
    ) -> CloudResult<Vec<AlarmReading>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let calls = calls_for(names.len(), CLOUDWATCH_ALARM_NAMES_PER_CALL);
        self.pacer.take_n(Service::CloudWatch, region, calls).await;
        self.inner.alarms.describe_alarms(region, names).await
    }
}

#[async_trait]
impl ReplicationLag for Paced {
    async fn replication_lag(
        &self,
        primary_region: &str,
        primary_cluster_id: &str,
        secondary_region: &str,
    ) -> CloudResult<Option<f64>> {
        self.pacer.take(Service::CloudWatch, primary_region).await;
        self.inner
            .lag
            .replication_lag(primary_region, primary_cluster_id, secondary_region)
            .await
    }

    async fn replication_lags(
        &self,
        primary_region: &str,
        queries: &[LagQuery],
    ) -> CloudResult<Vec<Option<f64>>> {
        let calls = calls_for(queries.len(), LAG_QUERIES_PER_CALL);
        self.pacer
            .take_n(Service::CloudWatch, primary_region, calls)
            .await;
        self.inner
            .lag
            .replication_lags(primary_region, queries)
            .await
    }
}

#[async_trait]
impl Dns for Paced {
    async fn get_record(
        &self,
        hosted_zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> CloudResult<Option<DnsRecord>> {
        self.pacer.take(Service::Route53, GLOBAL).await;
        self.inner
            .dns
            .get_record(hosted_zone_id, name, record_type)
            .await
    }

    /// A token per page: the listing itself is the trait's loop over this, so a zone's pages
    /// are spaced at the paced rate instead of sent in a burst Route 53 would throttle.
    async fn list_records_page(
        &self,
        hosted_zone_id: &str,
        from: Option<&RecordCursor>,
    ) -> CloudResult<RecordPage> {
        self.pacer.take(Service::Route53, GLOBAL).await;
        self.inner.dns.list_records_page(hosted_zone_id, from).await
    }

    async fn change_record(
        &self,
        hosted_zone_id: &str,
        expected: Option<&DnsRecord>,
        desired: &DnsRecord,
        comment: &str,
    ) -> CloudResult<ChangeInfo> {
        self.pacer.take(Service::Route53, GLOBAL).await;
        self.inner
            .dns
            .change_record(hosted_zone_id, expected, desired, comment)
            .await
    }

    async fn change_records(
        &self,
        hosted_zone_id: &str,
        changes: &[RecordChange],
        comment: &str,
    ) -> CloudResult<ChangeInfo> {
        self.pacer.take(Service::Route53, GLOBAL).await;
        self.inner
            .dns
            .change_records(hosted_zone_id, changes, comment)
            .await
    }

    async fn get_change(&self, change_id: &str) -> CloudResult<ChangeStatus> {
        self.pacer.take(Service::Route53, GLOBAL).await;
        self.inner.dns.get_change(change_id).await
    }

    async fn list_failover_records(
        &self,
        hosted_zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> CloudResult<Vec<FailoverRecord>> {
        self.pacer.take(Service::Route53, GLOBAL).await;
        self.inner
            .dns
            .list_failover_records(hosted_zone_id, name, record_type)
            .await
    }

    async fn get_health_check(
        &self,
        health_check_id: &str,
    ) -> CloudResult<Option<HealthCheckInfo>> {
        self.pacer.take(Service::Route53, GLOBAL).await;
        self.inner.dns.get_health_check(health_check_id).await
    }

    async fn get_health_check_status(
        &self,
        health_check_id: &str,
    ) -> CloudResult<Vec<HealthCheckObservation>> {
        self.pacer.take(Service::Route53, GLOBAL).await;
        self.inner
            .dns
            .get_health_check_status(health_check_id)
            .await
    }
}

#[async_trait]
impl Ecs for Paced {
    async fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        services: &[String],
    ) -> CloudResult<Vec<EcsService>> {
        let calls = calls_for(services.len(), ECS_SERVICES_PER_DESCRIBE);
        self.pacer.take_n(Service::Ecs, region, calls).await;
        self.inner
            .ecs
            .describe_services(region, cluster, services)
            .await
    }

    async fn update_desired_count(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> CloudResult<()> {
        self.pacer.take(Service::Ecs, region).await;
        self.inner
            .ecs
            .update_desired_count(region, cluster, service, desired)
            .await
    }
}

#[async_trait]
impl AutoScaling for Paced {
    async fn describe_scalable_targets(
        &self,
        region: &str,
        resource_ids: &[String],
    ) -> CloudResult<Vec<ScalableTarget>> {
        let calls = calls_for(resource_ids.len(), SCALABLE_TARGET_IDS_PER_DESCRIBE);
        self.pacer.take_n(Service::AutoScaling, region, calls).await;
        self.inner
            .autoscaling
            .describe_scalable_targets(region, resource_ids)
            .await
    }

    async fn register_scalable_target(
        &self,
        region: &str,
        resource_id: &str,
        min: u32,
        max: u32,
    ) -> CloudResult<()> {
        self.pacer.take(Service::AutoScaling, region).await;
        self.inner
            .autoscaling
            .register_scalable_target(region, resource_id, min, max)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route53_only(per_second: f64, burst: f64) -> Arc<Pacer> {
        Pacer::new(PaceLimits {
            route53: Some(Rate { per_second, burst }),
            ..PaceLimits::none()
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_passes_at_once_and_the_rest_is_paced_at_the_rate() {
        let pacer = route53_only(5.0, 5.0);
        let start = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..10 {
            waits.push(pacer.reserve(Service::Route53, "us-east-1"));
        }
        assert!(waits[..5].iter().all(|w| w.is_zero()), "{waits:?}");
        assert_eq!(waits[5], Duration::from_millis(200));
        assert_eq!(waits[9], Duration::from_secs(1));
        pacer.take(Service::Route53, "").await;
        assert_eq!(Instant::now() - start, Duration::from_millis(1200));
    }

    #[tokio::test(start_paused = true)]
    async fn regional_services_have_a_bucket_per_region_and_route53_one_per_account() {
        let pacer = Pacer::new(PaceLimits {
            rds: Some(Rate {
                per_second: 1.0,
                burst: 1.0,
            }),
            route53: Some(Rate {
                per_second: 1.0,
                burst: 1.0,
            }),
            ..PaceLimits::none()
        });
        assert!(pacer.reserve(Service::Rds, "us-east-1").is_zero());
        assert!(pacer.reserve(Service::Rds, "us-west-2").is_zero());
        assert!(!pacer.reserve(Service::Rds, "us-east-1").is_zero());
        assert!(pacer.reserve(Service::Route53, "us-east-1").is_zero());
        assert!(!pacer.reserve(Service::Route53, "us-west-2").is_zero());
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_bucket_refills_up_to_its_burst_only() {
        let pacer = route53_only(5.0, 5.0);
        for _ in 0..5 {
            pacer.reserve(Service::Route53, "");
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
        let waits: Vec<Duration> = (0..6)
            .map(|_| pacer.reserve(Service::Route53, ""))
            .collect();
        assert!(waits[..5].iter().all(|w| w.is_zero()));
        assert_eq!(waits[5], Duration::from_millis(200));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_until_ready_takes_no_token() {
        let pacer = route53_only(5.0, 1.0);
        assert!(pacer.until_free(Service::Route53, "").is_zero());
        pacer.reserve(Service::Route53, "");
        assert_eq!(
            pacer.until_free(Service::Route53, ""),
            Duration::from_millis(200)
        );
        pacer.ready(Service::Route53, "").await;
        assert!(pacer.until_free(Service::Route53, "").is_zero());
        assert!(
            pacer.reserve(Service::Route53, "").is_zero(),
            "ready left the token"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn unpaced_services_never_wait() {
        let pacer = Pacer::new(PaceLimits::none());
        for _ in 0..1000 {
            assert!(pacer.reserve(Service::Rds, "us-east-1").is_zero());
        }
        assert!(pacer.reserve(Service::Http, "").is_zero());
    }
}
