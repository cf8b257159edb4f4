#!/usr/bin/env bash
# A script handler: one JSON request on stdin, one JSON response on stdout (docs/protocol.md). Needs jq.
set -uo pipefail
request=$(cat)
# Any failure is reported in the envelope, never as a crash.
if ! who=$(jq -er '.arguments.who // "world"' <<<"$request" 2>/dev/null); then
  jq -cn '{status: "error", stderr: "hello failed: the request is not valid JSON"}'
  exit 0
fi
text="Greetings, $who!"
if jq -e '.args | index("--shout")' <<<"$request" >/dev/null; then
  text=${text^^}
fi
jq -cn --arg text "$text" '{status: "success", stdout: ($text + "\n")}'
