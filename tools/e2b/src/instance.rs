//! Which server instance owns a run, and whether it is gone. Several
//! servers may share one database (Claude Desktop and Claude Code each
//! start one on the default file; replicas share PostgreSQL): a server
//! starting up must reap only what a *dead* instance left running, never a
//! live neighbour's processes.
//!
//! An instance id is `inst_<host>_<pid>_<random>`. A run is orphaned when
//! its instance ran on this host and that process no longer exists (or, in
//! this process, when that instance was dropped). Runs of other hosts are
//! left to their own hosts; ids without a host and pid (written before
//! they carried one) count as gone.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// Instance ids alive in this process.
static LIVE: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

/// This machine's host name, reduced to `[A-Za-z0-9.-]`.
fn host() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.is_empty() {
        "localhost".into()
    } else {
        clean
    }
}

/// A server instance of the local provider; its id is live until dropped.
#[derive(Debug)]
pub struct Instance {
    id: String,
}

impl Instance {
    /// A new instance id for this process, registered as live.
    pub fn new() -> Self {
        let id = format!(
            "inst_{}_{}_{}",
            host(),
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone());
        Self { id }
    }

    /// The id written on the rows this instance creates.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Default for Instance {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

/// Whether the instance `id` is gone, so its `running` runs are orphans.
pub fn is_gone(id: &str) -> bool {
    let Some((host_name, pid)) = parse(id) else {
        return true;
    };
    if host_name != host() {
        return false;
    }
    if pid == std::process::id() {
        return !LIVE.lock().unwrap_or_else(|e| e.into_inner()).contains(id);
    }
    let Ok(pid) = i32::try_from(pid) else {
        return true;
    };
    // Signal 0 checks existence: ESRCH means no such process; EPERM means
    // it exists under another user.
    matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH))
}

/// The host and pid of an instance id.
fn parse(id: &str) -> Option<(&str, u32)> {
    let rest = id.strip_prefix("inst_")?;
    let mut parts = rest.rsplitn(3, '_');
    let _random = parts.next()?;
    let pid = parts.next()?.parse().ok()?;
    let host_name = parts.next()?;
    Some((host_name, pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_instance_is_not_gone_until_dropped() {
        let a = Instance::new();
        assert!(!is_gone(a.id()));
        let id = a.id().to_string();
        drop(a);
        assert!(is_gone(&id));
    }

    #[test]
    fn another_live_process_on_this_host_is_not_gone_and_a_dead_one_is() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn");
        let id = format!("inst_{}_{}_abc", host(), child.id());
        assert!(!is_gone(&id), "a live process's runs are not orphans");
        child.kill().expect("kill");
        child.wait().expect("wait");
        assert!(is_gone(&id), "a dead process's runs are orphans");
    }

    #[test]
    fn other_hosts_are_left_alone_and_old_ids_count_as_gone() {
        assert!(!is_gone("inst_some-other-host_1_abc"));
        assert!(is_gone("inst_0123456789abcdef"));
    }
}
