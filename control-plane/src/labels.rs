//! The one rule for labels, which registration tokens, robots and jobs share (so a job
//! never needs a label no robot can be given).

use serde_json::json;

use crate::error::{ApiError, ApiResult};

/// Most labels one object may have.
pub const MAX_LABELS: usize = 32;

/// Longest label, in bytes.
pub const MAX_LABEL_LEN: usize = 64;

/// Labels are words of letters, digits and `_.:-` (up to 64 characters, 32 labels);
/// returned sorted without duplicates.
pub fn check_labels(labels: &[String]) -> ApiResult<Vec<String>> {
    let bad = labels.iter().find(|l| {
        l.is_empty()
            || l.len() > MAX_LABEL_LEN
            || !l
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
    });
    if let Some(bad) = bad {
        return Err(ApiError::invalid(format!(
            "label `{bad}` is not valid: use 1 to {MAX_LABEL_LEN} letters, digits, `_`, `.`, `:` or `-`"
        ))
        .with_details(json!({ "field": "labels" })));
    }
    if labels.len() > MAX_LABELS {
        return Err(ApiError::invalid(format!("at most {MAX_LABELS} labels"))
            .with_details(json!({ "field": "labels" })));
    }
    let mut labels = labels.to_vec();
    labels.sort();
    labels.dedup();
    Ok(labels)
}

/// Trims, then checks, sorts and dedups labels.
pub fn clean_labels(labels: impl IntoIterator<Item = String>) -> ApiResult<Vec<String>> {
    let trimmed: Vec<String> = labels.into_iter().map(|l| l.trim().to_owned()).collect();
    check_labels(&trimmed)
}
