#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! A thousand operations with seeded faults: fast in wall time and reproducible byte for byte.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use drctl_cloud::Cloud;
use drctl_sim::*;

/// A deterministic driver: picks operations from its own seed.
struct Driver {
    state: u64,
}

impl Driver {
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

async fn operate(cloud: &Cloud, driver: &mut Driver) {
    let region = if driver.next().is_multiple_of(2) {
        EAST
    } else {
        WEST
    };
    let (cluster, ecs_cluster) = if region == EAST {
        (PRIMARY, "myapp-prod")
    } else {
        (SECONDARY, "myapp-prod-dr")
    };
    let _ = match driver.next() % 12 {
        0 => cloud
            .aurora
            .describe_global_cluster(region, GLOBAL)
            .await
            .map(|_| ()),
        1 => cloud
            .aurora
            .describe_clusters(region, &[cluster.to_string()])
            .await
            .map(|_| ()),
        2 => cloud
            .lag
            .replication_lag(EAST, PRIMARY, WEST)
            .await
            .map(|_| ()),
        3 => cloud.dns.get_record(ZONE, RECORD, "A").await.map(|_| ()),
        4 => {
            let desired = if driver.next().is_multiple_of(2) {
                west_record()
            } else {
                east_record()
            };
            cloud
                .dns
                .change_record(ZONE, None, &desired, "drive")
                .await
                .map(|_| ())
        }
        5 => cloud
            .ecs
            .describe_services(region, ecs_cluster, &["api".to_string()])
            .await
            .map(|_| ()),
        6 => {
            let n = u32::try_from(driver.next() % 10).unwrap();
            cloud
                .ecs
                .update_desired_count(region, ecs_cluster, "api", n)
                .await
        }
        7 => {
            cloud
                .autoscaling
                .register_scalable_target(region, &format!("service/{ecs_cluster}/api"), 1, 24)
                .await
        }
        8 => {
            let target = if region == EAST {
                primary_arn()
            } else {
                secondary_arn()
            };
            cloud
                .aurora
                .switchover_global_cluster(region, GLOBAL, &target)
                .await
        }
        9 => {
            let target = if region == EAST {
                primary_arn()
            } else {
                secondary_arn()
            };
            cloud
                .aurora
                .failover_global_cluster(region, GLOBAL, &target, driver.next().is_multiple_of(2))
                .await
        }
        10 => cloud.health.probe(URL).await.map(|_| ()),
        _ => cloud
            .aurora
            .describe_instances(region, cluster)
            .await
            .map(|_| ()),
    };
    let pause = driver.next() % 3000;
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

struct Run {
    calls_json: String,
    run_json: String,
    calls: usize,
    virtual_s: f64,
    /// The thousand operations.
    wall: Duration,
    /// Plus serialising the call record and the whole run record (every write) to JSON.
    record_wall: Duration,
    lost: usize,
}

async fn thousand_operations(seed: u64) -> Run {
    let wall = Instant::now();
    let mut cfg = SimConfig::new(seed);
    let noisy = ServiceFaults {
        throttle: 0.03,
        server_error: 0.03,
        lost_response: 0.03,
        extra_latency: Duration::from_millis(300),
    };
    cfg.faults.rds = noisy;
    cfg.faults.route53 = noisy;
    cfg.faults.ecs = noisy;
    cfg.faults.autoscaling = noisy;
    cfg.faults.slow_operation = 0.2;
    cfg.faults.slow_factor = 3;
    cfg.faults.fence_failure = 0.2;
    let world: Arc<SimWorld> = SimWorld::new(cfg);
    world.provision(&spec()).unwrap();
    world.start_app_writes(50).unwrap();
    world.schedule(
        Duration::from_secs(200),
        ScheduledFault::RegionOutage {
            region: EAST.to_string(),
            scope: OutageScope::Full,
        },
    );
    world.schedule(
        Duration::from_secs(700),
        ScheduledFault::RegionRecover {
            region: EAST.to_string(),
        },
    );
    // Two replicas interleaving on one runtime: still deterministic.
    let a = world.cloud("replica-a");
    let b = world.cloud("replica-b");
    let mut da = Driver { state: seed };
    let mut db = Driver {
        state: seed ^ 0xABCD,
    };
    let ra = async {
        for _ in 0..500 {
            operate(&a, &mut da).await;
        }
    };
    let rb = async {
        for _ in 0..500 {
            operate(&b, &mut db).await;
        }
    };
    tokio::join!(ra, rb);
    let ops_wall = wall.elapsed();
    let calls = world.calls().len();
    let run = world.run_record();
    Run {
        calls_json: world.calls_json(),
        run_json: serde_json::to_string(&run).unwrap(),
        calls,
        virtual_s: world.elapsed_ms() as f64 / 1000.0,
        wall: ops_wall,
        record_wall: wall.elapsed(),
        lost: world.data_loss().lost_writes.len(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_thousand_operations_run_in_well_under_a_second_and_a_seed_reproduces_them_byte_for_byte()
{
    let first = thousand_operations(2026).await;
    let second = thousand_operations(2026).await;
    let other = thousand_operations(2027).await;
    println!(
        "1000 operations: {} recorded calls, {:.0} s virtual, {} ms wall (debug build; {} ms with the JSON records), {} writes lost",
        first.calls,
        first.virtual_s,
        first.wall.as_millis(),
        first.record_wall.as_millis(),
        first.lost
    );
    assert_eq!(first.calls, 1000);
    assert!(
        first.wall < Duration::from_millis(1000),
        "took {:?}",
        first.wall
    );
    assert!(first.virtual_s > 1000.0, "the run spans the outage");
    assert_eq!(
        first.calls_json, second.calls_json,
        "same seed, same call record"
    );
    assert_eq!(
        first.run_json, second.run_json,
        "same seed, same ground truth"
    );
    assert_ne!(
        first.calls_json, other.calls_json,
        "another seed, another run"
    );
    // The faults really happened.
    for code in [
        "\"RequestTimeout\"",
        "\"ResponseTimeout\"",
        "\"Throttling\"",
        "\"InternalFailure\"",
    ] {
        assert!(first.calls_json.contains(code), "no {code} in the run");
    }
}
