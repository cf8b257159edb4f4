#!/usr/bin/env bash
# Runs every Isaac benchmark in one go on this machine; paste the output into docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install.sh >/dev/null # the ReadyToRun isaac the README runs, so that its start-up is measured too
dotnet build Isaac.sln -c Release >/dev/null
dotnet run -c Release --no-build --project tools/Isaac.Benchmarks -- "$@"
