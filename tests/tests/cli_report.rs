//! `drctl report NAME [--operation ID] -o html|json|md` and `--html FILE` on `sim` and
//! `drill` (docs/design-contract.md §7.4), the binary run as a user would, and the page
//! opened in a real browser: headless Chromium (Debian's package, which scripts/test-all
//! installs) renders it, and the test reads the DOM it built.
//!
//! Without /usr/bin/chromium the browser tests fail, saying how to get it; set
//! DRCTL_SKIP_BROWSER=1 to skip them on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use drctl_e2e::cli_env::Env;

const EXAMPLE: &str = include_str!("../../examples/failovergroup.yaml");
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long Chromium may take to render one page before the test gives up on it.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

/// The DOM Chromium builds from `page`, or None when DRCTL_SKIP_BROWSER=1 says to skip.
fn rendered_dom(page: &Path) -> Option<String> {
    if !Path::new(CHROMIUM).is_file() {
        if std::env::var("DRCTL_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("DRCTL_SKIP_BROWSER=1: not opening {}", page.display());
            return None;
        }
        panic!(
            "{CHROMIUM} is missing: scripts/test-all installs it (apt-get install chromium); \
             set DRCTL_SKIP_BROWSER=1 to skip the browser tests on purpose"
        );
    }
    let profile = tempfile::tempdir().unwrap();
    let stderr_path = profile.path().join("chromium.stderr");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {CHROMIUM}: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut dom = String::new();
        let read = stdout.read_to_string(&mut dom).map(|_| dom);
        let _ = tx.send(read);
    });
    let dom = match rx.recv_timeout(BROWSER_TIMEOUT) {
        Ok(read) => read.unwrap(),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{CHROMIUM} did not render {} within {} s; its stderr: {}",
                page.display(),
                BROWSER_TIMEOUT.as_secs(),
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
    };
    let status = child.wait().unwrap();
    assert!(
        status.success() && dom.contains("</html>"),
        "{CHROMIUM} failed ({status}) on {}: {}",
        page.display(),
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    Some(dom)
}

/// The `data-step` of every timeline bar (`<rect class="bar ...">`) of the DOM, in order.
fn bars(dom: &str) -> Vec<String> {
    dom.split("<rect ")
        .skip(1)
        .filter_map(|tag| {
            let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
            let class = attribute(tag, "class")?;
            class
                .split(' ')
                .any(|c| c == "bar")
                .then(|| attribute(tag, "data-step"))?
        })
        .collect()
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].to_string())
}

/// Every reference out of the page: src/href attributes, CSS url() and @import that point
/// at a network location.
fn external_references(dom: &str) -> Vec<String> {
    let lower = dom.to_ascii_lowercase();
    let mut found = Vec::new();
    for marker in ["src=", "href=", "url(", "@import"] {
        for (at, _) in lower.match_indices(marker) {
            let rest = lower[at + marker.len()..].trim_start_matches(['"', '\'', ' ']);
            if rest.starts_with("http:") || rest.starts_with("https:") || rest.starts_with("//") {
                found.push(dom[at..(at + 80).min(dom.len())].to_string());
            }
        }
    }
    found
}

/// A figure as the page writes it (report::seconds): `4.2 s`, `3m05s`.
fn figure(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else {
        let whole = secs.round() as i64;
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// The step names of the page's operations, as the JSON of the same run lists them.
fn assert_page_shows_steps(dom: &str, steps: &[String]) {
    assert_eq!(bars(dom), steps, "one bar per step, in order");
    for name in steps {
        assert!(
            dom.contains(&format!(">{name}</text>")),
            "step {name} is not labelled on the timeline"
        );
    }
    assert!(dom.contains("<svg"), "no SVG timeline");
    assert!(!dom.contains("<script"), "the page has a script");
    let external = external_references(dom);
    assert!(external.is_empty(), "external references: {external:?}");
}

/// A group rehearsed by `controller --cloud sim` in this file store: a planned switchover.
fn switched_over() -> Env {
    let env = Env::new();
    assert_eq!(env.apply(EXAMPLE).code, 0);
    env.rehearse_switchover("myapp-prod", "us-west-2");
    env
}

fn write(env: &Env, name: &str, content: &str) -> PathBuf {
    let path = env.path(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn report_of_a_rehearsed_switchover_shows_its_steps_figures_calls_and_who_asked() {
    let env = switched_over();
    let report = env.json(&["report", "myapp-prod", "-o", "json"]);
    assert_eq!(report["operation_type"], "Switchover", "{report:#}");
    assert_eq!(report["state"], "Succeeded");
    let steps: Vec<String> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert!(steps.contains(&"Switchover".to_string()), "{steps:?}");
    let rto = report["rto_seconds"].as_f64().expect("an RTO");
    assert_eq!(report["rpo_seconds"], 0.0, "a switchover loses nothing");
    let calls: Vec<&str> = report["mutations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["api_operation"].as_str().unwrap())
        .collect();
    assert!(calls.contains(&"SwitchoverGlobalCluster"), "{calls:?}");
    let decisions = report["decisions"].as_array().unwrap();
    assert!(
        decisions
            .iter()
            .any(|d| d["what"] == "FailoverRequested" && d["by"] == "operator"),
        "the failover command is the decision: {decisions:?}"
    );

    let md = env.ok(&["report", "myapp-prod", "-o", "md"]).stdout;
    for section in [
        "# failovergroup/myapp-prod: Switchover",
        "## Steps",
        "## AWS mutations",
    ] {
        assert!(md.contains(section), "{section}:\n{md}");
    }

    let page = write(
        &env,
        "report.html",
        &env.ok(&["report", "myapp-prod", "-o", "html"]).stdout,
    );
    let id = report["operation_id"].as_str().unwrap();
    let by_id = env.ok(&["report", "myapp-prod", "--operation", id, "-o", "html"]);
    assert_eq!(by_id.stdout, std::fs::read_to_string(&page).unwrap());
    let Some(dom) = rendered_dom(&page) else {
        return;
    };
    assert_page_shows_steps(&dom, &steps);
    assert!(
        dom.contains(&figure(rto)),
        "RTO {} not on the page",
        figure(rto)
    );
    assert!(dom.contains("0.0 s"), "RPO not on the page");
    assert!(dom.contains("SwitchoverGlobalCluster"));
}

#[test]
fn sim_html_writes_the_runs_page_beside_its_json() {
    let env = Env::new();
    let page = env.path("outage.html");
    let report = env.json(&[
        "sim",
        "--scenario",
        "region-outage-failover",
        "--json",
        "--html",
        page.to_str().unwrap(),
    ]);
    let steps: Vec<String> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert!(steps.contains(&"Failover".to_string()), "{report:#}");
    let Some(dom) = rendered_dom(&page) else {
        return;
    };
    assert_page_shows_steps(&dom, &steps);
    let rto = report["rto_seconds"].as_f64().unwrap();
    assert!(dom.contains(&figure(rto)), "the run's RTO {}", figure(rto));
    let rpo = report["rpo_seconds"].as_f64().unwrap();
    assert!(
        dom.contains(&format!("{rpo:.2} s")),
        "the run's RPO {rpo:.2} s"
    );
}

#[test]
fn drill_html_writes_the_same_page_for_the_drills_operations() {
    let env = Env::new();
    env.file("groups/myapp.yaml", EXAMPLE);
    let drill = env.file(
        "drill.yaml",
        "apiVersion: drctl.io/v1alpha1\nkind: Drill\nmetadata: {name: east-dies}\nspec:\n  \
         group: {file: groups/myapp.yaml}\n  objectives: {rtoSeconds: 900, rpoSeconds: 30}\n  \
         faults:\n    - {at: 30s, regionOutage: {region: us-east-1}}\n  actions:\n    \
         - {at: 60s, failover: {to: us-west-2, allowDataLoss: true}}\n  \
         expect: {writer: us-west-2}\n",
    );
    let page = env.path("drill.html");
    let run = env.run(&["drill", "-f", &drill, "--html", page.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("drill PASSED"),
        "the text report too: {run}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("drill east-dies on failovergroup/myapp-prod"));
    assert!(html.contains("drctl failover myapp-prod --to us-west-2 --allow-data-loss"));
    let Some(dom) = rendered_dom(&page) else {
        return;
    };
    assert!(
        bars(&dom).contains(&"Failover".to_string()),
        "{:?}",
        bars(&dom)
    );
    assert!(external_references(&dom).is_empty());
}

#[test]
fn an_unknown_group_or_operation_fails_and_a_bad_format_is_usage() {
    let env = Env::new();
    let unknown = env.run(&["report", "nope", "-o", "json"]);
    assert_eq!(unknown.code, 1, "as `get nope`: {unknown}");
    assert!(unknown.stderr.contains("nope"), "{unknown}");
    assert_eq!(env.run(&["get", "nope"]).code, unknown.code);

    assert_eq!(env.apply(EXAMPLE).code, 0);
    let none = env.run(&["report", "myapp-prod", "-o", "md"]);
    assert_eq!(none.code, 1, "{none}");
    assert!(none.stderr.contains("no operation yet"), "{none}");

    let bad = env.run(&["report", "myapp-prod", "-o", "pdf"]);
    assert_eq!(bad.code, 2, "{bad}");
    assert!(bad.stderr.contains("--output"), "names the flag: {bad}");
    let missing = env.run(&["report", "myapp-prod"]);
    assert_eq!(missing.code, 2, "{missing}");
    assert!(missing.stderr.contains("--output"), "{missing}");
}

#[test]
fn an_unknown_operation_id_fails_naming_it_and_the_known_ones() {
    let env = switched_over();
    let run = env.run(&[
        "report",
        "myapp-prod",
        "--operation",
        "op-0-g9",
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains("no operation op-0-g9") && run.stderr.contains("known: op-"),
        "{run}"
    );
}

#[test]
fn html_into_a_missing_directory_is_refused_before_anything_runs() {
    let env = Env::new();
    let nowhere = env.path("no/such/dir/page.html");
    let run = env.run(&[
        "sim",
        "--scenario",
        "planned-switchover",
        "--html",
        nowhere.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("--html"), "{run}");
    assert!(run.stdout.is_empty(), "nothing ran: {run}");
    let campaign = env.run(&["sim", "--campaign", "1", "--html", "x.html"]);
    assert_eq!(campaign.code, 2, "{campaign}");
}

/// The same report from a DynamoDB store (moto on loopback): status and journal are read
/// through the store, whichever it is.
#[test]
fn report_reads_a_dynamodb_store_as_it_reads_a_file_store() {
    let moto = drctl_e2e::moto::MotoServer::start().unwrap();
    let drctl = drctl_e2e::bin::Drctl::new("dynamodb://drctl-report")
        .unwrap()
        .envs(moto.env());
    let dir = tempfile::tempdir().unwrap();
    let group = dir.path().join("group.yaml");
    std::fs::write(&group, EXAMPLE).unwrap();
    for args in [
        vec!["init"],
        vec!["apply", "-f", group.to_str().unwrap()],
        vec!["controller", "--cloud", "sim", "--once"],
        vec!["failover", "myapp-prod", "--to", "us-west-2"],
        vec![
            "controller",
            "--cloud",
            "sim",
            "--until-converged",
            "--timeout",
            "900",
        ],
    ] {
        let run = drctl.run(&args);
        assert_eq!(run.code, 0, "drctl {args:?}: {run}\n{}", moto.log_tail(20));
    }
    let run = drctl.run(&["report", "myapp-prod", "-o", "json"]);
    assert_eq!(run.code, 0, "{run}");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["operation_type"], "Switchover", "{report:#}");
    assert!(
        report["mutations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["api_operation"] == "SwitchoverGlobalCluster"),
        "{report:#}"
    );
    let unknown = drctl.run(&["report", "nope", "-o", "md"]);
    assert_eq!(unknown.code, 1, "{unknown}");
}

/// After a second operation the status holds only that one; the first is rebuilt from the
/// journal, with the steps and times it had.
#[test]
fn an_earlier_operation_is_reported_from_the_journal_after_a_later_one() {
    let env = switched_over();
    let first = env.json(&["report", "myapp-prod", "-o", "json"]);
    assert_eq!(first["source"], "status");
    env.ok(&["failover", "myapp-prod", "--to", "us-east-1"]);
    env.ok(&[
        "controller",
        "--cloud",
        "sim",
        "--until-converged",
        "--timeout",
        "900",
    ]);
    let id = first["operation_id"].as_str().unwrap();
    let latest = env.json(&["report", "myapp-prod", "-o", "json"]);
    assert_ne!(latest["operation_id"], id, "a second operation ran");
    let again = env.json(&["report", "myapp-prod", "--operation", id, "-o", "json"]);
    assert_eq!(again["source"], "journal", "{again:#}");
    for field in [
        "operation_type",
        "from",
        "to",
        "state",
        "started_at",
        "finished_at",
    ] {
        assert_eq!(again[field], first[field], "{field}");
    }
    let times = |r: &serde_json::Value| -> Vec<(serde_json::Value, serde_json::Value)> {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].clone(), s["end_seconds"].clone()))
            .collect()
    };
    assert_eq!(times(&again), times(&first));
    assert_eq!(again["rto_seconds"], first["rto_seconds"]);
    assert_eq!(again["mutations"], first["mutations"]);
}
