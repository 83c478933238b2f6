#!/bin/sh
# mkdisk.sh OUT IMAGE INITRAMFS EXTLINUX_CONF
# Builds a reproducible MBR disk for U-Boot: one bootable Linux (0x83)
# partition at 1 MiB holding an ext2 filesystem with /Image,
# /initramfs.cpio.gz and /extlinux/extlinux.conf. Everything that mke2fs would
# take from the clock or a random source is fixed: file times, the superblock
# times (E2FSPROGS_FAKE_TIME), the UUID and the directory hash seed.
set -eu
out=$1 image=$2 initramfs=$3 conf=$4

EPOCH=1767225600                                # 2026-01-01 00:00:00 UTC
UUID=6876c6ab-0000-4000-8000-000000000001       # filesystem UUID, fixed
HASH_SEED=6876c6ab-0000-4000-8000-000000000002  # htree hash seed, fixed
SECTOR=512
PART_START=2048                                 # sectors: 1 MiB, the usual alignment
PART_MIB=8

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/root/extlinux"
cp "$image" "$tmp/root/Image"
cp "$initramfs" "$tmp/root/initramfs.cpio.gz"
cp "$conf" "$tmp/root/extlinux/extlinux.conf"
chmod 0644 "$tmp/root/Image" "$tmp/root/initramfs.cpio.gz" "$tmp/root/extlinux/extlinux.conf"
chmod 0755 "$tmp/root" "$tmp/root/extlinux"
find "$tmp/root" -exec touch -h -d "@$EPOCH" {} +

# The filesystem: ext2, 1 KiB blocks, root-owned files.
truncate -s "${PART_MIB}M" "$tmp/part.img"
E2FSPROGS_FAKE_TIME=$EPOCH mke2fs -q -F -t ext2 -b 1024 -L hvlab-boot \
    -U "$UUID" -E "hash_seed=$HASH_SEED,root_owner=0:0" \
    -d "$tmp/root" "$tmp/part.img"
# mke2fs -d copies each file's ctime, which no tool can set on the source
# file: set it in the filesystem afterwards.
for f in / /extlinux /extlinux/extlinux.conf /Image /initramfs.cpio.gz; do
    echo "set_inode_field $f ctime @$EPOCH"
done > "$tmp/ctime.cmds"
E2FSPROGS_FAKE_TIME=$EPOCH debugfs -w -f "$tmp/ctime.cmds" "$tmp/part.img" >/dev/null 2>"$tmp/debugfs.err"
if [ -s "$tmp/debugfs.err" ] && grep -v '^debugfs ' "$tmp/debugfs.err" >&2; then exit 1; fi

# le32 N: N as four little-endian bytes.
le32() {
    printf "$(printf '\\%03o\\%03o\\%03o\\%03o' \
        $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)))"
}

# The master boot record: no boot code, a fixed disk signature (offset 440),
# one partition entry (offset 446: status 0x80 = bootable, CHS fields 0xfffffe
# meaning "use LBA", type 0x83, first LBA, sector count), signature 0x55aa.
part_sectors=$((PART_MIB * 1024 * 1024 / SECTOR))
{
    head -c 440 /dev/zero
    le32 $((0x6876c6ab))
    printf '\000\000'
    printf '\200\376\377\377\203\376\377\377'
    le32 $PART_START
    le32 $part_sectors
    head -c 48 /dev/zero
    printf '\125\252'
} > "$tmp/mbr"
[ "$(wc -c < "$tmp/mbr")" -eq $SECTOR ] || { echo "mkdisk: MBR is not one sector" >&2; exit 1; }

{
    cat "$tmp/mbr"
    head -c $(((PART_START - 1) * SECTOR)) /dev/zero
    cat "$tmp/part.img"
} > "$out"
