#!/bin/sh
# Copies programs and every shared library they load (ldd's closure) into a root directory, for
# an image that holds only what it runs. Runs inside a Debian build stage of the Containerfile.
#
# Usage: copy-with-libs.sh ROOT [--skip-present OTHER_ROOT] FILE...
#   ROOT          where to copy to (FILE lands at ROOT/FILE)
#   OTHER_ROOT    libraries that exist there are not copied (they are in a lower layer already)
#
# Libraries are copied under /usr (Debian 12 is merged-/usr: /lib -> usr/lib), as regular files
# named by their SONAME path, so ROOT needs the usual /lib, /lib64, /bin, /sbin symlinks to usr.
set -eu

root=$1
shift
skip=
if [ "${1:-}" = --skip-present ]; then
  skip=$2
  shift 2
fi

# A path as it lives in a merged-/usr root: /lib/... and /lib64/... are under /usr.
usr_path() {
  case $1 in
    /lib/* | /lib64/* | /bin/* | /sbin/*) echo "/usr$1" ;;
    *) echo "$1" ;;
  esac
}

copy() {
  target="$root$(usr_path "$1")"
  if [ -n "$skip" ] && [ -e "$skip$(usr_path "$1")" ]; then return; fi
  mkdir -p "$(dirname "$target")"
  cp -L "$1" "$target"
}

for file in "$@"; do
  copy "$file"
  # ldd prints "name => /path (addr)" for libraries and "/lib64/ld-linux-x86-64.so.2 (addr)" for the
  # loader; "linux-vdso.so.1 (addr)" is the kernel's and has no file.
  ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
    while read -r lib; do copy "$lib"; done
done
