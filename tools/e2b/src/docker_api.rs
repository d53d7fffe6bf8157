//! A small Docker Engine API client: HTTP/1.1 written by hand over
//! `tokio::net::UnixStream` (`DOCKER_HOST=unix:///var/run/docker.sock`, the
//! default) or `TcpStream` (`tcp://127.0.0.1:2375`, plain HTTP; TLS is not
//! spoken). One connection per request, `Connection: close`; bodies read by
//! `Content-Length`, `chunked` or to the end.
//!
//! Written against the Engine API v1.53 reference; requests are sent to the
//! `/v1.44` paths, the oldest version Engine 29 still accepts and the first
//! of Engine 25, so daemons from 25 on answer them. Endpoints used: `_ping`,
//! `images/{name}/json`, `build`, `containers/create`, `containers/{id}/start`,
//! `containers/{id}/exec`, `exec/{id}/start` (attached, `Tty: false`: the
//! multiplexed stream of 8-byte headers, see [`Demux`]), `exec/{id}/json`,
//! `containers/{id}/archive` (PUT and GET, tar), `containers/{id}/kill`,
//! `DELETE containers/{id}` and `containers/json` filtered by label.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use crate::error::E2bError;
use crate::provider::FileEntry;

/// The API version in request paths.
pub const API_VERSION: &str = "v1.44";

/// Where the daemon listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerHost {
    /// A unix socket path.
    Unix(String),
    /// `host:port` over plain TCP.
    Tcp(String),
}

impl DockerHost {
    /// Parses `unix:///path`, `tcp://host:port` or `http://host:port`.
    pub fn parse(s: &str) -> Result<Self, E2bError> {
        if let Some(p) = s.strip_prefix("unix://") {
            return Ok(Self::Unix(p.to_string()));
        }
        if let Some(a) = s
            .strip_prefix("tcp://")
            .or_else(|| s.strip_prefix("http://"))
        {
            return Ok(Self::Tcp(a.trim_end_matches('/').to_string()));
        }
        Err(E2bError::Config(format!(
            "DOCKER_HOST `{s}`: give unix:///path/to/docker.sock or tcp://host:port (TLS is not supported)"
        )))
    }
}

impl std::fmt::Display for DockerHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(p) => write!(f, "unix://{p}"),
            Self::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

enum Framing {
    Length(u64),
    Chunked,
    ToEnd,
}

/// A response whose body is read as it comes.
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    reader: BufReader<Box<dyn Conn>>,
    framing: Framing,
    done: bool,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The next piece of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, E2bError> {
        if self.done {
            return Ok(None);
        }
        let io = |e: std::io::Error| E2bError::Docker(format!("reading the answer: {e}"));
        match &mut self.framing {
            Framing::Length(left) => {
                if *left == 0 {
                    self.done = true;
                    return Ok(None);
                }
                let mut buf = vec![0u8; usize::try_from((*left).min(65_536)).unwrap_or(65_536)];
                let n = self.reader.read(&mut buf).await.map_err(io)?;
                if n == 0 {
                    return Err(E2bError::Docker(
                        "the daemon closed the answer early".into(),
                    ));
                }
                *left -= n as u64;
                buf.truncate(n);
                Ok(Some(buf))
            }
            Framing::ToEnd => {
                let mut buf = vec![0u8; 65_536];
                let n = self.reader.read(&mut buf).await.map_err(io)?;
                if n == 0 {
                    self.done = true;
                    return Ok(None);
                }
                buf.truncate(n);
                Ok(Some(buf))
            }
            Framing::Chunked => {
                let mut line = String::new();
                self.reader.read_line(&mut line).await.map_err(io)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| {
                    E2bError::Docker(format!("bad chunk size `{}`", line.trim()))
                })?;
                if size == 0 {
                    self.done = true;
                    return Ok(None);
                }
                let mut buf = vec![0u8; size + 2];
                self.reader.read_exact(&mut buf).await.map_err(io)?;
                buf.truncate(size);
                Ok(Some(buf))
            }
        }
    }

    /// The whole body, refusing more than `limit` bytes.
    pub async fn bytes(&mut self, limit: usize) -> Result<Vec<u8>, E2bError> {
        let mut out = Vec::new();
        while let Some(c) = self.chunk().await? {
            out.extend_from_slice(&c);
            if out.len() > limit {
                return Err(E2bError::Docker(format!(
                    "the answer is over {limit} bytes"
                )));
            }
        }
        Ok(out)
    }

    /// The body as JSON.
    pub async fn json(&mut self) -> Result<Value, E2bError> {
        let body = self.bytes(16 * 1024 * 1024).await?;
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body)
            .map_err(|e| E2bError::Docker(format!("the daemon answered bad JSON: {e}")))
    }

    /// Turns a 4xx/5xx answer into an error carrying Docker's `message`.
    pub async fn ok(mut self, what: &str) -> Result<Self, E2bError> {
        if self.status < 400 {
            return Ok(self);
        }
        let body = self.bytes(1 << 20).await.unwrap_or_default();
        let msg = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_string());
        Err(E2bError::Docker(format!(
            "{what}: HTTP {}: {msg}",
            self.status
        )))
    }
}

/// A request body.
pub enum Body<'a> {
    /// None.
    Empty,
    /// JSON.
    Json(&'a Value),
    /// A tar archive (`application/x-tar`).
    Tar(&'a [u8]),
}

/// The client.
#[derive(Debug, Clone)]
pub struct DockerClient {
    host: DockerHost,
    connect_timeout: Duration,
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl DockerClient {
    /// A client for `host`.
    pub fn new(host: &str) -> Result<Self, E2bError> {
        Ok(Self {
            host: DockerHost::parse(host)?,
            connect_timeout: Duration::from_secs(5),
        })
    }

    /// Where it connects.
    pub fn host(&self) -> &DockerHost {
        &self.host
    }

    async fn connect(&self) -> Result<Box<dyn Conn>, E2bError> {
        let unreachable = |e: String| {
            E2bError::Docker(format!(
                "cannot reach the Docker daemon at {}: {e} (is Docker running? set DOCKER_HOST, or unset E2B_LOCAL_DOCKER to use the directory provider)",
                self.host
            ))
        };
        let fut = async {
            Ok::<Box<dyn Conn>, std::io::Error>(match &self.host {
                DockerHost::Unix(p) => Box::new(tokio::net::UnixStream::connect(p).await?),
                DockerHost::Tcp(a) => Box::new(tokio::net::TcpStream::connect(a.as_str()).await?),
            })
        };
        match tokio::time::timeout(self.connect_timeout, fut).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(unreachable(e.to_string())),
            Err(_) => Err(unreachable("connection timed out".into())),
        }
    }

    /// Sends `method path_and_query` (under `/v1.44`) and reads the head of
    /// the answer; the body is read from the [`Response`].
    pub async fn request(
        &self,
        method: &str,
        path_and_query: &str,
        body: Body<'_>,
    ) -> Result<Response, E2bError> {
        let mut conn = self.connect().await?;
        let (ctype, bytes): (Option<&str>, Vec<u8>) = match body {
            Body::Empty => (None, Vec::new()),
            Body::Json(v) => (Some("application/json"), v.to_string().into_bytes()),
            Body::Tar(t) => (Some("application/x-tar"), t.to_vec()),
        };
        let mut head = format!(
            "{method} /{API_VERSION}{path_and_query} HTTP/1.1\r\nHost: docker\r\nUser-Agent: nt-e2b\r\nConnection: close\r\nContent-Length: {}\r\n",
            bytes.len()
        );
        if let Some(c) = ctype {
            head.push_str(&format!("Content-Type: {c}\r\n"));
        }
        head.push_str("\r\n");
        let send =
            |e: std::io::Error| E2bError::Docker(format!("sending {method} {path_and_query}: {e}"));
        conn.write_all(head.as_bytes()).await.map_err(send)?;
        conn.write_all(&bytes).await.map_err(send)?;
        conn.flush().await.map_err(send)?;
        let mut reader = BufReader::new(conn);
        let mut line = String::new();
        reader.read_line(&mut line).await.map_err(send)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| {
                E2bError::Docker(format!(
                    "{method} {path_and_query}: not an HTTP answer: `{}`",
                    line.trim()
                ))
            })?;
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).await.map_err(send)? == 0 {
                break;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let framing = if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            Framing::Chunked
        } else if let Some(n) = get("content-length").and_then(|v| v.parse().ok()) {
            Framing::Length(n)
        } else if status == 204 || status == 304 {
            Framing::Length(0)
        } else {
            Framing::ToEnd
        };
        Ok(Response {
            status,
            headers,
            reader,
            framing,
            done: false,
        })
    }

    /// A JSON call answered with JSON (errors carry Docker's message).
    pub async fn call(
        &self,
        method: &str,
        path_and_query: &str,
        body: Body<'_>,
        what: &str,
    ) -> Result<Value, E2bError> {
        self.request(method, path_and_query, body)
            .await?
            .ok(what)
            .await?
            .json()
            .await
    }
}

/// A tar archive of `(path, bytes)` files (mode 0644).
pub fn tar_of(files: &[(String, &[u8])]) -> Result<Vec<u8>, E2bError> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(u64::try_from(crate::local::now_ms() / 1000).unwrap_or(0));
        b.append_data(&mut h, path, *data)?;
    }
    Ok(b.into_inner()?)
}

/// The bytes of the first regular file in a tar archive.
pub fn first_file(tar: &[u8]) -> Result<Option<Vec<u8>>, E2bError> {
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type().is_file() {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data)?;
            return Ok(Some(data));
        }
    }
    Ok(None)
}

/// The entries of a folder's archive (`<folder>/<rest>` names) as paths
/// under `base`, `depth` levels deep, sorted.
pub fn tar_listing(tar: &[u8], base: &str, depth: u32) -> Result<Vec<FileEntry>, E2bError> {
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries()? {
        let entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        // Entries are `<dir name>/<rest>`; the first is the folder itself.
        let Some((_, rest)) = name.trim_end_matches('/').split_once('/') else {
            continue;
        };
        if rest.split('/').count() > depth.max(1) as usize {
            continue;
        }
        let t = entry.header().entry_type();
        let kind = if t.is_symlink() {
            "symlink"
        } else if t.is_dir() {
            "dir"
        } else {
            "file"
        };
        out.push(FileEntry {
            path: if base.is_empty() {
                rest.to_string()
            } else {
                format!("{base}/{rest}")
            },
            kind: kind.to_string(),
            size: if kind == "file" { entry.size() } else { 0 },
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Which stream a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// 0: stdin (echoed).
    Stdin,
    /// 1: stdout.
    Stdout,
    /// 2: stderr.
    Stderr,
}

/// Splits Docker's multiplexed stream: frames of an 8-byte header
/// (stream type, three zero bytes, big-endian `u32` length) and the payload.
#[derive(Debug, Default)]
pub struct Demux {
    buf: Vec<u8>,
}

impl Demux {
    /// Feeds bytes as read; returns the frames now complete.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<(FrameKind, Vec<u8>)>, E2bError> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        while self.buf.len() >= 8 {
            let kind = match self.buf[0] {
                0 => FrameKind::Stdin,
                1 => FrameKind::Stdout,
                2 => FrameKind::Stderr,
                other => {
                    return Err(E2bError::Docker(format!(
                        "bad stream frame type {other} in exec output"
                    )));
                }
            };
            let len = u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]);
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if self.buf.len() < 8 + len {
                break;
            }
            let payload = self.buf[8..8 + len].to_vec();
            self.buf.drain(..8 + len);
            out.push((kind, payload));
        }
        Ok(out)
    }

    /// Bytes of an unfinished frame left over.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// One frame in Docker's multiplexed format (for fakes and tests).
pub fn frame(kind: FrameKind, data: &[u8]) -> Vec<u8> {
    let t = match kind {
        FrameKind::Stdin => 0u8,
        FrameKind::Stdout => 1,
        FrameKind::Stderr => 2,
    };
    let mut out = vec![t, 0, 0, 0];
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_reads_come_out_whole() {
        let mut bytes = frame(FrameKind::Stdout, b"hello\n");
        bytes.extend(frame(FrameKind::Stderr, b"oops"));
        // Header of the first frame: type 1, three zeros, length 6 big-endian.
        assert_eq!(&bytes[..8], &[1, 0, 0, 0, 0, 0, 0, 6]);
        let mut d = Demux::default();
        let mut got = Vec::new();
        for piece in bytes.chunks(5) {
            got.extend(d.push(piece).expect("frames"));
        }
        assert_eq!(
            got,
            vec![
                (FrameKind::Stdout, b"hello\n".to_vec()),
                (FrameKind::Stderr, b"oops".to_vec())
            ]
        );
        assert_eq!(d.pending(), 0);
        assert!(d.push(&[9, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn hosts_parse_and_query_values_encode() {
        assert_eq!(
            DockerHost::parse("unix:///var/run/docker.sock").expect("unix"),
            DockerHost::Unix("/var/run/docker.sock".into())
        );
        assert_eq!(
            DockerHost::parse("tcp://127.0.0.1:2375").expect("tcp"),
            DockerHost::Tcp("127.0.0.1:2375".into())
        );
        assert!(DockerHost::parse("ssh://me@host").is_err());
        assert_eq!(
            encode(r#"{"label":["a=b"]}"#),
            "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D"
        );
    }
}
