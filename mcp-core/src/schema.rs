//! Tool input schemas: generated from the input type on first use
//! ([`InputSchema`]), and kept between starts in a cache file per server
//! executable ([`SchemaCache`]), so a returning start lists its tools
//! without generating 150 schemas again.
//!
//! The cache lives in the user's cache folder (`~/.cache/neural-trader-mcp/
//! schemas/`), one file per executable path, stamped with the executable's
//! size, modification time and version: a rebuilt or upgraded binary
//! regenerates and rewrites it. `NT_SCHEMA_CACHE=off` turns it off;
//! `NT_SCHEMA_CACHE=/some/dir` puts it elsewhere. A missing, unreadable or
//! foreign file only costs the generation.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use schemars::JsonSchema;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A JSON object schema, shared.
pub type SchemaMap = Arc<Map<String, Value>>;

/// A tool's input schema, generated from its input type the first time it is
/// asked for (or taken from the cache), then shared by every clone.
#[derive(Clone)]
pub struct InputSchema {
    make: fn() -> Map<String, Value>,
    cell: Arc<OnceLock<SchemaMap>>,
}

impl InputSchema {
    /// The schema of input type `I` (generated lazily).
    pub fn of<I: JsonSchema>() -> Self {
        Self {
            make: input_schema_for::<I>,
            cell: Arc::new(OnceLock::new()),
        }
    }

    /// The schema, generated now when neither generated nor cached yet.
    pub fn get(&self) -> &SchemaMap {
        self.cell.get_or_init(|| Arc::new((self.make)()))
    }

    /// Whether the schema is already at hand (generated or from the cache).
    pub fn is_ready(&self) -> bool {
        self.cell.get().is_some()
    }

    /// Sets the schema from the cache unless it is already there.
    fn preset(&self, schema: SchemaMap) {
        let _ = self.cell.set(schema);
    }
}

impl std::fmt::Debug for InputSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.cell.get() {
            Some(schema) => f.debug_tuple("InputSchema").field(schema).finish(),
            None => f.write_str("InputSchema(<not generated yet>)"),
        }
    }
}

/// The JSON Schema object for a tool input type, as MCP wants it (an object
/// schema, `$schema` dropped).
pub fn input_schema_for<I: JsonSchema>() -> Map<String, Value> {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    let schema = settings.into_generator().into_root_schema_for::<I>();
    let mut value = match serde_json::to_value(schema) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    value.remove("$schema");
    if !value.contains_key("type") {
        value.insert("type".into(), Value::String("object".into()));
    }
    value
}

/// Where the schema cache of the running executable lives, and the stamp
/// that must match for its contents to be used; `None` when turned off or
/// when the executable cannot be identified.
pub fn cache_location() -> Option<(PathBuf, String)> {
    let dir = match std::env::var("NT_SCHEMA_CACHE") {
        Ok(v) if matches!(v.trim(), "off" | "0" | "false" | "no") => return None,
        Ok(v) if !v.trim().is_empty() => PathBuf::from(v.trim()),
        _ => dirs::cache_dir()?.join("neural-trader-mcp").join("schemas"),
    };
    let exe = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(&exe).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    let stamp = format!(
        "{} {} {} {modified}",
        env!("CARGO_PKG_VERSION"),
        exe.display(),
        meta.len()
    );
    let name = hex::encode(&Sha256::digest(exe.as_os_str().as_encoded_bytes())[..8]);
    Some((dir.join(format!("{name}.json")), stamp))
}

/// What [`SchemaCache::fill`] did, for the start-up log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheUse {
    /// Schemas taken from the cache.
    pub hits: usize,
    /// Schemas generated (absent from the cache).
    pub generated: usize,
    /// Whether the cache file was (re)written.
    pub written: bool,
}

/// The cache file's contents, read ahead (on a blocking thread, while the
/// database opens) and used by [`SchemaCache::fill`].
#[derive(Debug, Default)]
pub struct SchemaCache {
    location: Option<(PathBuf, String)>,
    entries: Map<String, Value>,
}

impl SchemaCache {
    /// Reads the cache at `location` (see [`cache_location`]); empty when
    /// absent, unreadable, or stamped for another executable.
    pub fn load(location: Option<(PathBuf, String)>) -> Self {
        let entries = location
            .as_ref()
            .and_then(|(path, stamp)| read_cache(path, stamp))
            .unwrap_or_default();
        Self { location, entries }
    }

    /// Gives every schema in `schemas` (keyed `bundle/tool`) its value: from
    /// the cache when there, else generated; the file is rewritten when
    /// anything had to be generated. Cache trouble is never an error: the
    /// schemas are generated instead.
    pub fn fill(mut self, schemas: &[(String, InputSchema)]) -> CacheUse {
        let mut used = CacheUse::default();
        for (key, schema) in schemas {
            match self.entries.remove(key) {
                Some(Value::Object(map)) => {
                    schema.preset(Arc::new(map));
                    used.hits += 1;
                }
                _ => {
                    schema.get();
                    used.generated += 1;
                }
            }
        }
        if used.generated > 0
            && let Some((path, stamp)) = &self.location
        {
            // Keep the other variants' entries (same executable, other tools).
            for (key, schema) in schemas {
                self.entries
                    .insert(key.clone(), Value::Object(schema.get().as_ref().clone()));
            }
            used.written = write_cache(path, stamp, self.entries).is_ok();
        }
        used
    }
}

/// The cache read started by [`prefetch`], waiting to be taken.
static PREFETCHED: std::sync::Mutex<Option<std::thread::JoinHandle<SchemaCache>>> =
    std::sync::Mutex::new(None);

/// Starts reading this executable's schema cache on a thread of its own, so
/// the file is parsed while the process parses its flags and starts its
/// runtime; the next runtime built takes it ([`SchemaCache::take_or_load`]).
/// Call it early in `main`.
pub fn prefetch() {
    let handle = std::thread::spawn(|| SchemaCache::load(cache_location()));
    if let Ok(mut slot) = PREFETCHED.lock() {
        *slot = Some(handle);
    }
}

impl SchemaCache {
    /// The cache [`prefetch`] read, else read now.
    pub fn take_or_load() -> Self {
        let handle = PREFETCHED.lock().ok().and_then(|mut slot| slot.take());
        handle
            .and_then(|h| h.join().ok())
            .unwrap_or_else(|| Self::load(cache_location()))
    }
}

fn read_cache(path: &Path, stamp: &str) -> Option<Map<String, Value>> {
    let bytes = std::fs::read(path).ok()?;
    let Value::Object(mut file) = serde_json::from_slice::<Value>(&bytes).ok()? else {
        return None;
    };
    if file.get("stamp").and_then(Value::as_str) != Some(stamp) {
        return None;
    }
    match file.remove("schemas") {
        Some(Value::Object(schemas)) => Some(schemas),
        _ => None,
    }
}

/// Writes the cache through a temporary file and a rename, so a reader never
/// sees half a file and two servers starting at once cannot interleave.
fn write_cache(path: &Path, stamp: &str, schemas: Map<String, Value>) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let body = serde_json::json!({"stamp": stamp, "schemas": schemas});
    // Unique per writer: tests build several runtimes at once in one process.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("schemas"),
        std::process::id(),
        WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::write(&tmp, serde_json::to_vec(&body)?)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Order {
        symbol: String,
        qty: u32,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Cancel {
        order_id: String,
    }

    /// [`SchemaCache::load`] then [`SchemaCache::fill`], in one step.
    fn fill_from_cache(
        location: Option<&(PathBuf, String)>,
        schemas: &[(String, InputSchema)],
    ) -> CacheUse {
        SchemaCache::load(location.cloned()).fill(schemas)
    }

    fn specs() -> Vec<(String, InputSchema)> {
        vec![
            ("b/order".into(), InputSchema::of::<Order>()),
            ("b/cancel".into(), InputSchema::of::<Cancel>()),
        ]
    }

    #[test]
    fn schemas_are_generated_once_on_first_use() {
        let s = InputSchema::of::<Order>();
        assert!(!s.is_ready());
        let copy = s.clone();
        assert!(Arc::ptr_eq(s.get(), copy.get()));
        assert!(s.get()["properties"]["qty"].is_object());
        assert!(!s.get().contains_key("$schema"));
    }

    #[test]
    fn a_second_start_takes_every_schema_from_the_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let loc = (dir.path().join("x.json"), "v1 /bin/x 10 20".to_string());
        let first = fill_from_cache(Some(&loc), &specs());
        assert_eq!(
            first,
            CacheUse {
                hits: 0,
                generated: 2,
                written: true
            }
        );
        let again = specs();
        let second = fill_from_cache(Some(&loc), &again);
        assert_eq!(
            second,
            CacheUse {
                hits: 2,
                generated: 0,
                written: false
            }
        );
        // What the cache gave is what generation gives.
        assert_eq!(
            again[0].1.get().as_ref(),
            &input_schema_for::<Order>(),
            "cached schema differs from the generated one"
        );
        assert_eq!(again[1].1.get().as_ref(), &input_schema_for::<Cancel>());
    }

    #[test]
    fn another_stamp_or_a_broken_file_regenerates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let loc = (dir.path().join("x.json"), "v1".to_string());
        fill_from_cache(Some(&loc), &specs());
        let rebuilt = (loc.0.clone(), "v2".to_string());
        assert_eq!(fill_from_cache(Some(&rebuilt), &specs()).generated, 2);
        std::fs::write(&loc.0, b"{not json").expect("write");
        let used = fill_from_cache(Some(&loc), &specs());
        assert_eq!((used.generated, used.written), (2, true));
        assert_eq!(fill_from_cache(Some(&loc), &specs()).hits, 2);
    }

    #[test]
    fn without_a_cache_schemas_are_generated() {
        let s = specs();
        let used = fill_from_cache(None, &s);
        assert_eq!((used.hits, used.generated, used.written), (0, 2, false));
        assert!(s.iter().all(|(_, x)| x.is_ready()));
    }
}
