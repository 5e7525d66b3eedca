//! The command line (docs/design-contract.md §2, a contract: commands, flags and exit codes are exact).

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use drctl_schema::Selector;

#[derive(Debug, Parser)]
#[command(
    name = "drctl",
    version,
    about = "Declarative disaster recovery for AWS active/passive regions",
    long_about = "drctl keeps a FailoverGroup document per application (which region is the Aurora \
Global Database writer, which owns DNS, how ECS is scaled) and reconciles AWS towards it.\n\n\
Exit status: 0 success, 1 failure, 2 invalid input or usage, 3 conflict (stale resourceVersion)."
)]
pub struct Cli {
    /// Where documents live: dynamodb://TABLE or file://DIR.
    #[arg(
        long,
        global = true,
        env = "DRCTL_STORE",
        default_value = drctl_state::DEFAULT_STORE_URL
    )]
    pub store: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Table,
    Json,
}

/// `drctl report -o`: a self-contained HTML page, the report as JSON, or Markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Html,
    Json,
    Md,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CloudKind {
    Aws,
    Sim,
}

impl CloudKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CloudKind::Aws => "aws",
            CloudKind::Sim => "sim",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Baseline {
    /// The runbook's order: promote, scale, DNS, verify; nothing overlapping.
    Sequential,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the store (DynamoDB table: on-demand, streams on) if missing; idempotent.
    Init,
    /// Create or update one or more documents (YAML or JSON, multi-document).
    ///
    /// With a directory, every .yaml, .yml and .json file in it, sorted by name (hidden files
    /// and directories are skipped; -R recurses). Every document of every file is parsed,
    /// validated and checked against the stored groups (transition rules, and no two groups
    /// managing the same global cluster, cluster or DNS record) before anything is written:
    /// one bad document refuses the whole apply (exit 2, naming its file and document). A
    /// kubectl List (`drctl get -o yaml` output) is read as its items.
    Apply(FileArgs),
    /// List documents, or show one.
    ///
    /// The table ends with the number of groups in each phase. With -l, only the groups whose
    /// labels match; a selector that matches nothing prints "No resources found" on stderr and
    /// exits 0, like kubectl.
    #[command(group(ArgGroup::new("which").args(["name", "selector"])))]
    Get {
        /// The group to show (default: every group, as a table).
        name: Option<String>,
        /// Output format: a table, or the documents as YAML or JSON (a kubectl List for
        /// several, which `apply -f` reads back).
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: OutputFormat,
        /// Label selector, as kubectl writes it: team=payments, 'team!=x',
        /// 'tier in (gold,silver)', 'tier notin (bronze)', team (exists), '!team'; a comma
        /// means and.
        #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
        selector: Option<Selector>,
    },
    /// Spec against observed, conditions, current operation with steps and timings.
    Describe {
        /// The group to describe.
        name: String,
    },
    /// Edit a document in $EDITOR with optimistic concurrency.
    Edit {
        /// The group to edit.
        name: String,
    },
    /// Spec diff and the actions it would cause. Exit 0 no change, 1 change, >1 error.
    ///
    /// Reads files, directories and standard input as `apply` does, and refuses (exit 2) what
    /// `apply` would refuse.
    Diff {
        #[command(flatten)]
        input: FileArgs,
        /// Which cloud the planner observes to say what actions the change would cause.
        #[arg(long, value_enum)]
        cloud: Option<CloudKind>,
    },
    /// Dry run against the live cloud: the actions the controller would take now.
    ///
    /// Exits 1, after printing the plan, when any part of the world could not be read: a plan
    /// of what could not be observed is not a plan of the live state.
    Plan {
        /// The group to plan for.
        name: String,
        /// Which cloud to observe: AWS (the standard configuration chain) or a simulated
        /// world provisioned as the group was last observed.
        #[arg(long, value_enum, default_value = "aws")]
        cloud: CloudKind,
    },
    /// Sugar: set spec.writer and spec.dnsOwner to REGION.
    ///
    /// `drctl failover NAME --to REGION`, or `drctl failover -l SELECTOR --to REGION` for every
    /// group whose labels match. With -l, every matching group is checked first (REGION must be
    /// one of its regions, or nothing is changed, exit 2), then each is changed in turn. A
    /// selector that matches nothing changes nothing and exits 0 ("no failovergroup matches"),
    /// like kubectl.
    Failover(FailoverArgs),
    /// Approve the step waiting in AwaitApproval.
    Approve {
        /// The group whose AwaitApproval step to approve.
        name: String,
    },
    /// Stop mutating AWS for this group (observe and report only).
    ///
    /// With -l instead of NAME, every group whose labels match; a selector that matches
    /// nothing changes nothing and exits 0 ("no failovergroup matches"), like kubectl.
    Suspend(TargetArgs),
    /// Resume reconciling this group.
    ///
    /// With -l instead of NAME, every group whose labels match; a selector that matches
    /// nothing changes nothing and exits 0 ("no failovergroup matches"), like kubectl.
    Resume(TargetArgs),
    /// Remove the document (never touches AWS resources).
    Delete {
        /// The group to remove from the store.
        name: String,
    },
    /// The event journal: every step, every AWS mutation, who edited what.
    History {
        /// The group whose journal to show.
        name: String,
        /// Output format: a table, or one JSON array of events.
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: HistoryFormat,
    },
    /// Run the reconcile loop.
    Controller(ControllerArgs),
    /// The embedded default: a simulated two-region AWS and a file store, walked through an
    /// outage, failover, recovery and failback.
    Demo(DemoArgs),
    /// Run a scenario in the simulated world in virtual time and report RTO, RPO, API calls.
    Sim(SimArgs),
    /// Rehearse a drill: a group, a timeline of faults and operator actions, objectives and
    /// the expected end state, run by the real controller in a simulated world.
    ///
    /// Exit 0 when the objectives and `expect` are met and no invariant is broken, 1
    /// otherwise, 2 for an invalid drill (the field named). See docs/drills.md.
    Drill(DrillArgs),
    /// One operation of a group, from its status and journal: the steps on a time axis, RTO
    /// and RPO against spec.objectives, the AWS mutations made, who decided and why.
    ///
    /// `-o html` is one self-contained page (inline CSS and SVG, nothing loaded from
    /// elsewhere); redirect it to a file. See docs/drills.md.
    Report {
        /// The group whose operation to report.
        name: String,
        /// The operation (its id, as `drctl describe` shows it); default: the running one,
        /// else the last one.
        #[arg(long = "operation", value_name = "ID")]
        operation: Option<String>,
        /// Output format: a self-contained HTML page, JSON, or Markdown.
        #[arg(short = 'o', long = "output", value_enum)]
        output: ReportFormat,
    },
    /// Print the JSON Schema of the document.
    Schema,
    /// The least-privilege IAM policy (JSON) for the calls drctl makes for a group, or with
    /// -l for every group a label selector matches (one policy, statements merged).
    #[command(group(ArgGroup::new("target").required(true).args(["name", "selector"])))]
    IamPolicy {
        /// The group the policy is for (or -l SELECTOR for a fleet).
        name: Option<String>,
        /// Every group whose labels match, as kubectl writes it (see `drctl get -l`).
        #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
        selector: Option<Selector>,
        /// Widen the ARNs of each resource type in a region to that type's wildcard, so that
        /// a fleet's policy fits IAM's 6,144 characters (record changes stay per name).
        #[arg(long)]
        compact: bool,
        /// The AWS account id (12 digits) used in resource ARNs; * for any account.
        #[arg(long, default_value = "*", value_parser = parse_account)]
        account: String,
        /// The AWS partition used in resource ARNs: aws, aws-cn or aws-us-gov.
        #[arg(long, default_value = "aws")]
        partition: String,
    },
    /// Shell completions.
    Completion {
        /// The shell to print completions for.
        #[arg(value_enum)]
        shell: Shell,
    },
}

/// Where documents come from: `-f FILE|DIR|-` (repeatable) and `-R`.
#[derive(Debug, Clone, Args)]
pub struct FileArgs {
    /// A file, a directory (its .yaml, .yml and .json files, sorted by name), or - for
    /// standard input. May be given more than once.
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "FILE|DIR|-",
        required = true
    )]
    pub files: Vec<String>,
    /// With a directory: also the files of its subdirectories.
    #[arg(short = 'R', long)]
    pub recursive: bool,
}

/// One group by NAME, or every group a label selector matches (exactly one of the two).
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["name", "selector"])))]
pub struct TargetArgs {
    /// The group (or -l SELECTOR for every matching group).
    pub name: Option<String>,
    /// Every group whose labels match, as kubectl writes it: team=payments, 'team!=x',
    /// 'tier in (gold,silver)', 'tier notin (bronze)', team, '!team'; a comma means and.
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub selector: Option<Selector>,
}

/// `drctl failover NAME --to REGION` or `drctl failover -l SELECTOR --to REGION`.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["name", "selector"])))]
pub struct FailoverArgs {
    /// The group to fail over (or -l SELECTOR for every matching group).
    pub name: Option<String>,
    /// Every group whose labels match, as kubectl writes it: team=payments, 'team!=x',
    /// 'tier in (gold,silver)', 'tier notin (bronze)', team, '!team'; a comma means and.
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub selector: Option<Selector>,
    /// The region that becomes writer and DNS owner.
    #[arg(long = "to", value_name = "REGION")]
    pub to: String,
    /// Also set spec.allowDataLoss: true (needed when the current writer is down).
    #[arg(long)]
    pub allow_data_loss: bool,
    /// Wait and show live step progress until the group is Converged (or Blocked). With -l,
    /// every changed group in turn, within one --timeout.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds (exit 1).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// One pass over all groups, then exit.
    #[arg(long, conflicts_with = "until_converged")]
    pub once: bool,
    /// Exit 0 when every group is Ready, 1 on timeout.
    #[arg(long)]
    pub until_converged: bool,
    /// Give up after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Which cloud to reconcile: AWS, or a simulated world provisioned as the groups were
    /// last observed, in virtual time (a rehearsal).
    #[arg(long, value_enum, default_value = "aws")]
    pub cloud: CloudKind,
    /// Serve /metrics, /healthz and /readyz here, e.g. 0.0.0.0:9090.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Log lines on stderr as text, or one JSON object per line.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// This replica's identity in the lease (default: hostname and pid).
    #[arg(long, env = "DRCTL_REPLICA_ID")]
    pub replica_id: Option<String>,
    /// Name of the lease item that elects the active replica.
    #[arg(long, default_value = "drctl-controller")]
    pub lease_name: String,
    /// Reconcile passes in flight at once (never two of one group).
    #[arg(long, value_name = "N", default_value_t = crate::runtime::DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Split the groups over K leases by a stable hash of their names; a replica acts for
    /// the shards whose leases it keeps renewed.
    #[arg(long, value_name = "K", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub shards: u32,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed of the simulated world.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Keep the demo's file store here instead of a temporary directory.
    #[arg(long)]
    pub keep_store: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("rehearsed").args(["file", "group"])))]
#[command(group(ArgGroup::new("what").required(true).args(["scenario", "campaign"])))]
pub struct SimArgs {
    #[arg(long, value_name = "NAME", help = scenario_help())]
    pub scenario: Option<String>,
    /// Instead of a scenario: N random fault schedules drawn from --seed (run i uses seed
    /// S+i, so `--campaign 1 --seed X` replays run X), over every operation, each checked
    /// against the invariants; a failure is shrunk to a smaller schedule that still fails.
    #[arg(long, value_name = "N", conflicts_with_all = ["baseline"],
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub campaign: Option<u32>,
    /// Rehearse the group in FILE (one FailoverGroup document) instead of the shipped
    /// example: the simulated world is provisioned from it, and the incident strikes its
    /// writer's region.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub file: Option<String>,
    /// Rehearse this group as the store (--store) holds it, instead of the shipped example.
    /// Nothing is written to the store.
    #[arg(long = "group", value_name = "NAME")]
    pub group: Option<String>,
    /// Seed of the simulated world (the same seed replays the same run).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also run the same scenario in the runbook's sequential order and compare.
    #[arg(long, value_enum)]
    pub baseline: Option<Baseline>,
    /// Also write the run's page (the same as `drctl report -o html`) to FILE: one
    /// self-contained HTML file with the steps of each operation on a time axis.
    #[arg(long, value_name = "FILE", conflicts_with = "campaign")]
    pub html: Option<PathBuf>,
    /// fleet-outage: how many groups (1 to 20000).
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=20_000))]
    pub groups: u32,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The Drill document (YAML or JSON); its spec.group.file is relative to it.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub file: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also write the drill's page (the same as `drctl report -o html`) to FILE: one
    /// self-contained HTML file with the steps of each operation on a time axis.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// `--scenario`'s help: every scenario `drctl sim` knows, from the list it runs them from.
fn scenario_help() -> String {
    let mut names: Vec<&str> = crate::simulation::Scenario::ALL
        .iter()
        .map(|s| s.name())
        .collect();
    names.push(crate::simulation::fleet::FLEET_OUTAGE);
    format!("The scenario to run: {}", names.join(", "))
}

/// `--account`: an AWS account id is exactly 12 digits; `*` stands for any account.
fn parse_account(value: &str) -> Result<String, String> {
    if value == "*" || (value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())) {
        Ok(value.to_string())
    } else {
        Err("an AWS account id is 12 digits (e.g. 111122223333), or * for any account".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn walk(cmd: &clap::Command, path: String, missing: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            if help.trim().is_empty() {
                missing.push(format!("{path} {id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, format!("{path} {}", sub.get_name()), missing);
        }
    }

    #[test]
    fn every_argument_of_every_command_has_help_text() {
        let cmd = Cli::command();
        let mut missing = Vec::new();
        walk(&cmd, "drctl".to_string(), &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:#?}");
    }

    #[test]
    fn sim_scenario_help_names_every_scenario_in_full() {
        let mut cmd = Cli::command();
        let help = cmd
            .find_subcommand_mut("sim")
            .unwrap()
            .render_long_help()
            .to_string();
        for scenario in crate::simulation::Scenario::ALL {
            assert!(
                help.contains(scenario.name()),
                "{} missing: {help}",
                scenario.name()
            );
        }
        assert!(
            help.contains(crate::simulation::fleet::FLEET_OUTAGE),
            "{help}"
        );
        assert!(!help.contains("..."), "{help}");
    }

    #[test]
    fn an_account_id_is_twelve_digits_or_a_wildcard() {
        assert!(parse_account("111122223333").is_ok());
        assert!(parse_account("*").is_ok());
        for bad in [
            "notanaccount",
            "11112222333",
            "1111222233334",
            "11112222333x",
            "",
        ] {
            assert!(parse_account(bad).is_err(), "{bad} accepted");
        }
        let err = Cli::try_parse_from(["drctl", "iam-policy", "g", "--account", "notanaccount"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(err.to_string().contains("--account"), "{err}");
    }
}
