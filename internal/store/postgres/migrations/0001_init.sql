-- 0001: meetings, attendees, tags.
--
-- The logical model is the embedded engine's (internal/store/sqlite): the
-- meeting row carries the triple of its latest batch update and its version,
-- and each attendee carries its own triple with the version at which it was
-- set, so a batch-except rewrites the meeting row and the excluded attendees
-- only, never every attendee row (issue 3).
--
-- Conventions: text that is compared or sorted (ids, tag keys) is COLLATE "C",
-- i.e. byte order like SQLite's BINARY, whatever the database's locale; JSON
-- members that Carillon only reads back are JSONB (NULL when the Go value is
-- nil); times are timestamptz (microseconds, like the embedded engine).
--
-- fillfactor leaves room in each page so that the frequent updates
-- (UpdateMeeting on every capability write, SetAttendeeCaps) touch no indexed
-- column and stay HOT: no index churn, no bloat.

CREATE TABLE meetings (
	id                   text COLLATE "C" NOT NULL PRIMARY KEY,
	account              text COLLATE "C" NOT NULL,
	arn                  text NOT NULL,
	external_meeting_id  text NOT NULL,
	meeting_host_id      text NOT NULL,
	media_region         text NOT NULL,
	primary_meeting_id   text COLLATE "C" NOT NULL,
	tenant_ids           jsonb,            -- JSON array; NULL when nil
	features             jsonb NOT NULL,   -- meetings.Features
	notifications        jsonb,            -- NULL when nil
	network_type         text NOT NULL,
	created_at           timestamptz NOT NULL,
	token_hash           text COLLATE "C" NOT NULL, -- '' when no ClientRequestToken
	request_hash         text NOT NULL,
	version              bigint NOT NULL,
	batch_audio          text,             -- batch triple; all NULL until the first batch
	batch_video          text,
	batch_content        text,
	batch_version        bigint NOT NULL,
	transcribing         boolean NOT NULL,
	transcription_config bytea             -- raw JSON bytes as the domain gave them; NULL when nil
) WITH (fillfactor = 70);

CREATE UNIQUE INDEX meetings_token ON meetings (account, token_hash) WHERE token_hash <> '';
CREATE INDEX meetings_created_at ON meetings (created_at, id);
CREATE INDEX meetings_primary ON meetings (primary_meeting_id) WHERE primary_meeting_id <> '';

CREATE TABLE attendees (
	meeting_id       text COLLATE "C" NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
	id               text COLLATE "C" NOT NULL,
	external_user_id text COLLATE "C" NOT NULL,
	-- Creation order within the store. An identity never hands a value out
	-- twice (paging tokens carry seq values); writers of one meeting hold
	-- its row lock, so within a meeting seq order is commit order.
	seq              bigint GENERATED ALWAYS AS IDENTITY,
	join_token       text NOT NULL,
	caps_audio       text NOT NULL,
	caps_video       text NOT NULL,
	caps_content     text NOT NULL,
	caps_version     bigint NOT NULL,
	PRIMARY KEY (meeting_id, id),
	UNIQUE (meeting_id, external_user_id),
	UNIQUE (meeting_id, seq)
) WITH (fillfactor = 85);

CREATE TABLE tags (
	meeting_id text COLLATE "C" NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
	key        text COLLATE "C" NOT NULL,
	value      text NOT NULL,
	PRIMARY KEY (meeting_id, key)
);
