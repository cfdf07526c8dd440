//! The workflow version new jobs run: found by the workflow's id or name and a version
//! (its number, id or hash prefix; default the latest), with its declared inputs.

use std::collections::BTreeMap;

use alq_shared::api::ErrorCode;
use alq_shared::workflow::InputSpec;

use crate::AppState;
use crate::db::workflows::{self, VersionRecord, WorkflowRecord};
use crate::error::{ApiError, ApiResult};

/// The workflow version jobs are made of, with its declared inputs.
#[derive(Debug, Clone)]
pub struct Target {
    /// The workflow.
    pub workflow: WorkflowRecord,
    /// The version the jobs run.
    pub version_id: String,
    /// The inputs the version declares.
    pub declared: BTreeMap<String, InputSpec>,
    /// The names of the inputs declared `secret`.
    pub secret_inputs: Vec<String>,
}

/// Finds the workflow (by id or name) and the version (default the latest) of the
/// tenant that new jobs run.
pub async fn target(
    state: &AppState,
    tenant_id: &str,
    workflow: &str,
    version: Option<&str>,
) -> ApiResult<Target> {
    let workflow = workflows::get(&state.db, tenant_id, workflow)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow", workflow))?;
    let version = match version {
        Some(wanted) => {
            let versions = workflows::versions(&state.db, tenant_id, &workflow.id).await?;
            pick_version(&workflow.name, versions, wanted)?
        }
        None => {
            let latest = workflow
                .latest_version_id
                .clone()
                .ok_or_else(|| ApiError::not_found("version of workflow", &workflow.name))?;
            workflows::version(&state.db, tenant_id, &latest)
                .await?
                .ok_or_else(|| ApiError::not_found("version of workflow", &workflow.name))?
        }
    };
    let declared: BTreeMap<String, InputSpec> =
        serde_json::from_value(version.inputs.clone()).map_err(ApiError::internal)?;
    let secret_inputs = declared
        .iter()
        .filter(|(_, spec)| spec.secret)
        .map(|(name, _)| name.clone())
        .collect();
    Ok(Target {
        workflow,
        version_id: version.id,
        declared,
        secret_inputs,
    })
}

/// The version `wanted` names: its number (`3`), its id, or a prefix of its hash (at
/// least 6 hex digits, as `alq workflow get` shows). None is a 404 listing what there
/// is; a prefix that fits several is a 400.
fn pick_version(
    workflow: &str,
    versions: Vec<VersionRecord>,
    wanted: &str,
) -> ApiResult<VersionRecord> {
    let wanted = wanted.trim();
    let by_number = wanted.parse::<i64>().ok();
    let is_prefix = wanted.len() >= 6 && wanted.bytes().all(|b| b.is_ascii_hexdigit());
    let lower = wanted.to_ascii_lowercase();
    let mut found: Vec<&VersionRecord> = versions
        .iter()
        .filter(|v| v.id == wanted || Some(v.number) == by_number)
        .collect();
    if found.is_empty() && is_prefix {
        found = versions
            .iter()
            .filter(|v| v.hash.starts_with(&lower))
            .collect();
    }
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let known = match (versions.last(), versions.first()) {
                (Some(first), Some(last)) if first.number != last.number => {
                    format!("versions {} to {}", first.number, last.number)
                }
                (Some(only), _) => format!("version {}", only.number),
                _ => "no version".to_owned(),
            };
            Err(ApiError::new(
                ErrorCode::NotFound,
                format!(
                    "workflow `{workflow}` has no version `{wanted}`: it has {known}. Name a version by its number, its id, or the first 6 or more characters of its hash (`alq workflow get {workflow}`)"
                ),
            ))
        }
        several => Err(ApiError::invalid(format!(
            "`{wanted}` is the start of the hash of {} versions of `{workflow}` ({}): give more characters",
            several.len(),
            several
                .iter()
                .map(|v| v.number.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}
