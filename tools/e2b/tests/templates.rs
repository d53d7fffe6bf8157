//! Every shipped template validates; a broken one fails with the field
//! named; extra templates load from a folder and replace shipped ones.
#![allow(missing_docs)]

use nt_e2b::templates::{Registry, Source, embedded_sources};

#[test]
fn every_shipped_template_validates() {
    let sources = embedded_sources();
    let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "base",
            "claude-code",
            "claude-flow",
            "trading-bot",
            "neural-trader-mcp"
        ]
    );
    for s in &sources {
        let t = s.validate().unwrap_or_else(|e| panic!("{}: {e}", s.name));
        assert_eq!(t.e2b.dockerfile, "e2b.Dockerfile");
        assert!(
            t.e2b.template_name.starts_with("nt-"),
            "{}",
            t.e2b.template_name
        );
        assert_eq!(t.meta.resources.memory_mb, t.e2b.memory_mb);
    }
    // The files on disk are the ones embedded.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates");
    let on_disk = nt_e2b::templates::dir_sources(&root).expect("read templates/");
    assert_eq!(on_disk.len(), 5);
    for s in on_disk {
        s.validate()
            .unwrap_or_else(|e| panic!("{} on disk: {e}", s.name));
    }
}

/// A change that breaks a template.
type Breaker = Box<dyn Fn(&mut Source)>;

fn base() -> Source {
    embedded_sources()
        .into_iter()
        .find(|s| s.name == "base")
        .expect("base")
}

#[test]
fn a_broken_template_fails_with_the_field_named() {
    let cases: Vec<(Breaker, &str)> = vec![
        (
            Box::new(|s| s.e2b_toml = s.e2b_toml.replace("memory_mb = 512", "memory_mb = 513")),
            "e2b.toml:memory_mb",
        ),
        (
            Box::new(|s| s.e2b_toml = s.e2b_toml.replace("\"nt-base\"", "\"NT Base\"")),
            "e2b.toml:template_name",
        ),
        (
            Box::new(|s| {
                s.e2b_toml = s
                    .e2b_toml
                    .replace("cpu_count = 2", "cpu_count = 2\ncolour = \"red\"")
            }),
            "e2b.toml:colour",
        ),
        (
            Box::new(|s| s.e2b_toml = s.e2b_toml.replace("cpu_count = 2\n", "")),
            "e2b.toml:cpu_count",
        ),
        (
            Box::new(|s| s.meta_toml = s.meta_toml.replace("memory_mb = 512", "memory_mb = 1024")),
            "template.toml:resources.memory_mb",
        ),
        (
            Box::new(|s| s.meta_toml = s.meta_toml.replace("name = \"base\"", "name = \"other\"")),
            "template.toml:name",
        ),
        (
            Box::new(|s| s.meta_toml = s.meta_toml.replace("LANG = ", "1LANG = ")),
            "template.toml:env",
        ),
        (
            Box::new(|s| s.dockerfile.push_str("COPY a b\n")),
            "e2b.Dockerfile:line 8",
        ),
        (
            Box::new(|s| s.dockerfile = s.dockerfile.replace("FROM debian", "RUN x\nFROM debian")),
            "e2b.Dockerfile:line 3",
        ),
    ];
    for (break_it, field) in cases {
        let mut s = base();
        break_it(&mut s);
        let err = s.validate().expect_err(field);
        match &err {
            nt_e2b::E2bError::Template { field: got, .. } => assert_eq!(got, field, "{err}"),
            other => panic!("{field}: {other}"),
        }
        let tool: nt_mcp_core::ToolError = err.into();
        assert_eq!(tool.field.as_deref(), Some(field));
    }
}

#[test]
fn a_folder_adds_and_replaces_templates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = base();
    let mine = dir.path().join("base");
    std::fs::create_dir_all(&mine).expect("mkdir");
    std::fs::write(mine.join("e2b.toml"), &src.e2b_toml).expect("w");
    std::fs::write(mine.join("e2b.Dockerfile"), &src.dockerfile).expect("w");
    std::fs::write(
        mine.join("template.toml"),
        src.meta_toml.replace("A plain sandbox", "My plain sandbox"),
    )
    .expect("w");
    let reg = Registry::load(Some(dir.path())).expect("load");
    assert_eq!(reg.sources().len(), 5);
    assert!(
        reg.get("base")
            .expect("valid")
            .meta
            .description
            .starts_with("My plain")
    );
    assert!(
        reg.get("nope")
            .expect_err("unknown")
            .to_string()
            .contains("known: base")
    );
}
