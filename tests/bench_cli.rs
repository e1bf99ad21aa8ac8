//! `raftlab bench` as a user runs it: tiny settings, then the shape of
//! the table and of the JSON lines. Never asserts on speed.

use std::process::{Command, Output};

fn raftlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .args(args)
        .output()
        .expect("run raftlab")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const TINY: &[&str] = &[
    "bench",
    "--quick",
    "--duration",
    "100ms",
    "--nodes",
    "3",
    "--clients",
    "1,4",
    "--storage",
    "mem,file",
    "--transport",
    "channel,tcp",
];

#[test]
fn quick_bench_prints_a_table() {
    let out = raftlab(TINY);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("raftlab bench:"), "{stdout}");
    // File rows run, so the disk's sync was measured first and said.
    assert!(
        lines[1].starts_with("disk: a synced 128-byte append takes p50 "),
        "{stdout}"
    );
    assert!(lines[1].contains("bounded near"), "{stdout}");
    // Three nodes sync on this one disk at once: measured that way too.
    assert!(lines[1].contains("with 3 syncers at once p50 "), "{stdout}");
    let head: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        head,
        [
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
            "p50/sync"
        ]
    );
    let rows = &lines[3..];
    assert_eq!(rows.len(), 8, "{stdout}");
    for row in rows {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[0], "3", "{row}");
        assert!(["mem", "file"].contains(&cells[1]), "{row}");
        assert!(["channel", "tcp"].contains(&cells[2]), "{row}");
        // nodes storage transport clients rate p50 unit p99 unit ops errors
        // of-mem p50/sync
        assert_eq!(cells.len(), 13, "{row}");
        // Whole µs, or ms to a tenth (a file row's p50 on a loaded disk).
        match cells[6] {
            "µs" => assert!(cells[5].parse::<u64>().is_ok(), "{row}"),
            "ms" => assert!(cells[5].parse::<f64>().is_ok(), "{row}"),
            _ => panic!("p50's unit is µs or ms: {row}"),
        }
        assert!(cells[10].parse::<u64>().is_ok(), "{row}");
        if cells[1] == "mem" {
            assert_eq!(&cells[11..], ["-", "-"], "{row}");
        } else {
            // The memory row of the same setup ran first (mem,file).
            assert!(cells[11].ends_with('%'), "{row}");
            assert!(cells[12].ends_with('×'), "{row}");
        }
    }
    assert!(
        stderr.contains("[1/8]"),
        "progress goes to stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn quick_bench_prints_json_lines() {
    let mut args = TINY.to_vec();
    args.push("--json");
    let out = raftlab(&args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(rows.len(), 8, "{stdout}");
    for row in &rows {
        assert_eq!(row["nodes"], 3);
        assert!(row["clients"] == 1 || row["clients"] == 4, "{row}");
        assert!(
            row["transport"] == "channel" || row["transport"] == "tcp",
            "{row}"
        );
        for field in [
            "writes_per_s",
            "p50_us",
            "p99_us",
            "ops",
            "errors",
            "seconds",
        ] {
            assert!(row[field].is_number(), "{field} in {row}");
        }
        if row["storage"] == "file" {
            for field in [
                "of_mem",
                "p50_per_sync",
                "sync_p50_us",
                "sync_mean_us",
                "sync_alone_p50_us",
            ] {
                assert!(row[field].is_number(), "{field} in {row}");
            }
            assert_eq!(row["syncers"], 3, "{row}");
        }
    }
}

#[test]
fn bad_bench_arguments_are_refused() {
    for (args, needle) in [
        (&["bench", "--clients", "0"][..], "client count"),
        (&["bench", "--storage", "disk"][..], "storage kind"),
        (&["bench", "--transport", "udp"][..], "transport"),
        (&["bench", "--nodes", "3,12"][..], "1 to 9"),
        (&["bench", "--drivers", "0"][..], "--drivers"),
        (
            &["bench", "--snapshot-threshold", "x"][..],
            "--snapshot-threshold",
        ),
    ] {
        let out = raftlab(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// Many sessions on two driver threads with rare compaction still commit
/// every put they report, without errors.
#[test]
fn pooled_sessions_on_two_drivers() {
    let out = raftlab(&[
        "bench",
        "--duration",
        "200ms",
        "--nodes",
        "3",
        "--clients",
        "64",
        "--storage",
        "mem",
        "--drivers",
        "2",
        "--snapshot-threshold",
        "5000",
        "--json",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let row: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_default();
    assert_eq!(row["clients"], 64, "{stdout}");
    assert_eq!(row["errors"], 0, "{stdout}");
    assert!(row["ops"].as_u64().unwrap_or(0) > 0, "{stdout}");
}
