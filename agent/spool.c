/* spool.c — segment files of records, and a saved cursor (see spool.h).
 *   DIR/<16-digit id>.seg : records  [magic u32][len u32][samples u32][crc32 u32][body]
 *   DIR/cursor            : "<segment id> <offset>" of the first unacknowledged record
 * Appends go to the newest segment (a new one past SEGMENT_BYTES); the cursor is replaced
 * atomically (write, fsync, rename). A torn record at the end of the newest segment (a crash
 * mid-write) is cut off at start-up. Not thread-safe: the sender serialises calls. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "log.h"
#include "util.h"

enum { MAGIC = 0x31525053, HEADER = 16 };
static const uint64_t SEGMENT_BYTES = 8u << 20;

typedef struct {
    uint64_t id, bytes, records, samples;
} segment;

struct spool {
    char *dir;
    uint64_t max_bytes;
    segment *segs; /* oldest first */
    size_t nsegs, cap;
    uint64_t cursor_seg, cursor_off; /* first unacknowledged record */
    int write_fd;                    /* the newest segment, open for appending */
    size_t peeked_len;               /* bytes of the record spool_peek returned, 0 = none */
    size_t peeked_samples;
    spool_stats stats;
};

static void seg_path(const spool *s, uint64_t id, char *out, size_t outlen) {
    snprintf(out, outlen, "%s/%016" PRIu64 ".seg", s->dir, id);
}

static int cmp_seg(const void *a, const void *b) {
    uint64_t x = ((const segment *)a)->id, y = ((const segment *)b)->id;
    return (x > y) - (x < y);
}

static segment *add_segment(spool *s, uint64_t id) {
    if (s->nsegs == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->segs = xrealloc(s->segs, s->cap * sizeof *s->segs);
    }
    segment *g = &s->segs[s->nsegs++];
    *g = (segment){.id = id};
    return g;
}

static void put_u32(uint8_t *p, uint32_t v) { p[0] = v & 255, p[1] = v >> 8 & 255, p[2] = v >> 16 & 255, p[3] = v >> 24 & 255; }
static uint32_t get_u32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* Reads the record at off of fd: its length and samples (and body if wanted). 0 ok, -1 torn/corrupt/end. */
static int read_record(int fd, uint64_t off, uint8_t **body, size_t *len, size_t *samples) {
    uint8_t h[HEADER];
    if (pread(fd, h, HEADER, (off_t)off) != HEADER || get_u32(h) != MAGIC) return -1;
    *len = get_u32(h + 4);
    *samples = get_u32(h + 8);
    uint8_t *b = xmalloc(*len ? *len : 1);
    if (pread(fd, b, *len, (off_t)(off + HEADER)) != (ssize_t)*len || (uint32_t)crc32(0, b, (uInt)*len) != get_u32(h + 12)) {
        free(b);
        return -1;
    }
    if (body)
        *body = b;
    else
        free(b);
    return 0;
}

/* Counts a segment's records from offset from; cuts a torn tail off when allowed. */
static void scan_segment(spool *s, segment *g, uint64_t from, int cut_torn_tail) {
    char path[4096];
    seg_path(s, g->id, path, sizeof path);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    fstat(fd, &st);
    uint64_t off = from;
    size_t len, samples;
    while (off < (uint64_t)st.st_size && read_record(fd, off, NULL, &len, &samples) == 0) {
        g->records++, g->samples += samples;
        off += HEADER + len;
    }
    if (off < (uint64_t)st.st_size && cut_torn_tail) {
        log_kv(LOG_WARN, "spool: cut a torn record off the end (a crash while writing)", "file", path, NULL);
        if (ftruncate(fd, (off_t)off) != 0) log_kv(LOG_ERROR, "spool: cannot truncate", "file", path, NULL);
    }
    g->bytes = off - from;
    close(fd);
}

static void save_cursor(spool *s) {
    char tmp[4096], path[4096], text[64];
    snprintf(tmp, sizeof tmp, "%s/cursor.tmp", s->dir);
    snprintf(path, sizeof path, "%s/cursor", s->dir);
    int n = snprintf(text, sizeof text, "%" PRIu64 " %" PRIu64 "\n", s->cursor_seg, s->cursor_off);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, (size_t)n) != n || fsync(fd) != 0 || rename(tmp, path) != 0)
        log_kv(LOG_ERROR, "spool: cannot save the acknowledged position", "dir", s->dir, "error", strerror(errno), NULL);
    if (fd >= 0) close(fd);
}

static int open_for_append(spool *s) {
    if (s->write_fd >= 0) close(s->write_fd);
    char path[4096];
    seg_path(s, s->segs[s->nsegs - 1].id, path, sizeof path);
    s->write_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    return s->write_fd < 0 ? -1 : 0;
}

/* mkdir -p, private: the spool holds the cluster's data */
static int make_dirs(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(path, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen) {
    if (make_dirs(dir) != 0) {
        snprintf(err, errlen, "cannot create spool directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot read spool directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    spool *s = xcalloc(1, sizeof *s);
    s->dir = xstrdup(dir);
    s->max_bytes = max_bytes;
    s->write_fd = -1;
    for (struct dirent *e; (e = readdir(d));) {
        uint64_t id;
        char tail[8];
        if (sscanf(e->d_name, "%16" SCNu64 ".%4s", &id, tail) == 2 && !strcmp(tail, "seg")) add_segment(s, id);
    }
    closedir(d);
    if (s->nsegs > 1) qsort(s->segs, s->nsegs, sizeof *s->segs, cmp_seg);
    char path[4096];
    snprintf(path, sizeof path, "%s/cursor", dir);
    char *text = read_file(path, 64, NULL);
    if (!text || sscanf(text, "%" SCNu64 " %" SCNu64, &s->cursor_seg, &s->cursor_off) != 2)
        s->cursor_seg = s->nsegs ? s->segs[0].id : 1, s->cursor_off = 0;
    free(text);
    /* segments wholly before the cursor were acknowledged: remove them */
    size_t keep = 0;
    for (size_t i = 0; i < s->nsegs; i++) {
        if (s->segs[i].id < s->cursor_seg) {
            seg_path(s, s->segs[i].id, path, sizeof path);
            unlink(path);
            continue;
        }
        s->segs[keep++] = s->segs[i];
    }
    s->nsegs = keep;
    if (s->nsegs && s->segs[0].id != s->cursor_seg) s->cursor_seg = s->segs[0].id, s->cursor_off = 0;
    for (size_t i = 0; i < s->nsegs; i++) scan_segment(s, &s->segs[i], i == 0 ? s->cursor_off : 0, i == s->nsegs - 1);
    for (size_t i = 0; i < s->nsegs; i++) s->stats.records += s->segs[i].records, s->stats.bytes += s->segs[i].bytes;
    s->stats.recovered_records = s->stats.records;
    if (!s->nsegs) add_segment(s, s->cursor_seg), s->cursor_off = 0;
    if (open_for_append(s) < 0) {
        snprintf(err, errlen, "cannot write in spool directory %s: %s", dir, strerror(errno));
        spool_close(s);
        return NULL;
    }
    save_cursor(s);
    return s;
}

/* Drops the oldest segment (never the only one) to make room; counts what it held. */
static void drop_oldest(spool *s) {
    segment *g = &s->segs[0];
    char path[4096];
    seg_path(s, g->id, path, sizeof path);
    unlink(path);
    s->stats.dropped_records += g->records, s->stats.dropped_samples += g->samples;
    s->stats.records -= g->records, s->stats.bytes -= g->bytes;
    log_kv(LOG_WARN, "spool full: dropped the oldest segment", "dir", s->dir, "requests", LOG_INT(g->records), "samples",
           LOG_INT(g->samples), "max_bytes", LOG_INT(s->max_bytes), NULL);
    memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof *s->segs);
    s->nsegs--;
    s->cursor_seg = s->segs[0].id, s->cursor_off = 0;
    s->peeked_len = 0;
    save_cursor(s);
}

int spool_append(spool *s, const uint8_t *body, size_t len, size_t samples) {
    segment *last = &s->segs[s->nsegs - 1];
    /* several segments under the limit, so dropping the oldest frees room in steps */
    uint64_t segment_bytes = s->max_bytes / 4 < SEGMENT_BYTES ? s->max_bytes / 4 : SEGMENT_BYTES;
    if (last->bytes + (last->id == s->cursor_seg ? s->cursor_off : 0) >= segment_bytes) {
        last = add_segment(s, last->id + 1);
        if (open_for_append(s) < 0) return -1;
    }
    while (s->nsegs > 1 && s->stats.bytes + len + HEADER > s->max_bytes) drop_oldest(s);
    last = &s->segs[s->nsegs - 1];
    uint8_t h[HEADER];
    put_u32(h, MAGIC), put_u32(h + 4, (uint32_t)len), put_u32(h + 8, (uint32_t)samples);
    put_u32(h + 12, (uint32_t)crc32(0, body, (uInt)len));
    if (write(s->write_fd, h, HEADER) != HEADER || write(s->write_fd, body, len) != (ssize_t)len || fdatasync(s->write_fd) != 0)
        return -1;
    last->bytes += HEADER + len, last->records++, last->samples += samples;
    s->stats.records++, s->stats.bytes += HEADER + len;
    return 0;
}

int spool_peek(spool *s, uint8_t **body, size_t *len, size_t *samples) {
    while (s->nsegs > 1 && s->segs[0].records == 0) { /* an emptied segment: on to the next */
        char path[4096];
        seg_path(s, s->segs[0].id, path, sizeof path);
        unlink(path);
        memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof *s->segs);
        s->nsegs--;
        s->cursor_seg = s->segs[0].id, s->cursor_off = 0;
        save_cursor(s);
    }
    if (!s->segs[0].records) return 0;
    char path[4096];
    seg_path(s, s->segs[0].id, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = fd >= 0 ? read_record(fd, s->cursor_off, body, len, samples) : -1;
    if (fd >= 0) close(fd);
    if (rc < 0) {
        log_kv(LOG_ERROR, "spool: unreadable record; skipping the rest of its segment", "file", path, NULL);
        s->stats.records -= s->segs[0].records, s->stats.bytes -= s->segs[0].bytes;
        s->segs[0].records = 0, s->segs[0].bytes = 0;
        return s->nsegs > 1 ? spool_peek(s, body, len, samples) : 0;
    }
    s->peeked_len = *len + HEADER;
    s->peeked_samples = *samples;
    return 1;
}

void spool_ack(spool *s) {
    if (!s->peeked_len) return;
    segment *g = &s->segs[0];
    g->records--, g->bytes -= s->peeked_len, g->samples -= s->peeked_samples;
    s->stats.records--, s->stats.bytes -= s->peeked_len;
    s->cursor_off += s->peeked_len;
    s->peeked_len = 0;
    save_cursor(s);
}

void spool_get_stats(spool *s, spool_stats *out) { *out = s->stats; }

void spool_close(spool *s) {
    if (!s) return;
    if (s->write_fd >= 0) close(s->write_fd);
    free(s->segs);
    free(s->dir);
    free(s);
}
