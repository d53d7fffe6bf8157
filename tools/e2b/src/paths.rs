//! Paths inside a sandbox: a relative path is joined to the sandbox root
//! only when it cannot leave it. Refused: absolute paths, `..` components,
//! and any existing component that is a symlink leading outside the root.

use std::path::{Component, Path, PathBuf};

use crate::error::E2bError;

fn refuse(path: &str, reason: &str) -> E2bError {
    E2bError::PathEscape {
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

/// Resolves `rel` under `root` (which must exist). The answer is the joined
/// path (not canonicalised, so the last component may not exist yet); every
/// part of it that exists lies inside `root` after following symlinks.
pub fn resolve(root: &Path, rel: &str) -> Result<PathBuf, E2bError> {
    if rel.contains('\0') {
        return Err(refuse(rel, "contains a NUL byte"));
    }
    let trimmed = rel.trim();
    let given = Path::new(trimmed);
    if given.is_absolute() {
        return Err(refuse(
            rel,
            "absolute paths are not allowed; give a path relative to the sandbox root",
        ));
    }
    let real_root = root.canonicalize()?;
    let mut joined = root.to_path_buf();
    for component in given.components() {
        match component {
            Component::Normal(part) => joined.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(refuse(rel, "`..` is not allowed")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(rel, "absolute paths are not allowed"));
            }
        }
        // Every existing prefix must stay inside the root once symlinks are followed.
        match std::fs::symlink_metadata(&joined) {
            Ok(meta) => {
                let real = match joined.canonicalize() {
                    Ok(real) => real,
                    Err(_) if meta.file_type().is_symlink() => {
                        return Err(refuse(rel, "a symlink in it points nowhere"));
                    }
                    Err(e) => return Err(e.into()),
                };
                if !real.starts_with(&real_root) {
                    return Err(refuse(rel, "a symlink in it leads outside the sandbox"));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(joined)
}

/// The path of `full` relative to `root`, with `/` separators.
pub fn relative(root: &Path, full: &Path) -> String {
    full.strip_prefix(root)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("sb");
        std::fs::create_dir_all(root.join("inner")).expect("mkdir");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::os::unix::fs::symlink(&outside, root.join("out")).expect("symlink");
        std::os::unix::fs::symlink(root.join("inner"), root.join("in")).expect("symlink");

        for (path, reason) in [
            ("../x", "`..`"),
            ("inner/../../x", "`..`"),
            ("/etc/passwd", "absolute"),
            ("out/file", "outside"),
            ("out", "outside"),
        ] {
            let err = resolve(&root, path).expect_err(path).to_string();
            assert!(err.contains(reason), "{path}: {err}");
        }
        assert_eq!(
            resolve(&root, "inner/a.txt").expect("ok"),
            root.join("inner/a.txt")
        );
        assert!(
            resolve(&root, "in/a.txt").is_ok(),
            "a symlink inside is fine"
        );
        assert_eq!(
            resolve(&root, "./new/dir/f").expect("ok"),
            root.join("new/dir/f")
        );
    }
}
