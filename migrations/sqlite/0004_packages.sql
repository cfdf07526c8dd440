-- A workflow version is a package: the workflow file with the files of its folder, kept
-- as a content-addressed archive in the blob store. `source` keeps the workflow file
-- itself (what views and the lease's asset scan read); versions pushed as a plain file
-- have no package. `number` counts a workflow's versions from 1, for people.
-- `package_assets` lists the assets any workflow file of the package names (a called
-- file's too), which the lease sends; a plain version's are read from `source`.
ALTER TABLE workflow_versions ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
ALTER TABLE workflow_versions ADD COLUMN entry TEXT;
ALTER TABLE workflow_versions ADD COLUMN package_sha256 TEXT;
ALTER TABLE workflow_versions ADD COLUMN package_size INTEGER;
ALTER TABLE workflow_versions ADD COLUMN package_files INTEGER;
ALTER TABLE workflow_versions ADD COLUMN package_assets TEXT;

UPDATE workflow_versions SET number = (
    SELECT COUNT(*) FROM workflow_versions AS older
    WHERE older.workflow_id = workflow_versions.workflow_id
      AND (older.created_at < workflow_versions.created_at
           OR (older.created_at = workflow_versions.created_at AND older.id <= workflow_versions.id))
);

CREATE UNIQUE INDEX workflow_versions_number ON workflow_versions (workflow_id, number);
-- A robot may fetch a package its tenant holds: looked up by tenant and hash.
CREATE INDEX workflow_versions_package ON workflow_versions (tenant_id, package_sha256);
