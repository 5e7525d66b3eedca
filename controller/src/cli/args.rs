//! The command line (DESIGN.md §2, a contract: commands, flags and exit codes are exact).

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
        name: Option<String>,
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: OutputFormat,
        /// Label selector, as kubectl writes it: team=payments, 'team!=x',
        /// 'tier in (gold,silver)', 'tier notin (bronze)', team (exists), '!team'; a comma
        /// means and.
        #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
        selector: Option<Selector>,
    },
    /// Spec against observed, conditions, current operation with steps and timings.
    Describe { name: String },
    /// Edit a document in $EDITOR with optimistic concurrency.
    Edit { name: String },
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
    Plan {
        name: String,
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
    Approve { name: String },
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
    Delete { name: String },
    /// The event journal: every step, every AWS mutation, who edited what.
    History {
        name: String,
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
    /// Print the JSON Schema of the document.
    Schema,
    /// The least-privilege IAM policy (JSON) for the calls drctl makes for a group.
    IamPolicy {
        name: String,
        /// AWS partition and account used in resource ARNs.
        #[arg(long, default_value = "*")]
        account: String,
        #[arg(long, default_value = "aws")]
        partition: String,
    },
    /// Shell completions.
    Completion {
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
    #[arg(long, value_enum, default_value = "aws")]
    pub cloud: CloudKind,
    /// Serve /metrics, /healthz and /readyz here, e.g. 0.0.0.0:9090.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
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
pub struct SimArgs {
    /// planned-switchover, region-outage-failover, failback-stale, failback-rejoined, ...
    #[arg(long)]
    pub scenario: String,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also run the same scenario in the runbook's sequential order and compare.
    #[arg(long, value_enum)]
    pub baseline: Option<Baseline>,
    /// fleet-outage: how many groups (1 to 20000).
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=20_000))]
    pub groups: u32,
}
