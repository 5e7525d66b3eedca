//! Validation of a document, and transition rules between an old and a new spec.
//! Every problem is reported at once, each with its field path.
//!
//! Paths use the document's own (camelCase) field names, `.key` for map keys and `[i]` for list
//! indexes, the same notation the parser uses for type errors, so a user sees one style:
//! `spec.database.clusters.us-west-2.identifier`, `spec.compute.services[1].active.min`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

mod dependencies;
mod rds_replica;

pub use dependencies::{dynamodb_table_name, s3_bucket_name};

use crate::types::{
    Capacity, ClusterTemplate, DatabaseKind, DnsRouting, DnsSpec, DnsTarget, FailoverGroup,
    FailoverGroupSpec, Objectives, RecordType, API_VERSION, KIND, MAX_RPO_OBJECTIVE_SECONDS,
    MAX_RTO_OBJECTIVE_SECONDS,
};

/// One problem with one field, e.g. `spec.writer: "eu-west-9" is not one of spec.regions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path with map keys and list indexes, e.g. `spec.compute.services[0].active.min`.
    pub path: String,
    pub message: String,
}

impl FieldError {
    /// Values quoted in the message and path segments are shortened to `MAX_ECHO_CHARS`, so
    /// that a 900 KB value is named, not echoed whole.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            path: clip_path(&path.into()),
            message: clip_quoted(&message.into()),
        }
    }
}

/// Longest value echoed in a message, in characters.
pub const MAX_ECHO_CHARS: usize = 80;
/// Longest message, in characters, whatever it quotes.
const MAX_MESSAGE_CHARS: usize = 2000;

/// `s` itself when short, else its first characters and an ellipsis.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let kept: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// Shorten every `"quoted"` or `` `backticked` `` segment of a message longer than
/// `MAX_ECHO_CHARS`, keeping its quotes, and cap the whole message.
pub fn clip_quoted(message: &str) -> String {
    let chars: Vec<char> = message.chars().collect();
    let mut out = String::with_capacity(message.len().min(4 * MAX_MESSAGE_CHARS));
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let close = match c {
            '"' | '`' => closing_quote(&chars, i),
            _ => None,
        };
        match close {
            Some(end) if end - i - 1 > MAX_ECHO_CHARS => {
                let inner: String = chars[i + 1..end].iter().collect();
                out.push(c);
                out.push_str(&clip(&inner, MAX_ECHO_CHARS));
                out.push(c);
                i = end + 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    clip(&out, MAX_MESSAGE_CHARS)
}

/// Index of the quote closing the one at `open` (`\"` inside double quotes is escaped).
fn closing_quote(chars: &[char], open: usize) -> Option<usize> {
    let quote = chars[open];
    let mut j = open + 1;
    while j < chars.len() {
        match chars[j] {
            '\\' if quote == '"' => j += 2,
            c if c == quote => return Some(j),
            _ => j += 1,
        }
    }
    None
}

/// Shorten each over-long segment of a field path (a map key can be any string).
fn clip_path(path: &str) -> String {
    if path.len() <= MAX_ECHO_CHARS {
        return path.to_string();
    }
    path.split('.')
        .map(|segment| clip(segment, MAX_ECHO_CHARS))
        .collect::<Vec<_>>()
        .join(".")
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }

    fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Upper bound of `spec.maxLagSeconds`: an RPO gate of more than an hour is a typo, not a policy.
pub const MAX_LAG_SECONDS_LIMIT: u32 = 3600;
/// Bounds of `spec.dns.ttl` (CNAME only).
pub const TTL_RANGE: std::ops::RangeInclusive<u32> = 1..=86_400;
/// Aurora allows one writer and up to 15 readers per cluster.
pub const MAX_INSTANCE_COUNT: u32 = 16;
pub const AURORA_ENGINES: [&str; 2] = ["aurora-mysql", "aurora-postgresql"];

/// Validate one document on its own.
pub fn validate(doc: &FailoverGroup) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    if doc.api_version != API_VERSION {
        errs.push(
            "apiVersion",
            format!(
                "{:?} is not supported: expected {API_VERSION}",
                doc.api_version
            ),
        );
    }
    if doc.kind != KIND {
        errs.push(
            "kind",
            format!("{:?} is not supported: expected {KIND}", doc.kind),
        );
    }
    check_metadata(doc, &mut errs);
    check_spec(&doc.spec, &mut errs);
    errs.into_result()
}

/// Transition rules: old (stored) spec versus new spec, checked on every write. Identifiers of
/// AWS resources drctl manages cannot be renamed in place: the controller would start managing
/// different resources while the old ones keep serving.
pub fn validate_transition(
    old: &FailoverGroup,
    new: &FailoverGroup,
) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let immutable = |errs: &mut ValidationErrors, path: &str, before: &str, after: &str| {
        if before != after {
            errs.push(
                path,
                format!(
                    "field is immutable: stored {before:?}, new {after:?} (delete and re-create the group to manage other resources)"
                ),
            );
        }
    };
    immutable(
        &mut errs,
        "metadata.name",
        &old.metadata.name,
        &new.metadata.name,
    );
    let (o, n) = (&old.spec, &new.spec);
    let old_regions: BTreeSet<&String> = o.regions.iter().collect();
    let new_regions: BTreeSet<&String> = n.regions.iter().collect();
    if old_regions != new_regions {
        errs.push(
            "spec.regions",
            format!(
                "field is immutable: stored {}, new {}",
                region_list(&o.regions),
                region_list(&n.regions)
            ),
        );
    }
    immutable(
        &mut errs,
        "spec.database.globalClusterIdentifier",
        &o.database.global_cluster_identifier,
        &n.database.global_cluster_identifier,
    );
    for (region, old_cluster) in &o.database.clusters {
        if let Some(new_cluster) = n.database.clusters.get(region) {
            immutable(
                &mut errs,
                &format!("spec.database.clusters.{region}.identifier"),
                &old_cluster.identifier,
                &new_cluster.identifier,
            );
        }
    }
    immutable(
        &mut errs,
        "spec.database.kind",
        o.database.kind.as_str(),
        n.database.kind.as_str(),
    );
    for (region, old_instance) in &o.database.instances {
        if let Some(new_instance) = n.database.instances.get(region) {
            immutable(
                &mut errs,
                &format!("spec.database.instances.{region}.identifier"),
                &old_instance.identifier,
                &new_instance.identifier,
            );
        }
    }
    immutable(
        &mut errs,
        "spec.dns.hostedZoneId",
        &o.dns.hosted_zone_id,
        &n.dns.hosted_zone_id,
    );
    // A trailing dot is only notation: `api.example.com` and `api.example.com.` are one record.
    immutable(
        &mut errs,
        "spec.dns.recordName",
        o.dns.record_name.trim_end_matches('.'),
        n.dns.record_name.trim_end_matches('.'),
    );
    // Route 53 cannot turn an A alias into a CNAME with one UPSERT (a CNAME cannot coexist
    // with another record of the same name), and the controller only ever UPSERTs.
    immutable(
        &mut errs,
        "spec.dns.recordType",
        o.dns.record_type.as_str(),
        n.dns.record_type.as_str(),
    );
    errs.into_result()
}

fn region_list(regions: &[String]) -> String {
    format!("[{}]", regions.join(", "))
}

fn check_metadata(doc: &FailoverGroup, errs: &mut ValidationErrors) {
    let name = &doc.metadata.name;
    if let Err(why) = dns1123_label(name) {
        errs.push("metadata.name", format!("{name:?} {why}"));
    }
    for (key, value) in &doc.metadata.labels {
        if let Err(why) = label_key(key) {
            errs.push(
                format!("metadata.labels.{key}"),
                format!("key {key:?} {why}"),
            );
        }
        if let Err(why) = label_value(value) {
            errs.push(
                format!("metadata.labels.{key}"),
                format!("value {value:?} {why}"),
            );
        }
    }
}

/// Every field of the spec, section by section, in the order the errors are reported.
fn check_spec(spec: &FailoverGroupSpec, errs: &mut ValidationErrors) {
    check_regions(spec, errs);
    let regions = &spec.regions;
    check_database(spec, errs);
    check_dns(&spec.dns, regions, errs);
    check_compute(spec, errs);
    if let Some(objectives) = &spec.objectives {
        check_objectives(errs, "spec.objectives", objectives);
    }
    if let Some(policy) = &spec.auto_failover {
        check_auto_failover(errs, policy, regions);
    }
    if let Some(deps) = &spec.dependencies {
        dependencies::check(errs, deps, regions);
    }
    if let Some(verify) = &spec.verify {
        check_verify(verify, errs);
    }
}

/// spec.regions, and the fields that must name one of them (writer, dnsOwner), and the lag
/// gate.
fn check_regions(spec: &FailoverGroupSpec, errs: &mut ValidationErrors) {
    let regions = &spec.regions;
    let listed = region_list(regions);
    if regions.len() != 2 {
        errs.push(
            "spec.regions",
            format!(
                "must list exactly two regions (active/passive), got {}: {listed}",
                regions.len()
            ),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, region) in regions.iter().enumerate() {
        if let Err(why) = aws_region(region) {
            errs.push(format!("spec.regions[{i}]"), format!("{region:?} {why}"));
        }
        if !seen.insert(region) {
            errs.push(
                format!("spec.regions[{i}]"),
                format!("{region:?} is listed twice: the two regions must differ"),
            );
        }
    }
    let in_regions = |errs: &mut ValidationErrors, path: &str, region: &str| {
        if !regions.iter().any(|r| r == region) {
            errs.push(
                path,
                format!("{region:?} is not one of spec.regions {listed}"),
            );
        }
    };
    in_regions(errs, "spec.writer", &spec.writer);
    if let Some(owner) = &spec.dns_owner {
        in_regions(errs, "spec.dnsOwner", owner);
    }
    if spec.max_lag_seconds > MAX_LAG_SECONDS_LIMIT {
        errs.push(
            "spec.maxLagSeconds",
            format!(
                "{} is too large: the replication lag gate must be between 0 and {MAX_LAG_SECONDS_LIMIT} seconds",
                spec.max_lag_seconds
            ),
        );
    }
}

/// spec.database: the kind's own fields, and the other kind's refused.
fn check_database(spec: &FailoverGroupSpec, errs: &mut ValidationErrors) {
    let regions = &spec.regions;
    let db = &spec.database;
    if db.kind == DatabaseKind::RdsReplica {
        rds_replica::check_database(errs, db, regions);
        if spec.dns_owner() != spec.writer {
            // The app-tier failover's steps check an Aurora writer's reachability; for a
            // read-replica pair they are not built, so the spec is refused, not half-run.
            errs.push(
                "spec.dnsOwner",
                "must equal spec.writer with spec.database.kind: rdsReplica (an app-tier failover, traffic without the database, is not supported for read replicas yet)",
            );
        }
    } else if !db.instances.is_empty() {
        errs.push(
            "spec.database.instances",
            "is only for spec.database.kind: rdsReplica (an auroraGlobal group lists spec.database.clusters)",
        );
    }
    if db.kind != DatabaseKind::AuroraGlobal {
        // rdsReplica's own checks are above; the Aurora ones below do not apply.
    } else if db.global_cluster_identifier.is_empty() {
        errs.push(
            "spec.database.globalClusterIdentifier",
            "is required (missing field)",
        );
    } else if let Err(why) = rds_identifier(&db.global_cluster_identifier) {
        errs.push(
            "spec.database.globalClusterIdentifier",
            format!("{:?} {why}", db.global_cluster_identifier),
        );
    }
    if db.kind == DatabaseKind::AuroraGlobal {
        covers_regions(errs, "spec.database.clusters", &db.clusters, regions);
    }
    for (region, cluster) in &db.clusters {
        check_cluster(
            errs,
            &format!("spec.database.clusters.{region}"),
            region,
            cluster,
        );
    }
}

/// spec.dns: the zone, the record, its TTL, a target per region, the routing mode.
fn check_dns(dns: &crate::types::DnsSpec, regions: &[String], errs: &mut ValidationErrors) {
    if let Err(why) = hosted_zone_id(&dns.hosted_zone_id) {
        errs.push(
            "spec.dns.hostedZoneId",
            format!("{:?} {why}", dns.hosted_zone_id),
        );
    }
    if let Err(why) = dns_name(&dns.record_name, true) {
        errs.push(
            "spec.dns.recordName",
            format!("{:?} {why}", dns.record_name),
        );
    }
    match (dns.record_type, dns.ttl) {
        (RecordType::A, Some(_)) => errs.push(
            "spec.dns.ttl",
            "must be absent for recordType A: an alias record has no TTL of its own (Route 53 uses the target's)",
        ),
        (RecordType::Cname, Some(ttl)) if !TTL_RANGE.contains(&ttl) => errs.push(
            "spec.dns.ttl",
            format!(
                "{ttl} is out of range: must be between {} and {} seconds",
                TTL_RANGE.start(),
                TTL_RANGE.end()
            ),
        ),
        _ => {}
    }
    covers_regions(errs, "spec.dns.targets", &dns.targets, regions);
    for (region, target) in &dns.targets {
        check_target(
            errs,
            &format!("spec.dns.targets.{region}"),
            dns.record_type,
            target,
        );
    }
    check_distinct_targets(errs, dns);
    check_routing(errs, dns, regions);
}

/// spec.compute.services: unique names, an ECS service per region, sane capacities.
fn check_compute(spec: &FailoverGroupSpec, errs: &mut ValidationErrors) {
    let regions = &spec.regions;
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, svc) in spec.compute.services.iter().enumerate() {
        let path = format!("spec.compute.services[{i}]");
        if let Err(why) = service_name(&svc.name) {
            errs.push(format!("{path}.name"), format!("{:?} {why}", svc.name));
        }
        if let Some(first) = names.insert(svc.name.as_str(), i) {
            names.insert(svc.name.as_str(), first);
            errs.push(
                format!("{path}.name"),
                format!(
                    "{:?} is also the name of spec.compute.services[{first}]: service names must be unique",
                    svc.name
                ),
            );
        }
        covers_regions(errs, &format!("{path}.regions"), &svc.regions, regions);
        for (region, ecs) in &svc.regions {
            let p = format!("{path}.regions.{region}");
            if let Err(why) = ecs_name(&ecs.cluster) {
                errs.push(format!("{p}.cluster"), format!("{:?} {why}", ecs.cluster));
            }
            if let Err(why) = ecs_name(&ecs.service) {
                errs.push(format!("{p}.service"), format!("{:?} {why}", ecs.service));
            }
        }
        check_capacity(errs, &format!("{path}.active"), &svc.active);
        check_capacity(errs, &format!("{path}.standby"), &svc.standby);
        if svc.active.desired == 0 {
            errs.push(
                format!("{path}.active.desired"),
                "must be at least 1: the active region serves the traffic DNS sends it",
            );
        }
    }
}

/// spec.verify: an HTTP(S) URL and a status code.
fn check_verify(verify: &crate::types::VerifySpec, errs: &mut ValidationErrors) {
    if let Err(why) = http_url(&verify.url) {
        errs.push("spec.verify.url", format!("{:?} {why}", verify.url));
    }
    if !(100..=599).contains(&verify.expect_status) {
        errs.push(
            "spec.verify.expectStatus",
            format!(
                "{} is not an HTTP status code (100..=599)",
                verify.expect_status
            ),
        );
    }
}

/// `objectives` checked as `spec.objectives` is, its fields named under `path` (a drill's
/// `spec.objectives` overrides the group's).
pub fn validate_objectives(path: &str, objectives: &Objectives) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    check_objectives(&mut errs, path, objectives);
    errs.into_result()
}

/// Objectives that can be met: an RTO of at least a second, both within sane bounds, and at
/// least one of the two given (an empty `objectives: {}` is most likely a mistake).
fn check_objectives(errs: &mut ValidationErrors, path: &str, o: &Objectives) {
    if o.rto_seconds.is_none() && o.rpo_seconds.is_none() {
        errs.push(path, "give rtoSeconds, rpoSeconds or both");
    }
    if let Some(rto) = o.rto_seconds {
        if !(1..=MAX_RTO_OBJECTIVE_SECONDS).contains(&rto) {
            errs.push(
                format!("{path}.rtoSeconds"),
                format!("{rto} is out of range: between 1 and {MAX_RTO_OBJECTIVE_SECONDS} seconds"),
            );
        }
    }
    if let Some(rpo) = o.rpo_seconds {
        if rpo > MAX_RPO_OBJECTIVE_SECONDS {
            errs.push(
                format!("{path}.rpoSeconds"),
                format!("{rpo} is too large: between 0 and {MAX_RPO_OBJECTIVE_SECONDS} seconds"),
            );
        }
    }
}

/// Shortest `spec.autoFailover.afterSeconds`: one slow probe must never be an outage.
pub const MIN_AFTER_SECONDS: u32 = 10;
/// Longest CloudWatch alarm name.
pub const MAX_ALARM_NAME_CHARS: usize = 255;

fn check_auto_failover(
    errs: &mut ValidationErrors,
    policy: &crate::types::AutoFailoverSpec,
    regions: &[String],
) {
    let path = "spec.autoFailover";
    if policy.after_seconds < MIN_AFTER_SECONDS {
        errs.push(
            format!("{path}.afterSeconds"),
            format!(
                "{} is too short: the writer's region must be impaired for at least {MIN_AFTER_SECONDS} s before an automatic failover",
                policy.after_seconds
            ),
        );
    }
    if policy.max_data_loss_seconds > MAX_LAG_SECONDS_LIMIT {
        errs.push(
            format!("{path}.maxDataLossSeconds"),
            format!(
                "{} is too large: the data-loss budget must be between 0 and {MAX_LAG_SECONDS_LIMIT} seconds",
                policy.max_data_loss_seconds
            ),
        );
    }
    let alarms = &policy.witnesses.alarms;
    if alarms.is_empty() {
        errs.push(
            format!("{path}.witnesses.alarms"),
            "must list at least one alarm: the controller's own probes are one vantage point, never enough on their own",
        );
    }
    let listed = region_list(regions);
    let mut seen = BTreeSet::new();
    for (i, alarm) in alarms.iter().enumerate() {
        let p = format!("{path}.witnesses.alarms[{i}]");
        if !regions.contains(&alarm.region) {
            errs.push(
                format!("{p}.region"),
                format!("{:?} is not one of spec.regions {listed}", alarm.region),
            );
        }
        let name_chars = alarm.name.chars().count();
        if name_chars == 0
            || name_chars > MAX_ALARM_NAME_CHARS
            || alarm.name.chars().any(char::is_control)
        {
            errs.push(
                format!("{p}.name"),
                format!(
                    "{:?} is not a CloudWatch alarm name (1 to {MAX_ALARM_NAME_CHARS} characters, no control characters)",
                    alarm.name
                ),
            );
        }
        if !seen.insert((&alarm.region, &alarm.name)) {
            errs.push(
                p,
                format!(
                    "alarm {:?} in {} is listed twice: one alarm is one witness",
                    alarm.name, alarm.region
                ),
            );
        }
    }
    if let Some(min) = policy.min_witnesses {
        if min == 0 || min as usize > alarms.len() {
            errs.push(
                format!("{path}.minWitnesses"),
                format!(
                    "{min} is out of range: between 1 and the {} alarm(s) of spec.autoFailover.witnesses.alarms",
                    alarms.len()
                ),
            );
        }
    }
}

/// A per-region map must have exactly one entry per region of spec.regions.
fn covers_regions<T>(
    errs: &mut ValidationErrors,
    path: &str,
    map: &BTreeMap<String, T>,
    regions: &[String],
) {
    let listed = region_list(regions);
    let mut seen = BTreeSet::new();
    for region in regions {
        if seen.insert(region) && !map.contains_key(region) {
            errs.push(
                path,
                format!("missing an entry for region {region} (one per region of spec.regions {listed})"),
            );
        }
    }
    for key in map.keys() {
        if !regions.contains(key) {
            errs.push(
                format!("{path}.{key}"),
                format!("{key:?} is not one of spec.regions {listed}"),
            );
        }
    }
}

/// `spec.dns.routing` and `spec.dns.routingControl` (docs/design-contract.md §7.2): the
/// routing controls are required with `routingControl`, one per region, and refused with any
/// other mode (they would be silently ignored).
fn check_routing(errs: &mut ValidationErrors, dns: &DnsSpec, regions: &[String]) {
    const PATH: &str = "spec.dns.routingControl";
    let Some(rc) = &dns.routing_control else {
        if dns.routing == DnsRouting::RoutingControl {
            errs.push(
                PATH,
                "is required with spec.dns.routing: routingControl (clusterArn and one control per region)",
            );
        }
        return;
    };
    if dns.routing != DnsRouting::RoutingControl {
        errs.push(
            PATH,
            format!(
                "must be absent unless spec.dns.routing is routingControl (it is {})",
                dns.routing.as_str()
            ),
        );
        return;
    }
    if let Err(why) = arc_arn(&rc.cluster_arn, ArcResource::Cluster) {
        errs.push(
            format!("{PATH}.clusterArn"),
            format!("{:?} {why}", rc.cluster_arn),
        );
    }
    if rc.controls.is_empty() {
        errs.push(
            format!("{PATH}.controls"),
            format!(
                "is required: one routing control per region of spec.regions {}",
                region_list(regions)
            ),
        );
    } else {
        covers_regions(errs, &format!("{PATH}.controls"), &rc.controls, regions);
    }
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (region, arn) in &rc.controls {
        let path = format!("{PATH}.controls.{region}");
        if let Err(why) = arc_arn(arn, ArcResource::RoutingControl) {
            errs.push(&path, format!("{arn:?} {why}"));
        }
        if let Some(first) = seen.insert(arn.as_str(), region.as_str()) {
            errs.push(
                &path,
                format!(
                    "{arn:?} is also the control of {PATH}.controls.{first}: each region needs its own"
                ),
            );
        }
    }
}

/// What an ARC ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArcResource {
    Cluster,
    RoutingControl,
}

/// An ARC (route53-recovery-control) ARN: `arn:PARTITION:route53-recovery-control::ACCOUNT:`
/// then `cluster/ID` or `controlpanel/ID/routingcontrol/ID`. ARC resources are global: the
/// region field is empty.
pub fn arc_arn(s: &str, kind: ArcResource) -> Check {
    let why = match kind {
        ArcResource::Cluster => {
            "is not an ARC cluster ARN such as arn:aws:route53-recovery-control::111122223333:cluster/ID"
        }
        ArcResource::RoutingControl => {
            "is not an ARC routing control ARN such as arn:aws:route53-recovery-control::111122223333:controlpanel/ID/routingcontrol/ID"
        }
    };
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let id = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let ok = match parts.as_slice() {
        ["arn", partition, "route53-recovery-control", "", account, resource] => {
            partition.starts_with("aws")
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && match kind {
                    ArcResource::Cluster => resource.strip_prefix("cluster/").is_some_and(id),
                    ArcResource::RoutingControl => {
                        match resource.split('/').collect::<Vec<_>>().as_slice() {
                            ["controlpanel", panel, "routingcontrol", control] => {
                                id(panel) && id(control)
                            }
                            _ => false,
                        }
                    }
                }
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(why.to_string())
    }
}

fn check_cluster(errs: &mut ValidationErrors, path: &str, region: &str, c: &ClusterTemplate) {
    if let Err(why) = rds_identifier(&c.identifier) {
        errs.push(
            format!("{path}.identifier"),
            format!("{:?} {why}", c.identifier),
        );
    }
    if let Some(engine) = &c.engine {
        if !AURORA_ENGINES.contains(&engine.as_str()) {
            errs.push(
                format!("{path}.engine"),
                format!("{engine:?} is not one of [{}]", AURORA_ENGINES.join(", ")),
            );
        }
    }
    if let Some(version) = &c.engine_version {
        if version.is_empty()
            || !version
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '_' || ch == '-')
        {
            errs.push(
                format!("{path}.engineVersion"),
                format!("{version:?} is not an engine version such as \"16.3\""),
            );
        }
    }
    if let Some(class) = &c.instance_class {
        let ok = class.strip_prefix("db.").is_some_and(|rest| {
            rest.contains('.')
                && rest
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '.')
        });
        if !ok {
            errs.push(
                format!("{path}.instanceClass"),
                format!("{class:?} is not an instance class such as \"db.r6g.large\""),
            );
        }
    }
    if let Some(count) = c.instance_count {
        if count == 0 || count > MAX_INSTANCE_COUNT {
            errs.push(
                format!("{path}.instanceCount"),
                format!(
                    "{count} is out of range: a cluster has 1 to {MAX_INSTANCE_COUNT} instances"
                ),
            );
        }
    }
    if let Some(key) = &c.kms_key_id {
        match kms_key(key) {
            Err(why) => errs.push(format!("{path}.kmsKeyId"), format!("{key:?} {why}")),
            Ok(Some(key_region)) if key_region != region => errs.push(
                format!("{path}.kmsKeyId"),
                format!(
                    "{key:?} is a key in {key_region}, but this cluster is in {region}: a cross-region secondary needs a key in its own region"
                ),
            ),
            Ok(_) => {}
        }
    }
    if let Some(group) = &c.db_subnet_group {
        let ok = !group.is_empty()
            && group.len() <= 255
            && group
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, ' ' | '.' | '_' | '-'));
        if !ok {
            errs.push(
                format!("{path}.dbSubnetGroup"),
                format!("{group:?} is not a DB subnet group name (1-255 letters, digits, spaces, '.', '_', '-')"),
            );
        }
    }
    for (i, sg) in c.vpc_security_group_ids.iter().enumerate() {
        let ok = sg.strip_prefix("sg-").is_some_and(|hex| {
            (8..=17).contains(&hex.len())
                && hex
                    .chars()
                    .all(|ch| ch.is_ascii_hexdigit() && !ch.is_ascii_uppercase())
        });
        if !ok {
            errs.push(
                format!("{path}.vpcSecurityGroupIds[{i}]"),
                format!("{sg:?} is not a security group id such as \"sg-0123456789abcdef0\""),
            );
        }
    }
}

fn check_target(errs: &mut ValidationErrors, path: &str, record_type: RecordType, t: &DnsTarget) {
    match record_type {
        RecordType::A => {
            match &t.alias_dns_name {
                None => errs.push(
                    format!("{path}.aliasDnsName"),
                    "is required for recordType A (the load balancer's DNS name)",
                ),
                Some(name) => {
                    if let Err(why) = dns_name(name, false) {
                        errs.push(format!("{path}.aliasDnsName"), format!("{name:?} {why}"));
                    }
                }
            }
            match &t.alias_hosted_zone_id {
                None => errs.push(
                    format!("{path}.aliasHostedZoneId"),
                    "is required for recordType A (the load balancer's canonical hosted zone id)",
                ),
                Some(zone) => {
                    if let Err(why) = hosted_zone_id(zone) {
                        errs.push(
                            format!("{path}.aliasHostedZoneId"),
                            format!("{zone:?} {why}"),
                        );
                    }
                }
            }
            if t.value.is_some() {
                errs.push(
                    format!("{path}.value"),
                    "must be absent for recordType A: use aliasDnsName and aliasHostedZoneId",
                );
            }
        }
        RecordType::Cname => {
            match &t.value {
                None => errs.push(format!("{path}.value"), "is required for recordType CNAME"),
                Some(value) => {
                    if let Err(why) = dns_name(value, false) {
                        errs.push(format!("{path}.value"), format!("{value:?} {why}"));
                    }
                }
            }
            for (field, present) in [
                ("aliasDnsName", t.alias_dns_name.is_some()),
                ("aliasHostedZoneId", t.alias_hosted_zone_id.is_some()),
            ] {
                if present {
                    errs.push(
                        format!("{path}.{field}"),
                        "must be absent for recordType CNAME: use value",
                    );
                }
            }
        }
    }
}

/// Each region needs its own endpoint: with one target for both, moving DNS changes nothing,
/// so a failover would wait for a cut-over that can never show.
fn check_distinct_targets(errs: &mut ValidationErrors, dns: &DnsSpec) {
    let mut first_region_of: BTreeMap<String, &str> = BTreeMap::new();
    for (region, target) in &dns.targets {
        let (field, endpoint) = match dns.record_type {
            RecordType::A => ("aliasDnsName", &target.alias_dns_name),
            RecordType::Cname => ("value", &target.value),
        };
        let Some(endpoint) = endpoint else {
            continue;
        };
        let key = endpoint.trim_end_matches('.').to_ascii_lowercase();
        match first_region_of.get(&key) {
            Some(first) => errs.push(
                format!("spec.dns.targets.{region}.{field}"),
                format!(
                    "{endpoint:?} is also the target of spec.dns.targets.{first}: each region \
                     needs its own endpoint, or moving DNS changes nothing and a failover never \
                     converges"
                ),
            ),
            None => {
                first_region_of.insert(key, region);
            }
        }
    }
}

fn check_capacity(errs: &mut ValidationErrors, path: &str, c: &Capacity) {
    if c.min > c.max {
        errs.push(
            format!("{path}.min"),
            format!("{} is greater than max {}", c.min, c.max),
        );
    }
    if c.desired < c.min {
        errs.push(
            format!("{path}.desired"),
            format!("{} is less than min {}", c.desired, c.min),
        );
    }
    if c.desired > c.max {
        errs.push(
            format!("{path}.desired"),
            format!("{} is greater than max {}", c.desired, c.max),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Syntax checks. Each returns the reason, phrased to follow the quoted value.
// ---------------------------------------------------------------------------------------------

type Check = Result<(), String>;

fn is_lower_alnum(ch: char) -> bool {
    ch.is_ascii_lowercase() || ch.is_ascii_digit()
}

/// DNS-1123 label: at most 63 of [a-z0-9-], starting and ending with a letter or digit.
pub fn dns1123_label(s: &str) -> Check {
    const WHY: &str = "is not a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit";
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|ch| is_lower_alnum(ch) || ch == '-')
        && s.starts_with(is_lower_alnum)
        && s.ends_with(is_lower_alnum);
    if ok {
        Ok(())
    } else {
        Err(WHY.to_string())
    }
}

/// Kubernetes label key: `[prefix/]name`, name at most 63 of [A-Za-z0-9-_.] with alphanumeric
/// ends, prefix a DNS subdomain.
pub(crate) fn label_key(key: &str) -> Check {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if prefix.len() > 253 || prefix.split('.').any(|l| dns1123_label(l).is_err()) {
            return Err("has a prefix that is not a DNS subdomain".to_string());
        }
    }
    if name.is_empty() {
        return Err("is empty".to_string());
    }
    label_value(name)
}

/// Kubernetes label value: empty, or at most 63 of [A-Za-z0-9-_.] with alphanumeric ends.
pub(crate) fn label_value(v: &str) -> Check {
    let alnum = |ch: char| ch.is_ascii_alphanumeric();
    let ok = v.is_empty()
        || (v.len() <= 63
            && v.chars()
                .all(|ch| alnum(ch) || matches!(ch, '-' | '_' | '.'))
            && v.starts_with(alnum)
            && v.ends_with(alnum));
    if ok {
        Ok(())
    } else {
        Err("must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit".to_string())
    }
}

/// AWS region syntax: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-4`.
pub fn aws_region(s: &str) -> Check {
    const WHY: &str = "is not an AWS region name such as us-east-1";
    let parts: Vec<&str> = s.split('-').collect();
    let lower = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    let ok = match parts.as_slice() {
        [geo, area, num] => geo.len() == 2 && lower(geo) && lower(area) && is_region_number(num),
        [geo, "gov" | "iso" | "isob", area, num] => {
            geo.len() == 2 && lower(geo) && lower(area) && is_region_number(num)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(WHY.to_string())
    }
}

fn is_region_number(s: &str) -> bool {
    s.len() == 1 && s.chars().all(|c| c.is_ascii_digit())
}

/// RDS DB cluster / global cluster identifier: 1-63 letters, digits or hyphens; first a letter;
/// no two consecutive hyphens; not ending with a hyphen.
pub fn rds_identifier(s: &str) -> Check {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.contains("--")
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err("is not an RDS identifier: 1 to 63 letters, digits or hyphens, starting with a letter, with no two consecutive hyphens and no trailing hyphen".to_string())
    }
}

/// The RDS identifier drctl names a snapshot or cluster by, made from `raw`: letters and
/// digits lower-cased, anything else a single hyphen, starting with a letter. It always passes
/// [`rds_identifier`], the check beside it. A name over 63 characters keeps its first 54 and
/// ends with 8 hex digits of a stable hash of the whole name: cutting the tail alone would
/// drop what tells two operations' snapshots apart (their operation ids), and the second
/// operation would take the first one's snapshot for its own.
pub fn rds_identifier_from(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    for c in raw.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert_str(0, "s-");
    }
    if out.len() > RDS_IDENTIFIER_MAX {
        let hash = crate::stable_hash::fnv1a_64(raw.as_bytes()) >> 32;
        out.truncate(RDS_IDENTIFIER_MAX - 9);
        let kept = out.trim_end_matches('-').len();
        out.truncate(kept);
        out.push_str(&format!("-{hash:08x}"));
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

const RDS_IDENTIFIER_MAX: usize = 63;

/// Route 53 hosted zone id: 1 to 32 uppercase letters and digits. AWS's own ids begin with
/// `Z`, but the API model promises only the length (ResourceId, max 32), and emulators such
/// as moto mint ids without the `Z`; the check is there to catch `/hostedzone/Z..`, lower
/// case and pasted zone names, not to second-guess Route 53.
pub fn hosted_zone_id(s: &str) -> Check {
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else if s.starts_with("/hostedzone/") {
        Err("is not a hosted zone id: give the id without the /hostedzone/ prefix, such as Z0123456789ABC".to_string())
    } else {
        Err(
            "is not a hosted zone id: 1 to 32 uppercase letters and digits, such as Z0123456789ABC"
                .to_string(),
        )
    }
}

/// A DNS name: labels of letters, digits, '-' and '_' (1-63, no hyphen at either end), at
/// least two labels, at most 253 characters, an optional trailing dot. `*` is allowed as the
/// first label of a record name (a wildcard record).
pub fn dns_name(s: &str, allow_wildcard: bool) -> Check {
    let bare = s.strip_suffix('.').unwrap_or(s);
    if bare.is_empty() || bare.len() > 253 {
        return Err("is not a DNS name: must be 1 to 253 characters".to_string());
    }
    let labels: Vec<&str> = bare.split('.').collect();
    if labels.len() < 2 {
        return Err("is not a fully qualified DNS name such as api.example.com".to_string());
    }
    for (i, label) in labels.iter().enumerate() {
        if i == 0 && allow_wildcard && *label == "*" {
            continue;
        }
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!(
                "is not a DNS name: label {label:?} must be 1 to 63 letters, digits, '-' or '_', not starting or ending with '-'"
            ));
        }
    }
    Ok(())
}

/// A KMS key: a key id (UUID or multi-Region `mrk-` id), an alias (`alias/NAME`), or the ARN of
/// either. Returns the region of an ARN, so callers can check it against the cluster's region.
pub fn kms_key(s: &str) -> Result<Option<String>, String> {
    const WHY: &str = "is not a KMS key: expected a key id, alias/NAME, or an ARN arn:aws:kms:REGION:ACCOUNT:key/ID";
    if let Some(rest) = s.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [partition, service, region, account, resource] = parts.as_slice() else {
            return Err(WHY.to_string());
        };
        let ok = partition.starts_with("aws")
            && *service == "kms"
            && aws_region(region).is_ok()
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && (resource.strip_prefix("key/").is_some_and(kms_key_id)
                || resource.strip_prefix("alias/").is_some_and(kms_alias_name));
        return if ok {
            Ok(Some((*region).to_string()))
        } else {
            Err(WHY.to_string())
        };
    }
    if s.strip_prefix("alias/").is_some_and(kms_alias_name) || kms_key_id(s) {
        Ok(None)
    } else {
        Err(WHY.to_string())
    }
}

fn kms_key_id(s: &str) -> bool {
    if let Some(hex) = s.strip_prefix("mrk-") {
        return hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn kms_alias_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 250
        && !s.starts_with("aws/")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
}

/// A service name within the group: 1-63 letters, digits, '-' or '_'.
fn service_name(s: &str) -> Check {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err("is not a service name: 1 to 63 letters, digits, '-' or '_'".to_string())
    }
}

/// An ECS cluster or service: a name (1-255 letters, digits, '-' or '_') or an ARN.
fn ecs_name(s: &str) -> Check {
    let name_ok = !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let arn_ok =
        s.starts_with("arn:aws") && s.contains(":ecs:") && !s.contains(char::is_whitespace);
    if name_ok || arn_ok {
        Ok(())
    } else {
        Err("is not an ECS name: 1 to 255 letters, digits, '-' or '_', or an ARN".to_string())
    }
}

/// An http(s) URL with a host.
fn http_url(s: &str) -> Check {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err("is not an http:// or https:// URL".to_string());
    };
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or("");
    // An IPv6 literal carries colons inside brackets; only a colon after it starts a port.
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, after)) => (h, after.strip_prefix(':')),
            None => ("", None),
        },
        None => match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        },
    };
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Err(format!("has an invalid port {port:?}"));
        }
    }
    if host.is_empty() || s.contains(char::is_whitespace) {
        return Err(
            "is not a URL with a host, such as https://api.example.com/healthz".to_string(),
        );
    }
    Ok(())
}
