//! The controller under faults, in the simulated world and virtual time: crashes at every
//! step boundary, a leader paused past its lease, throttling and lost responses. Every test
//! ends with the sim's checker of docs/design-contract.md §5.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use drctl::metrics::Metrics;
use drctl::observed::Reachability;
use drctl::runtime::{Controller, RunMode, RuntimeConfig};
use drctl::simulation::example_group;
use drctl_cloud::{
    ChangeInfo, ChangeStatus, Cloud, CloudError, CloudResult, Dns, DnsRecord, ErrorCategory,
    ReplicationLag, Service,
};
use drctl_schema::{FailoverGroup, Phase};

use drctl_sim::{InvariantInput, OutageScope, RejoinMode, ServiceFaults, SimConfig, SimWorld};
use drctl_state::{ApprovalRecord, Store};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const LEASE: &str = "drctl-controller";
const OPERATOR: &str = "operator@test";
const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";

struct Replica {
    task: JoinHandle<()>,
    stop: CancellationToken,
}

struct Harness {
    world: Arc<SimWorld>,
    operator: Arc<dyn Store>,
    name: String,
}

impl Harness {
    async fn new(seed: u64) -> Harness {
        let group = example_group().unwrap();
        let world = SimWorld::new(SimConfig::new(seed));
        world.provision(&group.spec).unwrap();
        world.start_app_writes(10).unwrap();
        let operator = world.store_as(OPERATOR);
        operator.init().await.unwrap();
        let mut doc = group.clone();
        doc.status = None;
        operator.create(&doc).await.unwrap();
        Harness {
            world,
            operator,
            name: group.metadata.name,
        }
    }

    fn start(&self, replica: &str) -> Replica {
        self.start_on(replica, self.world.cloud(replica))
    }

    /// A replica that sees the cloud through `cloud` (the sim's, with some ports swapped).
    fn start_on(&self, replica: &str, cloud: Cloud) -> Replica {
        let mut config = RuntimeConfig::new(replica, LEASE);
        config.planner.operation_poll = Duration::from_secs(1);
        let controller =
            Controller::new(self.world.store_as(replica), cloud, config, Metrics::new());
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let _ = controller.run(RunMode::Forever, None, token).await;
        });
        Replica { task, stop }
    }

    async fn doc(&self) -> FailoverGroup {
        self.operator.get(&self.name).await.unwrap().unwrap()
    }

    async fn move_writer(&self, to: &str, allow_data_loss: bool) {
        let mut doc = self.doc().await;
        let rv = doc.metadata.resource_version.clone().unwrap();
        doc.spec.writer = to.to_string();
        doc.spec.dns_owner = Some(to.to_string());
        doc.spec.allow_data_loss = allow_data_loss;
        self.operator.update(&doc, &rv).await.unwrap();
    }

    async fn approve_when_asked(&self) -> bool {
        let doc = self.doc().await;
        let status = doc.status.unwrap_or_default();
        if status.phase != Phase::WaitingForApproval {
            return false;
        }
        let op = status.operation.unwrap();
        self.operator
            .approve(
                &self.name,
                &ApprovalRecord {
                    operation_id: op.id,
                    approved_by: OPERATOR.to_string(),
                    approved_at: self.world.now(),
                },
            )
            .await
            .unwrap();
        true
    }

    fn converged_on(doc: &FailoverGroup, writer: &str) -> bool {
        drctl::simulation::converged_on(doc, writer, doc.metadata.generation.unwrap_or(0))
    }

    /// Successful destructive calls, by (operation, resource).
    fn destructive_calls(&self) -> BTreeMap<(String, String), u32> {
        let mut out = BTreeMap::new();
        for call in self.world.calls() {
            let destructive = matches!(
                call.operation.as_str(),
                "SwitchoverGlobalCluster"
                    | "FailoverGlobalCluster"
                    | "DeleteDBCluster"
                    | "DeleteDBInstance"
            );
            if destructive && call.outcome.applied {
                *out.entry((call.operation.clone(), call.resource.clone()))
                    .or_default() += 1;
            }
        }
        out
    }

    fn check(&self, allow_data_loss: bool, extra_unleased: &[&str]) {
        let mut unleased = vec![OPERATOR.to_string()];
        unleased.extend(extra_unleased.iter().map(|s| s.to_string()));
        let violations = self.world.check_invariants(&InvariantInput {
            allow_data_loss,
            lease: Some(LEASE.to_string()),
            unleased_callers: unleased,
            ..Default::default()
        });
        assert!(violations.is_empty(), "{violations:#?}");
    }
}

/// A fingerprint of the operation's progress: changes at every step boundary.
fn progress(doc: &FailoverGroup) -> String {
    let status = doc.status.clone().unwrap_or_default();
    let op = status.operation.or(status.last_operation);
    op.map(|op| {
        let steps: Vec<String> = op
            .steps
            .iter()
            .map(|s| format!("{}={:?}", s.name, s.state))
            .collect();
        format!("{}:{}", op.id, steps.join(","))
    })
    .unwrap_or_default()
}

/// Run until `writer` converges, killing the active replica (abort: no clean shutdown, no
/// lease release) at every step boundary and starting a new one.
async fn run_with_crashes(h: &Harness, writer: &str, limit: Duration, crashes: &mut u32) {
    let mut generation = 0;
    let mut replica = h.start(&format!("drctl-{generation}"));
    let mut last = progress(&h.doc().await);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        h.approve_when_asked().await;
        let doc = h.doc().await;
        if Harness::converged_on(&doc, writer) {
            break;
        }
        let now = progress(&doc);
        if now != last {
            last = now;
            replica.task.abort();
            let _ = (&mut replica.task).await;
            *crashes += 1;
            generation += 1;
            replica = h.start(&format!("drctl-{generation}"));
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no convergence on {writer}: {:?}",
            doc.status
        );
    }
    replica.stop.cancel();
    let _ = replica.task.await;
}

fn assert_no_destructive_repeats(h: &Harness) {
    for ((operation, resource), n) in h.destructive_calls() {
        assert_eq!(n, 1, "{operation} on {resource} applied {n} times");
    }
}

#[tokio::test(start_paused = true)]
async fn a_crash_at_every_step_boundary_of_a_switchover_converges_without_repeating_it() {
    let h = Harness::new(11).await;
    let mut crashes = 0;
    run_with_crashes(&h, EAST, Duration::from_secs(600), &mut crashes).await;
    h.move_writer(WEST, false).await;
    run_with_crashes(&h, WEST, Duration::from_secs(3600), &mut crashes).await;
    // Several steps can finish in one pass; every recorded change was a crash point.
    assert!(crashes >= 5, "only {crashes} crashes");
    assert_no_destructive_repeats(&h);
    assert_eq!(h.world.data_loss().lost_writes.len(), 0);
    h.check(false, &[]);
}

#[tokio::test(start_paused = true)]
async fn a_crash_at_every_step_boundary_of_a_failover_and_stale_failback_never_repeats_a_destructive_step(
) {
    let h = Harness::new(12).await;
    h.world.set_rejoin_mode(RejoinMode::Stale);
    let mut crashes = 0;
    run_with_crashes(&h, EAST, Duration::from_secs(600), &mut crashes).await;
    h.world
        .region_outage_with(EAST, OutageScope::RegionalServicesOnly);
    tokio::time::sleep(Duration::from_secs(30)).await;
    h.move_writer(WEST, true).await;
    run_with_crashes(&h, WEST, Duration::from_secs(3600), &mut crashes).await;
    h.world.region_recover(EAST);
    tokio::time::sleep(Duration::from_secs(600)).await;
    h.move_writer(EAST, false).await;
    run_with_crashes(&h, EAST, Duration::from_secs(6 * 3600), &mut crashes).await;
    assert!(crashes >= 12, "only {crashes} crashes");
    assert_no_destructive_repeats(&h);
    let calls = h.destructive_calls();
    assert!(
        calls.keys().any(|(op, _)| op == "DeleteDBCluster"),
        "{calls:?}"
    );
    assert!(
        calls.keys().any(|(op, _)| op == "FailoverGlobalCluster"),
        "{calls:?}"
    );
    h.check(true, &[]);
}

#[tokio::test(start_paused = true)]
async fn a_leader_paused_past_its_lease_never_acts_under_the_stale_epoch() {
    let h = Harness::new(13).await;
    let a = h.start("drctl-a");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let b = h.start("drctl-b");
    let wait = |writer: &'static str, limit: u64| {
        let h = &h;
        async move {
            for _ in 0..limit {
                if Harness::converged_on(&h.doc().await, writer) {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            panic!("no convergence on {writer}");
        }
    };
    wait(EAST, 600).await;
    // drctl-a leads. The failover is asked for, and drctl-a freezes for 90 s (a GC pause, a
    // stopped VM) as its next pass starts: its lease renewals freeze with it.
    h.move_writer(WEST, false).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    h.world.pause_caller("drctl-a", Duration::from_secs(90));
    wait(WEST, 3600).await;
    let mutators: std::collections::BTreeSet<String> = h
        .world
        .calls()
        .into_iter()
        .filter(|c| c.mutating && c.service != "store")
        .map(|c| c.caller)
        .collect();
    assert!(
        mutators.contains("drctl-b"),
        "drctl-b never took over: {mutators:?}"
    );
    a.stop.cancel();
    b.stop.cancel();
    let _ = a.task.await;
    let _ = b.task.await;
    assert_no_destructive_repeats(&h);
    h.check(false, &[]);
}

#[tokio::test(start_paused = true)]
async fn throttling_server_errors_and_lost_responses_still_converge_without_duplicate_effects() {
    let h = Harness::new(14).await;
    let faults = ServiceFaults {
        throttle: 0.15,
        server_error: 0.05,
        lost_response: 0.1,
        extra_latency: Duration::from_millis(500),
    };
    for service in [
        Service::Rds,
        Service::Route53,
        Service::Ecs,
        Service::AutoScaling,
    ] {
        h.world.set_service_faults(service, faults);
    }
    let r = h.start("drctl-a");
    for writer in [EAST, WEST, EAST] {
        if writer != EAST || h.doc().await.spec.writer != EAST {
            h.move_writer(writer, false).await;
        }
        let mut ok = false;
        for _ in 0..3600 {
            if Harness::converged_on(&h.doc().await, writer) {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert!(ok, "no convergence on {writer}: {:?}", h.doc().await.status);
    }
    r.stop.cancel();
    let _ = r.task.await;
    let failed: usize = h.world.calls().iter().filter(|c| !c.outcome.ok).count();
    assert!(
        failed > 10,
        "the faults did not bite: {failed} failed calls"
    );
    // Two switchovers, each applied exactly once, lost responses notwithstanding.
    let switchovers: u32 = h
        .destructive_calls()
        .iter()
        .filter(|((op, _), _)| op == "SwitchoverGlobalCluster")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(switchovers, 2);
    h.check(false, &[]);
}

/// Found by the scenario bench: every pass that asked a dark region again waited out its
/// connect timeout, and those seconds landed on the recovery path. Now only the pass that
/// first meets the dark region waits; later ones leave it to a probe beside the passes, and
/// the region is read again as soon as a probe sees it answer.
#[tokio::test(start_paused = true)]
async fn a_dark_region_holds_only_the_pass_that_first_meets_it_and_is_probed_beside_the_rest() {
    use drctl::observe::{needs, observe, ObserveCache};
    use drctl_schema::FailoverGroupStatus;

    let group = example_group().unwrap();
    let world = SimWorld::new(SimConfig::new(3));
    world.provision(&group.spec).unwrap();
    let reads = drctl::fleet::FleetReads::new(world.cloud("observer"));
    let status = FailoverGroupStatus::default();
    let mut cache = ObserveCache::default();
    let timeout = world.timings().unreachable_timeout;

    // The region's services; the Route 53 control plane (also in us-east-1) is not regional
    // observation and keeps the clients' own timeouts.
    world.region_outage_with("us-east-1", OutageScope::RegionalServicesOnly);

    let mut durations = Vec::new();
    let mut reachable = Vec::new();
    for _ in 0..40 {
        let req = needs(&group.spec, &status, 1, &cache);
        let started = tokio::time::Instant::now();
        let seen = observe(&reads, &group.spec, &status, &req, &mut cache).await;
        durations.push(started.elapsed());
        reachable.push(seen.region("us-east-1").map(|r| r.reachable));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert!(
        durations[0] >= timeout,
        "the first pass meets the dark region: {:?}",
        durations[0]
    );
    assert_eq!(reachable[0], Some(Reachability::Unreachable));
    let slowest_later = durations[1..].iter().max().copied().unwrap();
    assert!(
        slowest_later < Duration::from_millis(500),
        "later passes never wait for the dark region (slowest {slowest_later:?}; connect timeout {timeout:?}): {durations:?}"
    );
    assert!(reachable[1..]
        .iter()
        .all(|r| *r == Some(Reachability::Unreachable)));

    // It comes back: a probe (every 30 s) sees it, and the passes read it again.
    world.region_recover("us-east-1");
    let mut back_after = None;
    for pass in 0..30 {
        let req = needs(&group.spec, &status, 1, &cache);
        let seen = observe(&reads, &group.spec, &status, &req, &mut cache).await;
        if seen
            .region("us-east-1")
            .is_some_and(|r| r.reachable.answered())
        {
            back_after = Some(pass);
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let back_after = back_after.expect("us-east-1 is read again after it recovers");
    assert!(
        back_after <= 17,
        "seen again within about 30 s: {back_after} passes"
    );
}

/// Poll (1 s of virtual time) until the group converges on `writer`, calling `each` on every
/// document seen on the way.
async fn until_converged(
    h: &Harness,
    writer: &str,
    limit_s: u64,
    mut each: impl FnMut(&FailoverGroup),
) {
    for _ in 0..limit_s {
        let doc = h.doc().await;
        each(&doc);
        if Harness::converged_on(&doc, writer) {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("no convergence on {writer}: {:?}", h.doc().await.status);
}

fn condition_true(doc: &FailoverGroup, type_: &str) -> Option<String> {
    doc.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_ && c.status == drctl_schema::ConditionStatus::True)
        .map(|c| c.message.clone())
}

fn last_step(doc: &FailoverGroup, step: drctl_schema::StepName) -> drctl_schema::StepRecord {
    let status = doc.status.clone().unwrap_or_default();
    status
        .last_operation
        .and_then(|op| op.step(step).cloned())
        .unwrap_or_else(|| panic!("{step} in the last operation"))
}

/// CloudWatch with no datapoint for AuroraGlobalDBRPOLag (the metric stopped, or is not
/// published for this engine).
struct NoLagDatapoints;

#[async_trait::async_trait]
impl ReplicationLag for NoLagDatapoints {
    async fn replication_lags(
        &self,
        _: &str,
        queries: &[drctl_cloud::LagQuery],
    ) -> CloudResult<Vec<Option<f64>>> {
        Ok(vec![None; queries.len()])
    }
}

/// Found by review: a planned switchover waited for ever on "replication lag is unknown;
/// waiting for a datapoint", although CloudWatch is not on its safety path.
#[tokio::test(start_paused = true)]
async fn a_switchover_with_no_lag_datapoint_completes_after_a_bounded_wait_and_says_so() {
    let h = Harness::new(15).await;
    let mut cloud = h.world.cloud("drctl-a");
    cloud.lag = Arc::new(NoLagDatapoints);
    let r = h.start_on("drctl-a", cloud);
    until_converged(&h, EAST, 600, |_| {}).await;
    h.move_writer(WEST, false).await;
    let asked = tokio::time::Instant::now();
    let mut warning = None;
    until_converged(&h, WEST, 1800, |doc| {
        if let Some(message) = condition_true(doc, drctl::planner::status::REPLICATION_LAG_UNKNOWN)
        {
            warning.get_or_insert(message);
        }
    })
    .await;
    r.stop.cancel();
    let _ = r.task.await;
    let warning = warning.expect("the ReplicationLagUnknown warning while the switchover ran");
    assert!(warning.contains("connected"), "{warning}");
    assert!(
        asked.elapsed() >= drctl::planner::deadlines::LAG_DATAPOINT_WAIT,
        "waited {:?} for a datapoint",
        asked.elapsed()
    );
    let preflight = last_step(&h.doc().await, drctl_schema::StepName::Preflight);
    assert!(preflight
        .detail
        .unwrap_or_default()
        .contains("no replication-lag datapoint"),);
    assert_eq!(h.world.data_loss().lost_writes.len(), 0);
    assert_no_destructive_repeats(&h);
    h.check(false, &[]);
}

/// Route 53 that knows none of the change ids it is asked about (a status restored after a
/// restart, or a change id from another endpoint).
struct ForgetfulRoute53 {
    inner: Arc<dyn Dns>,
}

#[async_trait::async_trait]
impl Dns for ForgetfulRoute53 {
    async fn get_record(
        &self,
        zone: &str,
        name: &str,
        type_: &str,
    ) -> CloudResult<Option<DnsRecord>> {
        self.inner.get_record(zone, name, type_).await
    }

    async fn list_records_page(
        &self,
        zone: &str,
        from: Option<&drctl_cloud::RecordCursor>,
    ) -> CloudResult<drctl_cloud::RecordPage> {
        self.inner.list_records_page(zone, from).await
    }

    async fn change_records(
        &self,
        zone: &str,
        changes: &[drctl_cloud::RecordChange],
        comment: &str,
    ) -> CloudResult<ChangeInfo> {
        self.inner.change_records(zone, changes, comment).await
    }

    async fn get_change(&self, change_id: &str) -> CloudResult<ChangeStatus> {
        Err(CloudError::new(
            ErrorCategory::NeedsSpecChange,
            Service::Route53,
            "GetChange",
            "NoSuchChange",
            format!("A change with the specified change ID does not exist: {change_id}"),
        ))
    }

    async fn list_failover_records(
        &self,
        zone: &str,
        name: &str,
        type_: &str,
    ) -> CloudResult<Vec<drctl_cloud::FailoverRecord>> {
        self.inner.list_failover_records(zone, name, type_).await
    }

    async fn get_health_check(
        &self,
        id: &str,
    ) -> CloudResult<Option<drctl_cloud::HealthCheckInfo>> {
        self.inner.get_health_check(id).await
    }

    async fn get_health_check_status(
        &self,
        id: &str,
    ) -> CloudResult<Vec<drctl_cloud::HealthCheckObservation>> {
        self.inner.get_health_check_status(id).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_change_id_route53_does_not_know_is_settled_by_reading_the_record_without_another_change()
{
    let h = Harness::new(16).await;
    let mut cloud = h.world.cloud("drctl-a");
    cloud.dns = Arc::new(ForgetfulRoute53 {
        inner: cloud.dns.clone(),
    });
    let r = h.start_on("drctl-a", cloud);
    until_converged(&h, EAST, 600, |_| {}).await;
    h.move_writer(WEST, false).await;
    until_converged(&h, WEST, 1800, |_| {}).await;
    r.stop.cancel();
    let _ = r.task.await;
    let step = last_step(&h.doc().await, drctl_schema::StepName::WaitDnsInSync);
    let detail = step.detail.unwrap_or_default();
    assert!(
        detail.contains("NoSuchChange") && detail.contains("reads as us-west-2"),
        "{detail}"
    );
    let changes = h
        .world
        .calls()
        .iter()
        .filter(|c| c.operation == "ChangeResourceRecordSets" && c.outcome.applied)
        .count();
    assert_eq!(changes, 1, "settled by reading, not by another UPSERT");
    h.check(false, &[]);
}

#[tokio::test(start_paused = true)]
async fn a_step_stuck_past_its_deadline_shows_the_group_degraded_until_aws_recovers() {
    let h = Harness::new(17).await;
    let r = h.start("drctl-a");
    until_converged(&h, EAST, 600, |_| {}).await;
    h.world
        .region_outage_with(EAST, OutageScope::RegionalServicesOnly);
    h.world.route53_control_plane_outage();
    tokio::time::sleep(Duration::from_secs(30)).await;
    h.move_writer(WEST, true).await;
    // Database and compute move at once; DNS cannot, and after MoveDns's deadline the group
    // says so instead of "Progressing" for ever.
    tokio::time::sleep(Duration::from_secs(20 * 60)).await;
    let status = h.doc().await.status.unwrap_or_default();
    assert_eq!(status.phase, Phase::Degraded, "{status:?}");
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == drctl_schema::condition_type::READY)
        .unwrap();
    assert_eq!(ready.status, drctl_schema::ConditionStatus::False);
    assert!(
        ready.message.contains("MoveDns has waited"),
        "{}",
        ready.message
    );
    assert!(ready.message.contains("Route 53"), "{}", ready.message);
    h.world.route53_control_plane_recover();
    until_converged(&h, WEST, 1800, |_| {}).await;
    r.stop.cancel();
    let _ = r.task.await;
    assert_no_destructive_repeats(&h);
    h.check(true, &[]);
}

/// A clock stopped at one instant.
struct StoppedClock(drctl_schema::Timestamp);

impl drctl_cloud::Clock for StoppedClock {
    fn now(&self) -> drctl_schema::Timestamp {
        self.0
    }
}

#[tokio::test(start_paused = true)]
async fn a_controller_given_a_lease_clock_stamps_its_leases_with_it_and_not_with_the_clouds() {
    let h = Harness::new(21).await;
    // Far from the world's virtual time, as the wall clock is from a rehearsal's.
    let wall = h.world.now().plus_millis(300 * 24 * 3600 * 1000);
    let mut config = RuntimeConfig::new("drctl-a", LEASE);
    config.planner.operation_poll = Duration::from_secs(1);
    let controller = Controller::new(
        h.world.store_as("drctl-a"),
        h.world.cloud("drctl-a"),
        config,
        Metrics::new(),
    )
    .with_lease_clock(Arc::new(StoppedClock(wall)));
    controller
        .run(RunMode::Once, None, CancellationToken::new())
        .await
        .unwrap();
    let taken: Vec<_> = h
        .world
        .run_record()
        .lease_log
        .into_iter()
        .filter(|l| l.action != "released")
        .collect();
    assert!(!taken.is_empty(), "the lease was taken");
    for entry in taken {
        assert_eq!(
            entry.expires_at,
            wall.plus_millis(15_000),
            "{} {}",
            entry.action,
            entry.holder
        );
    }
}
