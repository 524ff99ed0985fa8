-- 0002: the audit history (D12), access keys (issue 5) and the index behind
-- CountMeetings (--max-meetings). See history.go and keys.go.

CREATE TABLE events (
	-- Append order within the store. An identity never hands a value out
	-- twice (paging tokens carry seq values). Writers of one meeting hold its
	-- row lock (LockMeeting, or the uncommitted insert of the meeting), so
	-- within a meeting seq order is commit order.
	seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- No foreign key: events outlive their meeting (DeleteMeeting keeps them).
	meeting_id    text COLLATE "C" NOT NULL,
	occurred_at   timestamptz NOT NULL,
	request_id    text NOT NULL,
	access_key_id text COLLATE "C" NOT NULL,
	type          text NOT NULL,
	attendee_id   text COLLATE "C" NOT NULL, -- '' for meeting events
	data          json                       -- json, not jsonb: kept byte for byte; NULL when nil
);

CREATE INDEX events_meeting_seq ON events (meeting_id, seq);

-- Neither column is ever updated, so meeting updates stay HOT.
CREATE INDEX meetings_account_created_at ON meetings (account, created_at);

CREATE TABLE access_keys (
	access_key_id text COLLATE "C" NOT NULL PRIMARY KEY,
	name          text NOT NULL,
	sealed_secret bytea NOT NULL, -- access.Sealer output, never the secret
	actions       jsonb NOT NULL, -- JSON array of strings
	meeting_arns  jsonb NOT NULL, -- JSON array of strings; [] means every meeting
	created_at    timestamptz NOT NULL
);
