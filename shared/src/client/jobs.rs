//! What starting and following a job needs beyond single calls: typed inputs from
//! `NAME=VALUE` pairs, and waiting for a final state.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{Client, ClientError};
use crate::workflow::{InputSpec, InputType};

/// Whether a job in this state will not change any more.
pub fn is_final_job_state(state: &str) -> bool {
    matches!(state, "succeeded" | "failed" | "dead" | "cancelled")
}

/// Adds `NAME=VALUE` pairs to `inputs`, each converted to the type `declared` gives it;
/// an undeclared one is JSON when it parses, else text. The error names the input.
pub fn typed_inputs(
    mut inputs: Map<String, Value>,
    pairs: &[String],
    declared: &BTreeMap<String, InputSpec>,
) -> Result<Map<String, Value>, String> {
    for pair in pairs {
        let Some((name, text)) = pair.split_once('=') else {
            return Err(format!("--input `{pair}` must be NAME=VALUE"));
        };
        let kind = declared.get(name).map_or(InputType::Any, |spec| spec.kind);
        let value = kind
            .parse_text(text)
            .map_err(|e| format!("input `{name}`: {e}"))?;
        inputs.insert(name.to_owned(), value);
    }
    Ok(inputs)
}

impl Client {
    /// The inputs a version of the workflow declares (`version` as `alq job start
    /// --version` takes it: number, id or hash prefix; default the latest); empty when
    /// the server does not say (it checks the inputs in any case).
    pub async fn declared_inputs(
        &self,
        workflow: &str,
        version: Option<&str>,
    ) -> Result<BTreeMap<String, InputSpec>, ClientError> {
        let answer = self.get_workflow(workflow).await?;
        let latest = answer.pointer("/workflow/latest_version_id").cloned();
        let versions = answer
            .get("versions")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let named = |v: &&Value| match version {
            Some(wanted) => {
                let wanted = wanted.trim().to_ascii_lowercase();
                v.get("id").and_then(Value::as_str) == Some(wanted.as_str())
                    || v.get("number").map(Value::to_string) == Some(wanted.clone())
                    || (wanted.len() >= 6
                        && v.get("hash")
                            .and_then(Value::as_str)
                            .is_some_and(|h| h.starts_with(&wanted)))
            }
            None => v.get("id") == latest.as_ref(),
        };
        let inputs = versions
            .iter()
            .find(named)
            .or(versions.first())
            .and_then(|v| v.get("inputs").cloned());
        Ok(inputs
            .and_then(|i| serde_json::from_value(i).ok())
            .unwrap_or_default())
    }

    /// Every step event of a job after the event `after` (all when none), page after
    /// page, oldest first.
    pub async fn all_job_events(
        &self,
        id: &str,
        mut after: Option<i64>,
    ) -> Result<Vec<Value>, ClientError> {
        let mut events = Vec::new();
        loop {
            let page = self.job_events(id, after).await?;
            let items = match page.get("items") {
                Some(Value::Array(items)) if !items.is_empty() => items,
                _ => return Ok(events),
            };
            let last = items
                .last()
                .and_then(|e| e.get("id"))
                .and_then(Value::as_i64);
            events.extend(items.iter().cloned());
            // An event without an id cannot be paged past: that page was the last.
            if last.is_none() || last == after {
                return Ok(events);
            }
            after = last;
        }
    }

    /// Polls `GET /jobs/{id}` (backing off from 200 ms to 2 s) until the job reaches a
    /// final state; `on_change` sees the job each time its state changes.
    pub async fn wait_for_job(
        &self,
        first: Value,
        mut on_change: impl FnMut(&Value),
    ) -> Result<Value, ClientError> {
        // Job ids are numbers in the API; a string id is taken as it is.
        let id = match first.get("id") {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => {
                return Err(ClientError::Decode {
                    url: self.url(&["jobs"]).to_string(),
                    reason: format!("the new job has no id: {first}"),
                });
            }
        };
        let mut job = first;
        let mut last = String::new();
        let mut delay = Duration::from_millis(200);
        loop {
            let state = job
                .get("state")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if state != last {
                on_change(&job);
                last = state.clone();
            }
            if is_final_job_state(&state) {
                return Ok(job);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
            job = self.get_job(&id).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inputs_take_their_declared_types_else_json_or_text() {
        let declared: BTreeMap<String, InputSpec> = serde_json::from_value(
            json!({"count": {"type": "integer"}, "code": {"type": "string"}}),
        )
        .expect("specs");
        let pairs: Vec<String> = ["count=3", "code=007", "extra=[1,2]", "word=hello", "eq=a=b"]
            .map(String::from)
            .to_vec();
        let mut base = Map::new();
        base.insert("count".into(), json!(1));
        base.insert("kept".into(), json!(true));
        let inputs = typed_inputs(base, &pairs, &declared).expect("inputs");
        assert_eq!(
            Value::Object(inputs),
            json!({"count": 3, "kept": true, "code": "007", "extra": [1, 2], "word": "hello", "eq": "a=b"})
        );
        let error = typed_inputs(Map::new(), &["count=many".into()], &declared)
            .expect_err("not an integer");
        assert_eq!(error, "input `count`: `many` is not an integer");
        assert!(typed_inputs(Map::new(), &["novalue".into()], &declared).is_err());
    }
}
