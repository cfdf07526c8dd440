-- The transactional outbox: every domain event (job created, state changed, step
-- progressed, robot online/busy/offline), written in the transaction that made the
-- change. Its `id` is the event id: SSE clients resume from it (`Last-Event-ID`), and
-- each outbox consumer keeps a cursor on it. Writers take a transaction-level advisory
-- lock just before inserting, so ids are committed in order and a reader that saw id N
-- will never later find a smaller one. Rows older than `event_retention_s` are pruned (`created_at`).
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    job_id BIGINT,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_tenant ON outbox (tenant_id, id);
CREATE INDEX outbox_job ON outbox (tenant_id, job_id, id);
CREATE INDEX outbox_created ON outbox (created_at);

-- One row per named outbox consumer: how far it got (`position`, the last event id it
-- handled) and which replica holds it until when, so one replica at a time handles it.
CREATE TABLE outbox_consumers (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    owner TEXT,
    claimed_until BIGINT,
    updated_at BIGINT NOT NULL
);

-- What robot events last said about the robot (`online`, `busy`, `offline`), so each
-- change is announced once whichever replica sees it.
ALTER TABLE robots ADD COLUMN presence TEXT NOT NULL DEFAULT 'offline';
