//! The robot's config file, `config.toml` in the robot folder (read by `alq robot run`
//! with its flags and variables, one struct for the three: the CLI's `RunSettings`),
//! and what its `allow_paths` mean for a job.

use std::path::{Path, PathBuf};

use crate::actions::PathPolicy;

/// The file's name in the robot folder.
pub const CONFIG_FILE: &str = "config.toml";

/// What a job's workflow may reach: nothing of the robot's folders but its own job
/// folder, nothing of alq's other folders, and with allowed roots only those.
pub fn job_paths(
    robot_dir: &Path,
    data_dir: &Path,
    allow: &[PathBuf],
    job_dir: &Path,
) -> PathPolicy {
    let mut paths = PathPolicy::alq_folders();
    paths
        .protect(robot_dir, "the robot's folder (its identity and spool)")
        .protect(
            data_dir,
            "the robot's data folder (job folders, package cache)",
        )
        .own(job_dir);
    for root in allow {
        paths.allow(root);
    }
    paths
}
