#!/bin/sh
# check-prebuilt.sh: rebuild every guest from source in a temporary directory
# and compare it byte for byte with the committed image in prebuilt/. Fails,
# naming the file, when an image differs or is missing (run by CI).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Copy only the sources: no build/ and no prebuilt/, and not hvos/ (but hvisor/, below).
mkdir -p "$tmp/guests"
cp "$here/Makefile" "$tmp/guests/"
cp -R "$here/common" "$here/tests" "$here/bench" "$tmp/guests/"
make -s -C "$tmp/guests" guests >/dev/null

status=0
for built in "$tmp"/guests/build/*.elf; do
    name=$(basename "$built")
    committed="$here/prebuilt/$name"
    if [ ! -f "$committed" ]; then
        echo "check-prebuilt: guests/prebuilt/$name is missing (run make -C guests prebuilt)" >&2
        status=1
    elif ! cmp -s "$built" "$committed"; then
        echo "check-prebuilt: guests/prebuilt/$name differs from its source build" >&2
        status=1
    fi
done
for committed in "$here"/prebuilt/*.elf; do
    name=$(basename "$committed")
    if [ ! -f "$tmp/guests/build/$name" ]; then
        echo "check-prebuilt: guests/prebuilt/$name has no source (stale image)" >&2
        status=1
    fi
done
# hvisor (the L1 hypervisor), from its sources and the committed hvos image it embeds.
mkdir -p "$tmp/guests/hvisor" "$tmp/guests/hvos/prebuilt"
cp "$here"/hvisor/Makefile "$here"/hvisor/*.c "$here"/hvisor/*.h "$here"/hvisor/*.S \
   "$here"/hvisor/*.ld "$here"/hvisor/*.dts "$tmp/guests/hvisor/"
cp "$here/hvos/prebuilt/hvos.elf" "$tmp/guests/hvos/prebuilt/"
make -s -C "$tmp/guests/hvisor" >/dev/null
if [ ! -f "$here/hvisor/prebuilt/hvisor.elf" ]; then
    echo "check-prebuilt: guests/hvisor/prebuilt/hvisor.elf is missing (run make -C guests prebuilt)" >&2
    status=1
elif ! cmp -s "$tmp/guests/hvisor/build/hvisor.elf" "$here/hvisor/prebuilt/hvisor.elf"; then
    echo "check-prebuilt: guests/hvisor/prebuilt/hvisor.elf differs from its source build" >&2
    status=1
fi
[ $status -eq 0 ] && echo "check-prebuilt: all images match their sources"
exit $status
