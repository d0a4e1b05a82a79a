#!/bin/sh
# Records which Debian packages the files in ROOT came from, as distroless images do: the package's
# status paragraph in ROOT/var/lib/dpkg/status.d/<package> (what image scanners read to find
# vulnerable versions) and its copyright file in ROOT/usr/share/doc/<package>/ (the licence).
#
# Usage: record-packages.sh ROOT
set -eu

root=$1
mkdir -p "$root/var/lib/dpkg/status.d"
find "$root/usr" -path "$root/usr/local" -prune -o -type f -print | while read -r copied; do
  path=${copied#"$root"}
  # dpkg knows a file by the path its package shipped: /lib/... or /usr/lib/... (merged /usr).
  owner=$(dpkg -S "$path" 2>/dev/null || dpkg -S "${path#/usr}" 2>/dev/null || true)
  package=${owner%%:*}
  package=${package%%,*}
  [ -n "$package" ] || continue
  name=${package%%:*}
  [ -e "$root/var/lib/dpkg/status.d/$name" ] && continue
  dpkg-query -s "$package" >"$root/var/lib/dpkg/status.d/$name"
  if [ -f "/usr/share/doc/$name/copyright" ]; then
    mkdir -p "$root/usr/share/doc/$name"
    cp "/usr/share/doc/$name/copyright" "$root/usr/share/doc/$name/copyright"
  fi
done
