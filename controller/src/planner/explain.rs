//! What a spec change would make the controller do, in words, without looking at the cloud.
//! Used by `drctl diff -f` (the cloud-aware answer is `drctl plan`).

use drctl_schema::{FailoverGroupSpec, OperationType};

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
    if old.dns_owner() != new.dns_owner() {
        actions.push(format!(
            "move DNS {} {} from {} to {}",
            new.dns.record_type.as_str(),
            new.dns.record_name,
            old.dns_owner(),
            new.dns_owner()
        ));
    }
    for svc in &new.compute.services {
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
