//! The servers a benchmark runs: the project's binary and the bare rmcp
//! floor, each with the arguments that make it serve stdio or HTTP.

use std::path::PathBuf;

/// One server under test.
#[derive(Debug, Clone)]
pub struct Target {
    /// Column name in the report.
    pub name: &'static str,
    /// The executable.
    pub exe: PathBuf,
    /// Whether it is the project's server (takes `serve --db ...`).
    pub project: bool,
}

impl Target {
    /// Arguments to serve stdio, with `db` as its database when it has one.
    pub fn stdio_args(&self, db: &str) -> Vec<String> {
        if self.project {
            vec!["serve".into(), "--db".into(), db.into()]
        } else {
            Vec::new()
        }
    }

    /// Arguments to serve HTTP on a free loopback port.
    pub fn http_args(&self, db: &str) -> Vec<String> {
        let mut args = self.stdio_args(db);
        args.extend(["--listen".to_string(), "127.0.0.1:0".to_string()]);
        args
    }
}
