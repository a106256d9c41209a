#!/usr/bin/env bash
# Refresh the console's vendored third-party files from their npm packages.
# Usage: api/console/vendor.sh [leaflet-version]   (default 1.9.4)
# Needs npm (it only runs `npm pack`, nothing is installed) and tar.
set -euo pipefail
version="${1:-1.9.4}"
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/assets/vendor/leaflet"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && npm pack --silent "leaflet@$version" >/dev/null && tar xzf "leaflet-$version.tgz")
mkdir -p "$dest"
cp "$scratch/package/dist/leaflet-src.esm.js" "$dest/leaflet-src.esm.js"
cp "$scratch/package/dist/leaflet.css" "$dest/leaflet.css"
cp "$scratch/package/LICENSE" "$dest/LICENSE"
(cd "$dest" && sha256sum leaflet-src.esm.js leaflet.css LICENSE)
echo "leaflet $version copied to $dest; update the version and digests in assets/vendor/README.md"
