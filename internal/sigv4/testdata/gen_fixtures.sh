#!/bin/sh
# Regenerates fixtures/*.http: real requests signed by boto3/botocore and by
# the JS SDK v3 (@aws-sdk/client-chime-sdk-meetings, @smithy/signature-v4),
# recorded byte for byte. Needs python3 with boto3 and node with the JS
# client (npm install @aws-sdk/client-chime-sdk-meetings).
# gen_js.mjs must run from a folder where that package is installed (ES
# modules ignore NODE_PATH): copy it there and set GEN_JS to the copy.
# Not run by the tests; the recorded files are committed.
set -eu
cd "$(dirname "$0")"
rm -f fixtures/*.http
python3 record.py fixtures boto3 18081 & p1=$!
python3 record.py fixtures js 18082 & p2=$!
trap 'kill $p1 $p2' EXIT
sleep 1
python3 gen_boto3.py http://127.0.0.1:18081
node "${GEN_JS:-gen_js.mjs}" http://127.0.0.1:18082
