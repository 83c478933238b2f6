#!/bin/sh
# check-prebuilt.sh: rebuild the Linux guest (kernel, initramfs, boot disk)
# from source in a temporary directory and compare each output byte for byte
# with the committed file in prebuilt/. Fails, naming the file, when one
# differs or is missing. A kernel build takes minutes: CI runs this apart from
# npm test (.ci/run).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

mkdir -p "$tmp/linux"
cp "$here/Makefile" "$here/hvlab.config" "$here/check-prebuilt.sh" "$tmp/linux/"
cp -R "$here/initramfs" "$here/disk" "$tmp/linux/"
make -s -C "$tmp/linux" all >"$tmp/build.log" 2>&1 || { tail -40 "$tmp/build.log" >&2; exit 1; }

status=0
for name in Image initramfs.cpio.gz disk.img.gz; do
    if [ ! -f "$here/prebuilt/$name" ]; then
        echo "check-prebuilt: guests/linux/prebuilt/$name is missing (run make -C guests/linux prebuilt)" >&2
        status=1
    elif ! cmp -s "$tmp/linux/build/$name" "$here/prebuilt/$name"; then
        echo "check-prebuilt: guests/linux/prebuilt/$name differs from its source build" >&2
        status=1
    fi
done
[ $status -eq 0 ] && echo "check-prebuilt: the Linux guest matches its sources"
exit $status
