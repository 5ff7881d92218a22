#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make deb: the Debian packages passthru-dkms and passthrud, built by
# dpkg-buildpackage from a copy of the tree in build/deb/passthru-VERSION
# (its products land in build/deb/), then checked by lintian: any error
# fails; warnings that stay have a reason in debian/source/lintian-overrides
# or debian/*.lintian-overrides.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
version=$(cat VERSION)
changelog=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [[ $changelog != "$version" ]]; then
    echo "debian/changelog's version is $changelog but VERSION says $version:" \
        "add a changelog entry (dch -v $version) or fix VERSION" >&2
    exit 1
fi
out=$TOP/build/deb
src=$out/passthru-$version
rm -rf "$out"
mkdir -p "$src"
# The tree as it is checked out (tracked and new files), without build products.
if git rev-parse --git-dir >/dev/null 2>&1; then
    git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -C "$src" -xf -
else
    tar --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
echo "dpkg-buildpackage in $src (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
    tail -n 30 "$out/build.log" >&2
    echo "make deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
    exit 1
fi
ls -1 "$out"/*.deb
echo "lintian (log: $out/lintian.log)"
rc=0
lintian --fail-on error --display-info --tag-display-limit 0 "$out"/passthru_"$version"_*.changes >"$out/lintian.log" 2>&1 || rc=$?
cat "$out/lintian.log"
if [[ $rc -ne 0 ]]; then
    echo "make deb: lintian found errors (above)" >&2
    exit 1
fi
