//! The fleet-wide reads and the batched Route 53 change in the simulated world: every page
//! (and every chunk AWS limits a call to) is one recorded call, as on the wire; a batch is
//! all or nothing and becomes INSYNC under one change id.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use drctl_cloud::{ChangeStatus, DnsRecord, ErrorCategory, LagQuery, RecordChange, Service};
use drctl_schema::FailoverGroupSpec;
use drctl_sim::*;

/// Group `i` of a fleet: its own global cluster, clusters, record (in the shared zone) and
/// service, everything else as the example group.
fn fleet_spec(i: usize) -> FailoverGroupSpec {
    let mut spec = spec();
    spec.database.global_cluster_identifier = format!("g{i:04}");
    for (region, c) in spec.database.clusters.iter_mut() {
        let role = if region == EAST { "p" } else { "s" };
        c.identifier = format!("{role}{i:04}");
    }
    spec.dns.record_name = record_name(i);
    for service in &mut spec.compute.services {
        for r in service.regions.values_mut() {
            r.service = format!("api{i:04}");
        }
    }
    spec.verify = None;
    spec
}

fn record_name(i: usize) -> String {
    format!("api{i:04}.example.com.")
}

fn fleet(groups: usize) -> Arc<SimWorld> {
    let world = SimWorld::new(exact_config(11));
    for i in 0..groups {
        world.provision(&fleet_spec(i)).unwrap();
    }
    world
}

fn calls_of(world: &SimWorld, from: usize, operation: &str) -> Vec<CallRecord> {
    world
        .calls_from(from)
        .into_iter()
        .filter(|c| c.operation == operation)
        .collect()
}

fn named(record: &DnsRecord, name: &str) -> DnsRecord {
    DnsRecord {
        name: name.to_string(),
        ..record.clone()
    }
}

/// A record as Route 53 stores and lists it: the alias target fully qualified.
fn stored(record: DnsRecord) -> DnsRecord {
    let mut r = record;
    if let Some(a) = r.alias.as_mut() {
        a.dns_name.push('.');
    }
    r
}

fn upsert(desired: DnsRecord) -> RecordChange {
    RecordChange {
        expected: None,
        desired,
    }
}

fn swap(expected: DnsRecord, desired: DnsRecord) -> RecordChange {
    RecordChange {
        expected: Some(expected),
        desired,
    }
}

#[tokio::test(start_paused = true)]
async fn the_global_cluster_listing_is_one_call_per_page_of_100() {
    let world = fleet(201);
    let cloud = world.cloud("t");
    let before = world.call_count();

    let globals = cloud.aurora.describe_global_clusters(WEST).await.unwrap();

    assert_eq!(globals.len(), 201);
    assert_eq!(globals[0].identifier, "g0000");
    assert_eq!(globals[200].identifier, "g0200");
    assert!(globals.iter().all(|g| g
        .writer()
        .is_some_and(|w| w.cluster_arn.contains(":cluster:p"))));
    let pages = calls_of(&world, before, "DescribeGlobalClusters");
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(|c| c.outcome.ok && c.region == WEST));
    assert_eq!(world.call_count() - before, 3, "nothing but the pages");
}

#[tokio::test(start_paused = true)]
async fn listing_a_zone_is_one_call_per_page_of_300_and_returns_every_record() {
    let world = fleet(1);
    world.set_rate_limit(Service::Route53, None);
    let cloud = world.cloud("t");
    // 649 more records beside the group's own: 650 in the zone, three pages.
    let extra: Vec<RecordChange> = (1..650)
        .map(|i| upsert(named(&east_record(), &record_name(i))))
        .collect();
    for batch in extra.chunks(400) {
        cloud.dns.change_records(ZONE, batch, "fill").await.unwrap();
    }
    let before = world.call_count();

    let records = cloud.dns.list_records(ZONE).await.unwrap();

    assert_eq!(records.len(), 650);
    let mut names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    names.dedup();
    assert_eq!(names.len(), 650, "no record listed twice across pages");
    assert_eq!(records[0], stored(named(&east_record(), &record_name(0))));
    let pages = calls_of(&world, before, "ListResourceRecordSets");
    assert_eq!(pages.len(), 3);
    assert_eq!(world.call_count() - before, 3);
    assert_eq!(
        cloud.dns.list_records("ZNOPE").await.unwrap_err().code,
        "NoSuchHostedZone"
    );
}

#[tokio::test(start_paused = true)]
async fn every_page_of_a_listing_takes_a_token_from_the_rate_limiter() {
    let world = fleet(1);
    world.set_rate_limit(Service::Route53, None);
    let cloud = world.cloud("t");
    let extra: Vec<RecordChange> = (1..400)
        .map(|i| upsert(named(&east_record(), &record_name(i))))
        .collect();
    cloud
        .dns
        .change_records(ZONE, &extra, "fill")
        .await
        .unwrap();
    // Two requests at once, then one per second: the listing's second page is the third
    // request of the instant.
    world.set_rate_limit(
        Service::Route53,
        Some(RateLimit {
            per_second: 1,
            burst: 2,
        }),
    );
    cloud.dns.get_record(ZONE, RECORD, "A").await.unwrap();
    let before = world.call_count();

    let err = cloud.dns.list_records(ZONE).await.unwrap_err();

    assert_eq!(err.code, "Throttling");
    assert_eq!(err.category, ErrorCategory::Retryable);
    let pages = calls_of(&world, before, "ListResourceRecordSets");
    let outcomes: Vec<bool> = pages.iter().map(|c| c.outcome.ok).collect();
    assert_eq!(outcomes, [true, false]);
}

#[tokio::test(start_paused = true)]
async fn a_paced_listing_spaces_its_pages_so_route53_throttles_none_of_them() {
    let world = fleet(1);
    world.set_rate_limit(Service::Route53, None);
    let filler = world.cloud("t");
    let extra: Vec<RecordChange> = (1..700)
        .map(|i| upsert(named(&east_record(), &record_name(i))))
        .collect();
    for batch in extra.chunks(400) {
        filler
            .dns
            .change_records(ZONE, batch, "fill")
            .await
            .unwrap();
    }
    // Route 53 takes one request a second with no burst; the controller paces the same.
    let one_a_second = RateLimit {
        per_second: 1,
        burst: 1,
    };
    world.set_rate_limit(Service::Route53, Some(one_a_second));
    let pacer = drctl_cloud::pacing::Pacer::new(drctl_cloud::pacing::PaceLimits {
        route53: Some(drctl_cloud::pacing::Rate {
            per_second: 1.0,
            burst: 1.0,
        }),
        ..drctl_cloud::pacing::PaceLimits::none()
    });
    let cloud = drctl_cloud::pacing::paced(world.cloud("t"), pacer);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (before, start) = (world.call_count(), tokio::time::Instant::now());

    let records = cloud.dns.list_records(ZONE).await.unwrap();

    assert_eq!(records.len(), 700, "three pages, every record");
    let pages = calls_of(&world, before, "ListResourceRecordSets");
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(|c| c.outcome.ok), "no page throttled");
    assert_eq!(
        tokio::time::Instant::now() - start,
        Duration::from_secs(2),
        "a page a second"
    );
}

#[tokio::test(start_paused = true)]
async fn lags_are_one_get_metric_data_per_250_queries_in_the_order_asked() {
    let world = world();
    let cloud = world.cloud("t");
    let known = LagQuery {
        primary_cluster_id: PRIMARY.to_string(),
        secondary_region: WEST.to_string(),
    };
    let unknown = |i: usize| LagQuery {
        primary_cluster_id: format!("nope{i}"),
        secondary_region: WEST.to_string(),
    };
    let mut queries: Vec<LagQuery> = (0..600).map(unknown).collect();
    queries[0] = known.clone();
    queries[599] = known;
    let before = world.call_count();

    let lags = cloud.lag.replication_lags(EAST, &queries).await.unwrap();

    assert_eq!(lags.len(), 600);
    assert_eq!((lags[0], lags[599]), (Some(0.5), Some(0.5)));
    assert!(lags[1..599].iter().all(Option::is_none));
    let calls = calls_of(&world, before, "GetMetricData");
    assert_eq!(
        calls.len(),
        3,
        "250 + 250 + 100 lags, two metric queries each"
    );
    assert!(calls.iter().all(|c| c.region == EAST));
    let none = cloud.lag.replication_lags(EAST, &[]).await.unwrap();
    assert!(none.is_empty());
    assert_eq!(world.call_count() - before, 3, "no lags, no call");
}

#[tokio::test(start_paused = true)]
async fn a_batch_with_one_stale_compare_and_swap_changes_nothing() {
    let world = fleet(3);
    let cloud = world.cloud("t");
    let east = |i: usize| named(&east_record(), &record_name(i));
    let west = |i: usize| named(&west_record(), &record_name(i));
    let batch = [
        swap(east(0), west(0)),
        // Someone else already moved record 1: this DELETE no longer matches.
        swap(west(1), east(1)),
        upsert(west(2)),
    ];
    let before = world.call_count();

    let err = cloud
        .dns
        .change_records(ZONE, &batch, "fleet move")
        .await
        .unwrap_err();

    assert_eq!(err.code, "InvalidChangeBatch");
    assert_eq!(
        err.category,
        ErrorCategory::Retryable,
        "re-read and re-plan"
    );
    assert!(err.message.contains(&record_name(1)), "{}", err.message);
    let records = cloud.dns.list_records(ZONE).await.unwrap();
    assert_eq!(
        records,
        [stored(east(0)), stored(east(1)), stored(east(2))],
        "nothing was applied"
    );
    let call = &calls_of(&world, before, "ChangeResourceRecordSets")[0];
    assert!(!call.outcome.ok && !call.outcome.applied);
    assert!(world.run_record().dns_changes.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_batch_moves_every_record_under_one_change_id_insync_at_one_time() {
    let world = fleet(3);
    let cloud = world.cloud("t");
    let east = |i: usize| named(&east_record(), &record_name(i));
    let west = |i: usize| named(&west_record(), &record_name(i));
    let batch = [swap(east(0), west(0)), upsert(west(2))];
    let before = world.call_count();

    let info = cloud
        .dns
        .change_records(ZONE, &batch, "fleet move")
        .await
        .unwrap();

    assert_eq!(info.status, ChangeStatus::Pending);
    assert_eq!(
        calls_of(&world, before, "ChangeResourceRecordSets").len(),
        1
    );
    let answers = |w: &SimWorld| -> Vec<Option<String>> {
        w.snapshot()
            .records
            .iter()
            .map(|r| r.answers_with.clone())
            .collect()
    };
    let east_all = vec![Some(EAST.to_string()); 3];
    assert_eq!(answers(&world), east_all, "not before INSYNC");
    sleep_s(59).await;
    assert_eq!(
        cloud.dns.get_change(&info.id).await.unwrap(),
        ChangeStatus::Pending
    );
    sleep_s(1).await;
    assert_eq!(
        cloud.dns.get_change(&info.id).await.unwrap(),
        ChangeStatus::InSync
    );
    let moved = vec![
        Some(WEST.to_string()),
        Some(EAST.to_string()),
        Some(WEST.to_string()),
    ];
    assert_eq!(answers(&world), moved);

    let insync: Vec<(String, i64, Option<String>)> = world
        .facts()
        .into_iter()
        .filter_map(|f| match f.kind {
            FactKind::DnsInSync {
                change_id,
                record,
                region,
            } if change_id == info.id => Some((record, f.at_ms, region)),
            _ => None,
        })
        .collect();
    assert_eq!(
        insync,
        [
            (record_name(0), 60_000, Some(WEST.to_string())),
            (record_name(2), 60_000, Some(WEST.to_string())),
        ]
    );
    // The invariant checker sees one entry per record, each with the world at that moment.
    let logged = world.run_record().dns_changes;
    assert_eq!(logged.len(), 2);
    assert!(logged.iter().all(|d| d.change_id == info.id
        && d.to_region.as_deref() == Some(WEST)
        && d.writer_region.as_deref() == Some(EAST)));
    assert_eq!(
        logged
            .iter()
            .map(|d| d.record_name.clone())
            .collect::<Vec<_>>(),
        [record_name(0), record_name(2)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_batch_over_route53s_limits_is_refused_without_a_call() {
    let world = fleet(1);
    let cloud = world.cloud("t");
    // An alias UPSERT counts two elements: 501 of them are 1,002.
    let batch: Vec<RecordChange> = (0..501)
        .map(|i| upsert(named(&west_record(), &record_name(i))))
        .collect();
    let before = world.call_count();

    let err = cloud
        .dns
        .change_records(ZONE, &batch, "too big")
        .await
        .unwrap_err();

    assert_eq!(err.code, "ChangeBatchTooLarge");
    assert_eq!(err.category, ErrorCategory::NeedsSpecChange);
    assert_eq!(world.call_count(), before, "refused before sending");
    let twice = [upsert(west_record()), upsert(west_record())];
    let err = cloud
        .dns
        .change_records(ZONE, &twice, "dup")
        .await
        .unwrap_err();
    assert_eq!(err.code, "DuplicateRecordInBatch");
    assert_eq!(world.call_count(), before);
}

#[tokio::test(start_paused = true)]
async fn describes_of_many_ids_are_one_call_per_chunk_aws_allows() {
    let world = world();
    let cloud = world.cloud("t");
    let services: Vec<String> = (0..23).map(|i| format!("svc-{i}")).collect();
    let clusters: Vec<String> = (0..250).map(|i| format!("c{i}")).collect();
    let targets: Vec<String> = (0..120).map(|i| format!("service/x/s{i}")).collect();
    let before = world.call_count();

    cloud
        .ecs
        .describe_services(EAST, "myapp-prod", &services)
        .await
        .unwrap();
    cloud
        .aurora
        .describe_clusters(EAST, &clusters)
        .await
        .unwrap();
    cloud
        .autoscaling
        .describe_scalable_targets(EAST, &targets)
        .await
        .unwrap();

    let count = |op: &str| calls_of(&world, before, op).len();
    assert_eq!(count("DescribeServices"), 3, "10 services per call");
    assert_eq!(count("DescribeDBClusters"), 3, "100 identifiers per filter");
    assert_eq!(
        count("DescribeScalableTargets"),
        3,
        "50 resource ids per call"
    );
    let found = cloud
        .aurora
        .describe_clusters(EAST, &[PRIMARY.to_string()])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}
