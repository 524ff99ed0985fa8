#!/usr/bin/env bash
# Cross-builds Carillon release archives with checksums.
#
#   scripts/release.sh VERSION [OUTDIR]
#
# Builds static (CGO_ENABLED=0) binaries for linux, darwin and windows on
# amd64 and arm64 (RELEASE_TARGETS="linux/amd64 ..." picks others), each
# reporting VERSION in `carillon version`, and writes to OUTDIR (default
# dist/VERSION):
#   carillon_VERSION_OS_ARCH.tar.gz   (windows: .zip) with the binary,
#                                     LICENSE, NOTICE and README.md
#   SHA256SUMS                        sha256sum -c checks them
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:?usage: scripts/release.sh VERSION [OUTDIR]}
out=${2:-dist/$version}
targets=${RELEASE_TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for target in $targets; do
  os=${target%/*} arch=${target#*/}
  name=carillon_${version}_${os}_${arch}
  dir=$work/$name
  mkdir -p "$dir"
  exe=carillon
  [ "$os" = windows ] && exe=carillon.exe
  echo "== $os/$arch"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
    -ldflags "-s -w -X github.com/carillon-dev/carillon/internal/app.version=$version" \
    -o "$dir/$exe" ./cmd/carillon
  cp LICENSE NOTICE README.md "$dir/"
  if [ "$os" = windows ]; then
    rm -f "$out/$name.zip"
    if command -v zip >/dev/null; then
      (cd "$work" && zip -qr "$out/$name.zip" "$name")
    else
      (cd "$work" && python3 -m zipfile -c "$out/$name.zip" "$name")
    fi
  else
    tar -C "$work" -czf "$out/$name.tar.gz" --owner=0 --group=0 "$name"
  fi
done

cd "$out"
sha256sum carillon_"${version}"_*.tar.gz carillon_"${version}"_*.zip 2>/dev/null > SHA256SUMS || true
sha256sum -c --quiet SHA256SUMS
echo "== $(wc -l < SHA256SUMS) archives in $out"
