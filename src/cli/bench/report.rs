//! How `raftlab bench` prints: an aligned table for people, or one JSON
//! object per line (`--json`) for scripts. Rows are printed as they finish.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde_json::json;

use super::disk::{DiskSync, RECORD, SyncCost};
use super::{StorageKind, Transport};

/// What one row runs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Setup {
    pub(super) nodes: usize,
    pub(super) storage: StorageKind,
    pub(super) transport: Transport,
    pub(super) clients: usize,
}

/// What one row measured.
#[derive(Debug, Clone)]
pub(super) struct Measured {
    /// Puts that succeeded within the run.
    pub(super) ops: u64,
    /// Puts that timed out or found no leader.
    pub(super) errors: u64,
    /// Wall time of the run.
    pub(super) elapsed: Duration,
    pub(super) p50: Duration,
    pub(super) p99: Duration,
}

impl Measured {
    /// Committed writes per second.
    pub(super) fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// How one row ended.
#[derive(Debug, Clone)]
pub(super) enum Outcome {
    Measured(Measured),
    /// The runtime cannot run this setup (e.g. a transport not built yet).
    Unavailable(String),
    /// The run broke (no leader, a storage error).
    Failed(String),
}

/// Prints rows as a table or as JSON lines.
pub(super) struct Printer {
    json: bool,
    duration: Duration,
    /// The disk's sync cost alone and with one syncer per node, when file
    /// rows run.
    sync: Option<DiskSync>,
    /// The writes/s of each mem row so far, by (nodes, transport, clients),
    /// for the file rows' "of mem" column.
    mem: BTreeMap<(usize, &'static str, usize), f64>,
}

/// How a file row compares with the limits of this run: its rate as a
/// share of the same setup in memory, and its p50 in disk syncs made with
/// as many syncers at once as the row has nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Limits {
    of_mem: Option<f64>,
    p50_per_sync: Option<f64>,
    /// The sync the row is measured against: with one syncer per node.
    sync: Option<SyncCost>,
    /// The sync made alone, for the record.
    sync_alone: Option<SyncCost>,
}

const HEADER: [&str; 11] = [
    "nodes",
    "storage",
    "transport",
    "clients",
    "writes/s",
    "p50",
    "p99",
    "ops",
    "errors",
    "of-mem",
    "p50/sync",
];
const WIDTHS: [usize; 11] = [5, 7, 9, 7, 11, 9, 9, 9, 6, 6, 8];

impl Printer {
    pub(super) fn new(json: bool, duration: Duration, sync: Option<DiskSync>) -> Printer {
        Printer {
            json,
            duration,
            sync,
            mem: BTreeMap::new(),
        }
    }

    /// The table's title and column heads (nothing in JSON mode).
    pub(super) fn header(&self) {
        if self.json {
            return;
        }
        println!(
            "raftlab bench: committed puts per second and put round trips, {:.1} s per row",
            self.duration.as_secs_f64()
        );
        if let Some(sync) = &self.sync {
            println!("{}", disk_line(sync));
        }
        println!("{}", line(&HEADER.map(String::from)));
        flush();
    }

    /// One row.
    pub(super) fn row(&mut self, setup: &Setup, outcome: &Outcome) {
        let limits = self.limits(setup, outcome);
        if self.json {
            println!("{}", json_row(setup, outcome, &limits));
        } else {
            println!("{}", table_row(setup, outcome, &limits));
        }
        flush();
    }

    /// Remembers a memory row's rate; compares a file row with the
    /// memory row of the same setup and with the disk.
    fn limits(&mut self, setup: &Setup, outcome: &Outcome) -> Limits {
        let Outcome::Measured(m) = outcome else {
            return Limits::default();
        };
        let key = (setup.nodes, setup.transport.name(), setup.clients);
        match setup.storage {
            StorageKind::Mem => {
                self.mem.insert(key, m.rate());
                Limits::default()
            }
            StorageKind::File => {
                let sync = self.sync.as_ref().map(|d| d.for_nodes(setup.nodes));
                Limits {
                    of_mem: self.mem.get(&key).map(|mem| m.rate() / mem.max(1e-9)),
                    p50_per_sync: sync
                        .map(|s| m.p50.as_micros() as f64 / s.p50.as_micros().max(1) as f64),
                    sync,
                    sync_alone: self.sync.as_ref().map(|d| d.alone),
                }
            }
        }
    }
}

/// The `disk:` line: the sync alone and with one syncer per node, the
/// bound that implies for one client, and what the two file columns mean.
fn disk_line(sync: &DiskSync) -> String {
    let mut out = format!(
        "disk: a synced {RECORD}-byte append takes p50 {}, mean {}, p99 {} alone ({} syncs)",
        latency(sync.alone.p50),
        latency(sync.alone.mean),
        latency(sync.alone.p99),
        sync.alone.samples
    );
    for (n, cost) in &sync.together {
        out.push_str(&format!(
            "; with {n} syncers at once p50 {}, mean {}, p99 {}",
            latency(cost.p50),
            latency(cost.mean),
            latency(cost.p99)
        ));
    }
    out.push_str(
        "; every node of a row syncs its own log on this disk at the same moments, \
         so one client's durable writes are bounded near ",
    );
    let bounds: Vec<String> = if sync.together.is_empty() {
        vec![format!(
            "{}/s",
            thousands(sync.alone.sequential_bound().round() as u64)
        )]
    } else {
        sync.together
            .iter()
            .map(|(n, cost)| {
                format!(
                    "{}/s with {n} nodes",
                    thousands(cost.sequential_bound().round() as u64)
                )
            })
            .collect()
    };
    out.push_str(&bounds.join(", "));
    out.push_str(
        " (one mean sync with a syncer per node at once, before any round trip); \
         of-mem: a file row's rate as a share of the same row in memory; \
         p50/sync: its p50 in such syncs",
    );
    out
}

fn flush() {
    let _ = std::io::stdout().flush();
}

/// Cells right-aligned to the column widths (the storage and transport
/// columns left-aligned).
fn line(cells: &[String]) -> String {
    let mut out = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let width = WIDTHS.get(i).copied().unwrap_or(0);
        if i > 0 {
            out.push_str("  ");
        }
        if i == 1 || i == 2 {
            out.push_str(&format!("{cell:<width$}"));
        } else {
            out.push_str(&format!("{cell:>width$}"));
        }
    }
    out.trim_end().to_string()
}

fn table_row(setup: &Setup, outcome: &Outcome, limits: &Limits) -> String {
    let mut cells = vec![
        setup.nodes.to_string(),
        setup.storage.name().to_string(),
        setup.transport.name().to_string(),
        setup.clients.to_string(),
    ];
    match outcome {
        Outcome::Measured(m) => {
            cells.push(thousands(m.rate().round() as u64));
            cells.push(latency(m.p50));
            cells.push(latency(m.p99));
            cells.push(thousands(m.ops));
            cells.push(m.errors.to_string());
            cells.push(
                limits
                    .of_mem
                    .map_or("-".into(), |f| format!("{:.0}%", f * 100.0)),
            );
            cells.push(
                limits
                    .p50_per_sync
                    .map_or("-".into(), |r| format!("{r:.1}×")),
            );
            line(&cells)
        }
        Outcome::Unavailable(why) => format!("{}  n/a ({why})", line(&cells)),
        Outcome::Failed(why) => format!("{}  failed: {why}", line(&cells)),
    }
}

fn json_row(setup: &Setup, outcome: &Outcome, limits: &Limits) -> serde_json::Value {
    let mut row = json!({
        "nodes": setup.nodes,
        "storage": setup.storage.name(),
        "transport": setup.transport.name(),
        "clients": setup.clients,
    });
    let extra = match outcome {
        Outcome::Measured(m) => json!({
            "writes_per_s": m.rate().round(),
            "p50_us": m.p50.as_micros() as u64,
            "p99_us": m.p99.as_micros() as u64,
            "ops": m.ops,
            "errors": m.errors,
            "seconds": m.elapsed.as_secs_f64(),
        }),
        Outcome::Unavailable(why) => json!({ "unavailable": why }),
        Outcome::Failed(why) => json!({ "failed": why }),
    };
    if let (Some(row), serde_json::Value::Object(extra)) = (row.as_object_mut(), extra) {
        row.extend(extra);
        if let Some(f) = limits.of_mem {
            row.insert("of_mem".into(), json!(f));
        }
        if let (Some(r), Some(sync)) = (limits.p50_per_sync, limits.sync) {
            row.insert("p50_per_sync".into(), json!(r));
            row.insert("sync_p50_us".into(), json!(sync.p50.as_micros() as u64));
            row.insert("sync_mean_us".into(), json!(sync.mean.as_micros() as u64));
            row.insert("syncers".into(), json!(setup.nodes));
        }
        if let Some(alone) = limits.sync_alone {
            row.insert(
                "sync_alone_p50_us".into(),
                json!(alone.p50.as_micros() as u64),
            );
        }
    }
    row
}

/// `1234567` as `1,234,567`.
pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A latency in µs below 10 ms, else in ms.
pub(super) fn latency(d: Duration) -> String {
    let us = d.as_micros();
    if us < 10_000 {
        format!("{us} µs")
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_rows_are_compared_with_memory_and_the_disk() {
        let cost = |p50_us| SyncCost {
            p50: Duration::from_micros(p50_us),
            mean: Duration::from_micros(p50_us * 5 / 4),
            p99: Duration::from_micros(p50_us * 2),
            samples: 10,
        };
        // Alone 100 µs; with three syncers at once 200 µs.
        let sync = DiskSync {
            alone: cost(100),
            together: BTreeMap::from([(3, cost(200))]),
        };
        let said = disk_line(&sync);
        assert!(
            said.starts_with(
                "disk: a synced 128-byte append takes p50 100 µs, mean 125 µs, p99 200 µs alone"
            ),
            "{said}"
        );
        assert!(
            said.contains("with 3 syncers at once p50 200 µs, mean 250 µs, p99 400 µs"),
            "{said}"
        );
        // One client's writes follow one another: the mean bounds them.
        assert!(said.contains("bounded near 4,000/s with 3 nodes"), "{said}");
        let mut p = Printer::new(false, Duration::from_secs(1), Some(sync));
        let measured = |ops, p50_us| {
            Outcome::Measured(Measured {
                ops,
                errors: 0,
                elapsed: Duration::from_secs(1),
                p50: Duration::from_micros(p50_us),
                p99: Duration::from_micros(p50_us * 2),
            })
        };
        let setup = |storage| Setup {
            nodes: 3,
            storage,
            transport: Transport::Channel,
            clients: 1,
        };
        let mem = p.limits(&setup(StorageKind::Mem), &measured(10_000, 80));
        assert_eq!(mem, Limits::default());
        // A file row at 2,500/s with p50 600 µs: 25% of memory, 3 syncs
        // made three at once (6 made alone).
        let file = setup(StorageKind::File);
        let limits = p.limits(&file, &measured(2_500, 600));
        assert_eq!(limits.of_mem, Some(0.25));
        assert_eq!(limits.p50_per_sync, Some(3.0));
        let row = table_row(&file, &measured(2_500, 600), &limits);
        assert!(row.ends_with("25%      3.0×"), "{row}");
        let json = json_row(&file, &measured(2_500, 600), &limits);
        assert_eq!(json["of_mem"], 0.25);
        assert_eq!(json["p50_per_sync"], 3.0);
        assert_eq!(json["sync_p50_us"], 200);
        assert_eq!(json["sync_mean_us"], 250);
        assert_eq!(json["syncers"], 3);
        assert_eq!(json["sync_alone_p50_us"], 100);
        // A memory row has nothing to compare with.
        let row = table_row(
            &setup(StorageKind::Mem),
            &measured(10_000, 80),
            &Limits::default(),
        );
        assert!(row.ends_with("-         -"), "{row}");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(latency(Duration::from_micros(85)), "85 µs");
        assert_eq!(latency(Duration::from_micros(12_345)), "12.3 ms");
    }

    #[test]
    fn unavailable_rows_say_why() {
        let setup = Setup {
            nodes: 3,
            storage: StorageKind::Mem,
            transport: Transport::Tcp,
            clients: 16,
        };
        let outcome = Outcome::Unavailable("tcp transport not built yet".into());
        let row = table_row(&setup, &outcome, &Limits::default());
        assert!(row.ends_with("n/a (tcp transport not built yet)"), "{row}");
        let json = json_row(&setup, &outcome, &Limits::default());
        assert_eq!(json["unavailable"], "tcp transport not built yet");
        assert_eq!(json["clients"], 16);
    }
}
