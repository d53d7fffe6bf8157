-- A cancel request for a job, recorded by any server process sharing the
-- database; the process running the job sees it and stops the job.
ALTER TABLE jobs ADD COLUMN cancel_requested_ms BIGINT;
