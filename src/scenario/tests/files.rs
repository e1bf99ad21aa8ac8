//! Every scenario file under `tests/scenarios/` parses, states its intent
//! in its first comment and starts by creating a cluster.

use crate::scenario::ast::StmtKind;
use crate::scenario::parse;

#[test]
fn every_scenario_file_parses_and_states_its_intent() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "scen"))
        .collect();
    entries.sort();
    assert!(entries.len() >= 20, "only {} scenario files", entries.len());
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let name = path.display().to_string();
        match parse(&text, &name) {
            Ok(script) => {
                assert!(
                    text.starts_with('#'),
                    "{name}: the first line must be a comment"
                );
                assert!(script.intent.is_some(), "{name}: no intent");
                assert!(
                    matches!(
                        script.statements.first().map(|s| &s.kind),
                        Some(StmtKind::Cluster(_))
                    ),
                    "{name}: must start with `cluster`"
                );
            }
            Err(e) => panic!("{e}"),
        }
    }
}
