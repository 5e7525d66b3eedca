//! The fleet on the command line (docs/design-contract.md §7.1), the binary run as a user would against a
//! file store: `apply -f DIR` (all or nothing, `-R`), `diff -f DIR`, label selectors on `get`,
//! `failover`, `suspend` and `resume`, the phase counts under `get`'s table, kubectl Lists
//! from `get -o yaml|json` applied back, and the store-wide check that no two groups manage
//! the same AWS resource.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use drctl_e2e::cli_env::Env;

const ALIAS: &str = include_str!("../../examples/failovergroup.yaml");
const CNAME: &str = include_str!("../../examples/failovergroup-cname.yaml");

/// The alias example as group `name`: every identifier renamed so that groups made this way
/// claim different AWS resources, with the given labels.
fn group(name: &str, labels: &[(&str, &str)]) -> String {
    let labels: String = if labels.is_empty() {
        String::new()
    } else {
        let lines: String = labels
            .iter()
            .map(|(k, v)| format!("    {k}: {v}\n"))
            .collect();
        format!("  labels:\n{lines}")
    };
    ALIAS
        .replace("myapp-prod", name)
        .replace("api.example.com.", &format!("{name}.example.com."))
        .replace("  labels:\n    team: payments\n", &labels)
}

fn team_of(i: usize) -> &'static str {
    ["payments", "search", "ads", "infra"][i % 4]
}

fn tier_of(i: usize) -> &'static str {
    ["gold", "silver", "bronze"][i % 3]
}

fn fleet_name(i: usize) -> String {
    format!("g{i:03}")
}

/// A directory of `n` groups, one file each, labelled by team and tier.
fn write_fleet(env: &Env, dir: &str, n: usize) -> String {
    for i in 0..n {
        let name = fleet_name(i);
        let text = group(&name, &[("team", team_of(i)), ("tier", tier_of(i))]);
        env.file(&format!("{dir}/{name}.yaml"), &text);
    }
    env.path(dir).display().to_string()
}

#[test]
fn a_fleet_applied_from_a_directory_fails_over_by_label_and_only_the_selected_change() {
    let env = Env::new();
    let dir = write_fleet(&env, "fleet", 200);
    let applied = env.ok(&["apply", "-f", &dir]);
    assert_eq!(applied.stdout.matches(" created").count(), 200, "{applied}");
    assert!(applied.stdout.starts_with("failovergroup/g000 created\n"));

    let payments = env.ok(&["get", "-l", "team=payments"]);
    let lines: Vec<&str> = payments.stdout.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{payments}");
    assert_eq!(lines.len(), 1 + 50 + 1, "{payments}");
    assert_eq!(lines[lines.len() - 1], "50 groups: 50 Pending");
    assert!(lines[1..51].iter().all(|l| l.starts_with('g')));

    let selector = "team=payments,tier in (gold)";
    let selected: BTreeSet<String> = (0..200)
        .filter(|i| team_of(*i) == "payments" && tier_of(*i) == "gold")
        .map(fleet_name)
        .collect();
    assert_eq!(selected.len(), 17);
    let listed: BTreeSet<String> = env
        .list(&["-l", selector])
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, selected);

    let failover = env.ok(&["failover", "-l", selector, "--to", "us-west-2"]);
    assert_eq!(
        failover
            .stdout
            .matches(" configured: writer us-east-1 -> us-west-2")
            .count(),
        17,
        "{failover}"
    );

    let all = env.list(&[]);
    assert_eq!(all.len(), 200);
    for item in &all {
        let name = item["metadata"]["name"].as_str().unwrap();
        let expected = if selected.contains(name) {
            "us-west-2"
        } else {
            "us-east-1"
        };
        assert_eq!(item["spec"]["writer"], expected, "{name}");
        assert_eq!(item["spec"]["dnsOwner"], expected, "{name}");
    }
    let names: BTreeSet<String> = (0..200).map(fleet_name).collect();
    for (name, reasons) in env.journal_reasons(&names) {
        let expected: &[&str] = if selected.contains(&name) {
            &["SpecApplied", "FailoverRequested"]
        } else {
            &["SpecApplied"]
        };
        assert_eq!(reasons, expected, "{name}");
    }
}

#[test]
fn a_directory_with_one_bad_document_applies_nothing_and_names_its_file_and_document() {
    let env = Env::new();
    env.file("groups/a.yaml", &group("a", &[]));
    let bad = group("c", &[]).replace("writer: us-east-1", "writer: eu-west-9");
    env.file("groups/b.yaml", &format!("{}---\n{bad}", group("b", &[])));
    let dir = env.path("groups").display().to_string();

    let run = env.run(&["apply", "-f", &dir]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains(&format!(
            "{dir}/b.yaml: document 2 (c): spec.writer: \"eu-west-9\" is not one of spec.regions"
        )),
        "{run}"
    );
    assert!(run.stdout.is_empty(), "{run}");
    assert!(env.names().is_empty());

    // diff refuses the same, with an exit status above 1.
    let run = env.run(&["diff", "-f", &dir]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("b.yaml: document 2 (c)"), "{run}");
}

#[test]
fn every_file_of_a_directory_is_checked_against_the_stored_groups_before_any_write() {
    let env = Env::new();
    env.ok(&["apply", "-f", &env.file("a.yaml", &group("a", &[]))]);
    env.file("groups/1-new.yaml", &group("b", &[]));
    env.file(
        "groups/2-a.yaml",
        &group("a", &[]).replace(
            "globalClusterIdentifier: a-global",
            "globalClusterIdentifier: a-other",
        ),
    );
    let run = env.run(&["apply", "-f", &env.path("groups").display().to_string()]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains(
            "2-a.yaml: document 1 (a): spec.database.globalClusterIdentifier: field is immutable"
        ),
        "{run}"
    );
    assert_eq!(env.names(), BTreeSet::from(["a".to_string()]));
}

#[test]
fn recursion_into_subdirectories_only_with_r_and_never_into_hidden_ones() {
    let env = Env::new();
    env.file("tree/a.yaml", &group("a", &[]));
    env.file("tree/sub/b.yml", &group("b", &[]));
    env.file(
        "tree/sub/deeper/c.json",
        &serde_json::to_string(
            &serde_norway::from_str::<serde_json::Value>(&group("c", &[])).unwrap(),
        )
        .unwrap(),
    );
    env.file("tree/README.md", "not a document");
    env.file("tree/.github/workflow.yaml", "on: push\n");
    let tree = env.path("tree").display().to_string();

    let run = env.ok(&["apply", "-f", &tree]);
    assert_eq!(run.stdout, "failovergroup/a created\n");
    let run = env.ok(&["apply", "-R", "-f", &tree]);
    assert_eq!(
        run.stdout,
        "failovergroup/a unchanged\nfailovergroup/b created\nfailovergroup/c created\n"
    );
    let empty = env.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let run = env.run(&["apply", "-f", empty.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains("no .yaml, .yml or .json files"),
        "{run}"
    );
}

#[test]
fn a_thousand_groups_in_one_multi_document_file_are_accepted() {
    let env = Env::new();
    let text: String = (0..1000)
        .map(|i| format!("---\n{}", group(&format!("m{i:04}"), &[])))
        .collect();
    assert!(
        text.len() > 1024 * 1024,
        "the file is over the old 1 MiB limit"
    );
    let path = env.file("many.yaml", &text);
    let run = env.run(&["diff", "-f", &path]);
    assert_eq!(run.code, 1, "every group is new: {}", run.stderr);
    assert_eq!(run.stdout.matches("+++ failovergroup/").count(), 1000);
}

#[test]
fn two_groups_managing_the_same_resource_are_refused_naming_the_other() {
    let env = Env::new();
    env.ok(&["apply", "-f", &env.file("a.yaml", &group("a", &[]))]);

    // Against a stored group.
    let copy = group("b", &[]).replace(
        "globalClusterIdentifier: b-global",
        "globalClusterIdentifier: a-global",
    );
    let run = env.run(&["apply", "-f", &env.file("b.yaml", &copy)]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains("b.yaml: document 1 (b): spec.database.globalClusterIdentifier: global cluster \"a-global\" is already managed by failovergroup/a (stored)"),
        "{run}"
    );

    // Against another document of the same apply (another file of the directory).
    env.file("two/1.yaml", &group("c", &[]));
    env.file(
        "two/2.yaml",
        &group("d", &[]).replace("d.example.com.", "c.example.com."),
    );
    let dir = env.path("two").display().to_string();
    let run = env.run(&["apply", "-f", &dir]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains(&format!("2.yaml: document 1 (d): spec.dns.recordName: DNS record c.example.com A in hosted zone Z0123456789ABCDEFGHIJ is already managed by failovergroup/c ({dir}/1.yaml: document 1)")),
        "{run}"
    );
    assert_eq!(env.names(), BTreeSet::from(["a".to_string()]));
}

#[test]
fn a_list_printed_by_get_is_read_back_by_diff_and_apply() {
    let env = Env::new();
    env.ok(&[
        "apply",
        "-f",
        &env.file("both.yaml", &format!("{ALIAS}---\n{CNAME}")),
    ]);
    for format in ["yaml", "json"] {
        let backup = env.ok(&["get", "-o", format]).stdout;
        let path = env.file(&format!("backup.{format}"), &backup);
        let diff = env.run(&["diff", "-f", &path]);
        assert_eq!(diff.code, 0, "{diff}");
        let run = env.ok(&["apply", "-f", &path]);
        assert_eq!(
            run.stdout,
            "failovergroup/myapp-prod unchanged\nfailovergroup/orders-prod unchanged\n"
        );
    }
    // A changed backup is a change; its resourceVersion is still the stored one, so it wins.
    let backup = env.ok(&["get", "-o", "yaml"]).stdout;
    let changed = backup.replacen("maxLagSeconds: 5", "maxLagSeconds: 9", 1);
    let path = env.file("changed.yaml", &changed);
    assert_eq!(env.run(&["diff", "-f", &path]).code, 1);
    let run = env.ok(&["apply", "-f", &path]);
    assert!(
        run.stdout.contains("failovergroup/myapp-prod configured"),
        "{run}"
    );
    // Applied again, the backup's resourceVersion is stale: a conflict, as for one document.
    let run = env.run(&["apply", "-f", &path]);
    assert_eq!(run.code, 3, "{run}");
}

#[test]
fn selectors_on_get_failover_suspend_and_resume_follow_kubectl_syntax() {
    let env = Env::new();
    let dir = write_fleet(&env, "fleet", 6);
    env.ok(&["apply", "-f", &dir]);
    let names = |args: &[&str]| -> Vec<String> {
        env.list(args)
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    // team: payments search ads infra payments search; tier: gold silver bronze gold silver bronze
    assert_eq!(names(&["-l", "team=payments"]), ["g000", "g004"]);
    assert_eq!(names(&["-l", "team==payments"]), ["g000", "g004"]);
    assert_eq!(names(&["-l", "team!=payments,tier=gold"]), ["g003"]);
    assert_eq!(
        names(&["-l", "tier in (gold,silver)"]),
        ["g000", "g001", "g003", "g004"]
    );
    assert_eq!(names(&["-l", "tier notin (gold,silver)"]), ["g002", "g005"]);
    assert_eq!(names(&["-l", "team"]).len(), 6);
    assert!(names(&["-l", "!team"]).is_empty());

    env.ok(&["suspend", "-l", "tier=bronze"]);
    let suspended: Vec<String> = env
        .list(&[])
        .iter()
        .filter(|i| i["spec"]["suspended"] == true)
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(suspended, ["g002", "g005"]);
    let table = env.ok(&["get"]).stdout;
    assert_eq!(
        table.lines().last(),
        Some("6 groups: 2 Suspended, 4 Pending")
    );
    env.ok(&["resume", "-l", "tier=bronze,team=ads"]);
    assert_eq!(
        env.list(&["-l", "tier=bronze"])
            .iter()
            .map(|i| i["spec"]["suspended"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [false, true]
    );
}

#[test]
fn a_selector_matching_nothing_says_so_and_exits_0() {
    let env = Env::new();
    env.ok(&[
        "apply",
        "-f",
        &env.file("a.yaml", &group("a", &[("team", "x")])),
    ]);
    let before = env.ok(&["get", "-o", "json"]).stdout;
    let run = env.ok(&["get", "-l", "team=nobody"]);
    assert!(run.stdout.is_empty(), "{run}");
    assert!(run.stderr.contains("No resources found"), "{run}");
    assert!(run.stderr.contains("matching -l team=nobody"), "{run}");
    let run = env.ok(&["get", "-l", "team=nobody", "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list["items"], serde_json::json!([]));
    for args in [
        &["failover", "-l", "team=nobody", "--to", "us-west-2"][..],
        &["suspend", "-l", "team=nobody"],
        &["resume", "-l", "team=nobody"],
    ] {
        let run = env.ok(args);
        assert!(
            run.stderr
                .contains("no failovergroup matches -l team=nobody"),
            "{args:?}: {run}"
        );
    }
    assert_eq!(env.ok(&["get", "-o", "json"]).stdout, before);
}

#[test]
fn failover_by_label_changes_nothing_when_a_selected_group_lacks_the_region() {
    let env = Env::new();
    env.ok(&[
        "apply",
        "-f",
        &env.file("both.yaml", &format!("{ALIAS}---\n{CNAME}")),
    ]);
    let before = env.ok(&["get", "-o", "json"]).stdout;
    // Both examples have a team label; only myapp-prod has us-west-2.
    let run = env.run(&["failover", "-l", "team", "--to", "us-west-2"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(
        run.stderr.contains("\"us-west-2\" is not one of spec.regions of failovergroup/orders-prod [eu-west-1, eu-central-1]"),
        "{run}"
    );
    assert_eq!(env.ok(&["get", "-o", "json"]).stdout, before);
}

/// The global-cluster ARNs a policy grants rds:FailoverGlobalCluster on.
fn failover_grants(policy: &serde_json::Value) -> BTreeSet<String> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["Action"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "rds:FailoverGlobalCluster")
        })
        .flat_map(|s| s["Resource"].as_array().unwrap().clone())
        .filter_map(|r| r.as_str().map(str::to_string))
        .filter(|r| r.contains(":global-cluster:"))
        .collect()
}

#[test]
fn a_fleet_policy_grants_exactly_the_selected_groups_and_says_when_it_outgrows_iam() {
    let env = Env::new();
    let dir = write_fleet(&env, "fleet", 40);
    env.ok(&["apply", "-f", &dir]);
    let account = ["--account", "111122223333"];
    let one: serde_json::Value = serde_json::from_str(
        &env.ok(&[&["iam-policy", "g000"][..], &account].concat())
            .stdout,
    )
    .unwrap();

    let run = env.ok(&[&["iam-policy", "-l", "team=payments"][..], &account].concat());
    let fleet: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let payments: BTreeSet<String> = (0..40)
        .filter(|i| team_of(*i) == "payments")
        .map(|i| {
            format!(
                "arn:aws:rds::111122223333:global-cluster:{}-global",
                fleet_name(i)
            )
        })
        .collect();
    assert_eq!(failover_grants(&fleet), payments);
    assert_eq!(
        fleet["Statement"].as_array().unwrap().len(),
        one["Statement"].as_array().unwrap().len(),
        "one statement per kind, however many groups"
    );
    // Ten groups' ARNs are past IAM's 6,144 characters: said, and the policy still printed.
    assert!(run.stderr.contains("over IAM's 6144"), "{run}");
    assert!(run.stderr.contains("--compact"), "{run}");

    let run = env.ok(&[
        &["iam-policy", "-l", "team=payments", "--compact"][..],
        &account,
    ]
    .concat());
    assert!(run.stderr.is_empty(), "fits once compacted: {run}");
    let compact: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        failover_grants(&compact),
        BTreeSet::from(["arn:aws:rds::111122223333:global-cluster:*".to_string()])
    );

    let run = env.run(&["iam-policy", "-l", "team=nobody"]);
    assert_eq!(run.code, 1, "no policy for no group: {run}");
    assert!(run.stdout.is_empty(), "{run}");
    assert_eq!(env.run(&["iam-policy", "g000", "-l", "team=x"]).code, 2);
    assert_eq!(env.run(&["iam-policy"]).code, 2);
}

#[test]
fn name_and_selector_are_usage_errors_together_or_both_missing() {
    let env = Env::new();
    env.ok(&["apply", "-f", &env.file("a.yaml", &group("a", &[]))]);
    for args in [
        &["failover", "--to", "us-west-2"][..],
        &["failover", "a", "-l", "team=x", "--to", "us-west-2"],
        &["suspend"],
        &["resume", "a", "-l", "team=x"],
        &["get", "a", "-l", "team=x"],
    ] {
        let run = env.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run}");
    }
    for bad in ["tier in gold", "team=a b", "=x", "count>3"] {
        let run = env.run(&["get", "-l", bad]);
        assert_eq!(run.code, 2, "{bad}: {run}");
        assert!(
            run.stderr.contains("invalid label selector"),
            "{bad}: {run}"
        );
    }
}

#[test]
fn standard_input_and_files_keep_working_with_directories_on_one_command_line() {
    let env = Env::new();
    let a = env.file("a.yaml", &group("a", &[]));
    let dir = write_fleet(&env, "fleet", 2);
    let run = env.drctl.run_with_stdin(
        &["apply", "-f", &a, "-f", "-", "-f", &dir],
        Some(group("s", &[]).as_bytes()),
    );
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        run.stdout,
        "failovergroup/a created\nfailovergroup/s created\nfailovergroup/g000 created\nfailovergroup/g001 created\n"
    );
}

#[test]
fn failover_by_label_with_wait_follows_every_changed_group_within_one_timeout() {
    let env = Env::new();
    let dir = write_fleet(&env, "fleet", 2);
    env.ok(&["apply", "-f", &dir]);
    // No controller runs: both are changed, then the waits give up within the one timeout.
    let run = env.run(&[
        "failover",
        "-l",
        "team",
        "--to",
        "us-west-2",
        "--wait",
        "--timeout",
        "1",
    ]);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(
        run.stdout.matches(" configured: writer").count(),
        2,
        "{run}"
    );
    assert!(
        run.stdout.contains("waiting for failovergroup/g000"),
        "{run}"
    );
    assert!(
        run.stdout.contains("waiting for failovergroup/g001"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("2 of 2 selected groups failed: g000, g001"),
        "{run}"
    );
    let writers: Vec<String> = env
        .list(&[])
        .iter()
        .map(|i| i["spec"]["writer"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(writers, ["us-west-2", "us-west-2"]);
}
