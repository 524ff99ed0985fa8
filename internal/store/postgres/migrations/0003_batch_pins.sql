-- 0003: the triples the latest batch left its excluded attendees
-- (MeetingRecord.BatchPins), so that a batch update writes only the meeting
-- row. Attendees pinned row by row before this migration keep their own
-- triple at the batch's version, which EffectiveCapabilities reads the same
-- way. Not indexed, so batch updates stay HOT.

ALTER TABLE meetings ADD COLUMN batch_pins text; -- JSON object: attendee id -> triple; NULL when none
