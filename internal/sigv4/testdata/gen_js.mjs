// Sends the fixture operations with @aws-sdk/client-chime-sdk-meetings
// (@smithy/signature-v4) to record.py. Usage: node gen_js.mjs ENDPOINT
import * as m from "@aws-sdk/client-chime-sdk-meetings";

const c = new m.ChimeSDKMeetingsClient({
  region: "us-east-1",
  endpoint: process.argv[2],
  maxAttempts: 1,
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
});
const ops = [
  new m.ListAttendeesCommand({ MeetingId: "6d9c3b1e-0000-4000-8000-000000000001", NextToken: "abc/def=+ghi jkl", MaxResults: 5 }),
  new m.GetMeetingCommand({ MeetingId: "a/b c\u20ac%?" }),
  new m.UpdateAttendeeCapabilitiesCommand({ MeetingId: "m1", AttendeeId: "a1",
    Capabilities: { Audio: "SendReceive", Video: "None", Content: "Receive" } }),
  new m.DeleteMeetingCommand({ MeetingId: "m1" }),
  new m.StopMeetingTranscriptionCommand({ MeetingId: "m1" }),
  new m.CreateMeetingCommand({ ExternalMeetingId: "ext \u00e9", MediaRegion: "us-east-1" }),
  new m.TagResourceCommand({ ResourceARN: "arn:aws:chime:us-east-1:123456789012:meeting/m1", Tags: [{ Key: "k", Value: "v w" }] }),
  new m.ListTagsForResourceCommand({ ResourceARN: "arn:aws:chime:us-east-1:123456789012:meeting/m1" }),
  new m.CreateAttendeeCommand({ MeetingId: "m1" }),
];
for (const op of ops) await c.send(op);
