#!/usr/bin/env python3
"""Sends the fixture operations with boto3 (botocore SigV4Auth) to record.py."""
import sys
import boto3

c = boto3.client(
    "chime-sdk-meetings", region_name="us-east-1", endpoint_url=sys.argv[1],
    aws_access_key_id="AKIDEXAMPLE",
    aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    config=__import__("botocore.config").config.Config(retries={"max_attempts": 1, "mode": "standard"}),
)
c.list_attendees(MeetingId="6d9c3b1e-0000-4000-8000-000000000001", NextToken="abc/def=+ghi jkl", MaxResults=5)
c.get_meeting(MeetingId="a/b c\u20ac%?")
c.update_attendee_capabilities(MeetingId="m1", AttendeeId="a1",
    Capabilities={"Audio": "SendReceive", "Video": "None", "Content": "Receive"})
c.delete_meeting(MeetingId="m1")
c.stop_meeting_transcription(MeetingId="m1")
c.create_meeting(ExternalMeetingId="ext \u00e9", MediaRegion="us-east-1")
c.tag_resource(ResourceARN="arn:aws:chime:us-east-1:123456789012:meeting/m1", Tags=[{"Key": "k", "Value": "v w"}])
c.list_tags_for_resource(ResourceARN="arn:aws:chime:us-east-1:123456789012:meeting/m1")
