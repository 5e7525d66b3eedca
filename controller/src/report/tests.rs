//! The report built from a hand-made status and journal, and the structure of its pages.

use drctl_schema::{
    FailoverGroup, FailoverGroupStatus, Objectives, ObjectivesJudgement, Operation, OperationState,
    OperationType, StepName, StepRecord, StepState, Timestamp,
};
use drctl_state::Event;

use super::html::render_page;
use super::model::critical_path;
use super::*;

const T0: i64 = 1_780_000_000_000;

fn at(secs: f64) -> Timestamp {
    Timestamp::from_millis(T0 + (secs * 1000.0) as i64)
}

fn step(name: StepName, from: f64, to: f64) -> StepRecord {
    StepRecord {
        name,
        state: StepState::Succeeded,
        started_at: Some(at(from)),
        finished_at: Some(at(to)),
        detail: Some(format!("{name} done")),
    }
}

/// A failover: the compute path (scale up, wait for tasks) is longer than the database's.
fn failover(rpo: Option<f64>) -> Operation {
    Operation {
        id: "op-1-g2".into(),
        type_: OperationType::Failover,
        from: "us-east-1".into(),
        to: "us-west-2".into(),
        started_at: at(0.0),
        finished_at: Some(at(160.0)),
        generation: 2,
        state: OperationState::Succeeded,
        steps: vec![
            step(StepName::Preflight, 0.0, 1.0),
            step(StepName::ScaleUpTarget, 1.0, 60.0),
            step(StepName::Failover, 1.0, 40.0),
            step(StepName::WaitWriter, 40.0, 45.0),
            step(StepName::WaitComputeReady, 60.0, 90.0),
            step(StepName::MoveDns, 90.0, 92.0),
            step(StepName::WaitDnsInSync, 92.0, 150.0),
            step(StepName::Verify, 150.0, 155.0),
            step(StepName::ScaleDownSource, 155.0, 160.0),
        ],
        rpo_seconds: rpo,
        rto_seconds: Some(155.0),
        notes: Default::default(),
    }
}

fn event(secs: f64, actor: &str, reason: &str, message: &str) -> Event {
    Event {
        seq: 0,
        at: at(secs),
        actor: actor.into(),
        reason: reason.into(),
        message: message.into(),
        operation_id: None,
        step: None,
        data: None,
    }
}

fn ours(mut e: Event, step: Option<&str>, data: serde_json::Value) -> Event {
    e.operation_id = Some("op-1-g2".into());
    e.step = step.map(str::to_string);
    e.data = Some(data);
    e
}

fn journal() -> Vec<Event> {
    let mut edit = event(
        -5.0,
        "alice@laptop",
        "FailoverRequested",
        "drctl failover --to us-west-2 --allow-data-loss: spec.writer: us-east-1 -> us-west-2",
    );
    edit.data = Some(serde_json::json!({"resourceVersion": "2", "generation": 2}));
    let mut older = event(-900.0, "bob@host", "SpecApplied", "first apply");
    older.data = Some(serde_json::json!({"resourceVersion": "1", "generation": 1}));
    let mut other_op = event(3.0, "controller/r1", "AwsMutation", "someone else's");
    other_op.operation_id = Some("op-0-g1".into());
    vec![
        older,
        edit,
        ours(
            event(0.0, "controller/r1", "OperationStarted", "Failover"),
            None,
            serde_json::json!(null),
        ),
        ours(
            event(
                1.0,
                "controller/r1",
                "AwsMutation",
                "failover global cluster g to arn (asked in us-west-2)",
            ),
            Some("Failover"),
            serde_json::json!({"step": "Failover", "action": "failoverGlobalCluster", "region": "us-west-2"}),
        ),
        ours(
            event(
                2.0,
                "controller/r1",
                "AwsMutationFailed",
                "set desired count: Throttling",
            ),
            Some("ScaleUpTarget"),
            serde_json::json!({"step": "ScaleUpTarget", "action": "setDesiredCount", "region": "us-west-2"}),
        ),
        other_op,
        // The steady state after the operation finished carries its id: not its mutation.
        ours(
            event(
                200.0,
                "controller/r1",
                "AwsMutation",
                "register scalable target",
            ),
            None,
            serde_json::json!({"action": "registerScalableTarget", "region": "us-east-1"}),
        ),
        ours(
            event(100.0, "carol@host", "Approved", "approved the failback"),
            Some("AwaitApproval"),
            serde_json::json!(null),
        ),
    ]
}

fn build(op: &Operation, journal: &[Event], objectives: Option<Objectives>) -> OperationReport {
    OperationReport::build(ReportInput {
        group: "shop",
        operation: op,
        journal,
        recorded: None,
        objectives,
    })
}

fn objectives(rto: u32, rpo: u32) -> Option<Objectives> {
    Some(Objectives {
        rto_seconds: Some(rto),
        rpo_seconds: Some(rpo),
    })
}

#[test]
fn steps_are_timed_from_the_operations_start_and_the_longest_chain_is_critical() {
    let r = build(&failover(Some(2.0)), &journal(), None);
    assert_eq!(r.steps.len(), 9);
    let scale_up = &r.steps[1];
    assert_eq!(scale_up.name, "ScaleUpTarget");
    assert_eq!(scale_up.start_seconds, Some(1.0));
    assert_eq!(scale_up.end_seconds, Some(60.0));
    assert_eq!(scale_up.duration_seconds, Some(59.0));
    assert_eq!(
        r.critical_path,
        vec![
            "Preflight",
            "ScaleUpTarget",
            "WaitComputeReady",
            "MoveDns",
            "WaitDnsInSync",
            "Verify",
            "ScaleDownSource"
        ]
    );
    let failover_step = r.steps.iter().find(|s| s.name == "Failover").unwrap();
    assert!(
        !failover_step.critical,
        "the database path was not the long one"
    );
    assert_eq!(r.duration_seconds, Some(160.0));
}

#[test]
fn skipped_and_unfinished_steps_are_off_the_critical_path() {
    let mut op = failover(None);
    op.steps[8].state = StepState::Skipped;
    op.steps[7].finished_at = None;
    op.steps[7].state = StepState::Running;
    let path = critical_path(&op.steps);
    assert_eq!(path.last(), Some(&"WaitDnsInSync"), "{path:?}");
}

#[test]
fn objectives_are_met_missed_or_not_measured() {
    let met = build(&failover(Some(2.0)), &[], objectives(300, 5));
    assert!(met.objectives_met);
    assert_eq!(
        met.objectives.iter().map(|o| o.verdict).collect::<Vec<_>>(),
        vec![Verdict::Met, Verdict::Met]
    );
    assert_eq!(met.objectives[0].measured_seconds, Some(155.0));

    let missed = build(&failover(Some(2.0)), &[], objectives(100, 1));
    assert!(!missed.objectives_met);
    assert_eq!(missed.objectives[0].verdict, Verdict::Missed);
    assert_eq!(missed.objectives[1].verdict, Verdict::Missed);
    assert_eq!(missed.objectives[1].measured_seconds, Some(2.0));

    // A failover that recorded no window: its RPO is unknown, not 0.
    let unmeasured = build(&failover(None), &[], objectives(300, 5));
    assert_eq!(unmeasured.rpo_seconds, None);
    assert_eq!(unmeasured.objectives[1].verdict, Verdict::NotMeasured);
    assert!(unmeasured.objectives_met, "unmeasured is not a miss");

    let none = build(&failover(None), &[], None);
    assert!(none.objectives.is_empty() && none.objectives_met);
}

#[test]
fn a_planned_move_without_a_recorded_window_is_judged_at_zero() {
    let mut op = failover(None);
    op.type_ = OperationType::Switchover;
    let r = build(&op, &[], objectives(300, 0));
    assert_eq!(r.rpo_seconds, Some(0.0));
    assert_eq!(r.objectives[1].verdict, Verdict::Met);
}

#[test]
fn the_controllers_recorded_judgement_of_this_operation_wins_over_todays_spec() {
    let op = failover(Some(2.0));
    let recorded = ObjectivesJudgement::judge(
        &op.id,
        Objectives {
            rto_seconds: Some(120),
            rpo_seconds: None,
        },
        op.rto_seconds,
        Some(2.0),
    );
    let r = OperationReport::build(ReportInput {
        group: "shop",
        operation: &op,
        journal: &[],
        recorded: Some(&recorded),
        objectives: objectives(300, 5),
    });
    assert_eq!(r.objectives.len(), 1, "{:?}", r.objectives);
    assert_eq!(r.objectives[0].objective_seconds, 120);
    assert_eq!(r.objectives[0].verdict, Verdict::Missed);
    assert!(!r.objectives_met);
}

#[test]
fn mutations_are_the_operations_aws_calls_with_their_outcome() {
    let r = build(&failover(Some(2.0)), &journal(), None);
    let calls: Vec<(&str, MutationOutcome, Option<&str>)> = r
        .mutations
        .iter()
        .map(|m| (m.api_operation.as_str(), m.outcome, m.step.as_deref()))
        .collect();
    assert_eq!(
        calls,
        vec![
            (
                "FailoverGlobalCluster",
                MutationOutcome::Applied,
                Some("Failover")
            ),
            (
                "UpdateService",
                MutationOutcome::Failed,
                Some("ScaleUpTarget")
            ),
        ]
    );
    assert_eq!(r.mutations[0].region.as_deref(), Some("us-west-2"));
    assert_eq!(r.mutations[0].at_seconds, 1.0);
}

#[test]
fn decisions_name_the_operator_who_asked_and_approved_and_leave_older_edits_out() {
    let r = build(&failover(Some(2.0)), &journal(), None);
    let who: Vec<(&str, DecidedBy, &str)> = r
        .decisions
        .iter()
        .map(|d| (d.actor.as_str(), d.by, d.what.as_str()))
        .collect();
    assert_eq!(
        who,
        vec![
            ("alice@laptop", DecidedBy::Operator, "FailoverRequested"),
            ("carol@host", DecidedBy::Operator, "Approved"),
        ]
    );
    assert_eq!(r.decisions[0].at_seconds, -5.0);
    assert!(r.decisions[0].why.contains("--allow-data-loss"));
}

#[test]
fn a_policy_decision_is_attributed_to_the_policy_with_its_evidence() {
    let mut decided = event(
        -2.0,
        "policy",
        "AutomaticFailover",
        "automatic failover us-east-1 -> us-west-2: rds probes failed 60 s; alarm db-down",
    );
    decided.data = Some(serde_json::json!({"by": "policy", "generation": 2}));
    let r = build(&failover(Some(1.0)), &[decided], None);
    assert_eq!(r.decisions.len(), 1);
    assert_eq!(r.decisions[0].by, DecidedBy::Policy);
    assert!(r.decisions[0].why.contains("alarm db-down"));
}

fn group(status: Option<FailoverGroupStatus>) -> FailoverGroup {
    let mut doc = drctl_schema::parse_documents(
        include_bytes!("../../../examples/failovergroup.yaml"),
        "example",
    )
    .unwrap()
    .remove(0);
    doc.status = status;
    doc
}

fn status_with(running: Option<Operation>, last: Option<Operation>) -> FailoverGroupStatus {
    FailoverGroupStatus {
        operation: running,
        last_operation: last,
        ..Default::default()
    }
}

#[test]
fn from_status_reports_the_running_operation_by_default_and_another_by_id() {
    let mut running = failover(None);
    running.id = "op-2-g3".into();
    running.state = OperationState::Running;
    let doc = group(Some(status_with(Some(running), Some(failover(Some(2.0))))));
    let latest = OperationReport::from_status(&doc, &journal(), None).unwrap();
    assert_eq!(latest.operation_id, "op-2-g3");
    assert_eq!(latest.group, "myapp-prod");
    let chosen = OperationReport::from_status(&doc, &journal(), Some("op-1-g2")).unwrap();
    assert_eq!(chosen.operation_id, "op-1-g2");
    assert_eq!(chosen.mutations.len(), 2);
}

#[test]
fn from_status_refuses_an_unknown_operation_or_a_group_without_one() {
    let doc = group(Some(status_with(None, Some(failover(Some(2.0))))));
    let err = OperationReport::from_status(&doc, &[], Some("op-9")).unwrap_err();
    assert!(matches!(err, ReportError::UnknownOperation { .. }), "{err}");
    assert!(
        err.to_string().contains("op-1-g2"),
        "names the known ones: {err}"
    );
    let err = OperationReport::from_status(&doc, &journal(), Some("op-0-g1")).unwrap_err();
    assert!(
        matches!(err, ReportError::StartNotJournaled { .. }),
        "{err}"
    );
    let err = OperationReport::from_status(&group(None), &[], None).unwrap_err();
    assert_eq!(
        err,
        ReportError::NoOperation {
            group: "myapp-prod".into()
        }
    );
}

#[test]
fn the_json_form_has_the_stable_snake_case_fields() {
    let r = build(&failover(Some(2.0)), &journal(), objectives(300, 5));
    let json = serde_json::to_value(&r).unwrap();
    for field in [
        "rto_seconds",
        "rpo_seconds",
        "objectives",
        "objectives_met",
        "steps",
        "mutations",
        "decisions",
        "critical_path",
        "operation_id",
    ] {
        assert!(json.get(field).is_some(), "{field} missing: {json:#}");
    }
    assert_eq!(json["objectives"][0]["verdict"], "met");
    assert_eq!(json["mutations"][1]["outcome"], "failed");
    assert_eq!(json["decisions"][0]["by"], "operator");
    assert_eq!(json["steps"][0]["start_seconds"], 0.0);
}

/// A report whose every user-controlled string is hostile.
fn hostile() -> OperationReport {
    let mut op = failover(Some(2.0));
    op.steps[0].detail = Some("<img onerror=alert(1)>".into());
    let mut edit = event(
        -5.0,
        "mallory\"<b>@host",
        "FailoverRequested",
        "<script>alert('x')</script> & more",
    );
    edit.data = Some(serde_json::json!({"generation": 2}));
    OperationReport::build(ReportInput {
        group: "shop<script>",
        operation: &op,
        journal: &[edit],
        recorded: None,
        objectives: objectives(300, 5),
    })
}

#[test]
fn the_html_page_has_one_bar_per_step_and_the_figures() {
    let page = render_page(&Page::single(build(
        &failover(Some(2.0)),
        &journal(),
        objectives(300, 5),
    )));
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("<svg").count(), 1);
    assert_eq!(page.matches("<rect class=\"bar").count(), 9);
    assert_eq!(
        page.matches("<rect class=\"bar succeeded critical\"")
            .count(),
        7
    );
    for name in ["Preflight", "WaitDnsInSync", "ScaleDownSource"] {
        assert!(page.contains(&format!("data-step=\"{name}\"")), "{name}");
    }
    assert!(page.contains("2m35s"), "the RTO figure");
    assert!(page.contains("<span class=\"verdict met\">met</span> objective 300 s"));
    assert!(page.contains("FailoverGlobalCluster"));
    assert!(page.contains("alice@laptop"));
}

#[test]
fn the_html_page_loads_nothing_and_runs_nothing() {
    let page = render_page(&Page::single(hostile()));
    for forbidden in [
        "<script", "src=\"", "href=\"", "http://", "https://", "<img", "<link",
    ] {
        assert!(!page.contains(forbidden), "{forbidden} in the page");
    }
    assert!(page.contains("shop&lt;script&gt;"));
    assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"));
    assert!(page.contains("mallory&quot;&lt;b&gt;@host"));
}

#[test]
fn markdown_has_the_sections_and_escapes_table_cells() {
    let md = markdown::render(&hostile());
    assert!(md.starts_with("# failovergroup/shop&lt;script>: Failover us-east-1 -> us-west-2\n"));
    for section in [
        "## Objectives",
        "## Steps",
        "## AWS mutations (0)",
        "## Who decided",
    ] {
        assert!(md.contains(section), "{section} missing:\n{md}");
    }
    assert!(md.contains("| RTO | 2m35s | 300 s | met |"), "{md}");
    assert!(
        md.contains("| Preflight | Succeeded | +0.0 s | +1.0 s | 1.0 s | yes |"),
        "{md}"
    );
    assert!(!md.contains("<script"), "{md}");
    assert_eq!(markdown::cell("a|b\nc"), "a\\|b c");
}

#[test]
fn a_run_adds_the_scripted_operators_decisions_to_the_operation_they_caused() {
    let mut back = failover(None);
    back.id = "op-2-g3".into();
    back.type_ = OperationType::Failback;
    back.generation = 3;
    back.started_at = at(1000.0);
    back.finished_at = Some(at(1400.0));
    let record = RunRecord {
        start: at(-60.0),
        operations: vec![failover(Some(2.0)), back],
        journal: journal(),
    };
    let decision = |secs: f64, by: &str, type_: &str| crate::simulation::Decision {
        at_seconds: secs,
        by: by.into(),
        type_: type_.into(),
        reason: format!("drctl failover shop ({type_})"),
    };
    let decisions = [
        decision(58.0, "operator", "Failover"),
        decision(990.0, "operator", "Failback"),
        decision(50.0, "policy", "Failover"),
    ];
    let reports = from_run("shop", objectives(300, 5), &record, &decisions);
    assert_eq!(reports.len(), 2);
    let failback: Vec<&str> = reports[1]
        .decisions
        .iter()
        .map(|d| d.what.as_str())
        .collect();
    assert_eq!(failback, vec!["Failback"]);
    assert_eq!(reports[1].decisions[0].at_seconds, -70.0);
    let first: Vec<&str> = reports[0]
        .decisions
        .iter()
        .map(|d| d.what.as_str())
        .collect();
    assert_eq!(
        first,
        vec!["FailoverRequested", "Failover", "Approved"],
        "the policy's come from the journal, not twice"
    );
    assert_eq!(reports[1].rpo_seconds, Some(0.0));
}

/// The events the planner journals for `op` (reconcile.rs journals them with its id).
fn journal_of(op: &Operation) -> Vec<Event> {
    let mut events = vec![ours(
        event(
            0.0,
            "controller/r1",
            "OperationStarted",
            "Failover us-east-1 -> us-west-2 (op-1-g2) for generation 2",
        ),
        None,
        serde_json::json!(null),
    )];
    let mut steps: Vec<&StepRecord> = op.steps.iter().collect();
    steps.reverse();
    for s in steps {
        let secs = |t: Option<Timestamp>| t.unwrap().seconds_since(at(0.0));
        let mut started = event(secs(s.started_at), "controller/r1", "StepStarted", "");
        started.message = format!("{}: running", s.name);
        let mut done = event(secs(s.finished_at), "controller/r1", "StepSucceeded", "");
        done.message = format!("{}: {} done", s.name, s.name);
        for e in [started, done] {
            events.push(ours(e, Some(s.name.as_str()), serde_json::json!(null)));
        }
    }
    events.push(ours(
        event(
            155.0,
            "controller/r1",
            "OperationSucceeded",
            "Failover us-east-1 -> us-west-2 finished in 155 s, RPO 2.0 s",
        ),
        None,
        serde_json::json!(null),
    ));
    events
}

#[test]
fn an_operation_the_status_no_longer_holds_is_rebuilt_from_its_journal() {
    // The steps of a Failover's plan, in a journal that names them in another order.
    let mut op = failover(Some(2.0));
    op.steps
        .retain(|s| !matches!(s.name, StepName::Preflight | StepName::ScaleDownSource));
    op.finished_at = Some(at(155.0));
    let mut later = failover(None);
    later.id = "op-9-g3".into();
    let doc = group(Some(status_with(None, Some(later))));
    let mut events = journal_of(&op);
    events.extend(journal());
    let rebuilt = OperationReport::from_status(&doc, &events, Some("op-1-g2")).unwrap();
    let from_status = build(&op, &events, doc.spec.objectives);
    assert_eq!(rebuilt.source, RecordSource::Journal);
    assert_eq!(rebuilt.steps, from_status.steps);
    assert_eq!(rebuilt.critical_path, from_status.critical_path);
    assert_eq!(rebuilt.rto_seconds, Some(155.0));
    assert_eq!(rebuilt.rpo_seconds, Some(2.0));
    assert_eq!(rebuilt.state, "Succeeded");
    assert_eq!(rebuilt.mutations, from_status.mutations);
    assert_eq!(rebuilt.decisions, from_status.decisions);
    let page = render_page(&Page::single(rebuilt));
    assert!(
        page.contains("rebuilt from the journal"),
        "the page says so"
    );
}
