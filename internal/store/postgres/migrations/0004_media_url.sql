-- 0004: the media base URL of the node a meeting is placed on
-- (MeetingRecord.MediaURL); '' for meetings created before, which take the
-- answering node's.

ALTER TABLE meetings ADD COLUMN media_url text NOT NULL DEFAULT '';
