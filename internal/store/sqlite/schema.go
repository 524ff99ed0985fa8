package sqlite

// migrations are the schema versions in order: migrations[i] brings a
// database from version i to version i+1. Open applies the missing ones in one
// transaction and records each in schema_version. Append only: never edit a
// migration that has been released.
//
// Conventions: times are INTEGER microseconds since the Unix epoch, UTC (the
// same precision as PostgreSQL's timestamptz); JSON members are TEXT; absent
// optional values are NULL; ids are compared byte for byte (the domain
// lower-cases them); tags and other text sort in byte order (BINARY).
var migrations = []string{
	// 1: meetings, attendees, tags.
	`
CREATE TABLE meetings (
	id                   TEXT    NOT NULL PRIMARY KEY,
	account              TEXT    NOT NULL,
	arn                  TEXT    NOT NULL,
	external_meeting_id  TEXT    NOT NULL,
	meeting_host_id      TEXT    NOT NULL,
	media_region         TEXT    NOT NULL,
	primary_meeting_id   TEXT    NOT NULL,
	tenant_ids           TEXT,             -- JSON array; NULL when nil
	features             TEXT    NOT NULL, -- JSON of meetings.Features
	notifications        TEXT,             -- JSON; NULL when nil
	network_type         TEXT    NOT NULL,
	created_at           INTEGER NOT NULL, -- Unix microseconds, UTC
	token_hash           TEXT    NOT NULL, -- '' when no ClientRequestToken
	request_hash         TEXT    NOT NULL,
	version              INTEGER NOT NULL,
	batch_audio          TEXT,             -- batch triple; all NULL until the first batch
	batch_video          TEXT,
	batch_content        TEXT,
	batch_version        INTEGER NOT NULL,
	transcribing         INTEGER NOT NULL,
	transcription_config BLOB
) STRICT;

CREATE UNIQUE INDEX meetings_token ON meetings (account, token_hash) WHERE token_hash <> '';
CREATE INDEX meetings_created_at ON meetings (created_at, id);
CREATE INDEX meetings_primary ON meetings (primary_meeting_id) WHERE primary_meeting_id <> '';

CREATE TABLE attendees (
	-- seq is the rowid: creation order within the store. AUTOINCREMENT so
	-- that a deleted attendee's seq is never handed out again (paging
	-- tokens carry seq values).
	seq              INTEGER PRIMARY KEY AUTOINCREMENT,
	meeting_id       TEXT    NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
	id               TEXT    NOT NULL,
	external_user_id TEXT    NOT NULL,
	join_token       TEXT    NOT NULL,
	caps_audio       TEXT    NOT NULL,
	caps_video       TEXT    NOT NULL,
	caps_content     TEXT    NOT NULL,
	caps_version     INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX attendees_id ON attendees (meeting_id, id);
CREATE UNIQUE INDEX attendees_external_user_id ON attendees (meeting_id, external_user_id);
CREATE INDEX attendees_meeting_seq ON attendees (meeting_id, seq);

CREATE TABLE tags (
	meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
	key        TEXT NOT NULL,
	value      TEXT NOT NULL,
	PRIMARY KEY (meeting_id, key)
) STRICT, WITHOUT ROWID;
`,
	// 2: the audit history (D12), access keys (issue 5) and the index behind
	// CountMeetings (--max-meetings). See history.go and keys.go.
	`
CREATE TABLE events (
	-- seq is the rowid: append order within the store. AUTOINCREMENT so
	-- that a seq is never handed out again (paging tokens carry seq
	-- values). No foreign key: events outlive their meeting.
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	meeting_id    TEXT    NOT NULL,
	occurred_at   INTEGER NOT NULL, -- Unix microseconds, UTC
	request_id    TEXT    NOT NULL,
	access_key_id TEXT    NOT NULL,
	type          TEXT    NOT NULL,
	attendee_id   TEXT    NOT NULL, -- '' for meeting events
	data          TEXT CHECK (data IS NULL OR json_valid(data)) -- JSON as given; NULL when nil
) STRICT;

CREATE INDEX events_meeting_seq ON events (meeting_id, seq);

CREATE INDEX meetings_account_created_at ON meetings (account, created_at);

CREATE TABLE access_keys (
	access_key_id TEXT    NOT NULL PRIMARY KEY,
	name          TEXT    NOT NULL,
	sealed_secret BLOB    NOT NULL, -- access.Sealer output, never the secret
	actions       TEXT    NOT NULL, -- JSON array of strings
	meeting_arns  TEXT    NOT NULL, -- JSON array of strings; [] means every meeting
	created_at    INTEGER NOT NULL  -- Unix microseconds, UTC
) STRICT;
`,
	// 3: the triples the latest batch left its excluded attendees
	// (MeetingRecord.BatchPins), so that a batch update writes only the
	// meeting row. Attendees pinned row by row before this migration keep
	// their own triple at the batch's version, which EffectiveCapabilities
	// reads the same way.
	`
ALTER TABLE meetings ADD COLUMN batch_pins TEXT; -- JSON object: attendee id -> triple; NULL when none
`,
	// 4: the media base URL of the node a meeting is placed on
	// (MeetingRecord.MediaURL); '' for meetings created before, which take
	// the answering node's.
	`
ALTER TABLE meetings ADD COLUMN media_url TEXT NOT NULL DEFAULT '';
`,
}
