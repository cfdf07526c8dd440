-- The answers of creating calls made with an `Idempotency-Key` header (`POST /jobs`,
-- `POST /jobs/bulk`), per tenant: a retry with the same key gets the first answer back
-- and creates nothing. `request_hash` tells a retry from another request that reuses
-- the key. Rows are kept 24 hours, then pruned (`created_at` serves the pruning).
CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    operation TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status BIGINT NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
