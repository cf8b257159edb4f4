#!/usr/bin/env bash
# A script handler: one JSON request on stdin, one JSON response on stdout (docs/protocol.md). Needs jq.
set -euo pipefail
request=$(cat)
who=$(jq -r '.arguments.who // "world"' <<<"$request")
text="Greetings, $who!"
if jq -e '.args | index("--shout")' <<<"$request" >/dev/null; then
  text=${text^^}
fi
jq -cn --arg text "$text" '{status: "success", stdout: ($text + "\n")}'
