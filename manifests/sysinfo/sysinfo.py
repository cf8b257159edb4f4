"""/sysinfo: a script handler speaking Isaac's JSON envelope (docs/protocol.md), standard library only."""
import json
import os
import platform
import shutil
import sys
import time


def uptime_seconds():
    try:
        with open("/proc/uptime", encoding="ascii") as f:
            return float(f.read().split()[0])
    except OSError:
        return None


def human_duration(seconds):
    if seconds is None:
        return "unknown"
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return (f"{days}d " if days else "") + f"{hours}h {minutes}m"


def main():
    request = json.load(sys.stdin)
    session = request["session"]
    cwd = request.get("cwd") or os.getcwd()
    disk = shutil.disk_usage(cwd)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    facts = {
        "device": session["device"],
        "host": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "uptime": human_duration(uptime_seconds()),
        "load": " ".join(f"{x:.2f}" for x in load),
        "cpus": str(os.cpu_count() or 0),
        "disk_free": f"{disk.free / 2**30:.1f} GiB of {disk.total / 2**30:.1f} GiB ({cwd})",
        "online": "yes" if session.get("online") else "no",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    fmt = "json" if "--json" in request.get("args", []) else request.get("arguments", {}).get("format", "text")
    if fmt not in ("text", "json"):
        print(json.dumps({"status": "error", "stderr": f"Unknown format '{fmt}'; use 'text' or 'json'.", "exit_code": 2}))
        return
    if fmt == "json":
        stdout = json.dumps(facts, indent=2)
    else:
        width = max(len(k) for k in facts)
        stdout = "\n".join(f"{k.replace('_', ' '):<{width}}  {v}" for k, v in facts.items())
    print(json.dumps({"protocol_version": 1, "status": "success", "stdout": stdout + "\n", "meta": facts}))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # reported in the envelope, never as a crash (isaac check-handler)
        print(json.dumps({"status": "error", "stderr": f"sysinfo failed: {error}"}))
