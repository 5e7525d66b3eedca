//! Route 53 Application Recovery Controller in the world, and the failover records it flips
//! (docs/design-contract.md §7.2, aws-facts.md "Route 53").
//!
//! * A cluster has five regional data-plane endpoints; a routing control's state is held by
//!   all of them, and reading or changing it needs a quorum (three) of their regions up. An
//!   endpoint in a region that is down does not answer at all (the caller tries another).
//! * A control panel's safety rule: at least one of its controls On. An update that would
//!   leave none On is refused whole with `ConflictException`.
//! * Each region's failover record (PRIMARY / SECONDARY) carries a RECOVERY_CONTROL health
//!   check that follows its routing control. Route 53's health checkers, a data plane that a
//!   us-east-1 outage does not take, see a new state after `health_check_propagation`; DNS
//!   answers with PRIMARY while it is healthy, else SECONDARY while that is, else (both
//!   unhealthy) PRIMARY.
//! * The control-config API (DescribeCluster) lives in us-west-2; the failover records and
//!   health checks are read on Route 53's control plane in us-east-1.

use std::collections::BTreeMap;

use drctl_cloud::{
    CloudResult, ClusterEndpoint, ErrorCategory, FailoverRecord, FailoverRole, HealthCheckInfo,
    RoutingControlState, RoutingControlUpdate, Service,
};
use drctl_schema::{DnsRouting, FailoverGroupSpec};

use crate::keys::FailoverRecordKey;
use crate::state::*;
use crate::world::SimError;

/// The regions of an ARC cluster's five endpoints.
pub(crate) const ARC_ENDPOINT_REGIONS: [&str; 5] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "ap-northeast-1",
    "ap-southeast-2",
];

/// Endpoint regions that must be up for the cluster to read or change a state.
pub(crate) const ARC_QUORUM: usize = 3;

/// Where the control-config API runs (one constant for the adapters and the sim).
pub use drctl_cloud::RECOVERY_CONTROL_CONFIG_REGION;

/// A routing control: its group, its region, and every state it had since when.
#[derive(Debug, Clone)]
pub(crate) struct Control {
    pub cluster_arn: String,
    pub group: usize,
    pub region: String,
    pub history: Vec<(i64, RoutingControlState)>,
}

impl Control {
    fn state_at(&self, t: i64) -> Option<RoutingControlState> {
        self.history
            .iter()
            .rev()
            .find(|(from, _)| *from <= t)
            .map(|(_, s)| *s)
    }

    fn current(&self) -> Option<RoutingControlState> {
        self.history.last().map(|(_, s)| *s)
    }
}

/// ARC clusters, controls, RECOVERY_CONTROL health checks and failover records.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recovery {
    pub clusters: BTreeMap<String, Vec<ClusterEndpoint>>,
    pub controls: BTreeMap<String, Control>,
    /// Health check id -> the routing control it follows.
    pub health_checks: BTreeMap<String, String>,
    /// Each failover record pair.
    pub failover_records: BTreeMap<FailoverRecordKey, Vec<FailoverRecord>>,
    /// Ordinary (HTTPS) health checks of `routing: healthCheck` groups, by id.
    pub endpoint_checks: BTreeMap<String, crate::health_checks::EndpointCheck>,
    /// When each endpoint's load balancer started or stopped serving.
    pub endpoint_log: BTreeMap<crate::keys::EndpointKey, Vec<(i64, bool)>>,
    pub health_check_settings: crate::health_checks::HealthCheckSettings,
}

fn arc_err(
    service: Service,
    cat: ErrorCategory,
    op: &'static str,
    code: &str,
    msg: impl Into<String>,
) -> drctl_cloud::CloudError {
    cloud_err(cat, service, op, code, msg)
}

/// The control panel of a routing control ARN (`.../controlpanel/ID`).
fn panel_of(control_arn: &str) -> &str {
    control_arn
        .split_once("/routingcontrol/")
        .map_or(control_arn, |(panel, _)| panel)
}

pub(crate) fn record_key(spec: &FailoverGroupSpec) -> FailoverRecordKey {
    FailoverRecordKey {
        hosted_zone_id: spec.dns.hosted_zone_id.clone(),
        name: norm_name(&spec.dns.record_name),
        record_type: spec.dns.record_type.as_str().to_string(),
    }
}

impl State {
    /// Provision `spec`'s routing controls (the DNS owner's On, the other Off), their health
    /// checks and the failover pair (PRIMARY in spec.regions[0]): set up as an operator
    /// would before handing the group to drctl.
    pub(crate) fn provision_routing_control(
        &mut self,
        group: usize,
        spec: &FailoverGroupSpec,
        t: i64,
    ) -> Result<(), SimError> {
        let rc = spec
            .dns
            .routing_control
            .as_ref()
            .ok_or_else(|| SimError::InvalidSpec {
                field: "spec.dns.routingControl".to_string(),
                message: "required with routing: routingControl".to_string(),
            })?;
        let n = self.recovery.clusters.len();
        self.recovery
            .clusters
            .entry(rc.cluster_arn.clone())
            .or_insert_with(|| {
                ARC_ENDPOINT_REGIONS
                    .iter()
                    .map(|region| ClusterEndpoint {
                        region: region.to_string(),
                        endpoint: format!(
                            "https://arc{n:04}.route53-recovery-cluster.{region}.amazonaws.com/v1"
                        ),
                    })
                    .collect()
            });
        let owner = spec.dns_owner().to_string();
        let mut pair = Vec::new();
        for (i, region) in spec.regions.iter().enumerate() {
            let (Some(control_arn), Some(target)) =
                (rc.controls.get(region), spec.dns.targets.get(region))
            else {
                return Err(SimError::InvalidSpec {
                    field: format!("spec.dns.routingControl.controls.{region}"),
                    message: "every region needs a control and a target".to_string(),
                });
            };
            let state = if *region == owner {
                RoutingControlState::On
            } else {
                RoutingControlState::Off
            };
            self.recovery.controls.insert(
                control_arn.clone(),
                Control {
                    cluster_arn: rc.cluster_arn.clone(),
                    group,
                    region: region.clone(),
                    history: vec![(t, state)],
                },
            );
            let check_id = format!(
                "0000rc{:02}-{:04}-4000-8000-{:012}",
                i,
                group % 10_000,
                self.recovery.health_checks.len()
            );
            self.recovery
                .health_checks
                .insert(check_id.clone(), control_arn.clone());
            let record = crate::world::desired_record(spec, region, target).ok_or_else(|| {
                SimError::InvalidSpec {
                    field: format!("spec.dns.targets.{region}"),
                    message: "the target is incomplete".to_string(),
                }
            })?;
            pair.push(FailoverRecord {
                set_identifier: format!(
                    "{region}-{}",
                    if i == 0 { "primary" } else { "secondary" }
                ),
                role: if i == 0 {
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
            .insert(record_key(spec), pair);
        Ok(())
    }

    /// Is a failover record healthy at `t`, as Route 53's health checkers see it? A record
    /// without a health check is always healthy.
    fn record_healthy(&self, record: &FailoverRecord, t: i64) -> bool {
        let Some(check) = &record.health_check_id else {
            return true;
        };
        if let Some(verdict) = self.endpoint_check_verdict(check, t) {
            return verdict;
        }
        let seen_at = t - ms(self.cfg.timings.health_check_propagation);
        self.recovery
            .health_checks
            .get(check)
            .and_then(|control| self.recovery.controls.get(control))
            .and_then(|c| c.state_at(seen_at))
            == Some(RoutingControlState::On)
    }

    /// The region Route 53 answers with for a failover-routed group at `t`.
    pub(crate) fn failover_answer(&self, group: usize, t: i64) -> Option<String> {
        let spec = &self.groups.get(group)?.spec;
        let pair = self.recovery.failover_records.get(&record_key(spec))?;
        let primary = pair.iter().find(|r| r.role == FailoverRole::Primary)?;
        let secondary = pair.iter().find(|r| r.role == FailoverRole::Secondary);
        let answer = if self.record_healthy(primary, t) {
            primary
        } else {
            match secondary {
                Some(s) if self.record_healthy(s, t) => s,
                // Both unhealthy: Route 53 answers as if both were healthy.
                _ => primary,
            }
        };
        self.record_region(group, &answer.record)
    }

    /// The region whose routing control is On now, if exactly one is (ground truth).
    pub(crate) fn routing_owner_now(&self, group: usize) -> Option<String> {
        let on: Vec<&Control> = self
            .recovery
            .controls
            .values()
            .filter(|c| c.group == group && c.current() == Some(RoutingControlState::On))
            .collect();
        match on.as_slice() {
            [one] => Some(one.region.clone()),
            _ => None,
        }
    }

    pub(crate) fn is_routing_control_group(&self, group: usize) -> bool {
        self.groups
            .get(group)
            .is_some_and(|g| g.spec.dns.routing == DnsRouting::RoutingControl)
    }

    fn quorum(&self, op: &'static str, cluster_arn: &str) -> CloudResult<()> {
        let up = self.recovery.clusters.get(cluster_arn).map_or(0, |eps| {
            eps.iter().filter(|e| self.region_up(&e.region)).count()
        });
        if up >= ARC_QUORUM {
            Ok(())
        } else {
            Err(arc_err(
                Service::RoutingControl,
                ErrorCategory::Retryable,
                op,
                "InternalServerException",
                format!("cluster {cluster_arn} has {up} of 5 endpoint regions up, below its quorum of {ARC_QUORUM}"),
            ))
        }
    }

    fn control(&self, op: &'static str, arn: &str) -> CloudResult<&Control> {
        self.recovery.controls.get(arn).ok_or_else(|| {
            arc_err(
                Service::RoutingControl,
                ErrorCategory::NeedsSpecChange,
                op,
                "ResourceNotFoundException",
                format!("routing control {arn} does not exist"),
            )
        })
    }

    pub(crate) fn get_routing_control_state(&self, arn: &str) -> CloudResult<RoutingControlState> {
        const OP: &str = "GetRoutingControlState";
        let control = self.control(OP, arn)?;
        self.quorum(OP, &control.cluster_arn)?;
        control.current().ok_or_else(|| {
            arc_err(
                Service::RoutingControl,
                ErrorCategory::Terminal,
                OP,
                "InternalServerException",
                "a routing control without a state",
            )
        })
    }

    /// UpdateRoutingControlStates: checked whole (controls exist, quorum, safety rule), then
    /// applied at once. A control turned On is logged as a DNS move (invariant 4).
    pub(crate) fn update_routing_control_states(
        &mut self,
        ctx: &Ctx,
        updates: &[RoutingControlUpdate],
    ) -> CloudResult<()> {
        const OP: &str = "UpdateRoutingControlStates";
        let mut after: BTreeMap<String, RoutingControlState> = BTreeMap::new();
        for u in updates {
            let control = self.control(OP, &u.control_arn)?;
            self.quorum(OP, &control.cluster_arn)?;
            after.insert(u.control_arn.clone(), u.state);
        }
        let state_after = |arn: &str, c: &Control| after.get(arn).copied().or(c.current());
        for arn in after.keys() {
            let panel = panel_of(arn);
            let any_on = self
                .recovery
                .controls
                .iter()
                .filter(|(a, _)| panel_of(a) == panel)
                .any(|(a, c)| state_after(a, c) == Some(RoutingControlState::On));
            if !any_on {
                return Err(arc_err(
                    Service::RoutingControl,
                    ErrorCategory::NeedsOperator,
                    OP,
                    "ConflictException",
                    format!(
                        "the update would break safety rule ATLEAST 1 ON of control panel {panel}"
                    ),
                ));
            }
        }
        let mut turned_on = Vec::new();
        for (arn, state) in after {
            if let Some(c) = self.recovery.controls.get_mut(&arn) {
                if c.current() != Some(state) {
                    c.history.push((ctx.now, state));
                    if state == RoutingControlState::On {
                        turned_on.push((c.group, c.region.clone()));
                    }
                }
            }
        }
        for (group, region) in turned_on {
            let Some(spec) = self.groups.get(group).map(|g| g.spec.clone()) else {
                continue;
            };
            let id = format!("arc/{}", ctx.seq);
            self.log_dns_move(
                ctx,
                Some(group),
                Some(region),
                &spec.dns.hosted_zone_id,
                &norm_name(&spec.dns.record_name),
                &id,
            );
        }
        Ok(())
    }

    pub(crate) fn describe_arc_cluster(&self, arn: &str) -> CloudResult<Vec<ClusterEndpoint>> {
        self.recovery.clusters.get(arn).cloned().ok_or_else(|| {
            arc_err(
                Service::RecoveryControlConfig,
                ErrorCategory::NeedsSpecChange,
                "DescribeCluster",
                "ResourceNotFoundException",
                format!("cluster {arn} does not exist"),
            )
        })
    }

    pub(crate) fn list_failover_records(
        &self,
        zone_id: &str,
        name: &str,
        record_type: &str,
    ) -> CloudResult<Vec<FailoverRecord>> {
        if !self.zones.contains_key(zone_id) {
            return Err(cloud_err(
                ErrorCategory::NeedsSpecChange,
                Service::Route53,
                "ListResourceRecordSets",
                "NoSuchHostedZone",
                format!("No hosted zone found with ID: {zone_id}"),
            ));
        }
        let key = FailoverRecordKey {
            hosted_zone_id: zone_id.to_string(),
            name: norm_name(name),
            record_type: record_type.to_ascii_uppercase(),
        };
        Ok(self
            .recovery
            .failover_records
            .get(&key)
            .cloned()
            .unwrap_or_default())
    }

    pub(crate) fn get_health_check(&self, id: &str) -> Option<HealthCheckInfo> {
        self.recovery
            .health_checks
            .get(id)
            .map(|control| HealthCheckInfo {
                id: id.to_string(),
                check_type: drctl_cloud::RECOVERY_CONTROL_CHECK_TYPE.to_string(),
                routing_control_arn: Some(control.clone()),
            })
    }
}
