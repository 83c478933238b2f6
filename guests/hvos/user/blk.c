// blk: the raw block device, sector by sector.
//   blk                      driver, size and ID of the disk
//   blk read SECTOR [COUNT]  hex and ASCII dump of COUNT sectors (1)
//   blk write SECTOR WORD... the words, separated by spaces and followed by a
//                            newline, zero-padded to one sector; then a flush
#include "user.h"

#define USAGE "blk [read SECTOR [COUNT] | write SECTOR WORD...]"
#define SECTOR 512
#define MAX_DUMP 16                  // sectors a read may dump

static char buf[MAX_DUMP * SECTOR];

static int info(void)
{
    struct blkinfo bi;
    long r = blkinfo(&bi);
    if (r < 0) {
        printf("blk: %s\n", errstr(r));
        return 1;
    }
    printf("blk: %s, %lu sectors of 512 bytes (%lu KiB), block size %u%s\n", bi.driver,
           bi.sectors, bi.sectors / 2, bi.block_size, bi.readonly ? ", read-only" : "");
    if (bi.id[0])
        printf("blk: id \"%s\"\n", bi.id);
    return 0;
}

static int is_zero(const char *p, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

// hexdump -C style: offset, 16 bytes in hex, the printable ones as text;
// a run of all-zero lines is shown as one "*".
static void dump(const char *p, u64 len, u64 base)
{
    int starred = 0;
    for (u64 off = 0; off < len; off += 16) {
        if (off > 0 && off + 16 < len && is_zero(p + off, 16) && is_zero(p + off - 16, 16)) {
            if (!starred)
                printf("*\n");
            starred = 1;
            continue;
        }
        starred = 0;
        char line[80];
        int n = snprintf(line, sizeof(line), "%08lx ", base + off);
        for (int i = 0; i < 16; i++)
            n += snprintf(line + n, sizeof(line) - n, "%s%02x", i == 8 ? "  " : " ",
                          (u8)p[off + i]);
        n += snprintf(line + n, sizeof(line) - n, "  |");
        for (int i = 0; i < 16; i++) {
            char c = p[off + i];
            line[n++] = c >= ' ' && c < 0x7f ? c : '.';
        }
        line[n++] = '|';
        line[n] = 0;
        printf("%s\n", line);
    }
}

int main(int argc, char **argv)
{
    if (argc == 1)
        return info();
    if (argc >= 3 && strcmp(argv[1], "read") == 0) {
        check_argc(argc, argv, 4, USAGE);
        u64 sector = arg_number(argc, argv, 2, 0, 0, ~0UL >> 1, "SECTOR", USAGE);
        u64 count = arg_number(argc, argv, 3, 1, 1, MAX_DUMP, "COUNT", USAGE);
        long r = blkread(sector, buf, count);
        if (r < 0) {
            printf("blk: read of %lu sectors at %lu: %s\n", count, sector, errstr(r));
            return 1;
        }
        dump(buf, count * SECTOR, sector * SECTOR);
        return 0;
    }
    if (argc >= 4 && strcmp(argv[1], "write") == 0) {
        u64 sector = arg_number(argc, argv, 2, 0, 0, ~0UL >> 1, "SECTOR", USAGE);
        memset(buf, 0, SECTOR);
        u64 n = 0;
        for (int i = 3; i < argc; i++) {
            u64 len = strlen(argv[i]);
            if (n + len + 1 > SECTOR) {
                printf("blk: more than one sector of words\n");
                return 2;
            }
            memcpy(buf + n, argv[i], len);
            n += len;
            buf[n++] = i + 1 < argc ? ' ' : '\n';
        }
        long r = blkwrite(sector, buf, 1);
        if (r >= 0)
            r = blkflush();
        if (r < 0) {
            printf("blk: write of sector %lu: %s\n", sector, errstr(r));
            return 1;
        }
        printf("blk: wrote %lu bytes to sector %lu\n", n, sector);
        return 0;
    }
    printf("usage: %s\n", USAGE);
    return 2;
}
