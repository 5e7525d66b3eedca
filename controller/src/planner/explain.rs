//! What a spec change would make the controller do, in words, without looking at the cloud.
//! Used by `drctl diff -f` (the cloud-aware answer is `drctl plan`).

use drctl_schema::{DnsRouting, FailoverGroupSpec, OperationType};

/// Human-readable actions implied by going from `old` to `new` (None: a new group).
pub fn explain_spec_change(
    old: Option<&FailoverGroupSpec>,
    new: &FailoverGroupSpec,
) -> Vec<String> {
    let mut actions = Vec::new();
    let Some(old) = old else {
        actions.push(format!(
            "start managing the group: writer {}, DNS owner {}; the controller observes and converges",
            new.writer,
            new.dns_owner()
        ));
        return actions;
    };
    if old.suspended != new.suspended {
        actions.push(if new.suspended {
            "suspend: observe and report only, no AWS mutation".to_string()
        } else {
            "resume: reconcile towards the spec again".to_string()
        });
    }
    if old.writer != new.writer {
        let kind = if new.allow_data_loss {
            format!(
                "{} (or {} if {} is impaired: data loss allowed)",
                OperationType::Switchover.as_str(),
                OperationType::Failover.as_str(),
                old.writer
            )
        } else {
            format!(
                "{} (RPO 0; blocked if {} is impaired, since allowDataLoss is false)",
                OperationType::Switchover.as_str(),
                old.writer
            )
        };
        actions.push(format!(
            "move the Aurora writer of {} from {} to {}: {}",
            new.database.global_cluster_identifier, old.writer, new.writer, kind
        ));
    }
    let health_check = new.dns.routing == DnsRouting::HealthCheck;
    if health_check {
        actions.extend(health_check_actions(old, new));
    } else if old.dns_owner() != new.dns_owner() {
        actions.push(format!(
            "move DNS {} {} from {} to {}",
            new.dns.record_type.as_str(),
            new.dns.record_name,
            old.dns_owner(),
            new.dns_owner()
        ));
    }
    // healthCheck: compute follows the record Route 53 answers with, not spec.dnsOwner
    // (health_check_actions above).
    let services = if health_check {
        &[][..]
    } else {
        &new.compute.services[..]
    };
    for svc in services {
        for region in &new.regions {
            let capacity = |spec: &FailoverGroupSpec| {
                spec.compute
                    .services
                    .iter()
                    .find(|s| s.name == svc.name)
                    .map(|s| {
                        if spec.dns_owner() == region {
                            s.active
                        } else {
                            s.standby
                        }
                    })
            };
            let before = capacity(old);
            let after = capacity(new);
            if before != after {
                if let Some(after) = after {
                    actions.push(format!(
                        "scale service {} in {} to desired {} (min {}, max {})",
                        svc.name, region, after.desired, after.min, after.max
                    ));
                }
            }
        }
    }
    if old.failback != new.failback {
        actions.push(format!(
            "failback approval becomes {:?}",
            new.failback.approval
        ));
    }
    if old.max_lag_seconds != new.max_lag_seconds {
        actions.push(format!(
            "replication lag gate becomes {} s",
            new.max_lag_seconds
        ));
    }
    actions
}

/// `routing: healthCheck`: drctl never moves the record, and compute follows the region
/// Route 53 answers with (planner steady state, routing/health_check.rs). What a change of
/// spec.dnsOwner, the writer or the service sizes does then.
fn health_check_actions(old: &FailoverGroupSpec, new: &FailoverGroupSpec) -> Vec<String> {
    let mut actions = Vec::new();
    let record = format!("{} {}", new.dns.record_type.as_str(), new.dns.record_name);
    if old.dns_owner() != new.dns_owner() {
        actions.push(format!(
            "no DNS change for {record} (spec.dnsOwner {} -> {}): spec.dns.routing is healthCheck, \
             so Route 53 moves traffic itself when a failover record's health check fails; \
             drctl does not move DNS",
            old.dns_owner(),
            new.dns_owner()
        ));
    }
    if old.writer != new.writer {
        actions.push(format!(
            "scale the services up in {} with the writer; {} keeps its capacity while Route 53 \
             still answers {record} with it (DNS is not moved by drctl)",
            new.writer, old.writer
        ));
    }
    for svc in &new.compute.services {
        let before = old.compute.services.iter().find(|s| s.name == svc.name);
        if before.is_some_and(|b| b.active == svc.active && b.standby == svc.standby) {
            continue;
        }
        actions.push(format!(
            "resize service {}: desired {} (min {}, max {}) in the region Route 53 answers {record} \
             with, desired {} (min {}, max {}) in the other",
            svc.name,
            svc.active.desired,
            svc.active.min,
            svc.active.max,
            svc.standby.desired,
            svc.standby.min,
            svc.standby.max
        ));
    }
    actions
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn example(yaml: &str) -> FailoverGroupSpec {
        drctl_schema::parse::parse_and_validate(yaml.as_bytes(), "example.yaml")
            .unwrap()
            .remove(0)
            .spec
    }

    fn health_check_spec() -> FailoverGroupSpec {
        example(include_str!(
            "../../../examples/failovergroup-health-check.yaml"
        ))
    }

    #[test]
    fn a_health_check_groups_dns_owner_edit_explains_that_drctl_does_not_move_dns() {
        let old = health_check_spec();
        let mut new = old.clone();
        new.dns_owner = Some("us-west-2".to_string());
        let actions = explain_spec_change(Some(&old), &new);
        assert!(
            actions.iter().all(|a| !a.starts_with("move DNS")),
            "{actions:?}"
        );
        assert!(
            actions
                .iter()
                .any(|a| a.starts_with("no DNS change for A pay.example.com.")
                    && a.contains("Route 53 moves traffic itself")),
            "{actions:?}"
        );
        // Compute follows Route 53's answer, not dnsOwner: no scaling is promised.
        assert!(
            actions.iter().all(|a| !a.starts_with("scale service")),
            "{actions:?}"
        );
    }

    #[test]
    fn a_health_check_groups_writer_move_scales_the_target_and_keeps_the_serving_source() {
        let old = health_check_spec();
        let mut new = old.clone();
        new.writer = "us-west-2".to_string();
        new.dns_owner = Some("us-west-2".to_string());
        let actions = explain_spec_change(Some(&old), &new);
        assert!(
            actions
                .iter()
                .any(|a| a.starts_with("move the Aurora writer")),
            "{actions:?}"
        );
        assert!(
            actions
                .iter()
                .any(|a| a.starts_with("scale the services up in us-west-2")
                    && a.contains("us-east-1 keeps its capacity")),
            "{actions:?}"
        );
        assert!(
            actions.iter().all(|a| !a.starts_with("move DNS")),
            "{actions:?}"
        );
    }

    #[test]
    fn an_upsert_groups_dns_owner_edit_still_explains_the_dns_move() {
        let old = example(include_str!("../../../examples/failovergroup.yaml"));
        let mut new = old.clone();
        new.dns_owner = Some("us-west-2".to_string());
        let actions = explain_spec_change(Some(&old), &new);
        assert!(
            actions.iter().any(|a| a.starts_with("move DNS A")),
            "{actions:?}"
        );
    }
}
