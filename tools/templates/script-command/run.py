"""A script handler: one JSON request on stdin, one JSON response on stdout (docs/protocol.md)."""
import json
import sys

request = json.load(sys.stdin)
who = request["arguments"].get("who", "world")
print(json.dumps({"status": "success", "stdout": f"Hello, {who}!\n"}))
