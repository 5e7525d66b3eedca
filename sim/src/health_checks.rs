//! Ordinary Route 53 health checks and the failover records they switch (`spec.dns.routing:
//! healthCheck`, docs/design-contract.md §7.2; the seeds' pattern).
//!
//! * Each region's failover record (PRIMARY in spec.regions[0], SECONDARY in the other)
//!   carries an HTTPS health check on its load balancer. The endpoint is healthy while the
//!   region's app tier is up and a service of the group runs a task there (the load balancer
//!   fronts the web service; a worker at zero standby tasks has no listener to fail).
//! * Sixteen health checkers (two in each of Route 53's eight checker regions) probe it every
//!   `interval` (10 or 30 s), each at its own phase. A checker changes its mind after
//!   `failure_threshold` consecutive observations the other way; Route 53 considers the
//!   endpoint healthy while more than 18% of the checkers say so
//!   (`drctl_cloud::route53_considers_healthy`).
//! * DNS answers with PRIMARY while it is healthy, else SECONDARY while that is, else
//!   PRIMARY (recovery.rs, `failover_answer`). The checkers and DNS are Route 53's data plane:
//!   a us-east-1 outage does not take them. GetHealthCheckStatus is a control-plane call
//!   (us-east-1) and fails with it.
//! * Nobody asks drctl: Route 53 may send traffic to a region whose database cannot take
//!   writes yet. `dns_to_unwritable_ms` measures that window.

use std::collections::BTreeMap;

use drctl_cloud::{FailoverRecord, FailoverRole, HealthCheckInfo, HealthCheckObservation};
use drctl_schema::{DnsRouting, FailoverGroupSpec};

use crate::keys::*;
use crate::state::*;
use crate::world::SimError;

/// The health checkers' regions, two checkers in each.
pub(crate) const CHECKER_REGIONS: [&str; 8] = [
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
];
const CHECKERS: usize = 2 * CHECKER_REGIONS.len();

/// Route 53's defaults for a new health check: every 30 s, 3 failures.
pub const DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS: u32 = 30;
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;

/// An ordinary (HTTPS) health check on one region's load balancer.
#[derive(Debug, Clone)]
pub(crate) struct EndpointCheck {
    pub group: usize,
    pub region: String,
    pub interval_ms: i64,
    pub failure_threshold: u32,
    /// When the checkers started (the group's provisioning): healthy before.
    pub since: i64,
}

/// Health-check settings for the groups provisioned from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCheckSettings {
    /// 10 or 30 (Route 53 offers only these).
    pub interval_seconds: u32,
    /// 1 to 10.
    pub failure_threshold: u32,
}

impl Default for HealthCheckSettings {
    fn default() -> Self {
        HealthCheckSettings {
            interval_seconds: DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS,
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
        }
    }
}

/// The endpoint's state at `t` from its log of changes (healthy before the first).
fn endpoint_at(log: &[(i64, bool)], t: i64) -> bool {
    log.iter()
        .rev()
        .find(|(at, _)| *at <= t)
        .is_none_or(|(_, healthy)| *healthy)
}

/// One checker's verdict at `t`: the value of the latest run of `threshold` consecutive
/// equal observations (healthy before it has any).
fn checker_healthy(check: &EndpointCheck, log: &[(i64, bool)], checker: usize, t: i64) -> bool {
    let offset = check.since + check.interval_ms * checker as i64 / CHECKERS as i64;
    if t < offset || check.interval_ms <= 0 {
        return true;
    }
    let threshold = check.failure_threshold.max(1);
    let last = (t - offset) / check.interval_ms;
    let (mut run_value, mut run) = (None, 0u32);
    // A few thousand observations back at most: an endpoint that never held still that long
    // is read as healthy, as a new check is.
    for k in (0..=last).rev().take(4096) {
        let seen = endpoint_at(log, offset + k * check.interval_ms);
        if run_value == Some(seen) {
            run += 1;
        } else {
            run_value = Some(seen);
            run = 1;
        }
        if run >= threshold {
            return seen;
        }
    }
    true
}

impl State {
    /// Provision the failover pair of a healthCheck group, each record with an HTTPS health
    /// check on its region's load balancer, as an operator sets it up once.
    pub(crate) fn provision_health_checked_records(
        &mut self,
        group: usize,
        spec: &FailoverGroupSpec,
        t: i64,
    ) -> Result<(), SimError> {
        let settings = self.recovery.health_check_settings;
        let mut pair = Vec::new();
        for (i, region) in spec.regions.iter().enumerate() {
            let target = spec
                .dns
                .targets
                .get(region)
                .ok_or_else(|| SimError::InvalidSpec {
                    field: format!("spec.dns.targets.{region}"),
                    message: "every region needs a target".to_string(),
                })?;
            let record = crate::world::desired_record(spec, region, target).ok_or_else(|| {
                SimError::InvalidSpec {
                    field: format!("spec.dns.targets.{region}"),
                    message: "the target is incomplete".to_string(),
                }
            })?;
            let check_id = format!(
                "0000hc{:02}-{:04}-4000-8000-{:012}",
                i,
                group % 10_000,
                self.recovery.endpoint_checks.len()
            );
            self.recovery.endpoint_checks.insert(
                check_id.clone(),
                EndpointCheck {
                    group,
                    region: region.clone(),
                    interval_ms: i64::from(settings.interval_seconds) * 1000,
                    failure_threshold: settings.failure_threshold,
                    since: t,
                },
            );
            self.recovery.endpoint_log.insert(
                EndpointKey {
                    group,
                    region: region.clone(),
                },
                vec![(t, true)],
            );
            let primary = i == 0;
            pair.push(FailoverRecord {
                set_identifier: format!(
                    "{region}-{}",
                    if primary { "primary" } else { "secondary" }
                ),
                role: if primary {
                    FailoverRole::Primary
                } else {
                    FailoverRole::Secondary
                },
                health_check_id: Some(check_id),
                record,
            });
        }
        self.zones
            .entry(spec.dns.hosted_zone_id.clone())
            .or_default();
        self.recovery
            .failover_records
            .insert(crate::recovery::record_key(spec), pair);
        Ok(())
    }

    pub(crate) fn is_health_check_group(&self, group: usize) -> bool {
        self.groups
            .get(group)
            .is_some_and(|g| g.spec.dns.routing == DnsRouting::HealthCheck)
    }

    /// Is the load balancer of `group` in `region` serving now (ground truth)?
    fn endpoint_serving(&self, group: usize, region: &str) -> bool {
        let Some(spec) = self.groups.get(group).map(|g| &g.spec) else {
            return false;
        };
        self.compute_up(region)
            && spec.compute.services.iter().any(|s| {
                s.regions.get(region).is_some_and(|r| {
                    self.services
                        .get(&ServiceKey::new(
                            region,
                            r.cluster.clone(),
                            r.service.clone(),
                        ))
                        .is_some_and(|x| x.running > 0)
                })
            })
    }

    /// Log every tracked endpoint whose state changed (called as time advances).
    pub(crate) fn note_endpoints(&mut self, t: i64) {
        if self.recovery.endpoint_log.is_empty() {
            return;
        }
        let keys: Vec<EndpointKey> = self.recovery.endpoint_log.keys().cloned().collect();
        for key in keys {
            let serving = self.endpoint_serving(key.group, &key.region);
            if let Some(log) = self.recovery.endpoint_log.get_mut(&key) {
                if log.last().map(|(_, s)| *s) != Some(serving) {
                    log.push((t, serving));
                }
            }
        }
    }

    /// Is `check` an ordinary health check of the sim's? Then Route 53's verdict at `t`.
    pub(crate) fn endpoint_check_verdict(&self, check: &str, t: i64) -> Option<bool> {
        let observations = self.checker_observations(check, t)?;
        Some(drctl_cloud::route53_considers_healthy(&observations))
    }

    fn checker_observations(&self, check: &str, t: i64) -> Option<Vec<HealthCheckObservation>> {
        let c = self.recovery.endpoint_checks.get(check)?;
        let empty = Vec::new();
        let log = self
            .recovery
            .endpoint_log
            .get(&EndpointKey {
                group: c.group,
                region: c.region.clone(),
            })
            .unwrap_or(&empty);
        Some(
            (0..CHECKERS)
                .map(|i| {
                    let healthy = checker_healthy(c, log, i, t);
                    HealthCheckObservation {
                        region: CHECKER_REGIONS[i / 2].to_string(),
                        healthy,
                        status: if healthy {
                            "Success: HTTP Status Code 200, OK".to_string()
                        } else {
                            "Failure: Connection timed out".to_string()
                        },
                    }
                })
                .collect(),
        )
    }

    /// GetHealthCheckStatus now. Errors as Route 53 does for an unknown id.
    pub(crate) fn get_health_check_status(
        &self,
        check: &str,
    ) -> drctl_cloud::CloudResult<Vec<HealthCheckObservation>> {
        self.checker_observations(check, self.now).ok_or_else(|| {
            cloud_err(
                drctl_cloud::ErrorCategory::NeedsSpecChange,
                drctl_cloud::Service::Route53,
                "GetHealthCheckStatus",
                "NoSuchHealthCheck",
                format!("A health check with id {check} does not exist."),
            )
        })
    }

    /// GetHealthCheck for an ordinary check.
    pub(crate) fn endpoint_check_info(&self, check: &str) -> Option<HealthCheckInfo> {
        self.recovery
            .endpoint_checks
            .get(check)
            .map(|_| HealthCheckInfo {
                id: check.to_string(),
                check_type: "HTTPS".to_string(),
                routing_control_arn: None,
            })
    }

    /// Milliseconds, up to now, in which DNS answered for `group` with a region whose app was
    /// serving while no database could take writes (no writable writer anywhere): writes
    /// failed although traffic was served. Sampled each second. Only healthCheck groups are
    /// tracked (their endpoints are logged); 0 for the others.
    pub(crate) fn dns_to_unwritable_ms(&self, group: usize) -> i64 {
        let Some(writable) = self.writable_history(group) else {
            return 0;
        };
        let mut total = 0;
        let mut t = 0;
        while t <= self.now {
            if self.dns_serves_app(group, t) && !writable.any_at(t) {
                total += 1000;
            }
            t += 1000;
        }
        total
    }

    /// The first second, from `since_ms` up to now, at which DNS answered for `group` with a
    /// region whose app was serving (its load balancer up, a task of the group running) and
    /// which could reach a writable database: a healthCheck group's recovery as its users see
    /// it, whether or not the spec has a Verify probe. None: not (yet) in that window.
    pub(crate) fn first_served_writable_ms(&self, group: usize, since_ms: i64) -> Option<i64> {
        let writable = self.writable_history(group)?;
        let mut t = since_ms.max(0);
        while t <= self.now {
            if self.dns_serves_app(group, t) && writable.any_at(t) {
                return Some(t);
            }
            t += 1000;
        }
        None
    }

    /// Did DNS answer for `group` at `t` with a region whose app was serving?
    fn dns_serves_app(&self, group: usize, t: i64) -> bool {
        self.failover_answer(group, t).is_some_and(|region| {
            self.recovery
                .endpoint_log
                .get(&EndpointKey { group, region })
                .is_some_and(|log| endpoint_at(log, t))
        })
    }

    /// When each of `group`'s clusters could take writes (None: no such group).
    fn writable_history(&self, group: usize) -> Option<WritableHistory<'_>> {
        let spec = &self.groups.get(group)?.spec;
        let clusters: Vec<String> = spec
            .database
            .clusters
            .iter()
            .map(|(region, c)| format!("{region}/{}", c.identifier))
            .collect();
        let mut by_cluster: BTreeMap<&str, Vec<(i64, bool)>> = BTreeMap::new();
        for change in &self.writable_log {
            if clusters.contains(&change.cluster) {
                by_cluster
                    .entry(change.cluster.as_str())
                    .or_default()
                    .push((change.at_ms, change.writable));
            }
        }
        Some(WritableHistory(by_cluster))
    }
}

/// Each cluster's writability changes, in time order.
struct WritableHistory<'a>(BTreeMap<&'a str, Vec<(i64, bool)>>);

impl WritableHistory<'_> {
    /// Could any of the clusters take writes at `t`?
    fn any_at(&self, t: i64) -> bool {
        self.0.values().any(|log| {
            log.iter()
                .rev()
                .find(|(at, _)| *at <= t)
                .is_some_and(|(_, w)| *w)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(threshold: u32) -> EndpointCheck {
        EndpointCheck {
            group: 0,
            region: "us-east-1".to_string(),
            interval_ms: 30_000,
            failure_threshold: threshold,
            since: 0,
        }
    }

    #[test]
    fn a_checker_turns_unhealthy_after_threshold_failed_observations_and_not_before() {
        let c = check(3);
        let log = [(0, true), (100_000, false)];
        // Checker 0 observes at 0, 30, 60, 90, 120, 150, 180 s: failures from 120 s.
        assert!(checker_healthy(&c, &log, 0, 150_000));
        assert!(checker_healthy(&c, &log, 0, 179_999));
        assert!(!checker_healthy(&c, &log, 0, 180_000));
    }

    #[test]
    fn a_short_blip_shorter_than_the_threshold_changes_no_checker() {
        let c = check(3);
        let log = [(0, true), (100_000, false), (140_000, true)];
        for checker in 0..CHECKERS {
            assert!(checker_healthy(&c, &log, checker, 400_000), "{checker}");
        }
    }
}
