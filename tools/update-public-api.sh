#!/usr/bin/env bash
# Records every public symbol of the plugin contract that is missing from PublicAPI.Unshipped.txt.
# Run after a deliberate change to Isaac.Plugins.Abstractions, then review the diff.
set -euo pipefail
cd "$(dirname "$0")/../core/Isaac.Plugins.Abstractions"
file=PublicAPI.Unshipped.txt
dotnet build --no-incremental 2>&1 | grep -o "RS0016: Symbol '[^']*'" | sed "s/RS0016: Symbol '//; s/'$//" \
  | sed 's/&lt;/</g; s/&gt;/>/g' | sort -u >> "$file" || true
{ echo '#nullable enable'; grep -v '^#nullable' "$file" | sort -u; } > "$file.tmp" && mv "$file.tmp" "$file"
dotnet build 2>&1 | tail -3
