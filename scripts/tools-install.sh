#!/usr/bin/env bash
# Builds the Go tools the interop suites need, with the machine's Go toolchain and the Go module
# proxy, into the git-ignored .tools/ folder. Idempotent: a tool already built is reused.
#
#   SPIRE server + agent (github.com/spiffe/spire, CGO on for its SQLite datastore)
#       -> .tools/spire/<version>/bin/{spire-server,spire-agent}   (used by test/spire/)
#
# The module proxy serves SPIRE v1.15.3 but refuses one optional dependency of it (the EJBCA
# upstream-authority plugin's client SDK). We build from the module's source with that one plugin
# left out; nothing else is changed and no test uses that plugin.
#
# Environment: SPIRE_VERSION (default v1.15.3), TOOLS_DIR (default <repo>/.tools).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SPIRE_VERSION=${SPIRE_VERSION:-v1.15.3}
TOOLS_DIR=${TOOLS_DIR:-$ROOT/.tools}
SPIRE_BIN="$TOOLS_DIR/spire/$SPIRE_VERSION/bin"

say() { printf '== tools: %s\n' "$*"; }
die() {
  printf 'tools: %s\n' "$*" >&2
  exit 1
}

spire_works() {
  [ -x "$SPIRE_BIN/spire-server" ] && [ -x "$SPIRE_BIN/spire-agent" ] &&
    "$SPIRE_BIN/spire-server" --version >/dev/null 2>&1 &&
    "$SPIRE_BIN/spire-agent" --version >/dev/null 2>&1
}

if spire_works; then
  say "SPIRE $SPIRE_VERSION already built in $SPIRE_BIN (reusing)"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "Go is required to build SPIRE (install Go >= 1.26)"
command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 ||
  die "a C compiler (gcc) is required: SPIRE's SQLite datastore needs CGO"
say "using $(go version)"

say "downloading SPIRE $SPIRE_VERSION source from the Go module proxy"
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/spiffe/spire@$SPIRE_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] && [ -d "$dir" ] || die "could not download SPIRE $SPIRE_VERSION"
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
mkdir -p "$work/bin"
# Stamp the release version the way SPIRE's Makefile does (`--version` prints 1.15.3).
ldflags="-X github.com/spiffe/spire/pkg/common/version.gittag=${SPIRE_VERSION#v}"
CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$work/bin/" \
  ./cmd/spire-server ./cmd/spire-agent
cd "$ROOT"

# Move both binaries into place only after both built, so an interrupted run never leaves a
# half-installed folder that the next run would reuse.
mkdir -p "$SPIRE_BIN"
for b in spire-server spire-agent; do
  mv -f "$work/bin/$b" "$SPIRE_BIN/$b.new"
  mv -f "$SPIRE_BIN/$b.new" "$SPIRE_BIN/$b"
done
chmod 755 "$SPIRE_BIN"/spire-server "$SPIRE_BIN"/spire-agent
spire_works || die "the SPIRE binaries in $SPIRE_BIN do not run"
say "SPIRE $SPIRE_VERSION built: spire-server $("$SPIRE_BIN/spire-server" --version 2>&1 | head -1)"
