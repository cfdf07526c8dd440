//! One method per endpoint of the public API.

use reqwest::Method;
use serde_json::Value;

use super::{
    AssetKind, BulkJob, Client, ClientError, JobFilter, JobPage, NewJob, NewRobotToken, decode,
};

impl Client {
    // --- tenants ---

    /// `POST /tenants` (system admin only).
    pub async fn create_tenant(&self, name: &str) -> Result<Value, ClientError> {
        self.post(&["tenants"], &serde_json::json!({ "name": name }))
            .await
    }

    /// `GET /tenants` (system admin only).
    pub async fn list_tenants(&self) -> Result<Vec<Value>, ClientError> {
        self.get(&["tenants"]).await
    }

    // --- personal tokens ---

    /// `POST /tokens`: the answer holds the secret `token` this once.
    pub async fn create_token(&self, name: &str, role: &str) -> Result<Value, ClientError> {
        self.post(
            &["tokens"],
            &serde_json::json!({ "name": name, "role": role }),
        )
        .await
    }

    /// `GET /tokens`.
    pub async fn list_tokens(&self) -> Result<Value, ClientError> {
        self.get(&["tokens"]).await
    }

    /// `DELETE /tokens/{id}`.
    pub async fn revoke_token(&self, id: &str) -> Result<(), ClientError> {
        self.delete(&["tokens", id]).await
    }

    // --- robots and their registration tokens ---

    /// `POST /robot-tokens`: the answer holds the secret `token` this once.
    pub async fn create_robot_token(&self, new: &NewRobotToken) -> Result<Value, ClientError> {
        self.post(&["robot-tokens"], new).await
    }

    /// `GET /robot-tokens`.
    pub async fn list_robot_tokens(&self) -> Result<Value, ClientError> {
        self.get(&["robot-tokens"]).await
    }

    /// `DELETE /robot-tokens/{id}`.
    pub async fn revoke_robot_token(&self, id: &str) -> Result<(), ClientError> {
        self.delete(&["robot-tokens", id]).await
    }

    /// `GET /robots`.
    pub async fn list_robots(&self) -> Result<Value, ClientError> {
        self.get(&["robots"]).await
    }

    // --- workflows ---

    /// `POST /workflows` with the workflow file's text as the body.
    pub async fn push_workflow(&self, source: &str) -> Result<Value, ClientError> {
        let url = self.url(&["workflows"]);
        let body = Some(source.to_owned().into());
        let (url, response) = self
            .send(Method::POST, url, body, "application/json")
            .await?;
        decode(url, response).await
    }

    /// `POST /workflows?entry=...` with a package (`tar.gz`): `{workflow, version, created}`.
    pub async fn push_package(&self, bytes: Vec<u8>, entry: &str) -> Result<Value, ClientError> {
        let mut url = self.url(&["workflows"]);
        url.query_pairs_mut().append_pair("entry", entry);
        let (url, response) = self
            .send(
                Method::POST,
                url,
                Some(bytes.into()),
                crate::package::CONTENT_TYPE,
            )
            .await?;
        decode(url, response).await
    }

    /// `GET /workflows`.
    pub async fn list_workflows(&self) -> Result<Vec<Value>, ClientError> {
        self.get(&["workflows"]).await
    }

    /// `GET /workflows/{id or name}`: `{workflow, source, versions}`.
    pub async fn get_workflow(&self, id_or_name: &str) -> Result<Value, ClientError> {
        self.get(&["workflows", id_or_name]).await
    }

    /// `DELETE /workflows/{id or name}`.
    pub async fn delete_workflow(&self, id_or_name: &str) -> Result<(), ClientError> {
        self.delete(&["workflows", id_or_name]).await
    }

    // --- assets ---

    /// `PUT /assets/{name}` with `{type, value}`.
    pub async fn put_asset(
        &self,
        name: &str,
        kind: AssetKind,
        value: &Value,
    ) -> Result<Value, ClientError> {
        let body = serde_json::json!({ "type": kind, "value": value });
        self.call(Method::PUT, &["assets", name], &[], Some(&body))
            .await
    }

    /// `GET /assets/{name}` (a credential's password is never returned).
    pub async fn get_asset(&self, name: &str) -> Result<Value, ClientError> {
        self.get(&["assets", name]).await
    }

    /// `GET /assets`.
    pub async fn list_assets(&self) -> Result<Value, ClientError> {
        self.get(&["assets"]).await
    }

    /// `DELETE /assets/{name}`.
    pub async fn delete_asset(&self, name: &str) -> Result<(), ClientError> {
        self.delete(&["assets", name]).await
    }

    // --- jobs ---

    /// `POST /jobs`: the new job.
    pub async fn create_job(&self, new: &NewJob) -> Result<Value, ClientError> {
        self.post(&["jobs"], new).await
    }

    /// `POST /jobs/bulk`: up to 1,000 jobs of one workflow (version: none for the
    /// latest) in one transaction; their ids, in order.
    pub async fn create_jobs(
        &self,
        workflow: &str,
        version: Option<&str>,
        jobs: &[BulkJob],
    ) -> Result<Vec<i64>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Created {
            ids: Vec<i64>,
        }
        let body = serde_json::json!({ "workflow": workflow, "version": version, "jobs": jobs });
        let created: Created = self.post(&["jobs", "bulk"], &body).await?;
        Ok(created.ids)
    }

    /// `GET /jobs` with filters: one page.
    pub async fn list_jobs(&self, filter: &JobFilter) -> Result<JobPage, ClientError> {
        self.call(Method::GET, &["jobs"], &filter.query(), None::<&Value>)
            .await
    }

    /// `GET /jobs/{id}`.
    pub async fn get_job(&self, id: &str) -> Result<Value, ClientError> {
        self.get(&["jobs", id]).await
    }

    /// `GET /jobs/{id}/events?after=ID`: one page of `{items}`, oldest first, after the
    /// event whose `id` is `after`.
    pub async fn job_events(&self, id: &str, after: Option<i64>) -> Result<Value, ClientError> {
        let query: Vec<(&str, String)> = after
            .map(|a| ("after", a.to_string()))
            .into_iter()
            .collect();
        self.call(Method::GET, &["jobs", id, "events"], &query, None::<&Value>)
            .await
    }

    /// `GET /jobs/{id}/artifacts`: `{items: [{sha256, name, content_type, size, created_at}]}`.
    pub async fn job_artifacts(&self, id: &str) -> Result<Value, ClientError> {
        self.get(&["jobs", id, "artifacts"]).await
    }

    /// `GET /jobs/{id}/artifacts/{sha256}`: the artifact's bytes.
    pub async fn job_artifact(&self, id: &str, sha256: &str) -> Result<Vec<u8>, ClientError> {
        self.get_bytes(&["jobs", id, "artifacts", sha256]).await
    }

    /// `POST /jobs/{id}/cancel`.
    pub async fn cancel_job(&self, id: &str) -> Result<Value, ClientError> {
        self.post(&["jobs", id, "cancel"], &serde_json::json!({}))
            .await
    }

    /// `POST /jobs/{id}/retry`.
    pub async fn retry_job(&self, id: &str) -> Result<Value, ClientError> {
        self.post(&["jobs", id, "retry"], &serde_json::json!({}))
            .await
    }
}
