//! The two single-figure modes of `raftlab bench`.
//!
//! - `--failover N`: kill the leader, time until a fresh client's put
//!   succeeds (the new leader is elected *and* accepts writes; the client
//!   finds it by redirects, as any client would), restart the old leader,
//!   let it catch up, repeat. Reports the median and the maximum.
//! - `--idle DURATION`: a cluster at the default tick and speed that has
//!   elected its leader and then does nothing; the process's user + system
//!   CPU time (`/proc/self/stat`) over the duration, as a share of one core.

use std::time::{Duration, Instant};

use serde_json::json;

use super::load::wait_for_writes;
use super::report::latency;
use super::{bench_config, start_cluster};
use crate::kv::ClientOutcome;
use crate::runtime::{Cluster, ClusterConfig, ClusterView};

/// How long one failover may take before the run gives up.
const FAILOVER_WAIT: Duration = Duration::from_secs(10);
/// How long a restarted node may take to catch up.
const CATCH_UP_WAIT: Duration = Duration::from_secs(5);
/// Settling time of an idle cluster after its first write.
const IDLE_SETTLE: Duration = Duration::from_secs(1);
/// Clock ticks per second of `/proc/self/stat`'s times (Linux's USER_HZ,
/// which is 100 on every architecture it supports).
const USER_HZ: f64 = 100.0;

/// Kills the leader `tries` times; prints the median and the maximum time
/// until a write succeeds again.
pub(super) fn failover(nodes: usize, tick: Duration, tries: u32, json: bool) -> Result<(), String> {
    if nodes < 3 {
        return Err(format!(
            "failover needs at least 3 nodes to survive a kill, not {nodes}"
        ));
    }
    if tries == 0 {
        return Err("--failover needs at least one try".into());
    }
    let config = bench_config(nodes, tick);
    let (tick, speed) = (config.tick, config.speed);
    let cluster = start_cluster(config)?;
    wait_for_writes(&cluster)?;
    let mut times = Vec::with_capacity(tries as usize);
    for i in 0..tries {
        let leader = wait_for(&cluster, "a leader", FAILOVER_WAIT, |v| v.leader())?;
        let start = Instant::now();
        cluster.kill(leader).map_err(|e| e.to_string())?;
        let mut client = cluster.client();
        loop {
            let left = FAILOVER_WAIT.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(format!(
                    "try {}: no write succeeded within {FAILOVER_WAIT:?} of killing leader n{leader}",
                    i + 1
                ));
            }
            if let ClientOutcome::Ok(_) = client.put("failover", &i.to_string(), left) {
                break;
            }
        }
        let took = start.elapsed();
        times.push(took);
        eprintln!(
            "raftlab bench: failover {}/{tries}: n{leader} killed, writes again after {}",
            i + 1,
            latency(took)
        );
        cluster.restart(leader).map_err(|e| e.to_string())?;
        wait_for(
            &cluster,
            "the restarted node to catch up",
            CATCH_UP_WAIT,
            |v| {
                let lead = v.node(v.leader()?)?;
                let back = v.node(leader)?;
                (back.applied >= lead.commit).then_some(())
            },
        )?;
    }
    cluster.shutdown();
    times.sort_unstable();
    let median = times[times.len() / 2];
    let max = times[times.len() - 1];
    let tick_ms = tick.as_secs_f64() * 1000.0 / speed;
    if json {
        println!(
            "{}",
            json!({
                "failover_tries": tries,
                "nodes": nodes,
                "tick_wall_ms": tick_ms,
                "median_us": median.as_micros() as u64,
                "max_us": max.as_micros() as u64,
            })
        );
    } else {
        println!(
            "failover, {nodes} nodes, {tries} tries, one tick per {tick_ms} ms of wall time \
             (election timeout 15–30 ticks): median {}, max {}",
            latency(median),
            latency(max)
        );
    }
    Ok(())
}

/// Measures the CPU an idle cluster of `nodes` at the default speed uses.
pub(super) fn idle(nodes: usize, over: Duration, json: bool) -> Result<(), String> {
    let config = ClusterConfig {
        nodes,
        record_history: false,
        ..ClusterConfig::default()
    };
    let (tick, speed) = (config.tick, config.speed);
    let cluster = Cluster::start(config).map_err(|e| e.to_string())?;
    wait_for_writes(&cluster)?;
    std::thread::sleep(IDLE_SETTLE);
    eprintln!(
        "raftlab bench: measuring an idle {nodes}-node cluster for {:.1} s",
        over.as_secs_f64()
    );
    let before = cpu_seconds()?;
    let start = Instant::now();
    std::thread::sleep(over);
    let used = cpu_seconds()? - before;
    let wall = start.elapsed().as_secs_f64();
    cluster.shutdown();
    let percent = 100.0 * used / wall;
    if json {
        println!(
            "{}",
            json!({
                "idle_nodes": nodes,
                "tick_ms": tick.as_secs_f64() * 1000.0,
                "speed": speed,
                "seconds": wall,
                "cpu_seconds": used,
                "cpu_percent_of_one_core": percent,
            })
        );
    } else {
        println!(
            "idle, {nodes} nodes, tick {} ms at speed {speed}: {used:.2} s of CPU in {wall:.1} s = {percent:.2}% of one core",
            tick.as_millis()
        );
    }
    Ok(())
}

/// User + system CPU time of this process so far, in seconds.
fn cpu_seconds() -> Result<f64, String> {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .map_err(|e| format!("cannot read /proc/self/stat (Linux only): {e}"))?;
    parse_cpu_ticks(&stat)
        .map(|ticks| ticks as f64 / USER_HZ)
        .ok_or_else(|| "cannot parse /proc/self/stat".to_string())
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line. The
/// command name (field 2) may hold spaces, so fields count from its `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Waits up to `wait` until `found` gives something for the cluster's view.
fn wait_for<T>(
    cluster: &Cluster,
    what: &str,
    wait: Duration,
    found: impl Fn(&ClusterView) -> Option<T>,
) -> Result<T, String> {
    let deadline = Instant::now() + wait;
    let mut watch = cluster.watch();
    let mut view = watch.current();
    loop {
        if let Some(t) = found(&view) {
            return Ok(t);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("timed out waiting for {what}"));
        }
        view = match watch.wait(left.min(Duration::from_millis(20))) {
            Some(v) => v,
            None => watch.current(),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_from_proc_stat() {
        let line = "42 (raft lab) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 9 0 1 2 3";
        assert_eq!(parse_cpu_ticks(line), Some(280));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }
}
