#!/bin/sh
# Assembles the images' shared runtime base in ROOT: Node.js, the C libraries it loads, and the few
# files of /etc a process expects (users, name service switch, loader cache). No shell, no package
# manager: the four images add only their own files on top of this one layer.
# Runs inside a Debian 12 stage of the Containerfile (the official Node image or the local base).
#
# Usage: make-runtime-rootfs.sh ROOT
set -eu

root=$1
here=$(dirname "$0")
node=$(command -v node)

# Debian 12 is merged-/usr.
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/usr/lib64" "$root/usr/local/bin" \
  "$root/etc" "$root/tmp" "$root/var/tmp" "$root/root" "$root/home/nonroot" "$root/app" \
  "$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/var/lib/dpkg/status.d"
for dir in bin sbin lib lib64; do ln -s "usr/$dir" "$root/$dir"; done
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"

"$here/copy-with-libs.sh" "$root" "$node"
# Where node lives in the official image; copy-with-libs put it there already.
test -x "$root/usr/local/bin/node"

# Users: root for the router (it needs CAP_NET_ADMIN), nonroot (65532) for everything else.
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nonroot:x:65532:
EOF
chown 65532:65532 "$root/home/nonroot"
cat >"$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
networks: files
protocols: files
services: files
EOF
# The runtime mounts its own /etc/hosts, /etc/resolv.conf and /etc/hostname over these.
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
: >"$root/etc/hostname"
cp /etc/os-release /etc/debian_version "$root/etc/" 2>/dev/null || true

# The loader cache, for the multiarch directory the libraries were copied to.
libdir=$(dirname "$(ldd "$node" | awk '$1 == "libc.so.6" { print $3 }')")
printf '/usr/local/lib\n/usr%s\n' "${libdir#/usr}" >"$root/etc/ld.so.conf"
ldconfig -r "$root"

"$here/record-packages.sh" "$root"
