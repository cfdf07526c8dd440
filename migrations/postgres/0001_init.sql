-- alq control plane, PostgreSQL schema. Times are Unix milliseconds; JSON is TEXT so both
-- backends share one query text.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- Every secret that authenticates a caller: personal access tokens (pat), robot
-- registration tokens (reg) and robot tokens (rbt). Only the SHA-256 hash is kept.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('pat', 'reg', 'rbt')),
    name TEXT NOT NULL,
    role TEXT CHECK (role IN ('admin', 'operator', 'viewer')),
    system BOOLEAN NOT NULL DEFAULT FALSE,
    prefix TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    labels TEXT NOT NULL DEFAULT '[]',
    single_use BOOLEAN NOT NULL DEFAULT FALSE,
    used_at BIGINT,
    expires_at BIGINT,
    robot_id TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX tokens_tenant ON tokens (tenant_id, kind);

CREATE TABLE robots (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    hostname TEXT NOT NULL DEFAULT '',
    os TEXT NOT NULL DEFAULT '',
    arch TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL DEFAULT '[]',
    browsers TEXT NOT NULL DEFAULT '[]',
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    last_seen BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE workflows (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    latest_version_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE workflow_versions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    hash TEXT NOT NULL,
    source TEXT NOT NULL,
    inputs TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    UNIQUE (workflow_id, hash)
);

CREATE TABLE assets (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('text', 'number', 'boolean', 'json', 'credential')),
    value TEXT,
    secret BYTEA,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    workflow_id TEXT NOT NULL,
    version_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled', 'dead')),
    priority BIGINT NOT NULL DEFAULT 0,
    labels TEXT NOT NULL DEFAULT '[]',
    inputs TEXT NOT NULL DEFAULT '{}',
    attempt BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 3,
    run_after BIGINT NOT NULL,
    robot_id TEXT,
    lease_token BIGINT NOT NULL DEFAULT 0,
    lease_expires_at BIGINT,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    error TEXT,
    outputs TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
-- Serves the claim order exactly: the best pending job first.
CREATE INDEX jobs_pending ON jobs (priority DESC, run_after, id) WHERE state = 'pending';
CREATE INDEX jobs_running_expiry ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_tenant_list ON jobs (tenant_id, id);

CREATE TABLE job_events (
    job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    tenant_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    payload TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE artifacts (
    job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (job_id, sha256)
);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    at BIGINT NOT NULL
);
CREATE INDEX audit_tenant ON audit_log (tenant_id, id);
