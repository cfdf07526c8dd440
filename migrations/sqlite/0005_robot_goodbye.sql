-- When a robot said goodbye (`POST /api/v1/robot/goodbye`, on a clean stop), in Unix
-- ms; cleared by its next call. A robot that said goodbye is offline at once instead
-- of after three silent heartbeat intervals.
ALTER TABLE robots ADD COLUMN stopped_at INTEGER;
