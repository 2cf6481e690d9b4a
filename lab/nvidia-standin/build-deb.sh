#!/usr/bin/env bash
# Copyright: sophia.lambda_swarm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# build-deb.sh OUTDIR: builds OUTDIR/nvidia-container-toolkit_1.18.1-0lab1_all.deb, the lab
# stand-in of NVIDIA's GPU stack (see README.md), and prints its path. Deterministic: fixed
# modes, file times and SOURCE_DATE_EPOCH, root-owned entries.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
outdir=$1
name=nvidia-container-toolkit
version=1.18.1-0lab1
deb="$outdir/${name}_${version}_all.deb"
epoch=1700000000

mkdir -p "$outdir"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"

install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/etc/nvidia-container-runtime" \
    "$root/usr/share/doc/$name"
# the sources carry no interpreter line (they are not scripts of the collection); the
# installed tools get Debian's python3
for tool in nvidia-smi nvidia-ctk nvidia-container-runtime nvidia-container-cli; do
    { echo '#!/usr/bin/python3'; cat "$here/$tool"; } >"$root/usr/bin/$tool"
    chmod 0755 "$root/usr/bin/$tool"
done
install -m 0644 "$here/config.toml" "$root/etc/nvidia-container-runtime/config.toml"
install -m 0644 "$here/README.md" "$root/usr/share/doc/$name/README.md"
echo /etc/nvidia-container-runtime/config.toml >"$root/DEBIAN/conffiles"
chmod 0644 "$root/DEBIAN/conffiles"
size=$(du -sk --apparent-size "$root/usr" "$root/etc" | awk '{s += $1} END {print s}')
cat >"$root/DEBIAN/control" <<CONTROL
Package: $name
Version: $version
Architecture: all
Maintainer: sophia.lambda_swarm developers <lab@localhost>
Depends: python3 (>= 3.11)
Section: utils
Priority: optional
Installed-Size: $size
Description: NVIDIA Container Toolkit 1.18.1 - lab stand-in, no GPU support
 A lab stand-in for NVIDIA's GPU stack on machines without a GPU: nvidia-smi,
 nvidia-ctk, nvidia-container-runtime and nvidia-container-cli reproduce the
 real tools' documented output and device selection from /etc/lab-gpus.json,
 and pass every container to runc unchanged apart from a record of the GPUs
 it would have been given. Not NVIDIA software.
CONTROL
chmod 0644 "$root/DEBIAN/control"
find "$root" -exec touch -h -d "@$epoch" {} +

SOURCE_DATE_EPOCH=$epoch dpkg-deb --build --root-owner-group -Zxz "$root" "$deb" >/dev/null
echo "$deb"
