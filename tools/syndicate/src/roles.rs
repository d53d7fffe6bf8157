//! Roles and what each may do.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SyndicateError};

/// A member's role.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the syndicate: everything, including members, distributions and settlement.
    Lead,
    /// Proposes bets and places those under the vote threshold; contributes and votes.
    Analyst,
    /// Contributes, withdraws and votes.
    Member,
    /// Reads only.
    Observer,
}

/// What a member may try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Add members, change roles.
    ManageMembers,
    /// Put money in.
    Contribute,
    /// Take money out.
    Withdraw,
    /// Propose a bet.
    Propose,
    /// Place a bet at or under the vote threshold without a vote.
    PlaceDirect,
    /// Vote on a proposal.
    Vote,
    /// Distribute profit.
    Distribute,
    /// Settle a bet.
    Settle,
}

impl Action {
    fn describe(self) -> &'static str {
        match self {
            Action::ManageMembers => "manage members",
            Action::Contribute => "contribute",
            Action::Withdraw => "withdraw",
            Action::Propose => "propose bets",
            Action::PlaceDirect => "place bets without a vote",
            Action::Vote => "vote",
            Action::Distribute => "distribute profit",
            Action::Settle => "settle bets",
        }
    }
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Lead => "lead",
            Role::Analyst => "analyst",
            Role::Member => "member",
            Role::Observer => "observer",
        }
    }

    /// Parses a stored role name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "lead" => Some(Role::Lead),
            "analyst" => Some(Role::Analyst),
            "member" => Some(Role::Member),
            "observer" => Some(Role::Observer),
            _ => None,
        }
    }

    /// Whether the role carries `action`.
    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Lead => true,
            Role::Analyst => matches!(action, Contribute | Withdraw | Propose | PlaceDirect | Vote),
            Role::Member => matches!(action, Contribute | Withdraw | Vote),
            Role::Observer => false,
        }
    }

    /// `Ok` when the role carries `action`, else a `Forbidden` naming `member`.
    pub fn require(self, member: &str, action: Action) -> Result<()> {
        if self.allows(action) {
            Ok(())
        } else {
            Err(SyndicateError::Forbidden {
                member: member.into(),
                role: self.as_str().into(),
                action: action.describe().into(),
            })
        }
    }
}
