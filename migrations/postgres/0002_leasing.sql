-- Leasing: labels kept one row per label so the claim matches them in plain SQL (the
-- same text on both backends); events kept per attempt, since every attempt of a job
-- numbers its events from 1 again.
CREATE TABLE job_labels (
    job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    PRIMARY KEY (job_id, label)
);

CREATE TABLE robot_labels (
    robot_id TEXT NOT NULL REFERENCES robots(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    PRIMARY KEY (robot_id, label)
);

ALTER TABLE jobs
    ADD COLUMN workflow_name TEXT NOT NULL DEFAULT '',
    -- Names of the inputs declared `secret`: masked whenever the job is shown.
    ADD COLUMN secret_inputs TEXT NOT NULL DEFAULT '[]',
    -- The job this one retries by hand.
    ADD COLUMN retry_of BIGINT,
    -- The lease token of the completion that ended the last attempt: a replay of that
    -- completion is answered 200, any other stale completion 409.
    ADD COLUMN completed_lease BIGINT;

ALTER TABLE job_events DROP CONSTRAINT job_events_pkey;
ALTER TABLE job_events ADD COLUMN id BIGSERIAL PRIMARY KEY;
ALTER TABLE job_events ADD CONSTRAINT job_events_attempt_seq UNIQUE (job_id, attempt, seq);
