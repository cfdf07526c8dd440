//! Idempotent creation: a creating call made with an `Idempotency-Key` stores its answer
//! in the transaction that makes the jobs. A retry with the same key (a client that
//! lost the answer to a timeout) gets the first answer back, status and body, and makes
//! nothing; the same key with a different request is a 409. Keys are per tenant and
//! kept for [`KEY_TTL`], then pruned.

use std::time::Duration;

use alq_shared::api::ErrorCode;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::create::{prepare_create, prepare_many};
use super::view::{job_json, time};
use super::{By, JobSpec, NewJobs, announce};
use crate::AppState;
use crate::db::idempotency::{self, Remember, Stored};
use crate::db::{Tx, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::events::job_created;

/// How long a key's answer is kept: a retry within this time is answered from it.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 3600);

/// How often the stored answers are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Longest key, in characters.
pub const MAX_KEY_LEN: usize = 255;

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks a key as sent.
    pub fn parse(key: &str) -> ApiResult<IdempotencyKey> {
        let fits = !key.is_empty()
            && key.len() <= MAX_KEY_LEN
            && key.bytes().all(|b| b.is_ascii_graphic());
        if fits {
            Ok(IdempotencyKey(key.to_owned()))
        } else {
            Err(ApiError::invalid(format!(
                "the Idempotency-Key header must be 1 to {MAX_KEY_LEN} visible ASCII characters (a UUID is a good key)"
            ))
            .with_details(json!({ "header": "Idempotency-Key" })))
        }
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The answer to a creating call.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Value,
    /// Whether it is the stored answer of an earlier call with the same key.
    pub replayed: bool,
}

/// The SHA-256 of a request in canonical JSON (object keys sorted), so the same request
/// written with its fields in another order is the same request.
fn fingerprint(operation: &str, request: &impl Serialize) -> String {
    fn canonical(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), canonical(&map[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    let request = serde_json::to_value(request).unwrap_or(Value::Null);
    let text = json!([operation, canonical(&request)]).to_string();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The stored answer, when it was given to this same request.
fn replay(key: &IdempotencyKey, hash: &str, stored: Stored) -> ApiResult<Answer> {
    if stored.request_hash != hash {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "Idempotency-Key `{}` was used at {} for another request ({}); a retry must send the same request, and a new request needs a new key",
                key.as_str(),
                time(Some(stored.created_at)).as_str().unwrap_or("an earlier time"),
                stored.operation,
            ),
        )
        .with_details(json!({ "header": "Idempotency-Key", "first_used_at": time(Some(stored.created_at)) })));
    }
    Ok(Answer {
        status: u16::try_from(stored.status).unwrap_or(200),
        body: stored.response,
        replayed: true,
    })
}

/// Runs a creating call once per key: answers from the store when the key was seen,
/// otherwise makes the objects and stores the answer in their transaction. When a
/// concurrent call with the same key commits first, this one rolls back and answers
/// what that one stored.
async fn once<F, Fut>(
    state: &AppState,
    by: &By<'_>,
    key: &IdempotencyKey,
    operation: &str,
    hash: String,
    make: F,
) -> ApiResult<(Answer, Option<Tx>)>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult<(Answer, Tx)>>,
{
    let now = now_ms();
    let ttl = i64::try_from(KEY_TTL.as_millis()).unwrap_or(i64::MAX);
    let since = now - ttl;
    if let Some(stored) = idempotency::find(&state.db, by.tenant_id, key.as_str(), since).await? {
        return Ok((replay(key, &hash, stored)?, None));
    }
    let (answer, mut tx) = make().await?;
    let remembered = idempotency::remember(
        &mut tx,
        &Remember {
            tenant_id: by.tenant_id,
            key: key.as_str(),
            operation,
            request_hash: &hash,
            status: i64::from(answer.status),
            response: &answer.body,
            now,
            expired_before: since,
        },
    )
    .await?;
    if remembered {
        return Ok((answer, Some(tx)));
    }
    drop(tx);
    let stored = idempotency::find(&state.db, by.tenant_id, key.as_str(), since)
        .await?
        .ok_or_else(|| {
            ApiError::internal(format!(
                "Idempotency-Key `{}` was taken and is gone",
                key.as_str()
            ))
        })?;
    Ok((replay(key, &hash, stored)?, None))
}

/// [`create`](super::create) once per key: 201 and the job, or the first answer.
pub async fn create_once(
    state: &AppState,
    by: By<'_>,
    key: &IdempotencyKey,
    workflow: &str,
    version: Option<&str>,
    spec: JobSpec,
) -> ApiResult<Answer> {
    let hash = fingerprint("jobs.create", &(workflow, version, &spec));
    let mut made = None;
    let (slot, by_ref) = (&mut made, &by);
    let (answer, tx) = once(state, &by, key, "jobs.create", hash, move || async move {
        let (job, tx) = prepare_create(state, by_ref, workflow, version, spec).await?;
        let body = job_json(&job);
        *slot = Some(job);
        Ok((
            Answer {
                status: 201,
                body,
                replayed: false,
            },
            tx,
        ))
    })
    .await?;
    if let (Some(tx), Some(job)) = (tx, made) {
        state.events.commit(tx, vec![job_created(&job)]).await?;
        announce(state, &job);
    }
    Ok(answer)
}

/// [`create_many`](super::create_many) once per key: 201 and `{ids}`, or the first
/// answer.
pub async fn create_many_once(
    state: &AppState,
    by: By<'_>,
    key: &IdempotencyKey,
    request: NewJobs,
) -> ApiResult<Answer> {
    let hash = fingerprint("jobs.create_bulk", &request);
    let mut made = None;
    let (slot, by_ref) = (&mut made, &by);
    let (answer, tx) = once(
        state,
        &by,
        key,
        "jobs.create_bulk",
        hash,
        move || async move {
            let (ids, made, tx) = prepare_many(state, by_ref, request).await?;
            *slot = Some(made);
            Ok((
                Answer {
                    status: 201,
                    body: json!({ "ids": ids }),
                    replayed: false,
                },
                tx,
            ))
        },
    )
    .await?;
    if let (Some(tx), Some(made)) = (tx, made) {
        state.events.commit(tx, made.events).await?;
        state.dispatcher.jobs_ready(made.ready);
    }
    Ok(answer)
}

/// Prunes expired keys every hour until `shutdown`. Every replica runs it; a row is
/// deleted once, whoever gets there first.
pub fn spawn_pruner(state: AppState, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            let before = now_ms() - i64::try_from(KEY_TTL.as_millis()).unwrap_or(i64::MAX);
            match idempotency::prune(&state.db, before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(keys = n, "Expired idempotency keys pruned."),
                Err(error) => {
                    tracing::warn!(error = %error, "Cannot prune idempotency keys; trying again later.");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(PRUNE_EVERY) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        assert!(IdempotencyKey::parse("0b6c1d2e-retry-1").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", "with space", "tab\t", "é", &"k".repeat(256)] {
            let error = IdempotencyKey::parse(bad).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{bad:?}");
            assert!(
                error.message.contains("Idempotency-Key"),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn the_same_request_in_another_order_has_the_same_fingerprint() {
        let a = json!({"workflow": "w", "inputs": {"a": 1, "b": [ {"y": 2, "x": 1} ]}});
        let b: Value = serde_json::from_str(
            r#"{"inputs": {"b": [{"x": 1, "y": 2}], "a": 1}, "workflow": "w"}"#,
        )
        .unwrap();
        assert_eq!(
            fingerprint("jobs.create", &a),
            fingerprint("jobs.create", &b)
        );
        assert_ne!(
            fingerprint("jobs.create", &a),
            fingerprint("jobs.create_bulk", &a)
        );
        let c = json!({"workflow": "w", "inputs": {"a": 2, "b": [{"x": 1, "y": 2}]}});
        assert_ne!(
            fingerprint("jobs.create", &a),
            fingerprint("jobs.create", &c)
        );
    }
}
