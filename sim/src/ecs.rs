//! ECS services and Application Auto Scaling in the world: desired versus running tasks
//! converging at the Fargate launch rate, scalable targets whose min/max pull desiredCount
//! back (the "fight" of aws-facts.md), and outages that stop a region's tasks.

use drctl_cloud::{
    ecs_resource_id, CloudError, CloudResult, EcsService, ErrorCategory, ScalableTarget, Service,
};

use crate::keys::*;
use crate::record::FactKind;
use crate::state::*;

fn err(
    service: Service,
    op: &'static str,
    cat: ErrorCategory,
    code: &str,
    msg: String,
) -> CloudError {
    cloud_err(cat, service, op, code, msg)
}

/// `service/CLUSTER/SERVICE` -> (cluster, service).
fn parse_resource_id(rid: &str) -> Option<(String, String)> {
    let mut parts = rid.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("service"), Some(c), Some(s)) if !c.is_empty() && !s.is_empty() => {
            Some((c.to_string(), s.to_string()))
        }
        _ => None,
    }
}

impl State {
    pub(crate) fn describe_services(
        &self,
        region: &str,
        cluster: &str,
        names: &[String],
    ) -> CloudResult<Vec<EcsService>> {
        // The cluster's first service, by range: not a scan of the fleet's services.
        let from = ServiceKey::new(region, cluster, String::new());
        let cluster_known = self
            .services
            .range(from..)
            .next()
            .is_some_and(|(k, _)| k.region == region && k.cluster == cluster);
        if !cluster_known {
            return Err(err(
                Service::Ecs,
                "DescribeServices",
                ErrorCategory::NeedsSpecChange,
                "ClusterNotFoundException",
                format!("Cluster not found: {cluster} in {region}"),
            ));
        }
        Ok(names
            .iter()
            .filter_map(|n| {
                let k = ServiceKey::new(region, cluster, n.clone());
                self.services.get(&k).map(|s| EcsService {
                    cluster: cluster.to_string(),
                    service: n.clone(),
                    status: "ACTIVE".to_string(),
                    desired: s.desired,
                    running: s.running,
                    pending: s.launching.iter().map(|(_, c)| c).sum(),
                })
            })
            .collect())
    }

    pub(crate) fn update_desired(
        &mut self,
        ctx: &Ctx,
        region: &str,
        cluster: &str,
        service: &str,
        desired: u32,
    ) -> CloudResult<()> {
        const OP: &str = "UpdateService";
        let k = ServiceKey::new(region, cluster, service);
        if !self.services.contains_key(&k) {
            let cluster_known = self
                .services
                .keys()
                .any(|x| x.region == region && x.cluster == cluster);
            let (code, msg) = if cluster_known {
                (
                    "ServiceNotFoundException",
                    format!("Service not found: {service}"),
                )
            } else {
                (
                    "ClusterNotFoundException",
                    format!("Cluster not found: {cluster}"),
                )
            };
            return Err(err(
                Service::Ecs,
                OP,
                ErrorCategory::NeedsSpecChange,
                code,
                msg,
            ));
        }
        self.set_desired(&k, desired, ctx.now);
        // Application Auto Scaling pulls an out-of-range desiredCount back later.
        let rid = RegionalId::new(region, ecs_resource_id(cluster, service));
        if let Some(t) = self.targets.get(&rid) {
            if desired < t.min || desired > t.max {
                let d = ms(self.cfg.timings.autoscaling_reconcile);
                self.push_event(ctx.now + d, Event::AutoScalingClamp(k));
            }
        }
        Ok(())
    }

    pub(crate) fn describe_targets(&self, region: &str, ids: &[String]) -> Vec<ScalableTarget> {
        ids.iter()
            .filter_map(|id| {
                self.targets
                    .get(&RegionalId::new(region, id.clone()))
                    .map(|t| ScalableTarget {
                        resource_id: id.clone(),
                        min: t.min,
                        max: t.max,
                    })
            })
            .collect()
    }

    pub(crate) fn register_target(
        &mut self,
        ctx: &Ctx,
        region: &str,
        rid: &str,
        min: u32,
        max: u32,
    ) -> CloudResult<()> {
        const OP: &str = "RegisterScalableTarget";
        if min > max {
            return Err(err(
                Service::AutoScaling,
                OP,
                ErrorCategory::NeedsSpecChange,
                "ValidationException",
                format!("MinCapacity {min} is greater than MaxCapacity {max}"),
            ));
        }
        let Some((cluster, service)) = parse_resource_id(rid) else {
            return Err(err(
                Service::AutoScaling,
                OP,
                ErrorCategory::NeedsSpecChange,
                "ValidationException",
                format!("{rid} is not an ECS service resource id"),
            ));
        };
        let k = ServiceKey::new(region, cluster, service);
        if !self.services.contains_key(&k) {
            return Err(err(
                Service::AutoScaling,
                OP,
                ErrorCategory::NeedsSpecChange,
                "ValidationException",
                format!("ECS service doesn't exist: {rid}"),
            ));
        }
        self.targets
            .insert(RegionalId::new(region, rid), Target { min, max });
        let desired = self.services.get(&k).map_or(0, |s| s.desired);
        if desired < min || desired > max {
            let d = ms(self.cfg.timings.autoscaling_reconcile);
            self.push_event(ctx.now + d, Event::AutoScalingClamp(k));
        }
        Ok(())
    }

    pub(crate) fn autoscaling_clamp(&mut self, t: i64, k: ServiceKey) {
        let rid = RegionalId::new(k.region.clone(), ecs_resource_id(&k.cluster, &k.service));
        let (Some(target), Some(svc)) = (self.targets.get(&rid).copied(), self.services.get(&k))
        else {
            return;
        };
        let from = svc.desired;
        let to = from.clamp(target.min, target.max);
        if to != from {
            self.set_desired(&k, to, t);
            self.fact(
                t,
                FactKind::AutoScalingAdjustedDesired {
                    region: k.region.clone(),
                    cluster: k.cluster.clone(),
                    service: k.service.clone(),
                    from,
                    to,
                },
            );
        }
    }

    pub(crate) fn set_desired(&mut self, k: &ServiceKey, desired: u32, t: i64) {
        if let Some(s) = self.services.get_mut(k) {
            if s.desired != desired {
                s.reached_fact_for = None;
            }
            s.desired = desired;
        }
        self.reconcile_service(k, t);
    }

    /// Start or stop tasks so that running + launching - stopping heads for desired.
    pub(crate) fn reconcile_service(&mut self, k: &ServiceKey, t: i64) {
        if !self.compute_up(&k.region) {
            return;
        }
        let limit = self.cfg.limits.task_launches;
        let startup = ms(self.cfg.timings.task_startup);
        let stop_after = ms(self.cfg.timings.task_stop);
        let bucket = self.launch_buckets.entry(k.region.clone()).or_default();
        let Some(s) = self.services.get_mut(k) else {
            return;
        };
        self.unsettled.insert(k.clone());
        let launching: u32 = s.launching.iter().map(|(_, c)| c).sum();
        let stopping: u32 = s.stopping.iter().map(|(_, c)| c).sum();
        let effective = i64::from(s.running) + i64::from(launching) - i64::from(stopping);
        let want = i64::from(s.desired);
        if want > effective {
            let mut need = u32::try_from(want - effective).unwrap_or(0);
            // Cancel pending stops first (newest first).
            while need > 0 {
                let Some(last) = s.stopping.last_mut() else {
                    break;
                };
                let take = last.1.min(need);
                last.1 -= take;
                need -= take;
                if last.1 == 0 {
                    s.stopping.pop();
                }
            }
            for _ in 0..need {
                let go = bucket.schedule(t, limit);
                let ready = go + startup;
                match s.launching.last_mut() {
                    Some(last) if last.0 == ready => last.1 += 1,
                    _ => s.launching.push((ready, 1)),
                }
            }
        } else if want < effective {
            let mut excess = u32::try_from(effective - want).unwrap_or(0);
            while excess > 0 {
                let Some(last) = s.launching.last_mut() else {
                    break;
                };
                let take = last.1.min(excess);
                last.1 -= take;
                excess -= take;
                if last.1 == 0 {
                    s.launching.pop();
                }
            }
            if excess > 0 {
                if stop_after == 0 {
                    s.running = s.running.saturating_sub(excess);
                } else {
                    s.stopping.push((t + stop_after, excess));
                }
            }
        }
        s.launching.sort_by_key(|(at, _)| *at);
        self.advance_service(k, t);
    }

    /// Land the launches and stops due by `t`, emitting TasksReachedDesired when done.
    pub(crate) fn advance_service(&mut self, k: &ServiceKey, t: i64) {
        let Some(s) = self.services.get_mut(k) else {
            return;
        };
        let mut last_at = None;
        while let Some(&(at, c)) = s.launching.first() {
            if at > t {
                break;
            }
            s.running += c;
            s.launching.remove(0);
            last_at = Some(at);
        }
        while let Some(&(at, c)) = s.stopping.first() {
            if at > t {
                break;
            }
            s.running = s.running.saturating_sub(c);
            s.stopping.remove(0);
            last_at = Some(last_at.map_or(at, |l: i64| l.max(at)));
        }
        let done = s.launching.is_empty() && s.stopping.is_empty() && s.running == s.desired;
        if done && s.reached_fact_for != Some(s.desired) && !self.down.contains_key(&k.region) {
            s.reached_fact_for = Some(s.desired);
            let desired = s.desired;
            self.fact(
                last_at.unwrap_or(t),
                FactKind::TasksReachedDesired {
                    region: k.region.clone(),
                    cluster: k.cluster.clone(),
                    service: k.service.clone(),
                    desired,
                },
            );
        }
    }
}
