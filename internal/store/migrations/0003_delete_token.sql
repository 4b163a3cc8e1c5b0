-- The SHA-256 of the secret the creator's browser (or API client) holds to
-- delete the result; never the secret itself.
ALTER TABLE scans ADD COLUMN delete_hash BLOB NULL;
