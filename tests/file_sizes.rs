//! The layout rule every bundle follows: no source file over 800 lines
//! outside tests (`tests/` folders and benches are exempt), so a bundle stays
//! split by tool family and concept.

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 800;

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if path.is_dir() {
            if !matches!(
                name.as_str(),
                "target" | "tests" | ".git" | "fixtures" | "benches"
            ) {
                rust_sources(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_is_over_800_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for top in ["mcp-core", "servers", "bench", "tools"] {
        rust_sources(&root.join(top), &mut files);
    }
    assert!(files.len() > 20, "found only {} sources", files.len());
    let mut over: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).ok()?.lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    over.sort();
    assert!(
        over.is_empty(),
        "split these by concept (limit {MAX_LINES} lines):\n{}",
        over.join("\n")
    );
}
