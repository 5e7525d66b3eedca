//! What ships drctl, checked against the binary it ships: the Dockerfile's runtime stage and
//! the Kubernetes manifests (user, entrypoint, ports, probes, arguments) against
//! `drctl controller --help` and a running controller, and the IAM policy in
//! docs/deployment.md against what drctl generates. There is no Docker engine or cluster
//! here; scripts/lint.sh runs hadolint and the Kubernetes schemas on the same files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod ship_support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize as _;
use serde_json::Value;
use ship_support::*;

// ---------------------------------------------------------------------------------------------
// The Dockerfile

#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
}

#[derive(Debug)]
struct Stage {
    from: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

impl Stage {
    fn all(&self, keyword: &str) -> Vec<&str> {
        self.instructions
            .iter()
            .filter(|i| i.keyword == keyword)
            .map(|i| i.args.as_str())
            .collect()
    }

    fn last(&self, keyword: &str) -> Option<&str> {
        self.all(keyword).last().copied()
    }
}

/// Instructions (with `\` continuations joined, comments dropped), grouped by stage; ARGs
/// before the first FROM are returned separately.
fn parse_dockerfile(text: &str) -> (BTreeMap<String, String>, Vec<Stage>) {
    let mut logical: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    let mut global_args = BTreeMap::new();
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let keyword = keyword.to_ascii_uppercase();
        let args = args.trim().to_string();
        if keyword == "FROM" {
            let words: Vec<&str> = args.split_whitespace().collect();
            let name = match words.as_slice() {
                [_, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => Some(name.to_string()),
                _ => None,
            };
            stages.push(Stage {
                from: words[0].to_string(),
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(Instruction { keyword, args });
        } else if keyword == "ARG" {
            let (k, v) = args.split_once('=').unwrap_or((&args, ""));
            global_args.insert(k.to_string(), v.to_string());
        }
    }
    (global_args, stages)
}

fn exec_form(args: &str) -> Vec<String> {
    serde_json::from_str(args).unwrap_or_else(|e| panic!("not the exec (JSON) form: {args}: {e}"))
}

fn dockerfile() -> (BTreeMap<String, String>, Vec<Stage>) {
    parse_dockerfile(&read_repo_file("Dockerfile"))
}

#[test]
fn dockerfile_runtime_stage_is_minimal_non_root_and_runs_drctl_controller() {
    let (_, stages) = dockerfile();
    assert!(stages.len() >= 2, "multi-stage: a builder and a runtime");
    let runtime = stages.last().unwrap();

    // No shell at run time: a distroless base, and nothing in the stage that needs one.
    assert!(
        runtime.from.contains("distroless"),
        "runtime base {} should be distroless (CA certificates, no shell)",
        runtime.from
    );
    for keyword in ["RUN", "SHELL", "HEALTHCHECK"] {
        assert!(
            runtime.all(keyword).is_empty(),
            "{keyword} in the runtime stage needs a shell, which it does not have"
        );
    }

    // Non-root, numerically (so runAsNonRoot can verify it).
    let user = runtime.last("USER").expect("USER in the runtime stage");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("numeric USER");
    assert_ne!(uid, 0, "USER must not be root");

    // The binary copied from the builder is the entrypoint, `controller` the default command.
    let entrypoint = exec_form(runtime.last("ENTRYPOINT").expect("ENTRYPOINT"));
    assert_eq!(
        entrypoint.len(),
        1,
        "the entrypoint is the binary alone: {entrypoint:?}"
    );
    let copied_to_entrypoint = runtime.all("COPY").iter().any(|c| {
        let words: Vec<&str> = c.split_whitespace().collect();
        words.first().is_some_and(|w| w.starts_with("--from="))
            && words.last() == Some(&entrypoint[0].as_str())
    });
    assert!(
        copied_to_entrypoint,
        "{} is not COPY --from the builder",
        entrypoint[0]
    );
    let cmd = exec_form(runtime.last("CMD").expect("CMD"));
    assert_eq!(cmd.first().map(String::as_str), Some("controller"));

    // OCI labels.
    let labels = runtime.all("LABEL").join(" ");
    for key in [
        "org.opencontainers.image.title",
        "org.opencontainers.image.source",
        "org.opencontainers.image.licenses",
        "org.opencontainers.image.version",
        "org.opencontainers.image.revision",
    ] {
        assert!(
            labels.contains(&format!("{key}=")),
            "missing OCI label {key}"
        );
    }
}

#[test]
fn dockerfile_command_flags_are_flags_drctl_controller_accepts_and_the_port_is_exposed() {
    let (_, stages) = dockerfile();
    let runtime = stages.last().unwrap();
    let cmd = exec_form(runtime.last("CMD").unwrap());
    let help = help_of(&["controller"]);
    let accepted = flags_in_help(&help);
    let args = &cmd[1..];
    for arg in args.iter().filter(|a| a.starts_with("--")) {
        assert!(
            accepted.contains(arg),
            "the image runs `drctl controller {arg}`, which `drctl controller --help` does not list:\n{help}"
        );
    }
    let log_format = value_after(args, "--log-format").expect("--log-format in CMD");
    assert!(possible_values(&help, "--log-format").contains(&log_format));

    // The exposed port is the port the metrics endpoint binds.
    let addr = value_after(args, "--metrics-addr").expect("--metrics-addr in CMD");
    let port = addr.rsplit(':').next().unwrap();
    let exposed: Vec<&str> = runtime
        .all("EXPOSE")
        .iter()
        .flat_map(|e| e.split_whitespace())
        .map(|p| p.split('/').next().unwrap())
        .collect();
    assert!(
        exposed.contains(&port),
        "EXPOSE {exposed:?} but metrics on {addr}"
    );
    assert!(
        addr.starts_with("0.0.0.0:"),
        "inside a container the endpoint must listen on all interfaces, not {addr}"
    );
}

#[test]
fn the_image_default_command_parses_and_serves_the_probes() {
    // The CMD exactly as the image runs it, with two test-only changes: listen on loopback
    // (no network beyond it in tests) and the simulated cloud with a scratch file store.
    let (_, stages) = dockerfile();
    let cmd = exec_form(stages.last().unwrap().last("CMD").unwrap());
    let port = free_port();
    let args: Vec<String> = loopback(&cmd, port)
        .into_iter()
        .chain(["--cloud".to_string(), "sim".to_string()])
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().join("store").display());
    let mut controller =
        ControllerProcess::start(&store, &args, &[], port, dir.path().join("controller.log"));
    assert!(
        controller.answers("/healthz", 200, Duration::from_secs(30)),
        "/healthz did not answer 200; log:\n{}",
        controller.log_text()
    );
    assert!(
        controller.answers("/readyz", 200, Duration::from_secs(30)),
        "/readyz did not answer 200; log:\n{}",
        controller.log_text()
    );
    let (code, metrics) = controller.get("/metrics").unwrap();
    assert_eq!(code, 200);
    assert!(metrics.contains("drctl_leader"), "{metrics}");
    // --log-format json: every log line is a JSON object.
    let exit = controller.terminate(Duration::from_secs(30));
    assert_eq!(
        exit,
        Some(0),
        "exit on SIGTERM; log:\n{}",
        controller.log_text()
    );
    let log = controller.log_text();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the controller logged nothing");
    for line in lines {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "--log-format json printed a non-JSON line: {line}"
        );
    }
}

#[test]
fn dockerfile_builds_drctl_with_the_locked_dependencies_on_a_supported_toolchain() {
    let (global_args, stages) = dockerfile();
    let builder = &stages[0];
    let build = builder.all("RUN").join(" ");
    assert!(build.contains("cargo build"), "{build}");
    for needed in ["--release", "--locked", "-p drctl"] {
        assert!(
            build.contains(needed),
            "the build runs without {needed}: {build}"
        );
    }
    // The builder's toolchain is at least the workspace's rust-version.
    let rust = global_args
        .get("RUST_VERSION")
        .expect("ARG RUST_VERSION=...");
    assert!(builder.from.contains("${RUST_VERSION}"), "{}", builder.from);
    let manifest = read_repo_file("Cargo.toml");
    let minimum = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("rust-version = "))
        .expect("rust-version in Cargo.toml")
        .trim_matches('"');
    assert!(
        version_tuple(rust) >= version_tuple(minimum),
        "the image builds with Rust {rust}, the workspace needs {minimum}"
    );
    // The context leaves build output and the virtualenv out.
    let ignore = read_repo_file(".dockerignore");
    for excluded in ["target", ".venv", ".git"] {
        assert!(
            ignore
                .lines()
                .any(|l| l.trim().trim_start_matches("**/") == excluded),
            ".dockerignore does not exclude {excluded}"
        );
    }
    let runtime = stages.last().unwrap();
    assert!(
        runtime.all("COPY").iter().any(|c| c.contains(&format!(
            "--from={}",
            builder.name.as_deref().unwrap_or("0")
        ))),
        "the runtime copies from the builder stage"
    );
}

fn version_tuple(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

fn value_after(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// `args` with the metrics address moved to loopback on `port`.
fn loopback(args: &[String], port: u16) -> Vec<String> {
    let mut out = args.to_vec();
    if let Some(i) = out.iter().position(|a| a == "--metrics-addr") {
        out[i + 1] = format!("127.0.0.1:{port}");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The Kubernetes manifests

/// Every document of every manifest under deploy/kubernetes (recursively), as JSON values.
fn manifests() -> Vec<(String, Value)> {
    let mut files = Vec::new();
    let mut dirs = vec![repo_root().join("deploy/kubernetes")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in serde_norway::Deserializer::from_str(&text) {
            let value = serde_norway::Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            if value.is_null() {
                continue;
            }
            let name = file
                .strip_prefix(repo_root())
                .unwrap()
                .display()
                .to_string();
            docs.push((name, serde_json::to_value(value).unwrap()));
        }
    }
    docs
}

fn one_of_kind(docs: &[(String, Value)], kind: &str) -> Value {
    let found: Vec<&Value> = docs
        .iter()
        .filter(|(_, d)| d["kind"] == kind)
        .map(|(_, d)| d)
        .collect();
    assert_eq!(found.len(), 1, "expected one {kind}, found {}", found.len());
    found[0].clone()
}

fn controller_container(deployment: &Value) -> Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1);
    containers[0].clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn labels_match(selector: &Value, labels: &Value) -> bool {
    let selector = selector.as_object().unwrap();
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[test]
fn deployment_arguments_are_flags_drctl_controller_accepts() {
    let docs = manifests();
    let container = controller_container(&one_of_kind(&docs, "Deployment"));
    let args = strings(&container["args"]);
    assert_eq!(args.first().map(String::as_str), Some("controller"));
    let help = help_of(&["controller"]);
    let accepted = flags_in_help(&help);
    for arg in args[1..].iter().filter(|a| a.starts_with("--")) {
        assert!(
            accepted.contains(arg),
            "the Deployment passes {arg}, not in:\n{help}"
        );
    }
    for (flag, value) in [("--cloud", "aws"), ("--log-format", "json")] {
        let given = value_after(&args, flag).unwrap_or_else(|| panic!("{flag} not set"));
        assert_eq!(given, value);
        assert!(possible_values(&help, flag).contains(&given));
    }
    assert!(
        !args
            .iter()
            .any(|a| a == "--once" || a == "--until-converged"),
        "a Deployment runs the loop forever"
    );
    // The replica identity comes from the environment variable the binary reads.
    assert!(help.contains("[env: DRCTL_REPLICA_ID="), "{help}");
    let env = container["env"].as_array().unwrap();
    let replica = env
        .iter()
        .find(|e| e["name"] == "DRCTL_REPLICA_ID")
        .expect("DRCTL_REPLICA_ID in the container's env");
    assert_eq!(
        replica["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
}

#[test]
fn probes_and_ports_match_what_the_binary_serves() {
    let docs = manifests();
    let deployment = one_of_kind(&docs, "Deployment");
    let container = controller_container(&deployment);
    let args = strings(&container["args"]);
    let addr = value_after(&args, "--metrics-addr").unwrap();
    let port: u64 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let ports = container["ports"].as_array().unwrap();
    let metrics = ports
        .iter()
        .find(|p| p["name"] == "metrics")
        .expect("a container port named metrics");
    assert_eq!(
        metrics["containerPort"], port,
        "containerPort vs --metrics-addr {addr}"
    );
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    for probe in ["livenessProbe", "readinessProbe"] {
        let p = &container[probe]["httpGet"]["port"];
        assert!(
            *p == "metrics" || *p == port,
            "{probe} probes port {p}, the endpoint is on {port}"
        );
    }
    // The Dockerfile exposes the same port.
    let (_, stages) = dockerfile();
    let exposed = stages.last().unwrap().all("EXPOSE").join(" ");
    assert!(exposed
        .split_whitespace()
        .any(|p| p.starts_with(&port.to_string())));

    // The metrics Service targets that port on these pods; the ServiceMonitor scrapes it.
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let service = one_of_kind(&docs, "Service");
    assert!(labels_match(&service["spec"]["selector"], pod_labels));
    let service_port = &service["spec"]["ports"][0];
    assert!(
        service_port["targetPort"] == "metrics" || service_port["targetPort"] == port,
        "{service_port}"
    );
    let monitor = one_of_kind(&docs, "ServiceMonitor");
    assert!(labels_match(
        &monitor["spec"]["selector"]["matchLabels"],
        &service["metadata"]["labels"]
    ));
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], service_port["name"]);
    assert_eq!(endpoint["path"], "/metrics");
}

#[test]
fn deployment_runs_two_hardened_replicas_under_a_disruption_budget() {
    let docs = manifests();
    let deployment = one_of_kind(&docs, "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 2, "two replicas, one lease");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = controller_container(&deployment);
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(strings(&security["capabilities"]["drop"]), vec!["ALL"]);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    // The pod runs as the image's user.
    let (_, stages) = dockerfile();
    let image_uid: u64 = stages
        .last()
        .unwrap()
        .last("USER")
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(pod["securityContext"]["runAsUser"], image_uid);
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                container["resources"][kind][resource].is_string(),
                "resources.{kind}.{resource} missing"
            );
        }
    }
    // The image tag is the version being shipped.
    let image = container["image"].as_str().unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        image.ends_with(&format!(":{version}")),
        "{image} is not version {version}"
    );

    let pdb = one_of_kind(&docs, "PodDisruptionBudget");
    assert!(labels_match(
        &pdb["spec"]["selector"]["matchLabels"],
        &deployment["spec"]["template"]["metadata"]["labels"]
    ));
    let min = pdb["spec"]["minAvailable"].as_u64().expect("minAvailable");
    assert!(
        (1..2).contains(&min),
        "minAvailable {min} must leave one replica evictable"
    );

    // IRSA: the pods' service account carries the role.
    let account = one_of_kind(&docs, "ServiceAccount");
    assert_eq!(pod["serviceAccountName"], account["metadata"]["name"]);
    let role = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        .as_str()
        .expect("eks.amazonaws.com/role-arn annotation");
    assert!(
        role.starts_with("arn:aws:iam::") && role.contains(":role/"),
        "{role}"
    );

    // kustomization.yaml lists every manifest of the directory except the optional ones.
    let kustomization = one_of_kind(&docs, "Kustomization");
    let listed = strings(&kustomization["resources"]);
    let on_disk: Vec<String> = std::fs::read_dir(repo_root().join("deploy/kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    for file in on_disk {
        assert!(
            listed.contains(&file),
            "{file} is not in kustomization.yaml"
        );
    }
}

#[test]
fn controller_runs_in_the_standby_region_against_a_single_region_store_there() {
    let docs = manifests();
    let config = one_of_kind(&docs, "ConfigMap");
    let store = config["data"]["DRCTL_STORE"].as_str().expect("DRCTL_STORE");
    assert!(store.starts_with("dynamodb://"), "production store {store}");
    let home = config["data"]["AWS_REGION"]
        .as_str()
        .expect("AWS_REGION: the table's home region");
    let deployment = one_of_kind(&docs, "Deployment");
    let container = controller_container(&deployment);
    assert!(
        container["envFrom"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["configMapRef"]["name"] == config["metadata"]["name"]),
        "the container does not read the ConfigMap"
    );
    // The example group's writer is the primary; the controller, its table and its image
    // registry must all be in the other region of the group.
    let group = drctl_schema::parse_documents(
        read_repo_file("examples/failovergroup.yaml").as_bytes(),
        "example",
    )
    .unwrap()
    .remove(0);
    assert!(
        group.spec.regions.iter().any(|r| r == home),
        "{home} not in the group's regions"
    );
    assert_ne!(
        home, group.spec.writer,
        "the controller must not live in the primary region"
    );
    let image = container["image"].as_str().unwrap();
    assert!(
        image.contains(&format!(".ecr.{home}.")),
        "image {image} is not pulled from {home}"
    );
    assert_eq!(config["data"]["AWS_STS_REGIONAL_ENDPOINTS"], "regional");
}

/// Two replicas started with the Deployment's own arguments and environment (store and
/// listen address swapped for loopback test ones): both are alive and Ready, one leads, and a
/// SIGTERM (a rollout or a drain) hands the lease over at once.
#[test]
fn two_replicas_with_the_deployment_arguments_serve_probes_and_hand_over_on_sigterm() {
    let docs = manifests();
    let deployment = one_of_kind(&docs, "Deployment");
    let container = controller_container(&deployment);
    let config = one_of_kind(&docs, "ConfigMap");
    let region = config["data"]["AWS_REGION"].as_str().unwrap();
    let args = strings(&container["args"]);
    let grace = Duration::from_secs(
        deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().join("store").display());

    let start = |replica: &str| {
        let port = free_port();
        let mut env = offline_aws_env(region);
        env.push(("DRCTL_REPLICA_ID".into(), replica.into()));
        ControllerProcess::start(
            &store,
            &loopback(&args, port),
            &env,
            port,
            dir.path().join(format!("{replica}.log")),
        )
    };
    let mut first = start("drctl-0");
    assert!(
        eventually(Duration::from_secs(30), || first.is_leader().then_some(())).is_some(),
        "the first replica never led; log:\n{}",
        first.log_text()
    );
    assert!(first.answers("/healthz", 200, Duration::from_secs(10)));
    assert!(first.answers("/readyz", 200, Duration::from_secs(10)));

    let second = start("drctl-1");
    assert!(
        second.answers("/healthz", 200, Duration::from_secs(30)),
        "the standby's liveness probe fails; log:\n{}",
        second.log_text()
    );
    // The standby must be Ready too: with maxUnavailable 0 a rollout waits for the new
    // (standby) pod to be Ready before stopping an old one, and the disruption budget counts
    // Ready pods. A standby that is never Ready stalls every rollout and blocks every drain.
    assert!(
        second.answers("/readyz", 200, Duration::from_secs(30)),
        "the standby replica never became Ready ({:?}); log:\n{}",
        second.get("/readyz"),
        second.log_text()
    );
    assert!(
        first.is_leader() && !second.is_leader(),
        "exactly one replica leads"
    );

    // SIGTERM: the leader releases the lease and exits 0 within the grace period; the
    // standby takes over well before the 15 s lease would have expired.
    assert_eq!(
        first.terminate(grace),
        Some(0),
        "log:\n{}",
        first.log_text()
    );
    assert!(
        eventually(Duration::from_secs(10), || second.is_leader().then_some(())).is_some(),
        "the standby did not take the released lease; log:\n{}",
        second.log_text()
    );
}

// ---------------------------------------------------------------------------------------------
// docs/deployment.md: the role's policy is drctl's

#[test]
fn the_policy_in_the_deployment_guide_is_what_drctl_iam_policy_generates() {
    let doc = read_repo_file("docs/deployment.md");
    let marker = "<!-- iam-policy: myapp-prod, account 111122223333, store dynamodb://drctl -->";
    let start = doc
        .find(marker)
        .expect("the iam-policy marker in docs/deployment.md")
        + marker.len();
    let block = &doc[start..doc[start..].find("<!-- /iam-policy -->").unwrap() + start];
    let json = block
        .trim()
        .strip_prefix("```json")
        .and_then(|b| b.strip_suffix("```"))
        .expect("a ```json block between the markers");
    let documented: Value = serde_json::from_str(json).expect("the documented policy is JSON");

    // What the binary prints for the group, against a file store (no AWS needed)...
    let dir = tempfile::tempdir().unwrap();
    let drctl = Drctl::initialised(format!("file://{}", dir.path().display())).unwrap();
    let example = repo_root().join("examples/failovergroup.yaml");
    let applied = drctl.run(&["apply", "-f", example.to_str().unwrap()]);
    assert_eq!(applied.code, 0, "{applied}");
    let printed = drctl.run(&["iam-policy", "myapp-prod", "--account", "111122223333"]);
    assert_eq!(printed.code, 0, "{printed}");
    let from_binary: Value = serde_json::from_str(&printed.stdout).unwrap();

    // ...and, for the dynamodb://drctl store of the documented command, the same function
    // the binary calls, with the table.
    let group =
        drctl_schema::parse_documents(std::fs::read(&example).unwrap().as_slice(), "example")
            .unwrap()
            .remove(0);
    let with_table = drctl_cloud::aws::iam::policy_for(
        &group.spec,
        drctl_cloud::aws::iam::PolicyTarget {
            partition: "aws",
            account: "111122223333",
            dynamodb_table: Some("drctl"),
        },
    );
    assert_eq!(
        documented,
        with_table,
        "docs/deployment.md's policy is stale; regenerate it:\n{}",
        serde_json::to_string_pretty(&with_table).unwrap()
    );
    // Every statement the binary prints for the file store is in the documented policy.
    for statement in from_binary["Statement"].as_array().unwrap() {
        assert!(
            documented["Statement"]
                .as_array()
                .unwrap()
                .contains(statement),
            "the binary prints a statement the guide lacks: {statement}"
        );
    }
}

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    let dir = tempfile::tempdir().unwrap();
    let drctl = Drctl::new(format!("file://{}", dir.path().display())).unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef drctl"),
        ("fish", "complete -c drctl"),
    ] {
        let run = drctl.run(&["completion", shell]);
        assert_eq!(run.code, 0, "{run}");
        assert!(
            run.stdout.contains(marker),
            "{shell} completion lacks {marker:?}"
        );
        assert!(
            run.stdout.contains("failover"),
            "{shell} completion does not know `failover`"
        );
    }
}
