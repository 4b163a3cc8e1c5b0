-- A rescan links to the scan it repeats ("Scan again"), never to other
-- people's scans of the same target.
ALTER TABLE scans ADD COLUMN previous_id TEXT NULL;
