//! Many jobs at once: one transaction, one multi-row `INSERT` per chunk of jobs and one
//! per chunk of their labels, so a bulk enqueue costs a few statements, not thousands.

use super::jobs::NewJob;
use super::{DbResult, Tx, now_ms};
use crate::on_tx;

/// Jobs per `INSERT`: 13 parameters each stays far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
const CHUNK: usize = 500;

/// Label rows per `INSERT` (2 parameters each).
const LABEL_CHUNK: usize = 2_000;

/// Stores new pending jobs and their labels in the caller's transaction; returns their
/// ids in the order of `jobs`.
pub async fn insert_many(tx: &mut Tx, jobs: &[NewJob]) -> DbResult<Vec<i64>> {
    let now = now_ms();
    let encoded: Vec<(String, String, String)> = jobs
        .iter()
        .map(|job| {
            (
                serde_json::to_string(&job.labels).unwrap_or_else(|_| "[]".into()),
                serde_json::Value::Object(job.inputs.clone()).to_string(),
                serde_json::to_string(&job.secret_inputs).unwrap_or_else(|_| "[]".into()),
            )
        })
        .collect();
    let ids: Vec<i64> = on_tx!(tx, conn => {
        let mut ids = Vec::with_capacity(jobs.len());
        for (chunk, encoded) in jobs.chunks(CHUNK).zip(encoded.chunks(CHUNK)) {
            let sql = insert_jobs_sql(chunk.len());
            let mut query = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql));
            for (job, (labels, inputs, secret_inputs)) in chunk.iter().zip(encoded) {
                query = query
                    .bind(&job.tenant_id)
                    .bind(&job.workflow_id)
                    .bind(&job.workflow_name)
                    .bind(&job.version_id)
                    .bind(job.priority)
                    .bind(labels)
                    .bind(inputs)
                    .bind(secret_inputs)
                    .bind(job.max_attempts)
                    .bind(job.run_after.unwrap_or(now))
                    .bind(job.retry_of)
                    .bind(&job.created_by)
                    .bind(now);
            }
            let mut chunk_ids: Vec<i64> = query
                .fetch_all(&mut **conn)
                .await?
                .into_iter()
                .map(|(id,)| id)
                .collect();
            // RETURNING promises no order, but one statement takes its ids in the order
            // of its VALUES, so sorted ids line up with the jobs.
            chunk_ids.sort_unstable();
            ids.extend(chunk_ids);
        }
        let labels: Vec<(i64, &String)> = ids
            .iter()
            .zip(jobs)
            .flat_map(|(id, job)| job.labels.iter().map(move |label| (*id, label)))
            .collect();
        for chunk in labels.chunks(LABEL_CHUNK) {
            let sql = insert_labels_sql(chunk.len());
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (id, label) in chunk {
                query = query.bind(*id).bind(*label);
            }
            query.execute(&mut **conn).await?;
        }
        ids
    });
    Ok(ids)
}

/// `($1, $2, ...), ($n+1, ...)` for `rows` rows of `per_row` parameters, each row
/// followed by `extra` (literal columns).
fn values(rows: usize, per_row: usize, extra: &str) -> String {
    let mut text = String::with_capacity(rows * (per_row * 6 + extra.len() + 4));
    let mut n = 0;
    for row in 0..rows {
        if row > 0 {
            text.push_str(", ");
        }
        text.push('(');
        for column in 0..per_row {
            if column > 0 {
                text.push_str(", ");
            }
            n += 1;
            text.push('$');
            text.push_str(&n.to_string());
        }
        text.push_str(extra);
        text.push(')');
    }
    text
}

fn insert_jobs_sql(rows: usize) -> String {
    format!(
        "INSERT INTO jobs (tenant_id, workflow_id, workflow_name, version_id, priority, labels, inputs, secret_inputs, max_attempts, run_after, retry_of, created_by, created_at, state) \
         VALUES {} RETURNING id",
        values(rows, 13, ", 'pending'")
    )
}

fn insert_labels_sql(rows: usize) -> String {
    format!(
        "INSERT INTO job_labels (job_id, label) VALUES {}",
        values(rows, 2, "")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_number_every_parameter_once() {
        assert_eq!(values(2, 2, ""), "($1, $2), ($3, $4)");
        assert_eq!(values(1, 1, ", 'x'"), "($1, 'x')");
        assert!(insert_jobs_sql(500).contains("$6500, 'pending')"));
    }
}
