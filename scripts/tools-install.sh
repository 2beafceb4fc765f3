#!/usr/bin/env bash
# Builds the Go tools the interop suites need, with the machine's Go toolchain and the Go module
# proxy, into the git-ignored .tools/ folder. Idempotent: a tool already built is reused.
#
#   SPIRE server + agent (github.com/spiffe/spire, CGO on for its SQLite datastore)
#
# The module proxy serves SPIRE v1.15.3 but refuses one optional dependency of it (the EJBCA
# upstream-authority plugin's client SDK). We build from the module's source with that one plugin
# left out; nothing else is changed and no test uses that plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SPIRE_VERSION=${SPIRE_VERSION:-v1.15.3}
SPIRE_BIN="$ROOT/.tools/spire/$SPIRE_VERSION/bin"

say() { printf '== tools: %s\n' "$*"; }

if ! command -v go >/dev/null 2>&1; then
  echo "tools: Go is required to build SPIRE (install Go >= 1.26)" >&2
  exit 1
fi

if [ -x "$SPIRE_BIN/spire-server" ] && [ -x "$SPIRE_BIN/spire-agent" ]; then
  say "SPIRE $SPIRE_VERSION already built in .tools/ (reusing)"
else
  say "downloading SPIRE $SPIRE_VERSION source from the Go module proxy"
  dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/spiffe/spire@$SPIRE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || { echo "tools: could not download SPIRE $SPIRE_VERSION" >&2; exit 1; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -r "$dir" "$work/spire"
  chmod -R u+w "$work/spire"
  cd "$work/spire"
  say "leaving out the EJBCA upstream-authority plugin (its SDK is not served by the module proxy)"
  rm -rf pkg/server/plugin/upstreamauthority/ejbca
  sed -i '/upstreamauthority\/ejbca"/d; /ejbca\.BuiltIn(),/d' pkg/server/catalog/upstreamauthority.go
  sed -i '/Keyfactor\/ejbca-go-client-sdk/d' go.mod
  say "building spire-server and spire-agent (a cold build takes several minutes on 2 cores)"
  mkdir -p "$SPIRE_BIN"
  CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath -o "$SPIRE_BIN/" ./cmd/spire-server ./cmd/spire-agent
  cd "$ROOT"
  say "SPIRE $SPIRE_VERSION built: $("$SPIRE_BIN/spire-server" --version 2>&1 | head -1)"
fi
