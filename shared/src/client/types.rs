//! Request and answer bodies of the public API that the client builds or reads.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Body of `POST /robot-tokens`: a token robots register with.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewRobotToken {
    /// A name for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Labels given to the robots that register with it.
    pub labels: Vec<String>,
    /// Seconds until the token expires; none for never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_s: Option<u64>,
    /// The token works for one registration only.
    pub single_use: bool,
}

/// Body of `POST /jobs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewJob {
    /// The workflow's name or id.
    pub workflow: String,
    /// A version id; none for the latest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The inputs, checked by the server against the workflow's declared inputs.
    pub inputs: Map<String, Value>,
    /// Higher runs first.
    pub priority: i64,
    /// Labels a robot must have to run the job.
    pub labels: Vec<String>,
    /// How many attempts before the job is `dead`; none for the server's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Not before this time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_after: Option<String>,
}

/// One job of `POST /jobs/bulk`: a [`NewJob`] without the workflow, which the batch
/// names once.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BulkJob {
    /// The inputs, checked by the server against the workflow's declared inputs.
    pub inputs: Map<String, Value>,
    /// Higher runs first.
    pub priority: i64,
    /// Labels a robot must have to run the job.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// How many attempts before the job is `dead`; none for the server's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Not before this time (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_after: Option<String>,
}

/// Filters of `GET /jobs`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub state: Option<String>,
    /// Only jobs of this workflow (name or id).
    pub workflow: Option<String>,
    /// Only jobs whose latest attempt went to this robot (its id).
    pub robot: Option<String>,
    /// Only jobs created at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Only jobs created before this time (RFC 3339).
    pub until: Option<String>,
    /// At most this many.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl JobFilter {
    /// The query string pairs.
    pub(super) fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(state) = &self.state {
            query.push(("state", state.clone()));
        }
        for (key, value) in [
            ("workflow", &self.workflow),
            ("robot", &self.robot),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if let Some(value) = value {
                query.push((key, value.clone()));
            }
        }
        if let Some(limit) = self.limit {
            query.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = &self.cursor {
            query.push(("cursor", cursor.clone()));
        }
        query
    }
}

/// One page of `GET /jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobPage {
    /// The jobs, newest first.
    pub items: Vec<Value>,
    /// Pass it back as `cursor` for the next page; none on the last page.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

pub use crate::api::AssetKind;

impl AssetKind {
    /// Converts a value typed on a command line to this type (not for credentials,
    /// which are built from a username and a password).
    pub fn parse_text(self, text: &str) -> Result<Value, String> {
        match self {
            AssetKind::Text => Ok(Value::String(text.to_owned())),
            AssetKind::Number => text
                .trim()
                .parse::<serde_json::Number>()
                .map(Value::Number)
                .map_err(|_| format!("`{text}` is not a number")),
            AssetKind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" => Ok(Value::Bool(true)),
                "false" | "no" | "0" => Ok(Value::Bool(false)),
                _ => Err(format!("`{text}` is not a boolean (true or false)")),
            },
            AssetKind::Json => {
                serde_json::from_str(text).map_err(|e| format!("`{text}` is not valid JSON: {e}"))
            }
            AssetKind::Credential => {
                Err("a credential takes --username and --password, not --value".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_values_are_typed() {
        assert_eq!(
            AssetKind::Number.parse_text("4.5"),
            Ok(serde_json::json!(4.5))
        );
        assert!(AssetKind::Number.parse_text("four").is_err());
        assert_eq!(AssetKind::Boolean.parse_text("yes"), Ok(Value::Bool(true)));
        assert_eq!(
            AssetKind::Json.parse_text(r#"{"a":1}"#),
            Ok(serde_json::json!({"a": 1}))
        );
        assert_eq!(
            AssetKind::Text.parse_text("42"),
            Ok(Value::String("42".into()))
        );
    }

    #[test]
    fn new_job_omits_what_is_not_set() {
        let job = NewJob {
            workflow: "w".into(),
            ..NewJob::default()
        };
        let json = serde_json::to_value(&job).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"workflow": "w", "inputs": {}, "priority": 0, "labels": []})
        );
    }
}
