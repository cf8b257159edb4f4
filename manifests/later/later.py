#!/usr/bin/env python3
"""The /later task (docs/tasks.md). Woken as: later.py TASK_ID RESULTS_DIR TASK_JSON

The wake starts a detached worker and exits at once. The worker confirms (<id>.started), works (sleeps the
requested seconds) and writes its result envelope to <id>.json, whole, by write-then-rename.
"""
import json
import os
import subprocess
import sys
import time


def work(task_id, results, request_path):
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    open(os.path.join(results, task_id + ".started"), "w").close()
    args = request.get("args", [])
    try:
        seconds = float(args[0])
        response = None
    except (IndexError, ValueError):
        seconds = 0
        response = {"status": "error", "stderr": "usage: /later SECONDS [TEXT]\n", "exit_code": 2}
    time.sleep(max(0.0, seconds))
    if response is None:
        text = " ".join(args[1:]) or "done"
        response = {"status": "success", "stdout": f"{text} (after {seconds:g} s)\n"}
    target = os.path.join(results, task_id + ".json")
    with open(target + ".tmp", "w", encoding="utf-8") as f:
        json.dump(response, f)
    os.replace(target + ".tmp", target)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--work":
        work(*sys.argv[2:5])
        sys.exit(0)
    if len(sys.argv) != 4:
        print("usage: later.py TASK_ID RESULTS_DIR TASK_JSON", file=sys.stderr)
        sys.exit(2)
    subprocess.Popen([sys.executable, os.path.abspath(__file__), "--work", *sys.argv[1:4]],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
