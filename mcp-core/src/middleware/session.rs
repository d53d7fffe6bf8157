//! Sessions bound to their caller: over HTTP with JWT auth, a session id
//! belongs to the token subject that created it, and a request that carries
//! another subject's token with that id is refused (404, as if the session
//! did not exist, plus an audit row), following the MCP security guidance on
//! session hijacking.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Most session owners remembered; the oldest are forgotten first.
const MAX_SESSIONS: usize = 65_536;

/// The header that names a streamable-HTTP session.
pub const SESSION_HEADER: &str = "mcp-session-id";

/// Which caller created each live session.
#[derive(Debug, Default)]
pub struct SessionOwners {
    inner: Mutex<Owners>,
}

#[derive(Debug, Default)]
struct Owners {
    by_id: HashMap<String, String>,
    order: VecDeque<String>,
}

/// What to do with a request that names a session.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionCheck {
    /// The session is the caller's, or unknown here (the transport decides).
    Allowed,
    /// The session belongs to this other caller.
    OwnedBy(String),
}

impl SessionOwners {
    /// Records that `owner` created session `id`.
    pub fn bind(&self, id: &str, owner: &str) {
        let mut owners = self.lock();
        if owners
            .by_id
            .insert(id.to_string(), owner.to_string())
            .is_none()
        {
            owners.order.push_back(id.to_string());
            while owners.order.len() > MAX_SESSIONS {
                if let Some(old) = owners.order.pop_front() {
                    owners.by_id.remove(&old);
                }
            }
        }
    }

    /// Whether `caller` may use session `id`.
    pub fn check(&self, id: &str, caller: &str) -> SessionCheck {
        match self.lock().by_id.get(id) {
            Some(owner) if owner != caller => SessionCheck::OwnedBy(owner.clone()),
            _ => SessionCheck::Allowed,
        }
    }

    /// Forgets a closed session.
    pub fn forget(&self, id: &str) {
        let mut owners = self.lock();
        if owners.by_id.remove(id).is_some() {
            owners.order.retain(|s| s != id);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Owners> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_usable_only_by_its_creator() {
        let owners = SessionOwners::default();
        owners.bind("s1", "alice");
        assert_eq!(owners.check("s1", "alice"), SessionCheck::Allowed);
        assert_eq!(
            owners.check("s1", "mallory"),
            SessionCheck::OwnedBy("alice".into())
        );
        assert_eq!(owners.check("unknown", "mallory"), SessionCheck::Allowed);
        owners.forget("s1");
        assert_eq!(owners.check("s1", "mallory"), SessionCheck::Allowed);
    }
}
