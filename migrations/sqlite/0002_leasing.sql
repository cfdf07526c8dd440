-- Leasing: labels kept one row per label so the claim matches them in plain SQL (the
-- same text on both backends); events kept per attempt, since every attempt of a job
-- numbers its events from 1 again.
CREATE TABLE job_labels (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    PRIMARY KEY (job_id, label)
);

CREATE TABLE robot_labels (
    robot_id TEXT NOT NULL REFERENCES robots(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    PRIMARY KEY (robot_id, label)
);

ALTER TABLE jobs ADD COLUMN workflow_name TEXT NOT NULL DEFAULT '';
-- Names of the inputs declared `secret`: masked whenever the job is shown.
ALTER TABLE jobs ADD COLUMN secret_inputs TEXT NOT NULL DEFAULT '[]';
-- The job this one retries by hand.
ALTER TABLE jobs ADD COLUMN retry_of INTEGER;
-- The lease token of the completion that ended the last attempt: a replay of that
-- completion is answered 200, any other stale completion 409.
ALTER TABLE jobs ADD COLUMN completed_lease INTEGER;

CREATE TABLE job_events_by_attempt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    tenant_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (job_id, attempt, seq)
);
INSERT INTO job_events_by_attempt (job_id, attempt, seq, tenant_id, payload, received_at)
    SELECT job_id, attempt, seq, tenant_id, payload, received_at FROM job_events ORDER BY job_id, seq;
DROP TABLE job_events;
ALTER TABLE job_events_by_attempt RENAME TO job_events;
