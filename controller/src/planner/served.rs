//! `routing: healthCheck` (docs/design-contract.md §7.2): Route 53 moves the traffic itself,
//! so MoveDns and WaitDnsInSync are skipped and, without `spec.verify`, no step's end marks
//! the moment the new region serves. The RTO is then measured to the first pass that saw
//! Route 53 answer with the operation's target (a fresh health-check reading, not a stale
//! one) while the database there takes writes: at most one poll later than the truth. The
//! moment is kept in the operation's notes, so a restart does not move it.

use drctl_schema::{
    DnsRouting, FailoverGroupSpec, Operation, OperationType, StepName, StepState, Timestamp,
};

use crate::observed::{DnsReading, ObservedWorld};

/// The note holding that moment (millis).
pub const SERVED_AT: &str = "healthCheckServedAt";

/// When the new region started serving by the operation's own steps: the end of Verify,
/// else of WaitDnsInSync (None: neither succeeded).
pub fn served_by_steps(op: &Operation) -> Option<Timestamp> {
    [StepName::Verify, StepName::WaitDnsInSync]
        .iter()
        .filter_map(|s| op.step(*s))
        .filter(|s| s.state == StepState::Succeeded)
        .filter_map(|s| s.finished_at)
        .max()
}

/// The moment this pass first shows `op.to` served, when it is one to note: a healthCheck
/// group, not noted yet, Route 53 answering with the target (fresh) and the database there
/// writable. Read only, so a pass that notes nothing copies nothing.
pub fn newly_served(
    spec: &FailoverGroupSpec,
    world: &ObservedWorld,
    op: &Operation,
    now: Timestamp,
) -> Option<Timestamp> {
    if spec.dns.routing != DnsRouting::HealthCheck || op.notes.contains_key(SERVED_AT) {
        return None;
    }
    let answers_target = world.dns_reading(spec) == DnsReading::Known(Some(op.to.clone()));
    // An app-tier failover leaves the writer where it is; the others serve once it moved.
    let writable =
        op.type_ == OperationType::AppTierFailover || world.writer_region() == Some(op.to.as_str());
    (answers_target && writable).then(|| {
        world
            .health_checks
            .as_ref()
            .map_or(now, |view| view.checked_at)
    })
}

/// Keep `at` as the moment `op` was first served.
pub fn note_served(op: &mut Operation, at: Timestamp) {
    op.notes
        .insert(SERVED_AT.to_string(), at.millis().to_string());
}

/// When the operation's target was first seen served, if it was.
pub fn served_at(op: &Operation) -> Option<Timestamp> {
    op.notes
        .get(SERVED_AT)
        .and_then(|v| v.parse::<i64>().ok())
        .map(Timestamp::from_millis)
}

/// The `TrafficServed` event's message: the journal rebuilds the RTO from it
/// (`report/journal.rs`, [`rto_in_message`]).
pub fn traffic_served_message(op: &Operation) -> Option<String> {
    let rto = served_at(op)?.seconds_since(op.started_at);
    Some(format!(
        "Route 53 answers with {} for {} {} -> {}: served {rto:.1} s after it started (its RTO)",
        op.to,
        op.type_.as_str(),
        op.from,
        op.to
    ))
}

/// The RTO a `TrafficServed` message carries.
pub fn rto_in_message(message: &str) -> Option<f64> {
    let (_, rest) = message.rsplit_once(": served ")?;
    rest.strip_suffix(" s after it started (its RTO)")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_reads_back_the_rto_the_event_says() {
        let mut op = Operation {
            id: "op-1".to_string(),
            type_: OperationType::Failover,
            from: "us-east-1".to_string(),
            to: "us-west-2".to_string(),
            started_at: Timestamp::from_millis(10_000),
            finished_at: None,
            generation: 2,
            state: drctl_schema::OperationState::Running,
            steps: Vec::new(),
            rpo_seconds: None,
            rto_seconds: None,
            notes: Default::default(),
        };
        assert_eq!(traffic_served_message(&op), None);
        op.notes.insert(SERVED_AT.to_string(), "95500".to_string());
        let message = traffic_served_message(&op).expect("served");
        assert_eq!(rto_in_message(&message), Some(85.5));
        assert_eq!(rto_in_message("served 3 s after"), None);
    }
}
