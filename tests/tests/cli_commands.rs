//! The `drctl` binary, run as a user would, against a file store in a temporary directory:
//! apply, get, describe, diff, edit (with a scripted $EDITOR), suspend/resume, failover,
//! approve, history, delete, completion. The controller's part (status) is played by the test
//! through the store API with a lease fence, as the real controller would write it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use drctl_e2e::bin::Drctl;
use drctl_e2e::cli_env::{runtime, write_status, Env};
use drctl_schema::{
    FailoverGroupStatus, ObservedSummary, Operation, OperationState, OperationType, Phase,
    StepName, StepRecord, StepState, Timestamp,
};
use drctl_state::{FileStore, Store};

const ALIAS: &str = include_str!("../../examples/failovergroup.yaml");
const CNAME: &str = include_str!("../../examples/failovergroup-cname.yaml");

fn operation(generation: u64, steps: &[(StepName, StepState)]) -> Operation {
    Operation {
        id: "op-test-1".into(),
        type_: OperationType::Switchover,
        from: "us-east-1".into(),
        to: "us-west-2".into(),
        started_at: Timestamp::now(),
        finished_at: None,
        generation,
        state: OperationState::Running,
        steps: steps
            .iter()
            .map(|(name, state)| StepRecord {
                name: *name,
                state: *state,
                started_at: Some(Timestamp::now()),
                finished_at: None,
                detail: None,
            })
            .collect(),
        rpo_seconds: None,
        rto_seconds: None,
        notes: Default::default(),
    }
}

#[test]
fn apply_creates_then_reports_unchanged_then_configured() {
    let env = Env::new();
    let run = env.apply(ALIAS);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stdout.trim(), "failovergroup/myapp-prod created");

    let run = env.apply(ALIAS);
    assert_eq!(
        run.stdout.trim(),
        "failovergroup/myapp-prod unchanged",
        "{run}"
    );
    assert_eq!(
        env.get("myapp-prod").metadata.resource_version.as_deref(),
        Some("1")
    );

    let run = env.apply(&ALIAS.replace("maxLagSeconds: 5", "maxLagSeconds: 8"));
    assert_eq!(
        run.stdout.trim(),
        "failovergroup/myapp-prod configured",
        "{run}"
    );
    let doc = env.get("myapp-prod");
    assert_eq!(doc.spec.max_lag_seconds, 8);
    assert_eq!(doc.metadata.generation, Some(2));
}

#[test]
fn apply_reads_multi_document_input_from_stdin() {
    let env = Env::new();
    let input = format!("{ALIAS}---\n{CNAME}");
    let run = env
        .drctl
        .run_with_stdin(&["apply", "-f", "-"], Some(input.as_bytes()));
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        run.stdout,
        "failovergroup/myapp-prod created\nfailovergroup/orders-prod created\n"
    );
}

#[test]
fn apply_ignores_status_in_the_input() {
    let env = Env::new();
    let run = env.apply(&format!(
        "{ALIAS}status:\n  phase: Converged\n  observedGeneration: 9\n"
    ));
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(env.get("myapp-prod").status, None);
}

#[test]
fn apply_with_a_stale_resource_version_is_a_conflict_and_writes_nothing() {
    let env = Env::new();
    env.apply(ALIAS);
    env.apply(&ALIAS.replace("maxLagSeconds: 5", "maxLagSeconds: 6"));
    let stale = ALIAS
        .replace(
            "  name: myapp-prod\n",
            "  name: myapp-prod\n  resourceVersion: \"1\"\n",
        )
        .replace("maxLagSeconds: 5", "maxLagSeconds: 7");
    let run = env.apply(&stale);
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("you had resourceVersion 1, the store has 2"),
        "{run}"
    );
    assert!(run.stderr.contains("drctl get myapp-prod -o yaml"), "{run}");
    assert_eq!(env.get("myapp-prod").spec.max_lag_seconds, 6);
}

#[test]
fn apply_with_the_current_resource_version_wins() {
    let env = Env::new();
    env.apply(ALIAS);
    let current = ALIAS
        .replace(
            "  name: myapp-prod\n",
            "  name: myapp-prod\n  resourceVersion: \"1\"\n",
        )
        .replace("maxLagSeconds: 5", "maxLagSeconds: 7");
    let run = env.apply(&current);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(env.get("myapp-prod").spec.max_lag_seconds, 7);
}

#[test]
fn get_lists_a_table_and_kubectl_style_lists() {
    let env = Env::new();
    let run = env.run(&["get"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains("No resources found"), "{run}");
    env.apply(&format!("{ALIAS}---\n{CNAME}"));

    let run = env.ok(&["get"]);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("WRITER") && lines[0].contains("PHASE")
    );
    assert!(
        lines[1].starts_with("myapp-prod")
            && lines[1].contains("us-east-1")
            && lines[1].contains("Pending")
    );
    assert!(lines[2].starts_with("orders-prod") && lines[2].contains("eu-west-1"));

    let list: serde_json::Value =
        serde_json::from_str(&env.ok(&["get", "-o", "json"]).stdout).unwrap();
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"][1]["metadata"]["name"], "orders-prod");

    let yaml = env.ok(&["get", "-o", "yaml"]).stdout;
    assert!(
        yaml.starts_with("apiVersion: v1\nkind: List\nitems:\n"),
        "{yaml}"
    );

    let one = env.ok(&["get", "myapp-prod", "-o", "yaml"]).stdout;
    let reparsed = drctl_schema::parse_documents(one.as_bytes(), "out").unwrap();
    assert_eq!(reparsed[0].spec.writer, "us-east-1");
    // Stable key order for scripts: the document's own field order, twice the same bytes.
    assert_eq!(one, env.ok(&["get", "myapp-prod", "-o", "yaml"]).stdout);
    assert!(one.find("apiVersion").unwrap() < one.find("spec:").unwrap());
}

#[test]
fn get_of_a_missing_group_exits_1() {
    let env = Env::new();
    let run = env.run(&["get", "nope"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("failovergroup/nope not found"), "{run}");
}

#[test]
fn a_malformed_store_url_is_invalid_usage() {
    let env = Env::new();
    let run = Drctl::new("s3://bucket").unwrap().run(&["get"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("s3://bucket"), "{run}");
    drop(env);
}

#[test]
fn describe_shows_spec_against_observed_conditions_operation_and_events() {
    let env = Env::new();
    env.apply(ALIAS);
    let status = FailoverGroupStatus {
        observed_generation: 1,
        phase: Phase::Progressing,
        observed: Some(ObservedSummary {
            writer: Some("us-east-1".into()),
            dns_owner: Some("us-east-1".into()),
            replication_lag_seconds: Some(0.4),
            ..Default::default()
        }),
        operation: Some(operation(
            1,
            &[
                (StepName::Preflight, StepState::Succeeded),
                (StepName::ScaleUpTarget, StepState::Running),
                (StepName::Switchover, StepState::Pending),
            ],
        )),
        ..Default::default()
    };
    write_status(&env.store(), "myapp-prod", &status);
    let out = env.ok(&["describe", "myapp-prod"]).stdout;
    for needle in [
        "Name:              myapp-prod",
        "Phase:             Progressing",
        "Spec vs Observed:",
        "writer",
        "0.4s",
        "service api in us-west-2",
        "Operation:",
        "Switchover us-east-1 -> us-west-2",
        "ScaleUpTarget",
        "Running",
        "Events:",
        "SpecApplied",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    let table = env.ok(&["get"]).stdout;
    assert!(table.contains("Switchover 1/3 ScaleUpTarget"), "{table}");
    assert!(!out.contains("Warning:"), "{out}");
}

#[test]
fn describe_warns_while_allow_data_loss_is_left_on_after_a_failover() {
    let env = Env::new();
    env.apply(ALIAS);
    env.ok(&[
        "failover",
        "myapp-prod",
        "--to",
        "us-west-2",
        "--allow-data-loss",
    ]);
    let out = env.ok(&["describe", "myapp-prod"]).stdout;
    assert!(
        out.contains("Warning:           spec.allowDataLoss is still true"),
        "{out}"
    );
    env.apply(ALIAS);
    let out = env.ok(&["describe", "myapp-prod"]).stdout;
    assert!(!out.contains("allowDataLoss is still true"), "{out}");
}

#[test]
fn diff_exits_above_1_when_it_cannot_tell_so_an_error_never_reads_as_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("x.yaml");
    std::fs::write(&doc, ALIAS).unwrap();
    // A store that does not answer (nothing listens on the port): diff cannot compare,
    // which is not "a change".
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = Drctl::new("dynamodb://drctl")
        .unwrap()
        .envs([
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_MAX_ATTEMPTS", "1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ])
        .run(&["diff", "-f", doc.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stdout.is_empty(), "{run}");
}

#[test]
fn diff_exits_0_without_change_1_with_change_and_2_on_invalid_input() {
    let env = Env::new();
    let path = env.file("x.yaml", ALIAS);
    let p = &path;
    let run = env.run(&["diff", "-f", p]);
    assert_eq!(run.code, 1, "a new group is a change: {run}");
    assert!(run.stdout.contains("--- /dev/null"), "{run}");
    assert!(run.stdout.contains("start managing the group"), "{run}");

    env.apply(ALIAS);
    let run = env.run(&["diff", "-f", p]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stdout, "");

    let changed = env.file(
        "y.yaml",
        &ALIAS
            .replace("writer: us-east-1", "writer: us-west-2")
            .replace("dnsOwner: us-east-1", "dnsOwner: us-west-2"),
    );
    let run = env.run(&["diff", "-f", &changed]);
    assert_eq!(run.code, 1, "{run}");
    // A changed block reads as in GNU diff: the removed lines, then the added ones.
    assert!(
        run.stdout.contains(
            "-  writer: us-east-1\n-  dnsOwner: us-east-1\n+  writer: us-west-2\n+  dnsOwner: us-west-2"
        ),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("move the Aurora writer of myapp-prod-global from us-east-1 to us-west-2"),
        "{run}"
    );
    assert!(run.stdout.contains("move DNS A api.example.com."), "{run}");
    assert_eq!(env.get("myapp-prod").spec.writer, "us-east-1", "diff wrote");

    // --cloud sim: the calls the controller's first pass would make, from the same planner,
    // against a world built as the group was last observed. Still nothing is written.
    let before = env.run(&["get", "myapp-prod", "-o", "json"]).stdout;
    let run = env.run(&["diff", "-f", &changed, "--cloud", "sim"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stdout
            .contains("# first AWS calls (sim, nothing is changed by diff):"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("[Switchover] switchover global cluster myapp-prod-global"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("[ScaleUpTarget] set desired count of ECS service"),
        "{run}"
    );
    assert_eq!(
        env.run(&["get", "myapp-prod", "-o", "json"]).stdout,
        before,
        "diff --cloud sim wrote"
    );

    let bad = env.file(
        "z.yaml",
        &ALIAS.replace("writer: us-east-1", "writer: eu-west-9"),
    );
    let run = env.run(&["diff", "-f", &bad]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr
            .contains("spec.writer: \"eu-west-9\" is not one of spec.regions"),
        "{run}"
    );

    let immutable = env.file("w.yaml", &ALIAS.replace("Z0123456789ABCDEFGHIJ", "Z42"));
    let run = env.run(&["diff", "-f", &immutable]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr
            .contains("spec.dns.hostedZoneId: field is immutable"),
        "{run}"
    );
}

#[test]
fn edit_with_a_scripted_editor_saves_a_valid_change() {
    let env = Env::new();
    env.apply(ALIAS);
    let editor = env.editor(
        "ed.sh",
        r#"sed -i 's/maxLagSeconds: 5/maxLagSeconds: 9/' "$1""#,
    );
    let run = env
        .drctl
        .clone()
        .env("EDITOR", editor)
        .run(&["edit", "myapp-prod"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("failovergroup/myapp-prod edited"),
        "{run}"
    );
    assert_eq!(env.get("myapp-prod").spec.max_lag_seconds, 9);
    let history = env.ok(&["history", "myapp-prod"]).stdout;
    assert!(
        history.contains("SpecEdited") && history.contains("tester@testhost"),
        "{history}"
    );
    assert!(history.contains("spec.maxLagSeconds: 5 -> 9"), "{history}");
}

#[test]
fn edit_saved_unchanged_is_cancelled() {
    let env = Env::new();
    env.apply(ALIAS);
    let editor = env.editor("noop.sh", "true");
    let run = env
        .drctl
        .clone()
        .env("EDITOR", editor)
        .run(&["edit", "myapp-prod"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stdout.trim(), "Edit cancelled, no changes made.");
    assert_eq!(
        env.get("myapp-prod").metadata.resource_version.as_deref(),
        Some("1")
    );
}

#[test]
fn edit_reopens_an_invalid_edit_with_the_error_then_saves_the_fix() {
    let env = Env::new();
    env.apply(ALIAS);
    let seen = env.dir.path().join("seen.txt");
    // First round: an invalid writer. Second round: record what the editor showed, fix it.
    let editor = env.editor(
        "twice.sh",
        &format!(
            r#"if [ ! -f {marker} ]; then
  touch {marker}
  sed -i 's/^  writer: us-east-1/  writer: eu-west-9/' "$1"
else
  cp "$1" {seen}
  sed -i 's/^  writer: eu-west-9/  writer: us-west-2/; s/^  dnsOwner: us-east-1/  dnsOwner: us-west-2/' "$1"
fi"#,
            marker = env.dir.path().join("marker").display(),
            seen = seen.display()
        ),
    );
    let run = env
        .drctl
        .clone()
        .env("EDITOR", editor)
        .run(&["edit", "myapp-prod"]);
    assert_eq!(run.code, 0, "{run}");
    let shown = std::fs::read_to_string(&seen).unwrap();
    assert!(
        shown.starts_with("# failovergroup/myapp-prod was not saved:\n"),
        "{shown}"
    );
    assert!(
        shown.contains("# edited failovergroup/myapp-prod: document 1 (myapp-prod): spec.writer: \"eu-west-9\" is not one of spec.regions [us-east-1, us-west-2]"),
        "{shown}"
    );
    assert!(
        shown.contains("\n  writer: eu-west-9\n"),
        "the user's text was kept: {shown}"
    );
    let doc = env.get("myapp-prod");
    assert_eq!(doc.spec.writer, "us-west-2");
    assert_eq!(doc.spec.dns_owner(), "us-west-2");
}

#[test]
fn edit_saved_invalid_twice_unchanged_gives_up_with_exit_2() {
    let env = Env::new();
    env.apply(ALIAS);
    let editor = env.editor(
        "bad.sh",
        r#"sed -i 's/^  writer: us-east-1/  writer: eu-west-9/' "$1""#,
    );
    let run = env
        .drctl
        .clone()
        .env("EDITOR", editor)
        .run(&["edit", "myapp-prod"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("spec.writer"), "{run}");
    assert_eq!(env.get("myapp-prod").spec.writer, "us-east-1");
}

#[test]
fn edit_aborts_when_the_editor_fails() {
    let env = Env::new();
    env.apply(ALIAS);
    let editor = env.editor(
        "fail.sh",
        r#"sed -i 's/maxLagSeconds: 5/maxLagSeconds: 9/' "$1"; exit 3"#,
    );
    let run = env
        .drctl
        .clone()
        .env("EDITOR", editor)
        .run(&["edit", "myapp-prod"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("edit aborted"), "{run}");
    assert_eq!(env.get("myapp-prod").spec.max_lag_seconds, 5);
}

/// An $EDITOR that, the first time, runs `concurrently` (another drctl command, landing
/// between the editor opening and the save) and then `edit`; later rounds copy what they were
/// shown to `seen.txt` and run `again`. Every round appends a line to `rounds.txt`.
fn racing_editor(env: &Env, concurrently: &str, edit: &str, again: &str) -> String {
    let dir = env.dir.path();
    let bin = drctl_e2e::bin::drctl_path().unwrap();
    env.editor(
        "race.sh",
        &format!(
            r#"echo round >> {rounds}
if [ ! -f {marker} ]; then
  touch {marker}
  {bin} --store {store} {concurrently} >/dev/null
  {edit}
else
  cp "$1" {seen}
  {again}
fi"#,
            rounds = dir.join("rounds.txt").display(),
            marker = dir.join("marker").display(),
            bin = bin.display(),
            store = env.drctl.store(),
            seen = dir.join("seen.txt").display(),
        ),
    )
}

fn editor_rounds(env: &Env) -> usize {
    std::fs::read_to_string(env.dir.path().join("rounds.txt"))
        .unwrap()
        .lines()
        .count()
}

fn history_json(env: &Env) -> Vec<serde_json::Value> {
    let out = env.ok(&["history", "myapp-prod", "-o", "json"]).stdout;
    serde_json::from_str::<serde_json::Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn edit_beaten_by_a_concurrent_write_merges_and_says_what_changed() {
    let env = Env::new();
    env.apply(ALIAS);
    let other = env.file(
        "other.yaml",
        &ALIAS.replace("maxLagSeconds: 5", "maxLagSeconds: 7"),
    );
    let editor = racing_editor(
        &env,
        &format!("apply -f {}", other),
        r#"sed -i 's/suspended: false/suspended: true/' "$1""#,
        "true",
    );
    let run = env
        .drctl
        .clone()
        .env("EDITOR", editor)
        .run(&["edit", "myapp-prod"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("was modified concurrently"), "{run}");
    assert!(
        run.stdout
            .contains("Changed meanwhile:\n  spec.maxLagSeconds: 5 -> 7"),
        "{run}"
    );
    assert_eq!(
        editor_rounds(&env),
        1,
        "a clean merge needs no second round"
    );
    let doc = env.get("myapp-prod");
    assert!(doc.spec.suspended, "the edit was applied on top");
    assert_eq!(
        doc.spec.max_lag_seconds, 7,
        "the concurrent change the user did not touch is kept"
    );
}

#[test]
fn edit_saved_after_a_concurrent_failover_keeps_the_new_writer() {
    let env = Env::new();
    env.apply(ALIAS);
    // The user changes only maxLagSeconds while someone fails over. A second round (which
    // the old rebase showed, with the old writer in it) is saved as shown.
    let editor = racing_editor(
        &env,
        "failover myapp-prod --to us-west-2",
        r#"sed -i 's/maxLagSeconds: 5/maxLagSeconds: 9/' "$1""#,
        "true",
    );
    let run = env
        .drctl
        .clone()
        .env("EDITOR", editor)
        .run(&["edit", "myapp-prod"]);
    assert_eq!(run.code, 0, "{run}");
    let doc = env.get("myapp-prod");
    assert_eq!(
        doc.spec.writer, "us-west-2",
        "the failover was undone: {run}"
    );
    assert_eq!(doc.spec.dns_owner.as_deref(), Some("us-west-2"));
    assert_eq!(doc.spec.max_lag_seconds, 9);
    assert!(
        run.stdout.contains("spec.writer: us-east-1 -> us-west-2"),
        "{run}"
    );
    let events = history_json(&env);
    for event in &events {
        let text = event.to_string();
        assert!(
            !text.contains("spec.writer: us-west-2 -> us-east-1"),
            "the journal shows the failover reverted: {text}"
        );
    }
    let edited = events.last().unwrap();
    assert_eq!(edited["reason"], "SpecEdited");
    assert_eq!(
        edited["data"]["changes"],
        serde_json::json!(["spec.maxLagSeconds: 5 -> 9"])
    );
}

#[test]
fn edit_saved_after_a_concurrent_suspend_keeps_the_group_suspended() {
    let env = Env::new();
    env.apply(ALIAS);
    let editor = racing_editor(
        &env,
        "suspend myapp-prod",
        r#"sed -i 's/maxLagSeconds: 5/maxLagSeconds: 9/' "$1""#,
        "true",
    );
    let run = env
        .drctl
        .clone()
        .env("EDITOR", editor)
        .run(&["edit", "myapp-prod"]);
    assert_eq!(run.code, 0, "{run}");
    let doc = env.get("myapp-prod");
    assert!(doc.spec.suspended, "the edit resumed the group: {run}");
    assert_eq!(doc.spec.max_lag_seconds, 9);
    let history = history_json(&env);
    assert!(
        history
            .iter()
            .all(|e| !e.to_string().contains("spec.suspended: true -> false")),
        "{history:#?}"
    );
}

#[test]
fn edit_conflicting_with_a_concurrent_change_of_the_same_field_shows_three_values_and_exits_3_unresolved(
) {
    let env = Env::new();
    env.apply(ALIAS);
    let other = env.file(
        "other.yaml",
        &ALIAS.replace("maxLagSeconds: 5", "maxLagSeconds: 7"),
    );
    let editor = racing_editor(
        &env,
        &format!("apply -f {}", other),
        r#"sed -i 's/maxLagSeconds: 5/maxLagSeconds: 9/; s/suspended: false/suspended: true/' "$1""#,
        "true",
    );
    let run = env
        .drctl
        .clone()
        .env("EDITOR", editor)
        .run(&["edit", "myapp-prod"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("spec.maxLagSeconds"), "{run}");
    let shown = std::fs::read_to_string(env.dir.path().join("seen.txt")).unwrap();
    assert!(
        shown.contains(
            "#   spec.maxLagSeconds: you were shown 5, you saved 9, now 7 (changed by tester@testhost with SpecApplied at "
        ),
        "{shown}"
    );
    // The reopened text is the current version with the user's other change applied.
    assert!(shown.contains("\n  maxLagSeconds: 7\n"), "{shown}");
    assert!(shown.contains("\n  suspended: true\n"), "{shown}");
    let doc = env.get("myapp-prod");
    assert_eq!(doc.spec.max_lag_seconds, 7, "nothing may be written");
    assert!(!doc.spec.suspended, "nothing may be written");
}

#[test]
fn edit_conflict_resolved_in_the_reopened_editor_is_saved_with_the_other_changes() {
    let env = Env::new();
    env.apply(ALIAS);
    let other = env.file(
        "other.yaml",
        &ALIAS.replace("maxLagSeconds: 5", "maxLagSeconds: 7"),
    );
    let editor = racing_editor(
        &env,
        &format!("apply -f {}", other),
        r#"sed -i 's/maxLagSeconds: 5/maxLagSeconds: 9/; s/suspended: false/suspended: true/' "$1""#,
        r#"sed -i 's/maxLagSeconds: 7/maxLagSeconds: 8/' "$1""#,
    );
    let run = env
        .drctl
        .clone()
        .env("EDITOR", editor)
        .run(&["edit", "myapp-prod"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(editor_rounds(&env), 2);
    let doc = env.get("myapp-prod");
    assert_eq!(doc.spec.max_lag_seconds, 8);
    assert!(doc.spec.suspended);
    let edited = history_json(&env).last().unwrap().clone();
    assert_eq!(
        edited["data"]["changes"],
        serde_json::json!([
            "spec.maxLagSeconds: 7 -> 8",
            "spec.suspended: false -> true"
        ])
    );
}

#[test]
fn suspend_and_resume_flip_the_flag_and_are_journaled() {
    let env = Env::new();
    env.apply(ALIAS);
    assert_eq!(
        env.ok(&["suspend", "myapp-prod"]).stdout.trim(),
        "failovergroup/myapp-prod suspended"
    );
    assert!(env.get("myapp-prod").spec.suspended);
    assert!(env
        .ok(&["suspend", "myapp-prod"])
        .stdout
        .contains("unchanged"));
    assert_eq!(
        env.ok(&["resume", "myapp-prod"]).stdout.trim(),
        "failovergroup/myapp-prod resumed"
    );
    assert!(!env.get("myapp-prod").spec.suspended);
    let history = env.ok(&["history", "myapp-prod"]).stdout;
    let reasons: Vec<&str> = history
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["SpecApplied", "Suspended", "Resumed"],
        "{history}"
    );
    assert_eq!(env.run(&["suspend", "nope"]).code, 1);
}

#[test]
fn failover_sets_writer_and_dns_owner_and_refuses_unknown_regions() {
    let env = Env::new();
    env.apply(ALIAS);
    let run = env.run(&["failover", "myapp-prod", "--to", "eu-west-1"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("not one of spec.regions"), "{run}");

    let run = env.ok(&[
        "failover",
        "myapp-prod",
        "--to",
        "us-west-2",
        "--allow-data-loss",
    ]);
    assert!(
        run.stdout.contains("writer us-east-1 -> us-west-2"),
        "{run}"
    );
    let doc = env.get("myapp-prod");
    assert_eq!(doc.spec.writer, "us-west-2");
    assert_eq!(doc.spec.dns_owner.as_deref(), Some("us-west-2"));
    assert!(doc.spec.allow_data_loss);
    let history = env.ok(&["history", "myapp-prod", "-o", "json"]).stdout;
    let events: serde_json::Value = serde_json::from_str(&history).unwrap();
    let last = events.as_array().unwrap().last().unwrap();
    assert_eq!(last["reason"], "FailoverRequested");
    assert_eq!(last["actor"], "tester@testhost");
}

/// Plays the controller for `failover --wait`: waits for the new generation, then walks an
/// operation through its steps, one status write at a time.
fn play_controller(store: &FileStore, name: &str, end: Phase) {
    let rt = runtime();
    rt.block_on(async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let doc = store.get(name).await.unwrap().unwrap();
            if doc.metadata.generation == Some(2) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "failover never written"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    });
    let steps = [StepName::Preflight, StepName::Switchover, StepName::MoveDns];
    let mut states: Vec<(StepName, StepState)> =
        steps.iter().map(|s| (*s, StepState::Pending)).collect();
    for i in 0..steps.len() {
        states[i].1 = StepState::Running;
        let status = FailoverGroupStatus {
            observed_generation: 2,
            phase: Phase::Progressing,
            operation: Some(operation(2, &states)),
            ..Default::default()
        };
        write_status(store, name, &status);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        states[i].1 = StepState::Succeeded;
    }
    let mut done = operation(2, &states);
    done.state = OperationState::Succeeded;
    done.rto_seconds = Some(42.0);
    let mut status = FailoverGroupStatus {
        observed_generation: 2,
        phase: end,
        last_operation: Some(done),
        ..Default::default()
    };
    if end == Phase::Blocked {
        status.conditions.push(drctl_schema::Condition {
            type_: "Ready".into(),
            status: drctl_schema::ConditionStatus::False,
            reason: "DataLossNotAllowed".into(),
            message: "us-east-1 is impaired; set allowDataLoss".into(),
            last_transition_time: Timestamp::now(),
        });
    }
    write_status(store, name, &status);
}

#[test]
fn failover_wait_prints_step_transitions_until_converged() {
    let env = Env::new();
    env.apply(ALIAS);
    let store = env.store();
    let controller =
        std::thread::spawn(move || play_controller(&store, "myapp-prod", Phase::Converged));
    let run = env.run(&[
        "failover",
        "myapp-prod",
        "--to",
        "us-west-2",
        "--wait",
        "--timeout",
        "60",
    ]);
    controller.join().unwrap();
    assert_eq!(run.code, 0, "{run}");
    for needle in [
        "Switchover Preflight Running",
        "Switchover Preflight Succeeded",
        "Switchover MoveDns Running",
        "converged: writer us-west-2",
        "RTO 42.0s",
    ] {
        assert!(run.stdout.contains(needle), "missing {needle:?}: {run}");
    }
}

#[test]
fn failover_wait_exits_1_with_the_reason_when_blocked() {
    let env = Env::new();
    env.apply(ALIAS);
    let store = env.store();
    let controller =
        std::thread::spawn(move || play_controller(&store, "myapp-prod", Phase::Blocked));
    let run = env.run(&[
        "failover",
        "myapp-prod",
        "--to",
        "us-west-2",
        "--wait",
        "--timeout",
        "60",
    ]);
    controller.join().unwrap();
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr
            .contains("Blocked: DataLossNotAllowed: us-east-1 is impaired"),
        "{run}"
    );
}

#[test]
fn failover_wait_times_out_with_exit_1() {
    let env = Env::new();
    env.apply(ALIAS);
    let run = env.run(&[
        "failover",
        "myapp-prod",
        "--to",
        "us-west-2",
        "--wait",
        "--timeout",
        "1",
    ]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("timed out after 1s"), "{run}");
}

#[test]
fn failover_wait_without_a_controller_says_the_new_generation_is_not_picked_up() {
    let env = Env::new();
    env.apply(ALIAS);
    // A controller converged generation 1 and then stopped.
    let status = FailoverGroupStatus {
        observed_generation: 1,
        phase: Phase::Converged,
        ..Default::default()
    };
    write_status(&env.store(), "myapp-prod", &status);
    let run = env.run(&[
        "failover",
        "myapp-prod",
        "--to",
        "us-west-2",
        "--wait",
        "--timeout",
        "2",
    ]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stdout.contains(
            "waiting for the controller to pick up generation 2 (the status shown is of generation 1)"
        ),
        "{run}"
    );
    assert!(
        !run.stdout.contains("phase Converged"),
        "the previous generation's phase read as this failover's: {run}"
    );
    assert!(run.stderr.contains("timed out after 2s"), "{run}");
    assert!(
        run.stderr
            .contains("no controller picked up generation 2 (is `drctl controller` running"),
        "{run}"
    );
}

#[test]
fn approve_refuses_an_operation_the_spec_no_longer_asks_for_and_names_who_changed_it() {
    let env = Env::new();
    env.apply(ALIAS);
    env.ok(&["failover", "myapp-prod", "--to", "us-west-2"]);
    let status = FailoverGroupStatus {
        observed_generation: 2,
        phase: Phase::WaitingForApproval,
        operation: Some(operation(
            2,
            &[
                (StepName::SnapshotStale, StepState::Succeeded),
                (StepName::AwaitApproval, StepState::Running),
                (StepName::DeleteStale, StepState::Pending),
            ],
        )),
        ..Default::default()
    };
    let store = env.store();
    write_status(&store, "myapp-prod", &status);
    // Someone moves the writer back before the approver acts.
    env.ok(&["failover", "myapp-prod", "--to", "us-east-1"]);
    let run = env.run(&["approve", "myapp-prod"]);
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr.contains(
            "spec.writer: read us-east-1, operation op-test-1 moves it to us-west-2, now us-east-1 (changed by tester@testhost with FailoverRequested"
        ),
        "{run}"
    );
    assert!(run.stderr.contains("nothing was approved"), "{run}");
    let record = runtime()
        .block_on(store.approval("myapp-prod", "op-test-1"))
        .unwrap();
    assert_eq!(record, None);
}

#[test]
fn approve_only_when_a_step_awaits_approval() {
    let env = Env::new();
    env.apply(ALIAS);
    let run = env.run(&["approve", "myapp-prod"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("nothing to approve"), "{run}");

    let status = FailoverGroupStatus {
        observed_generation: 1,
        phase: Phase::WaitingForApproval,
        operation: Some(operation(
            1,
            &[
                (StepName::SnapshotStale, StepState::Succeeded),
                (StepName::AwaitApproval, StepState::Running),
                (StepName::DeleteStale, StepState::Pending),
            ],
        )),
        ..Default::default()
    };
    let store = env.store();
    write_status(&store, "myapp-prod", &status);
    let run = env.ok(&["approve", "myapp-prod"]);
    assert!(
        run.stdout.contains("approved") && run.stdout.contains("next: DeleteStale"),
        "{run}"
    );
    let record = runtime()
        .block_on(store.approval("myapp-prod", "op-test-1"))
        .unwrap()
        .unwrap();
    assert_eq!(record.approved_by, "tester@testhost");
    // A repeat changes nothing: the first approval stands, and it is journaled once.
    let again = env.ok(&["approve", "myapp-prod"]);
    assert!(
        again.stdout.contains("already approved by tester@testhost"),
        "{again}"
    );
    let approved: Vec<_> = runtime()
        .block_on(store.events("myapp-prod"))
        .unwrap()
        .into_iter()
        .filter(|e| e.reason == "Approved")
        .collect();
    assert_eq!(approved.len(), 1, "{approved:?}");
    assert_eq!(approved[0].operation_id.as_deref(), Some("op-test-1"));
    assert!(env
        .ok(&["history", "myapp-prod"])
        .stdout
        .contains("Approved"));
}

#[test]
fn delete_removes_the_group_but_keeps_its_history() {
    let env = Env::new();
    env.apply(ALIAS);
    assert_eq!(
        env.ok(&["delete", "myapp-prod"]).stdout.trim(),
        "failovergroup/myapp-prod deleted"
    );
    assert_eq!(env.run(&["get", "myapp-prod"]).code, 1);
    assert_eq!(env.run(&["delete", "myapp-prod"]).code, 1);
    let history = env.ok(&["history", "myapp-prod"]).stdout;
    assert!(
        history.contains("SpecApplied") && history.contains("Deleted"),
        "{history}"
    );
    assert_eq!(env.run(&["history", "never-existed"]).code, 1);
}

#[test]
fn init_is_idempotent() {
    let env = Env::new();
    let fresh = Drctl::new(format!("file://{}", env.dir.path().join("fresh").display())).unwrap();
    let run = |args: &[&str]| {
        let run = fresh.run(args);
        assert_eq!(run.code, 0, "{run}");
        run.stdout
    };
    assert!(run(&["init"]).contains("created"));
    assert!(run(&["init"]).contains("already exists"));
    assert!(env.ok(&["init"]).stdout.contains("already exists"));
}

#[test]
fn completion_scripts_mention_the_commands() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = env.ok(&["completion", shell]).stdout;
        assert!(
            out.contains("failover") && out.contains("approve"),
            "{shell}"
        );
    }
}

#[test]
fn shipped_examples_apply_cleanly() {
    let env = Env::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for example in [
        "failovergroup.yaml",
        "failovergroup-cname.yaml",
        "failovergroup-rds.yaml",
    ] {
        let run = env.run(&["apply", "-f", root.join(example).to_str().unwrap()]);
        assert_eq!(run.code, 0, "{example}: {run}");
    }
}

/// A mistyped path must not read as an empty store (exit 0, "No resources found"), nor be
/// turned into one by a write: exit 1, naming the path and `drctl init`.
#[test]
fn commands_on_a_path_that_is_not_a_store_fail_naming_it_and_suggesting_init() {
    let env = Env::new();
    let missing = env.dir.path().join("typo");
    let example = env.file("example.yaml", ALIAS);
    for url in [
        "file:///etc/passwd".to_string(),
        format!("file://{}", missing.display()),
    ] {
        let drctl = Drctl::new(&url).unwrap();
        for args in [
            vec!["get"],
            vec!["history", "myapp-prod"],
            vec!["apply", "-f", &example],
            vec!["delete", "myapp-prod"],
        ] {
            let run = drctl.run(&args);
            assert_eq!(run.code, 1, "{url} {args:?}: {run}");
            assert!(run.stderr.contains(&url), "{url} {args:?}: {run}");
            assert!(run.stderr.contains("not a drctl store"), "{run}");
            assert!(run.stderr.contains("init"), "{run}");
        }
    }
    assert!(
        !missing.exists(),
        "a command other than init created the store"
    );
    let created = Drctl::new(format!("file://{}", missing.display()))
        .unwrap()
        .run(&["init"]);
    assert_eq!(created.code, 0, "{created}");
}

/// One damaged record must not take the others down: `get` lists the rest and names the bad
/// one (exit 1, partial results, as kubectl), `describe` shows it, `delete` removes it.
#[test]
fn a_damaged_record_is_named_while_the_others_are_served_and_describe_and_delete_work() {
    let env = Env::new();
    assert_eq!(env.apply(ALIAS).code, 0);
    assert_eq!(env.apply(CNAME).code, 0);
    // A group whose spec file was damaged (a disk error, a hand edit) after it was applied.
    let orders = env.dir.path().join("store/groups/orders-prod.json");
    let spec = env.dir.path().join("store/groups/broken.json");
    std::fs::copy(&orders, &spec).unwrap();
    std::fs::write(&spec, b"{ \"metadata\": ").unwrap();
    let event = env.dir.path().join("store/journal/broken");
    std::fs::create_dir_all(&event).unwrap();
    std::fs::copy(
        env.dir
            .path()
            .join("store/journal/orders-prod/00000000000000000001.json"),
        event.join("00000000000000000001.json"),
    )
    .unwrap();

    let run = env.run(&["get"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stdout.contains("myapp-prod") && run.stdout.contains("orders-prod"),
        "{run}"
    );
    assert!(!run.stdout.contains("broken"), "{run}");
    assert!(run.stderr.contains("failovergroup/broken"), "{run}");
    assert!(run.stderr.contains(&spec.display().to_string()), "{run}");
    let listed = env.run(&["get", "-o", "json"]);
    assert_eq!(listed.code, 1, "{listed}");
    let items: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(items["items"].as_array().unwrap().len(), 2, "{listed}");

    let described = env.run(&["describe", "broken"]);
    assert_eq!(described.code, 0, "{described}");
    assert!(described.stdout.contains("Damaged Records:"), "{described}");
    assert!(
        described.stdout.contains(&spec.display().to_string()),
        "{described}"
    );
    assert!(
        described.stdout.contains("SpecApplied"),
        "the journal: {described}"
    );

    env.ok(&["delete", "broken"]);
    let run = env.ok(&["get"]);
    assert!(run.stderr.is_empty(), "{run}");
    let history = env.ok(&["history", "broken", "-o", "json"]);
    assert!(history.stdout.contains("Deleted"), "{history}");
}

/// A spec change and its journal event are one write: when the event cannot be written, the
/// change is not saved either (it used to be saved, exit 0, with a warning).
#[test]
fn a_change_whose_journal_event_cannot_be_written_is_not_saved() {
    let env = Env::new();
    env.apply(ALIAS);
    let journal = env.dir.path().join("store/journal/myapp-prod");
    std::fs::remove_dir_all(&journal).unwrap();
    std::fs::write(&journal, b"not a directory").unwrap();

    let run = env.run(&["failover", "myapp-prod", "--to", "us-west-2"]);
    assert_eq!(run.code, 1, "{run}");
    let changed = env.apply(&ALIAS.replacen("maxLagSeconds: 5", "maxLagSeconds: 9", 1));
    assert_eq!(changed.code, 1, "{changed}");
    let stored = env.get("myapp-prod");
    assert_eq!(stored.spec.writer, "us-east-1", "saved without its event");
    assert_eq!(stored.spec.max_lag_seconds, 5, "saved without its event");
    assert_eq!(stored.metadata.resource_version.as_deref(), Some("1"));
}

/// Run `drctl ARGS` with the read end of its stdout pipe closed before it writes a byte, as
/// `drctl ARGS | head` does once head has read enough.
fn run_into_a_closed_pipe(env: &Env, args: &[&str]) -> (Option<i32>, String) {
    use std::io::Read;
    use std::process::Stdio;
    let mut cmd = env.drctl.command(args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code(), stderr)
}

#[test]
fn a_closed_stdout_pipe_ends_demo_get_and_completion_quietly_without_a_panic() {
    let env = Env::new();
    assert_eq!(env.apply(ALIAS).code, 0);
    for args in [
        &["demo"][..],
        &["get", "-o", "json"][..],
        &["get", "-o", "yaml"][..],
        &["completion", "fish"][..],
        &["schema"][..],
        &["history", "myapp-prod"][..],
    ] {
        let (code, stderr) = run_into_a_closed_pipe(&env, args);
        assert_eq!(code, Some(0), "drctl {args:?} into a closed pipe: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "drctl {args:?}: {stderr}"
        );
    }
}

#[test]
fn iam_policy_refuses_an_account_that_is_not_twelve_digits_naming_the_flag() {
    let env = Env::new();
    assert_eq!(env.apply(ALIAS).code, 0);
    let run = env.run(&["iam-policy", "myapp-prod", "--account", "notanaccount"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("--account"), "{run}");
    assert!(run.stderr.contains("12 digits"), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    let ok = env.ok(&["iam-policy", "myapp-prod", "--account", "111122223333"]);
    assert!(ok.stdout.contains("111122223333"), "{ok}");
}

#[test]
fn plan_against_a_cloud_it_cannot_observe_exits_1_saying_what_it_could_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().join("store").display());
    // A loopback port nothing listens on: every AWS call is refused at once.
    let drctl = Drctl::initialised(store)
        .unwrap()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let path = dir.path().join("g.yaml");
    std::fs::write(&path, ALIAS).unwrap();
    assert_eq!(drctl.run(&["apply", "-f", path.to_str().unwrap()]).code, 0);
    let run = drctl.run(&["plan", "myapp-prod", "--cloud", "aws"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("could not observe"), "{run}");
    assert!(run.stderr.contains("the global cluster"), "{run}");
    assert!(run.stderr.contains("DescribeGlobalClusters"), "{run}");
}

/// Every timestamp a `controller --cloud sim` rehearsal leaves in this file store: the
/// status's, its operation's steps and conditions, and the journal's.
fn rehearsal_timestamps(env: &Env) -> Vec<(String, Timestamp)> {
    let doc = env.get("myapp-prod");
    let status = doc.status.expect("the rehearsal wrote a status");
    let mut stamps = Vec::new();
    if let Some(t) = status.last_reconciled_at {
        stamps.push(("status.lastReconciledAt".to_string(), t));
    }
    for c in &status.conditions {
        stamps.push((format!("condition {}", c.type_), c.last_transition_time));
    }
    for op in status.operation.iter().chain(status.last_operation.iter()) {
        for s in &op.steps {
            for t in s.started_at.iter().chain(s.finished_at.iter()) {
                stamps.push((format!("step {}", s.name), *t));
            }
        }
    }
    for event in history_json(env) {
        let at = event["at"].as_str().expect("every event has an `at`");
        let t = Timestamp::parse_rfc3339(at).expect("an RFC 3339 time");
        stamps.push((format!("event {}", event["reason"]), t));
    }
    stamps
}

#[test]
fn a_sim_rehearsal_on_a_file_store_writes_real_timestamps_not_virtual_ones() {
    let env = Env::new();
    assert_eq!(env.apply(ALIAS).code, 0);
    let before = Timestamp::now();
    env.rehearse_switchover("myapp-prod", "us-west-2");
    let after = Timestamp::now();
    let stamps = rehearsal_timestamps(&env);
    assert!(
        stamps.iter().any(|(what, _)| what.starts_with("step")),
        "the switchover's steps are stamped: {stamps:?}"
    );
    // Virtual time starts at the real now and runs ahead of it by what the rehearsal
    // simulated (a switchover: a few minutes), never back to the sim's 2026-01-01.
    let slack = 15 * 60 * 1000;
    for (what, t) in &stamps {
        assert!(
            t.millis() >= before.millis() - 1000 && t.millis() <= after.millis() + slack,
            "{what} at {t:?} is not within minutes of the real now ({before:?} .. {after:?})"
        );
    }
}

/// A rehearsal stopped part-way (here by `--timeout`, which, like a kill, leaves the operation
/// Running in the store) is picked up by the next `controller --cloud sim`, which rebuilds the
/// simulated world from the store: it must finish the switchover, not wait on what only the
/// first world knew (its ECS counts, its Route 53 change ids).
#[test]
fn a_sim_rehearsal_cut_short_at_any_step_is_finished_by_the_next_one() {
    // 3 and 10 s: in WaitComputeReady, with the database switching over; 40 s: in
    // Switchover; 70 and 120 s: in WaitDnsInSync, with a change id the next world never issued.
    for cut in [3, 10, 40, 70, 120] {
        let env = Env::new();
        assert_eq!(env.apply(ALIAS).code, 0);
        env.ok(&["controller", "--cloud", "sim", "--once"]);
        env.ok(&["failover", "myapp-prod", "--to", "us-west-2"]);
        let cut_run = env.run(&[
            "controller",
            "--cloud",
            "sim",
            "--until-converged",
            "--timeout",
            &cut.to_string(),
        ]);
        assert!(cut_run.code <= 1, "cut at {cut} s: {cut_run}");
        let cut_status = env.get("myapp-prod").status.unwrap_or_default();
        assert!(
            cut_status.operation.is_some(),
            "the cut at {cut} s left no operation running: pick an earlier one"
        );
        let finish = env.run(&[
            "controller",
            "--cloud",
            "sim",
            "--until-converged",
            "--timeout",
            "900",
        ]);
        let doc = env.get("myapp-prod");
        let status = doc.status.unwrap_or_default();
        assert_eq!(
            finish.code,
            0,
            "cut at {cut} s, then never converged: {finish}\n{}",
            serde_json::to_string_pretty(&status).unwrap_or_default()
        );
        let observed = status.observed.unwrap_or_default();
        assert_eq!(
            observed.writer.as_deref(),
            Some("us-west-2"),
            "cut at {cut} s"
        );
        assert_eq!(
            observed.dns_owner.as_deref(),
            Some("us-west-2"),
            "cut at {cut} s"
        );
    }
}
