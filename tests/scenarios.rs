//! Runs every scenario script in `tests/scenarios/` in the simulator. Each
//! script states its intent in its first comment; a failed expectation or
//! a broken invariant fails the test with the script's full transcript.

use std::path::Path;

use raftlab::scenario::{run_script, sim_factory};

mod common;

/// The `.scen` files in `tests/<dir>`, sorted.
fn scripts(dir: &str) -> Vec<std::path::PathBuf> {
    common::scen_files(&format!("tests/{dir}"))
}

#[test]
fn every_scenario_passes() {
    let files = scripts("scenarios");
    assert!(files.len() >= 20, "only {} scenarios found", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        match run_script(&text, &name, sim_factory(1)) {
            Ok(report) if report.passed => println!("PASS {name}"),
            Ok(report) => failures.push(report.render()),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn a_scenario_replays_identically_from_its_seed() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/18_churn_unreliable.scen");
    let text = std::fs::read_to_string(path).unwrap();
    let a = run_script(&text, "churn", sim_factory(1)).unwrap();
    let b = run_script(&text, "churn", sim_factory(1)).unwrap();
    assert!(a.trace_hash.is_some());
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.render(), b.render());
}

/// Scripts in `tests/bugs/` turn on a known-unsafe variant and play the
/// schedule that breaks it; the simulator must report the violation their
/// first comment names (`Expected to FAIL with "…"`).
#[test]
fn every_bug_script_is_caught() {
    let files = scripts("bugs");
    assert!(!files.is_empty());
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let expected = text
            .split("Expected to FAIL with \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("{name} does not say which violation it expects"));
        let report = run_script(&text, &name, sim_factory(1)).unwrap();
        let failure = report.failure.as_ref().map(|f| f.message.clone());
        assert!(
            failure
                .as_deref()
                .is_some_and(|m| m.contains("invariant violated") && m.contains(expected)),
            "{name}: expected a {expected:?} violation, got:\n{}",
            report.render()
        );
    }
}
