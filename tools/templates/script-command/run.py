"""A script handler: one JSON request on stdin, one JSON response on stdout (docs/protocol.md)."""
import json
import sys

request = json.load(sys.stdin)
who = request.get("arguments", {}).get("who", "world")
text = f"Greetings, {who}!"
if "--shout" in request.get("args", []):
    text = text.upper()
print(json.dumps({"status": "success", "stdout": text + "\n"}))
