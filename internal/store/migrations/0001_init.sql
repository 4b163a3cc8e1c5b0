-- 0001: scans and their per-port results.
-- Times are INTEGER Unix nanoseconds in UTC; NULL means "not yet" (the zero
-- time.Time). RTT is whole microseconds.

CREATE TABLE scans (
	id          TEXT    NOT NULL PRIMARY KEY,
	target      TEXT    NOT NULL,
	host        TEXT    NOT NULL,
	ip          TEXT,
	port_spec   TEXT    NOT NULL,
	port_count  INTEGER NOT NULL CHECK (port_count >= 0),
	status      TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'interrupted')),
	reason      TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	started_at  INTEGER,
	finished_at INTEGER,
	summary     BLOB
) STRICT;

CREATE INDEX scans_created_at ON scans (created_at);
CREATE INDEX scans_status ON scans (status);

CREATE TABLE results (
	scan_id  TEXT    NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
	seq      INTEGER NOT NULL CHECK (seq > 0),
	port     INTEGER NOT NULL CHECK (port BETWEEN 0 AND 65535),
	state    TEXT    NOT NULL,
	reason   TEXT    NOT NULL,
	rtt_us   INTEGER NOT NULL CHECK (rtt_us >= 0),
	attempts INTEGER NOT NULL CHECK (attempts >= 0),
	PRIMARY KEY (scan_id, seq)
) STRICT, WITHOUT ROWID;
