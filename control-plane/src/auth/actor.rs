//! Who makes a change, as the domain layer sees it: not an HTTP caller but one of the
//! four kinds of actor that can create, cancel or complete jobs. The audit log and the
//! jobs' `created_by` name them with [`Actor::name`].

use std::fmt;

/// Who makes a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A person or script with a personal access token (or the registration token that
    /// registers a robot).
    User {
        /// The token's id.
        token_id: String,
    },
    /// A robot, with its robot token.
    Robot {
        /// The robot's id.
        robot_id: String,
    },
    /// A trigger firing (schedule, webhook, queue, chained job, folder, mailbox).
    Trigger {
        /// The trigger's id.
        trigger_id: String,
    },
    /// The control plane itself (the lease reaper, retention).
    System,
}

impl Actor {
    /// How the audit log names it: `token:<id>`, `robot:<id>`, `trigger:<id>`,
    /// `system`.
    pub fn name(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User { token_id } => write!(f, "token:{token_id}"),
            Actor::Robot { robot_id } => write!(f, "robot:{robot_id}"),
            Actor::Trigger { trigger_id } => write!(f, "trigger:{trigger_id}"),
            Actor::System => f.write_str("system"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_named_as_the_audit_log_shows_them() {
        let names: Vec<String> = [
            Actor::User {
                token_id: "t1".into(),
            },
            Actor::Robot {
                robot_id: "r1".into(),
            },
            Actor::Trigger {
                trigger_id: "g1".into(),
            },
            Actor::System,
        ]
        .iter()
        .map(Actor::name)
        .collect();
        assert_eq!(names, ["token:t1", "robot:r1", "trigger:g1", "system"]);
    }
}
