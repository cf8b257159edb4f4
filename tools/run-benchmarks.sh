#!/usr/bin/env bash
# Runs every Isaac benchmark in one go on this machine; paste the output into docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish core/Isaac.Cli -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o artifacts/publish >/dev/null
dotnet build Isaac.sln -c Release >/dev/null
dotnet run -c Release --no-build --project tools/Isaac.Benchmarks -- "$@"
