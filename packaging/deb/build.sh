#!/usr/bin/env bash
# build.sh — `make deb`: a Debian package of the built binary, its man page
# (man.py, from the binary and the README), the systemd unit sluice@.service,
# the README and the example pipelines. Depends: comes from dpkg-shlibdeps
# over the binary, so the package asks for exactly the libraries it links.
#
# Usage: packaging/deb/build.sh BUILD_DIR    -> BUILD_DIR/sluice_<version>_<arch>.deb
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$(cd "${1:?usage: build.sh BUILD_DIR}" && pwd)"
bin="$build/sluice"
[[ -x "$bin" ]] || { echo "build.sh: $bin is missing: run make first" >&2; exit 1; }
version="$("$bin" version | awk '{print $2}')"
arch="$(dpkg --print-architecture)"
stage="$build/deb"
root="$stage/root"
rm -rf "$stage"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/share/man/man1" \
         "$root/usr/share/doc/sluice/examples" "$root/etc/sluice"

install -m 0755 "$bin" "$root/usr/bin/sluice"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/sluice"
install -m 0644 "$here/sluice@.service" "$root/lib/systemd/system/sluice@.service"
python3 "$here/man.py" "$bin" "$repo/README.md" | gzip -9n > "$root/usr/share/man/man1/sluice.1.gz"
gzip -9n < "$repo/README.md" > "$root/usr/share/doc/sluice/README.md.gz"
install -m 0644 "$repo"/configs/*.yaml "$root/usr/share/doc/sluice/examples/"
cat > "$root/usr/share/doc/sluice/copyright" <<COPY
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: sluice
Comment: built from the sluice repository by make deb
COPY
for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$root/DEBIAN/$s"; done

# dpkg-shlibdeps reads debian/control of a source tree: give it a minimal one
mkdir -p "$stage/src/debian"
printf 'Source: sluice\n\nPackage: sluice\nArchitecture: any\n' > "$stage/src/debian/control"
depends="$(cd "$stage/src" && dpkg-shlibdeps -O "$root/usr/bin/sluice" 2>"$stage/shlibdeps.log" |
           sed -n 's/^shlibs:Depends=//p')"
[[ -n "$depends" ]] || { cat "$stage/shlibdeps.log" >&2; echo "build.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: sluice
Version: $version
Architecture: $arch
Maintainer: sluice developers <sluice@localhost>
Installed-Size: $size
Depends: $depends
Section: database
Priority: optional
Description: change data capture from MySQL/MariaDB and PostgreSQL
 sluice reads the MySQL/MariaDB binlog or the PostgreSQL WAL, snapshots
 tables without locks, and writes every change exactly once to Kafka or
 ClickHouse (or a file), driven by Flink CDC style YAML pipelines.
 .
 The systemd unit sluice@NAME.service runs /etc/sluice/NAME.yaml.
CONTROL

out="$build/sluice_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
