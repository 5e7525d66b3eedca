//! `drctl describe NAME`: spec against observed, conditions, the current (or last) operation
//! with its steps and timings, and the latest journal events.
//!
//! A group with a damaged record is described too: what still reads, and a Damaged Records
//! section naming each record, its path and what is wrong (exit 0: the description is whole).

use std::fmt::Write as _;

use drctl_schema::{FailoverGroup, FailoverGroupStatus, Operation, Timestamp};
use drctl_state::Event;

use drctl_state::StoreError;

use super::common::{age, duration, open_store, store_error, table};
use crate::cli::exit::{CliResult, ExitStatus};

/// Journal entries shown at the end, like kubectl's Events section.
const RECENT_EVENTS: usize = 10;

pub async fn run(store_url: &str, name: &str) -> CliResult<ExitStatus> {
    let store = open_store(store_url).await?;
    let inspection = store
        .inspect(name)
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            store_error(StoreError::NotFound {
                name: name.to_string(),
            })
        })?;
    let events = store.events(name).await.map_err(store_error)?;
    let now = Timestamp::now();
    let mut out = match &inspection.doc {
        Some(doc) => render(doc, &events, now),
        None => {
            let mut out = format!("Name:              {name}\nSpec:              <damaged>\n");
            out.push_str(&render_events(&events, now));
            out
        }
    };
    if !inspection.damaged.is_empty() {
        out.push_str("Damaged Records:\n");
        for record in &inspection.damaged {
            let _ = writeln!(out, "  {}: {}", record.key, record.reason);
        }
        let _ = writeln!(
            out,
            "  `drctl delete {name}` removes the group's records (the journal is kept); \
             apply its document again to recreate it"
        );
    }
    crate::out!("{out}");
    Ok(ExitStatus::Success)
}

fn indent(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `drctl describe`: the header, spec against observed, the database members, the
/// conditions, the operations and the events, each its own section below.
pub fn render(doc: &FailoverGroup, events: &[Event], now: Timestamp) -> String {
    let mut out = String::new();
    let status = doc.status.as_ref();
    let observed = status.and_then(|s| s.observed.as_ref());
    render_header(&mut out, doc, now);
    out.push_str("Spec vs Observed:\n");
    out.push_str(&indent(&table(
        &["FIELD", "DESIRED", "OBSERVED"],
        &spec_vs_observed(doc, now),
    )));
    if let Some(endpoint) = observed.and_then(|o| o.global_writer_endpoint.as_deref()) {
        let _ = writeln!(
            out,
            "Global Writer:     {endpoint} (Aurora's global writer endpoint: it follows the writer, so an app that connects through it needs no DNS change for its database)"
        );
    }
    for line in traffic_notes(&doc.spec) {
        let _ = writeln!(out, "Traffic:           {line}");
    }

    render_members(&mut out, observed);
    render_conditions(&mut out, status, now);
    render_operations(&mut out, status, now);
    out.push_str(&render_events(events, now));
    out
}

/// Name, labels, versions, phase and the spec's switches, with the warnings they call for.
fn render_header(out: &mut String, doc: &FailoverGroup, now: Timestamp) {
    let spec = &doc.spec;
    let status = doc.status.as_ref();
    let labels = if doc.metadata.labels.is_empty() {
        "<none>".to_string()
    } else {
        doc.metadata
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let _ = writeln!(out, "Name:              {}", doc.metadata.name);
    let _ = writeln!(out, "Labels:            {labels}");
    let _ = writeln!(
        out,
        "Resource Version:  {}",
        doc.metadata.resource_version.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        out,
        "Generation:        {} (observed {})",
        doc.metadata.generation.unwrap_or(0),
        status
            .map(|s| s.observed_generation.to_string())
            .unwrap_or_else(|| "never".to_string())
    );
    let _ = writeln!(
        out,
        "Phase:             {}",
        status
            .map(|s| s.phase.as_str())
            .unwrap_or("Pending (not reconciled yet)")
    );
    let _ = writeln!(out, "Suspended:         {}", spec.suspended);
    let _ = writeln!(out, "Allow Data Loss:   {}", spec.allow_data_loss);
    // The flag is a decision about one failover; left on, the next outage loses writes with
    // nobody deciding. Say so while no operation is using it.
    if spec.allow_data_loss && status.map(|s| s.operation.is_none()).unwrap_or(true) {
        let _ = writeln!(
            out,
            "Warning:           spec.allowDataLoss is still true: the next failover may lose \
             writes without a new decision; set it back to false (drctl edit, or apply the \
             reviewed document)"
        );
    }
    if let Some(line) =
        crate::planner::auto_failover::policy_line(&doc.metadata.name, spec, status, now)
    {
        let _ = writeln!(out, "Auto Failover:     {line}");
    }
    if let Some(warning) = crate::planner::auto_failover::witness_warning(spec) {
        let _ = writeln!(out, "Warning:           {warning}");
    }
    for (label, line) in crate::planner::after_failover::describe_lines(status) {
        let _ = writeln!(out, "{label:<19}{line}");
    }
    let _ = writeln!(out, "Failback Approval: {:?}", spec.failback.approval);
    if let Some(o) = &spec.objectives {
        let part = |v: Option<u32>| v.map(|s| format!("{s} s")).unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "Objectives:        RTO {}, RPO {}",
            part(o.rto_seconds),
            part(o.rpo_seconds)
        );
    }
    if let Some(t) = status.and_then(|s| s.last_reconciled_at) {
        let _ = writeln!(out, "Last Reconciled:   {t} ({} ago)", age(t, now));
    }
}

/// The rows of "Spec vs Observed": writer, DNS owner, lag, the routing mode's own rows and
/// each service in each region.
fn spec_vs_observed(doc: &FailoverGroup, now: Timestamp) -> Vec<Vec<String>> {
    let spec = &doc.spec;
    let observed = doc.status.as_ref().and_then(|s| s.observed.as_ref());
    let obs = |f: &dyn Fn() -> Option<String>| f().unwrap_or_else(|| "-".to_string());
    let mut rows = vec![
        vec![
            "writer".to_string(),
            spec.writer.clone(),
            obs(&|| observed.and_then(|o| o.writer.clone())),
        ],
        vec![
            "dnsOwner".to_string(),
            spec.dns_owner().to_string(),
            obs(&|| observed.and_then(|o| o.dns_owner.clone())),
        ],
        vec![
            "replicationLag".to_string(),
            format!("<= {}s", spec.max_lag_seconds),
            obs(&|| {
                observed
                    .and_then(|o| o.replication_lag_seconds)
                    .map(|l| format!("{l:.1}s"))
            }),
        ],
    ];
    // routingControl: each region's routing control, wanted against last read.
    if spec.dns.routing == drctl_schema::DnsRouting::RoutingControl {
        let routing = observed.and_then(|o| o.routing_control.as_ref());
        for region in &spec.regions {
            let want = if region == spec.dns_owner() {
                "On"
            } else {
                "Off"
            };
            rows.push(vec![
                format!("routingControl {region}"),
                want.to_string(),
                obs(&|| routing.and_then(|r| r.states.get(region).cloned())),
            ]);
        }
        if let Some(problems) = routing.filter(|r| !r.setup_problems.is_empty()) {
            rows.push(vec![
                "routingControl setup".to_string(),
                "failover records on the controls".to_string(),
                problems.setup_problems.join("; "),
            ]);
        }
    }
    rows.extend(health_check_rows(doc, now));
    for svc in &spec.compute.services {
        for region in &spec.regions {
            let want = if region == spec.dns_owner() {
                svc.active
            } else {
                svc.standby
            };
            let seen = observed
                .and_then(|o| {
                    o.services
                        .iter()
                        .find(|s| s.name == svc.name && &s.region == region)
                })
                .map(|s| {
                    format!(
                        "desired {} running {}",
                        s.desired
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "-".into()),
                        s.running
                            .map(|d| d.to_string())
                            .unwrap_or_else(|| "-".into())
                    )
                });
            rows.push(vec![
                format!("service {} in {region}", svc.name),
                format!(
                    "desired {} (min {}, max {})",
                    want.desired, want.min, want.max
                ),
                seen.unwrap_or_else(|| "-".to_string()),
            ]);
        }
    }
    rows
}

fn render_members(out: &mut String, observed: Option<&drctl_schema::ObservedSummary>) {
    if let Some(o) = observed.filter(|o| !o.members.is_empty()) {
        let rows: Vec<Vec<String>> = o
            .members
            .iter()
            .map(|m| {
                vec![
                    m.region.clone(),
                    m.cluster.clone(),
                    m.role.clone(),
                    m.status.clone().unwrap_or_else(|| "-".into()),
                    m.synchronization_status
                        .clone()
                        .unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        out.push_str("Database Members:\n");
        out.push_str(&indent(&table(
            &["REGION", "CLUSTER", "ROLE", "STATUS", "SYNC"],
            &rows,
        )));
    }
}

fn render_conditions(out: &mut String, status: Option<&FailoverGroupStatus>, now: Timestamp) {
    out.push_str("Conditions:\n");
    match status.filter(|s| !s.conditions.is_empty()) {
        None => out.push_str("  <none>\n"),
        Some(s) => {
            let rows: Vec<Vec<String>> = s
                .conditions
                .iter()
                .map(|c| {
                    vec![
                        c.type_.clone(),
                        c.status.as_str().to_string(),
                        c.reason.clone(),
                        age(c.last_transition_time, now),
                        c.message.clone(),
                    ]
                })
                .collect();
            out.push_str(&indent(&table(
                &["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"],
                &rows,
            )));
        }
    }
}

fn render_operations(out: &mut String, status: Option<&FailoverGroupStatus>, now: Timestamp) {
    if let Some(op) = status.and_then(|s| s.operation.as_ref()) {
        out.push_str("Operation:\n");
        out.push_str(&indent(&render_operation(op, now)));
    }
    if let Some(op) = status.and_then(|s| s.last_operation.as_ref()) {
        out.push_str("Last Operation:\n");
        out.push_str(&indent(&render_operation(op, now)));
        if let Some(j) = status.and_then(|s| s.objectives.as_ref()) {
            if j.operation_id == op.id {
                out.push_str(&indent(&format!("Objectives: {}\n", j.summary())));
            }
        }
    }
}

/// `routing: healthCheck`: the record Route 53 answers with and each region's verdict, as
/// last read (its age, "stale" when the last pass could not read them).
fn health_check_rows(doc: &FailoverGroup, now: Timestamp) -> Vec<Vec<String>> {
    let spec = &doc.spec;
    if spec.dns.routing != drctl_schema::DnsRouting::HealthCheck {
        return Vec::new();
    }
    let observed = doc
        .status
        .as_ref()
        .and_then(|s| s.observed.as_ref())
        .and_then(|o| o.health_check.as_ref());
    let read = observed
        .and_then(|h| h.checked_at)
        .map(|t| format!(" (read {} ago)", age(t, now)))
        .unwrap_or_default();
    let mut rows = vec![vec![
        "healthCheck live record".to_string(),
        spec.dns_owner().to_string(),
        observed
            .and_then(|h| h.live.clone())
            .map(|live| format!("{live}{read}"))
            .unwrap_or_else(|| "-".to_string()),
    ]];
    for region in &spec.regions {
        let verdict = observed
            .and_then(|h| h.healthy.get(region))
            .map(|ok| if *ok { "healthy" } else { "unhealthy" }.to_string());
        rows.push(vec![
            format!("healthCheck {region}"),
            "healthy".to_string(),
            verdict.unwrap_or_else(|| "-".to_string()),
        ]);
    }
    if let Some(h) = observed.filter(|h| !h.setup_problems.is_empty()) {
        rows.push(vec![
            "healthCheck setup".to_string(),
            "failover records with health checks".to_string(),
            h.setup_problems.join("; "),
        ]);
    }
    rows
}

/// What the routing mode and an app-tier split mean for the traffic, in words.
fn traffic_notes(spec: &drctl_schema::FailoverGroupSpec) -> Vec<String> {
    let mut notes = Vec::new();
    if spec.dns_owner() != spec.writer {
        notes.push(format!(
            "app-tier failover: traffic and active compute in {}, the Aurora writer stays in {}; \
             the app there writes through the global writer endpoint (or write forwarding)",
            spec.dns_owner(),
            spec.writer
        ));
    }
    if spec.dns.routing == drctl_schema::DnsRouting::HealthCheck {
        notes.push(
            "routing healthCheck: Route 53 moves traffic by itself when a record's health check \
             fails (more than 18% of its checkers), without drctl, which never moves DNS. It can \
             send traffic to a region whose database is not the writer yet (the writer's region \
             fails its check within interval x threshold, before anyone promotes the standby): \
             writes fail there until the writer moves. `drctl sim --scenario region-outage-failover \
             -f FILE` measures that window (dns_to_unwritable_seconds)"
                .to_string(),
        );
    }
    notes
}

fn render_events(events: &[Event], now: Timestamp) -> String {
    let mut out = String::new();
    out.push_str("Events:\n");
    if events.is_empty() {
        out.push_str("  <none>\n");
    } else {
        let start = events.len().saturating_sub(RECENT_EVENTS);
        let rows: Vec<Vec<String>> = events[start..]
            .iter()
            .map(|e| {
                vec![
                    age(e.at, now),
                    e.actor.clone(),
                    e.reason.clone(),
                    e.message.replace('\n', " "),
                ]
            })
            .collect();
        out.push_str(&indent(&table(
            &["AGE", "ACTOR", "REASON", "MESSAGE"],
            &rows,
        )));
    }
    out
}

fn render_operation(op: &Operation, now: Timestamp) -> String {
    let mut out = String::new();
    let end = op.finished_at.unwrap_or(now);
    let _ = writeln!(out, "ID:        {}", op.id);
    let _ = writeln!(
        out,
        "Type:      {} {} -> {}",
        op.type_.as_str(),
        op.from,
        op.to
    );
    let _ = writeln!(out, "State:     {:?}", op.state);
    let _ = writeln!(
        out,
        "Started:   {} ({} ago)",
        op.started_at,
        age(op.started_at, now)
    );
    if let Some(f) = op.finished_at {
        let _ = writeln!(out, "Finished:  {f}");
    }
    let _ = writeln!(
        out,
        "Duration:  {}",
        duration(end.seconds_since(op.started_at))
    );
    let _ = writeln!(
        out,
        "RTO:       {}",
        op.rto_seconds.map(duration).unwrap_or_else(|| "-".into())
    );
    let _ = writeln!(
        out,
        "RPO:       {}",
        op.rpo_seconds
            .map(|s| format!("{s:.1}s"))
            .unwrap_or_else(|| "-".into())
    );
    let rows: Vec<Vec<String>> = op
        .steps
        .iter()
        .map(|s| {
            let took = match (s.started_at, s.finished_at) {
                (Some(a), Some(b)) => duration(b.seconds_since(a)),
                (Some(a), None) => format!("{} (running)", duration(now.seconds_since(a))),
                _ => "-".to_string(),
            };
            vec![
                s.name.to_string(),
                format!("{:?}", s.state),
                s.started_at
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "-".into()),
                took,
                s.detail.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str("Steps:\n");
    out.push_str(&indent(&table(
        &["STEP", "STATE", "STARTED", "DURATION", "DETAIL"],
        &rows,
    )));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(yaml: &str) -> FailoverGroup {
        drctl_schema::parse_documents(yaml.as_bytes(), "group.yaml")
            .unwrap_or_default()
            .remove(0)
    }

    #[test]
    fn a_health_check_group_shows_the_live_record_its_verdicts_and_why_drctl_does_not_move_it() {
        let mut doc = group(include_str!(
            "../../../../examples/failovergroup-health-check.yaml"
        ));
        let now = Timestamp::from_millis(1_000_000);
        doc.status = Some(drctl_schema::FailoverGroupStatus {
            observed: Some(drctl_schema::ObservedSummary {
                health_check: Some(drctl_schema::HealthCheckObserved {
                    live: Some("us-west-2".into()),
                    healthy: [("us-east-1".into(), false), ("us-west-2".into(), true)]
                        .into_iter()
                        .collect(),
                    checked_at: Some(Timestamp::from_millis(940_000)),
                    setup_problems: Vec::new(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
        let text = render(&doc, &[], now);
        let live = text
            .lines()
            .find(|l| l.contains("healthCheck live record"))
            .unwrap_or_default();
        assert!(live.contains("us-east-1"), "{text}");
        assert!(live.contains("us-west-2 (read 60s ago)"), "{text}");
        assert!(text.contains("unhealthy"), "{text}");
        assert!(text.contains("Route 53 moves traffic by itself"), "{text}");
        assert!(
            text.contains("whose database is not the writer yet"),
            "{text}"
        );
    }

    #[test]
    fn an_app_tier_split_shows_the_global_writer_endpoint_and_how_the_app_reaches_the_writer() {
        let mut doc = group(include_str!("../../../../examples/failovergroup.yaml"));
        doc.spec.dns_owner = Some("us-west-2".into());
        doc.status = Some(drctl_schema::FailoverGroupStatus {
            observed: Some(drctl_schema::ObservedSummary {
                global_writer_endpoint: Some(
                    "myapp-prod-global.global-abc123.global.rds.amazonaws.com".into(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        });
        let text = render(&doc, &[], Timestamp::from_millis(0));
        assert!(
            text.contains(
                "Global Writer:     myapp-prod-global.global-abc123.global.rds.amazonaws.com"
            ),
            "{text}"
        );
        assert!(
            text.contains("needs no DNS change for its database"),
            "{text}"
        );
        assert!(text.contains("app-tier failover: traffic and active compute in us-west-2, the Aurora writer stays in us-east-1"), "{text}");
        assert!(text.contains("global writer endpoint"), "{text}");
    }

    #[test]
    fn after_a_failover_describe_says_ready_to_fail_back_with_the_lag_the_command_and_the_snapshot()
    {
        let mut doc = group(include_str!("../../../../examples/failovergroup.yaml"));
        doc.spec.writer = "us-west-2".into();
        doc.status = Some(drctl_schema::FailoverGroupStatus {
            after_failover: Some(drctl_schema::AfterFailoverStatus {
                operation_id: "op-1".into(),
                region: "us-east-1".into(),
                snapshot_id: "drctl-preserved-myapp-prod-primary-op-1".into(),
                preserve_snapshot: Some(drctl_schema::StepRecord {
                    state: drctl_schema::StepState::Succeeded,
                    ..drctl_schema::StepRecord::pending(drctl_schema::StepName::PreserveSnapshot)
                }),
                ready_to_fail_back: true,
                lag_seconds: Some(0.4),
                message:
                    "ready to fail back (lag 0.4 s): run `drctl failover myapp-prod --to us-east-1`"
                        .into(),
                ..Default::default()
            }),
            ..Default::default()
        });
        let text = render(&doc, &[], Timestamp::from_millis(0));
        assert!(
            text.contains("Fail Back:         ready to fail back (lag 0.4 s): run `drctl failover myapp-prod --to us-east-1`"),
            "{text}"
        );
        assert!(
            text.contains("Old Snapshot:      drctl-preserved-myapp-prod-primary-op-1: PreserveSnapshot Succeeded"),
            "{text}"
        );
    }

    #[test]
    fn describe_warns_when_one_witness_can_trigger_an_automatic_failover() {
        let mut doc = group(include_str!("../../../../examples/failovergroup.yaml"));
        doc.spec.auto_failover = Some(crate::simulation::auto::policy(
            crate::simulation::Scenario::RegionOutageAuto,
        ));
        let text = render(&doc, &[], Timestamp::from_millis(0));
        assert!(
            text.contains("Warning:           spec.autoFailover needs only 1 witness"),
            "{text}"
        );
    }
}
