-- The claim reads a tenant's pending jobs best first. Without this index SQLite walked
-- every job the tenant ever had (jobs_tenant_list, finished ones included) and sorted
-- them, so each claim got slower as history grew: about 6 ms with 30,000 jobs, which
-- capped the drain near 170 jobs/s. With it a claim reads the first rows and stops.
CREATE INDEX jobs_claim ON jobs (tenant_id, priority DESC, run_after, id) WHERE state = 'pending';
