-- A dual-stack comparison is two scans of the same name, one per address
-- family, each naming the other.
ALTER TABLE scans ADD COLUMN sibling_id TEXT NULL;
