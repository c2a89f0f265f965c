//! Every scenario file under the workspace's `benches/` is checked as
//! `kit-load compare` would check it before starting anything: it parses,
//! its body files exist and fit, its scenarios and baselines are valid.
//! A file broken by an edit fails here, not in a benchmark run.
//!
//! One test in its own binary, because body files are named relative to
//! the workspace root (where the bench scripts run), so it changes the
//! process's directory.

use std::path::Path;

use kit_load::file::ScenarioFile;

#[test]
fn every_bench_file_is_a_valid_comparison() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::set_current_dir(&root).unwrap();
    let mut checked = Vec::new();
    for entry in std::fs::read_dir("benches").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let file =
                ScenarioFile::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let comparison = file
                .check()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!comparison.scenarios().is_empty(), "{}", path.display());
            checked.push(path);
        }
    }
    assert!(
        checked.iter().any(|p| p.ends_with("stream-redis.json")),
        "benches/ not found from {}: {checked:?}",
        root.display()
    );
}
