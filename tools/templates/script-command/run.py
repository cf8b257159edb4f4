"""A script handler: one JSON request on stdin, one JSON response on stdout (docs/protocol.md)."""
import json
import sys

try:
    request = json.load(sys.stdin)
    who = request.get("arguments", {}).get("who", "world")
    text = f"Greetings, {who}!"
    if "--shout" in request.get("args", []):
        text = text.upper()
    print(json.dumps({"status": "success", "stdout": text + "\n"}))
except Exception as error:  # any failure is reported in the envelope, never as a crash
    print(json.dumps({"status": "error", "stderr": f"hello failed: {error}"}))
