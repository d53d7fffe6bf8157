//! The Dockerfile subset E2B's template builder takes, as a list of
//! instructions: parsing (continuations, comments, the line of each
//! instruction for errors), rendering with build parameters (`ARG NAME=v`
//! defaults replaced), and lowering to E2B's v2 build body
//! (`fromImage` plus `steps` of `{type, args}`; API `POST
//! /v2/templates/{templateID}/builds/{buildID}`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line where it starts.
    pub line: usize,
    /// Upper-case keyword.
    pub keyword: String,
    /// The rest of the instruction, continuations joined.
    pub args: String,
}

const ALLOWED: &[&str] = &[
    "FROM", "ARG", "ENV", "RUN", "WORKDIR", "USER", "LABEL", "EXPOSE",
];

/// Parses `text`; an error gives the line and the reason.
pub fn parse(text: &str) -> Result<Vec<Instruction>, (usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if pending.is_none() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if pending.is_some() && trimmed.starts_with('#') {
            continue;
        }
        let (start, mut acc) = pending.take().unwrap_or((line, String::new()));
        if let Some(body) = trimmed.strip_suffix('\\') {
            acc.push_str(body.trim_end());
            acc.push(' ');
            pending = Some((start, acc));
            continue;
        }
        acc.push_str(trimmed);
        let (keyword, args) = acc
            .split_once(char::is_whitespace)
            .map(|(k, a)| (k.to_ascii_uppercase(), a.trim().to_string()))
            .unwrap_or((acc.to_ascii_uppercase(), String::new()));
        if !ALLOWED.contains(&keyword.as_str()) {
            let why = match keyword.as_str() {
                "COPY" | "ADD" => {
                    "COPY/ADD need file uploads, which this builder does not send; write files with RUN or the template's [files]"
                }
                "CMD" | "ENTRYPOINT" => "E2B ignores CMD/ENTRYPOINT; use start_cmd in e2b.toml",
                _ => "is not an instruction E2B's template builder takes",
            };
            return Err((start, format!("`{keyword}`: {why}")));
        }
        if args.is_empty() {
            return Err((start, format!("`{keyword}` needs an argument")));
        }
        out.push(Instruction {
            line: start,
            keyword,
            args,
        });
    }
    if let Some((line, _)) = pending {
        return Err((
            line,
            "a continuation `\\` runs past the end of the file".into(),
        ));
    }
    let first = out
        .iter()
        .find(|i| i.keyword != "ARG")
        .ok_or((1, "there is no FROM".to_string()))?;
    if first.keyword != "FROM" {
        return Err((
            first.line,
            "the first instruction (after ARGs) must be FROM".into(),
        ));
    }
    if out.iter().filter(|i| i.keyword == "FROM").count() > 1 {
        return Err((
            first.line,
            "multi-stage builds (several FROM) are not supported".into(),
        ));
    }
    Ok(out)
}

/// The build parameters (`ARG NAME[=default]`) in order, with defaults.
pub fn parameters(text: &str) -> Result<BTreeMap<String, Option<String>>, (usize, String)> {
    Ok(parse(text)?
        .into_iter()
        .filter(|i| i.keyword == "ARG")
        .map(|i| match i.args.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), Some(unquote(v.trim()))),
            None => (i.args.trim().to_string(), None),
        })
        .collect())
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('"') && s.ends_with('"')) || (s.starts_with('\'') && s.ends_with('\'')))
    {
        s[1..s.len() - 1].to_string()
    } else {
        s.to_string()
    }
}

/// `text` with the defaults of the `ARG`s in `params` set to the given
/// values; a parameter the Dockerfile does not declare is an error naming it.
pub fn render(text: &str, params: &BTreeMap<String, String>) -> Result<String, String> {
    let declared = parameters(text).map_err(|(l, r)| format!("line {l}: {r}"))?;
    if let Some(unknown) = params.keys().find(|k| !declared.contains_key(*k)) {
        return Err(format!(
            "`{unknown}` is not a parameter of this template (declared: {})",
            declared.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(bad) = params.values().find(|v| v.contains('\n')) {
        return Err(format!("parameter values must be one line (got `{bad}`)"));
    }
    let mut out = String::new();
    for raw in text.lines() {
        let trimmed = raw.trim_start();
        let replaced = trimmed
            .strip_prefix("ARG ")
            .map(|rest| rest.split('=').next().unwrap_or("").trim())
            .and_then(|name| {
                params
                    .get(name)
                    .map(|v| format!("ARG {name}=\"{}\"", v.replace('"', "\\\"")))
            });
        out.push_str(replaced.as_deref().unwrap_or(raw));
        out.push('\n');
    }
    Ok(out)
}

fn substitute(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = s.to_string();
    for (k, v) in vars {
        out = out
            .replace(&format!("${{{k}}}"), v)
            .replace(&format!("${k}"), v);
    }
    out
}

fn env_pairs(args: &str) -> Vec<(String, String)> {
    if !args.split_whitespace().next().unwrap_or("").contains('=') {
        return match args.split_once(char::is_whitespace) {
            Some((k, v)) => vec![(k.to_string(), unquote(v))],
            None => Vec::new(),
        };
    }
    args.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), unquote(v)))
        .collect()
}

/// Lowers a (rendered) Dockerfile to E2B's v2 build-start body:
/// `{"fromImage", "steps": [{"type", "args", "force"}], "startCmd", "readyCmd"}`.
pub fn build_body(
    text: &str,
    start_cmd: Option<&str>,
    ready_cmd: Option<&str>,
) -> Result<Value, String> {
    let parsed = parse(text).map_err(|(l, r)| format!("line {l}: {r}"))?;
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut from = String::new();
    let mut steps = Vec::new();
    for i in parsed {
        let args = substitute(&i.args, &vars);
        match i.keyword.as_str() {
            "ARG" => {
                if let Some((k, v)) = i.args.split_once('=') {
                    vars.insert(k.trim().to_string(), unquote(v));
                }
            }
            "FROM" => from = args.split_whitespace().next().unwrap_or("").to_string(),
            "ENV" => {
                for (k, v) in env_pairs(&args) {
                    vars.insert(k.clone(), v.clone());
                    steps.push(json!({"type": "ENV", "args": [k, v], "force": false}));
                }
            }
            "RUN" | "WORKDIR" | "USER" => {
                steps.push(json!({"type": i.keyword, "args": [args], "force": false}));
            }
            _ => {}
        }
    }
    let mut body = json!({"fromImage": from, "steps": steps, "force": false});
    if let Some(cmd) = start_cmd {
        body["startCmd"] = json!(cmd);
    }
    if let Some(cmd) = ready_cmd {
        body["readyCmd"] = json!(cmd);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER: &str = "# comment\nARG PY=3.12\nFROM python:${PY}-slim\nENV A=1 B=\"two\"\nRUN apt-get update && \\\n    apt-get install -y curl\nWORKDIR /home/user\n";

    #[test]
    fn parses_renders_and_lowers() {
        let parsed = parse(DOCKER).expect("parse");
        assert_eq!(parsed[3].keyword, "RUN");
        assert_eq!(parsed[3].line, 5);
        assert_eq!(parsed[3].args, "apt-get update && apt-get install -y curl");
        let rendered = render(
            DOCKER,
            &BTreeMap::from([("PY".to_string(), "3.11".to_string())]),
        )
        .expect("render");
        assert!(rendered.contains("ARG PY=\"3.11\"\n"));
        let body = build_body(&rendered, Some("sleep infinity"), None).expect("body");
        assert_eq!(body["fromImage"], "python:3.11-slim");
        assert_eq!(
            body["steps"][0],
            json!({"type": "ENV", "args": ["A", "1"], "force": false})
        );
        assert_eq!(body["steps"][1]["args"], json!(["B", "two"]));
        assert_eq!(
            body["steps"][2]["args"][0],
            "apt-get update && apt-get install -y curl"
        );
        assert_eq!(
            body["steps"][3],
            json!({"type": "WORKDIR", "args": ["/home/user"], "force": false})
        );
        assert_eq!(body["startCmd"], "sleep infinity");
        let err = render(
            DOCKER,
            &BTreeMap::from([("NOPE".to_string(), "x".to_string())]),
        )
        .expect_err("unknown");
        assert!(err.contains("`NOPE`"), "{err}");
    }

    #[test]
    fn refusals_name_the_line() {
        assert_eq!(parse("FROM x\nCOPY a b\n").expect_err("copy").0, 2);
        assert_eq!(parse("RUN x\n").expect_err("no from").0, 1);
        assert!(parse("# only\n").is_err());
        assert_eq!(parse("FROM a\nRUN x \\\n").expect_err("cont").0, 2);
    }
}
