#!/usr/bin/env bash
# Builds isaac the way it should run: ReadyToRun (precompiled, so a start does not wait for the JIT), with every
# plugin published ReadyToRun into its manifest folder, for this machine's runtime. Prints the executable's path.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish core/Isaac.Cli -c Release --use-current-runtime --self-contained false -p:PublishReadyToRun=true -o artifacts/publish >/dev/null
echo "$PWD/artifacts/publish/isaac"
