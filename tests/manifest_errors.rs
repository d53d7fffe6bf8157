//! Bad manifests stop the server at start with the file and line at fault.

mod common;

use common::*;

fn start_error(manifest_text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_manifest(dir.path(), "bad", manifest_text);
    let output = run_bin(&["serve", "--manifest", &path, "--db", "sqlite::memory:"]);
    assert!(!output.status.success(), "a bad manifest must not start");
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn unknown_bundle_names_file_and_line() {
    let err = start_error("name = \"x\"\n\nbundles = [\"diagnostics\", \"polymarkt\"]\n");
    assert!(err.contains("bad.toml"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("unknown bundle `polymarkt`"), "{err}");
}

#[test]
fn unknown_tool_in_selection_names_file_and_line() {
    let err = start_error(
        "name = \"x\"\nbundles = [\"diagnostics\"]\n[tools]\ndeny = [\"diag_echo\"]\n[tools.deadlines]\ndiag_lng_running = 3\n",
    );
    assert!(err.contains("line 6"), "{err}");
    assert!(err.contains("diag_lng_running"), "{err}");
}

#[test]
fn misspelled_key_is_refused() {
    let err = start_error("name = \"x\"\nbundles = []\n[limits]\ndefault_deadline = 3\n");
    assert!(err.contains("default_deadline"), "{err}");
    assert!(err.contains("line 4"), "{err}");
}

#[test]
fn unknown_variant_lists_the_known_ones() {
    let output = run_bin(&["serve", "--variant", "nope", "--db", "sqlite::memory:"]);
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("integrated") && err.contains("timeout-tolerant"),
        "{err}"
    );
}

#[test]
fn manifests_command_lists_the_variants() {
    let output = run_bin(&["manifests"]);
    assert!(output.status.success());
    let out = String::from_utf8_lossy(&output.stdout);
    for name in ["official", "enhanced", "integrated", "timeout-tolerant"] {
        assert!(out.contains(name), "{out}");
    }
}
