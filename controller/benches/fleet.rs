//! The fleet's figures against the targets of issue 9 (printed, never asserted: this machine
//! is noisy; compare the ratios, which are measured in one run):
//! - converge from a fresh store at 10, 100, 1,000 and 10,000 groups: virtual time, wall
//!   time and CPU, and the process's resident memory after it;
//! - one steady resync period (30 s, each group looked at once): CPU, calls per group;
//! - wall time grows at most linearly: 1,000 groups within 12x the time of 100;
//! - a change to the last group, among converged ones, acted on within 2 s of virtual time;
//! - fleet-outage at 200 groups: the last group serves within 1.25x one group's RTO in
//!   region-outage-failover.
//!
//! Run: `cargo bench -p drctl --no-default-features --bench fleet` (release). Sizes:
//! `FLEET_SIZES=10,100,1000,10000` (the default); `FLEET_SIZES_ONLY=1` prints the size rows
//! only. CPU and memory are read from /proc (Linux).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use drctl::simulation::fleet::{fleet_once, fleet_steady_paced, run_fleet_outage, FleetOptions};
use drctl::simulation::{run_in_virtual_time, run_scenario, Scenario, ScenarioOptions};
use drctl_cloud::pacing::PaceLimits;

/// CPU seconds this process has used: the sum of its threads' time on a CPU, in
/// nanoseconds, from /proc/self/task/*/schedstat (/proc/self/stat counts in 10 ms ticks,
/// too coarse for a 100-group run), with the ticks as a fallback. A thread that exits takes
/// its time with it: the differences taken here are between marks made on the simulation's
/// own thread while it runs.
fn cpu_seconds() -> f64 {
    let from_schedstat = std::fs::read_dir("/proc/self/task").ok().map(|tasks| {
        tasks
            .filter_map(Result::ok)
            .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
            .filter_map(|line| line.split_whitespace().next()?.parse::<f64>().ok())
            .sum::<f64>()
            / 1e9
    });
    match from_schedstat {
        Some(seconds) if seconds > 0.0 => seconds,
        _ => cpu_seconds_from_ticks(),
    }
}

/// CPU seconds (user + system) from /proc/self/stat, in 10 ms ticks.
fn cpu_seconds_from_ticks() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat (1-based), 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// Resident memory now, MiB, from /proc/self/status.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

#[derive(Default, Clone)]
struct Marks(Vec<(String, Instant, f64, f64)>);

/// One size's figures (see the table's header).
struct Row {
    converge_virtual: f64,
    setup_wall: f64,
    converge_wall: f64,
    converge_cpu: f64,
    steady_cpu: f64,
    reads_per_group: f64,
    mutating_per_group: f64,
    change_to_action: Option<f64>,
    /// Resident memory gained from the simulated AWS built to the end of the steady period:
    /// the controller's state, plus what the simulated world keeps meanwhile (its call record).
    rss_growth: f64,
}

/// Converge `n` fresh groups, then one steady period and one change to the last group.
fn measure(n: usize) -> Result<Row, String> {
    let marks = Arc::new(Mutex::new(Marks::default()));
    let recorder = marks.clone();
    let narrator: drctl::simulation::Narrator = Arc::new(move |_, what: &str| {
        if let Ok(mut m) = recorder.lock() {
            m.0.push((what.to_string(), Instant::now(), cpu_seconds(), rss_mib()));
        }
    });
    let wall0 = Instant::now();
    // Every size under AWS's documented limits, paced as in production
    // (docs/rate-limits.md); `FLEET_UNPACED=1` lifts the controller's pacing to measure its
    // own cost apart from the limits.
    let pace = if std::env::var_os("FLEET_UNPACED").is_some() {
        PaceLimits::none()
    } else {
        PaceLimits::default()
    };
    let steady =
        match run_in_virtual_time(
            move || async move { fleet_steady_paced(n, 1, narrator, pace).await },
        ) {
            Ok(Ok(s)) => s,
            Ok(Err(e)) | Err(e) => return Err(e.to_string()),
        };
    let marks = marks.lock().map(|m| m.clone()).unwrap_or_default();
    let at = |name: &str| marks.0.iter().find(|(w, _, _, _)| w == name).cloned();
    let (Some(built), Some(conv), Some(s0), Some(s1)) = (
        at("provisioned"),
        at("converged"),
        at("steady-start"),
        at("steady-end"),
    ) else {
        return Err("a phase was not reached".to_string());
    };
    let per = |v: u64| v as f64 / n as f64;
    // From the simulated AWS built to every group Ready: the controller's work, not the
    // harness's provisioning of the world.
    Ok(Row {
        converge_virtual: steady.converge_seconds,
        setup_wall: (built.1 - wall0).as_secs_f64(),
        converge_wall: (conv.1 - built.1).as_secs_f64(),
        converge_cpu: conv.2 - built.2,
        steady_cpu: s1.2 - s0.2,
        reads_per_group: per(steady.steady_calls.read),
        mutating_per_group: per(steady.steady_calls.mutating),
        change_to_action: steady.change_to_action_seconds,
        rss_growth: s1.3 - built.3,
    })
}

/// The median of `runs` convergences of `n` groups: (wall, CPU) seconds.
fn median_convergence(n: usize, runs: usize) -> Result<(f64, f64), String> {
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    for _ in 0..runs {
        let row = measure(n)?;
        walls.push(row.converge_wall);
        cpus.push(row.converge_cpu);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    Ok((median(&mut walls), median(&mut cpus)))
}

/// Linearity, 1,000 against 100 groups, each the median of repeated runs in this process:
/// one convergence of 100 groups takes a few tens of milliseconds, within this machine's
/// noise and below /proc's 10 ms CPU tick, so a single run's ratio says little.
fn ratio_of_medians() {
    let (Ok((wall_100, cpu_100)), Ok((wall_1000, cpu_1000))) =
        (median_convergence(100, 21), median_convergence(1000, 5))
    else {
        eprintln!("the linearity runs failed");
        std::process::exit(1);
    };
    println!(
        "converge, 1,000 / 100 groups (medians of 5 and 21 runs): wall {:.2} ({wall_1000:.3} / {wall_100:.3} s), CPU {:.2} ({cpu_1000:.2} / {cpu_100:.2} s) (target <= 12)",
        wall_1000 / wall_100,
        cpu_1000 / cpu_100
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::var("FLEET_SIZES")
        .unwrap_or_else(|_| "10,100,1000,10000".to_string())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!("fleet runtime, simulated world in virtual time (seed 1)");
    println!(
        "{:>6} {:>10} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9}",
        "groups",
        "conv (vs)",
        "setup (s)",
        "wall (s)",
        "cpu (s)",
        "steady cpu",
        "reads/grp",
        "mut/grp",
        "act (vs)",
        "rss MiB",
        "+rss MiB"
    );
    for &n in &sizes {
        let row = measure(n).unwrap_or_else(|e| {
            eprintln!("{n} groups: {e}");
            std::process::exit(1);
        });
        println!(
            "{n:>6} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>10.3} {:>10.3} {:>10.3} {:>9} {:>9.0} {:>9.0}",
            row.converge_virtual,
            row.setup_wall,
            row.converge_wall,
            row.converge_cpu,
            row.steady_cpu,
            row.reads_per_group,
            row.mutating_per_group,
            row.change_to_action
                .map(|s| format!("{s:.2}"))
                .unwrap_or_else(|| "-".into()),
            rss_mib(),
            row.rss_growth
        );
    }
    // `FLEET_SIZES_ONLY=1`: the size rows alone (for a memory profiler, under which the
    // repeated runs below would take long and measure nothing new).
    if std::env::var_os("FLEET_SIZES_ONLY").is_some() {
        return;
    }
    ratio_of_medians();

    let once_wall = Instant::now();
    match run_in_virtual_time(|| async { fleet_once(1000, 1).await }) {
        Ok(Ok((reconciled, virtual_s))) => println!(
            "--once over 1,000 fresh groups: {reconciled} reconciled, exit after {virtual_s:.1} s of virtual time, {:.2} s wall",
            once_wall.elapsed().as_secs_f64()
        ),
        Ok(Err(e)) | Err(e) => {
            eprintln!("--once: {e}");
            std::process::exit(1);
        }
    }

    let outage = run_in_virtual_time(|| async {
        let fleet = run_fleet_outage(FleetOptions {
            seed: 1,
            groups: 200,
            concurrency: None,
            narrator: None,
        })
        .await?;
        let single = run_scenario(Scenario::RegionOutageFailover, ScenarioOptions::new(1)).await?;
        Ok::<_, drctl::simulation::SimulationError>((fleet, single))
    });
    match outage {
        Ok(Ok((fleet, single))) => {
            let last = fleet.rto_seconds.unwrap_or(f64::NAN);
            let one = single.rto_seconds.unwrap_or(f64::NAN);
            println!(
                "fleet-outage, 200 groups: last group serves {last:.1} s after the incident (p50 {:.1} s), one group alone {one:.1} s: ratio {:.3} (target <= 1.25); throttled calls {}; invariant violations {}",
                fleet.rto_seconds_p50.unwrap_or(f64::NAN),
                last / one,
                fleet.throttled_calls,
                fleet.invariant_violations.len()
            );
        }
        Ok(Err(e)) | Err(e) => {
            eprintln!("fleet-outage: {e}");
            std::process::exit(1);
        }
    }
}
