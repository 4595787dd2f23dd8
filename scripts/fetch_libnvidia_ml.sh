#!/usr/bin/env bash
# Fetch Debian's real libnvidia-ml (package libnvidia-ml1, component non-free) and unpack it into
# DEST_DIR without installing a driver. Idempotent. The last line printed is the directory that
# holds libnvidia-ml.so.1, for LD_LIBRARY_PATH.
#
# Usage: scripts/fetch_libnvidia_ml.sh DEST_DIR   (as root on Debian; apt-get and dpkg-deb needed)
set -euo pipefail

dest=${1:?usage: fetch_libnvidia_ml.sh DEST_DIR}
extra_sources=/etc/apt/sources.list.d/envkit-non-free.sources

find_library_dir() {
  local lib
  lib=$(find "$dest" -name 'libnvidia-ml.so.1' \( -type f -o -type l \) 2>/dev/null | sort | head -n 1)
  [[ -n "$lib" ]] && dirname "$lib"
}

has_non_free() {
  # "non-free" as a whole word, not the "non-free-firmware" component.
  grep -qsE '^[^#]*\bnon-free(\s|$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources
}

# Copy each enabled deb822 stanza (or one-line "deb" entry) of the existing sources with its
# components replaced by non-free, so the same mirrors and keyrings are used.
write_non_free_sources() {
  {
    for file in /etc/apt/sources.list.d/*.sources; do
      [[ -e "$file" && "$file" != "$extra_sources" ]] || continue
      awk 'BEGIN { RS = ""; ORS = "\n\n" }
           /(^|\n)Types:[^\n]*deb/ && !/(^|\n)Enabled: *no/ {
             sub(/(^|\n)Components:[^\n]*/, "\nComponents: non-free"); print }' "$file"
    done
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -e "$file" ]] || continue
      awk '$1 == "deb" && $2 !~ /^\[/ { printf "Types: deb\nURIs: %s\nSuites: %s\nComponents: non-free\n\n", $2, $3 }' "$file"
    done
  } >"$extra_sources.tmp"
  mv "$extra_sources.tmp" "$extra_sources"
}

if dir=$(find_library_dir); then
  echo "$dir"
  exit 0
fi

if [[ $EUID -ne 0 ]]; then
  echo "fetching libnvidia-ml1 needs root (apt sources, apt-get update)" >&2
  exit 1
fi
if ! has_non_free; then
  write_non_free_sources
  echo "added the non-free component in $extra_sources" >&2
fi
apt-get update -qq >&2

download_dir=$(mktemp -d)
trap 'rm -rf "$download_dir"' EXIT
(cd "$download_dir" && apt-get download -qq -o APT::Sandbox::User=root libnvidia-ml1 >&2)
mkdir -p "$dest"
for deb in "$download_dir"/*.deb; do
  dpkg-deb -x "$deb" "$dest"
done

if ! dir=$(find_library_dir); then
  echo "libnvidia-ml.so.1 not found in the unpacked package under $dest" >&2
  exit 1
fi
echo "$dir"
