/* spool.c — segment files of records, and a saved cursor (see spool.h).
 *   DIR/<16-digit id>.seg : records  [magic u32][len u32][samples u32][crc32 u32][body]
 *   DIR/cursor            : "<segment id> <offset> <crc32 of both>" of the first unacknowledged record
 *   DIR/lock              : flock'd by the agent that owns the spool (and holds its pid)
 * Appends go to the newest segment (a new one past its size); the cursor is replaced atomically
 * (write, fsync, rename). Damage is skipped, never taken for the end: a record whose framing or CRC
 * is bad is passed over up to the next good record (counted, logged), and only damage with no good
 * record after it at the end of the newest segment (a crash mid-write) is cut off. A cursor that is
 * unreadable or points into a record re-sends (logged, counted) rather than lose. Acknowledged
 * segments are removed at once, and the newest is started afresh once it is all acknowledged, so
 * a drained spool gives its disk space back. Not thread-safe: one thread (the sender's) calls it. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "log.h"
#include "util.h"

enum { MAGIC = 0x31525053, HEADER = 16 };
static const uint64_t SEGMENT_BYTES = 8u << 20;
/* a wholly acknowledged newest segment bigger than this is started afresh (its space given back) */
static const uint64_t RECLAIM_BYTES = 256u << 10;

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
    int lock_fd;                     /* DIR/lock, flock'd while open */
    bool append_failed;              /* since the last reclaim: give space back as soon as possible */
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

static void remove_first_segment(spool *s) {
    char path[4096];
    seg_path(s, s->segs[0].id, path, sizeof path);
    unlink(path);
    memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof *s->segs);
    s->nsegs--;
}

static void put_u32(uint8_t *p, uint32_t v) { p[0] = v & 255, p[1] = v >> 8 & 255, p[2] = v >> 16 & 255, p[3] = v >> 24 & 255; }
static uint32_t get_u32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* Is there a whole, intact record at p (avail bytes from there)? Its length in *len. */
static bool record_at(const uint8_t *p, uint64_t avail, size_t *len) {
    if (avail < HEADER || get_u32(p) != MAGIC) return false;
    uint64_t n = get_u32(p + 4);
    if (n > avail - HEADER || (uint32_t)crc32(0, p + HEADER, (uInt)n) != get_u32(p + 12)) return false;
    *len = (size_t)n;
    return true;
}

/* Reads the record at off of fd (size bytes long): its length and samples (and body if wanted).
 * 0 ok, -1 damaged or past the end. A damaged length never makes it read past the file. */
static int read_record(int fd, uint64_t off, uint64_t size, uint8_t **body, size_t *len, size_t *samples) {
    uint8_t h[HEADER];
    if (off + HEADER > size || pread(fd, h, HEADER, (off_t)off) != HEADER || get_u32(h) != MAGIC) return -1;
    *len = get_u32(h + 4);
    *samples = get_u32(h + 8);
    if (*len > size - off - HEADER) return -1;
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

/* The offset of the first intact record after the damage at off, or size if there is none. */
static uint64_t next_good_record(int fd, uint64_t off, uint64_t size) {
    uint64_t n = size - off;
    uint8_t *b = xmalloc(n ? n : 1);
    uint64_t found = size;
    if (pread(fd, b, n, (off_t)off) == (ssize_t)n) {
        static const uint8_t magic[4] = {'S', 'P', 'R', '1'};
        for (uint8_t *p = b + 1; p < b + n; p++) {
            p = memmem(p, (size_t)(b + n - p), magic, 4);
            size_t len;
            if (!p) break;
            if (record_at(p, (uint64_t)(b + n - p), &len)) {
                found = off + (uint64_t)(p - b);
                break;
            }
        }
    }
    free(b);
    return found;
}

static uint64_t file_size(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Counts a segment's intact records from offset from. Damage followed by intact records stays
 * (spool_peek skips it, counted); damage up to the end of the newest segment is a torn tail: cut. */
static void scan_segment(spool *s, segment *g, uint64_t from, bool newest) {
    char path[4096];
    seg_path(s, g->id, path, sizeof path);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    uint64_t size = file_size(fd), off = from, end = size;
    size_t len, samples;
    while (off < size) {
        if (read_record(fd, off, size, NULL, &len, &samples) == 0) {
            g->records++, g->samples += samples;
            off += HEADER + len;
            continue;
        }
        uint64_t next = next_good_record(fd, off, size);
        if (next == size && newest) {
            log_kv(LOG_WARN, "spool: cut a torn record off the end (a crash while writing)", "file", path, "bytes",
                   LOG_INT(size - off), NULL);
            if (ftruncate(fd, (off_t)off) != 0) log_kv(LOG_ERROR, "spool: cannot truncate", "file", path, NULL);
            end = off;
            break;
        }
        log_kv(LOG_ERROR, "spool: damaged bytes found; the intact records around them will be sent", "file", path, "offset",
               LOG_INT(off), "bytes", LOG_INT(next - off), NULL);
        off = next;
    }
    g->bytes = end - from;
    close(fd);
}

/* "<id> <off> <crc>": the crc makes a damaged cursor a known one, never a silently wrong position. */
static uint32_t cursor_crc(uint64_t seg, uint64_t off) {
    char text[48];
    int n = snprintf(text, sizeof text, "%" PRIu64 " %" PRIu64, seg, off);
    return (uint32_t)crc32(0, (const uint8_t *)text, (uInt)n);
}

static void save_cursor(spool *s) {
    char tmp[4096], path[4096], text[80];
    snprintf(tmp, sizeof tmp, "%s/cursor.tmp", s->dir);
    snprintf(path, sizeof path, "%s/cursor", s->dir);
    int n = snprintf(text, sizeof text, "%" PRIu64 " %" PRIu64 " %" PRIu32 "\n", s->cursor_seg, s->cursor_off,
                     cursor_crc(s->cursor_seg, s->cursor_off));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, (size_t)n) != n || fsync(fd) != 0 || rename(tmp, path) != 0)
        log_kv(LOG_ERROR, "spool: cannot save the acknowledged position", "dir", s->dir, "error", strerror(errno), NULL);
    if (fd >= 0) close(fd);
}

/* The saved cursor; false (and a log line) when it is missing with segments present, or damaged. */
static bool load_cursor(spool *s) {
    char path[4096];
    snprintf(path, sizeof path, "%s/cursor", s->dir);
    char *text = read_file(path, 128, NULL);
    uint64_t seg, off;
    uint32_t crc;
    int fields = text ? sscanf(text, "%" SCNu64 " %" SCNu64 " %" SCNu32, &seg, &off, &crc) : 0;
    bool ok = fields == 3 ? crc == cursor_crc(seg, off) : fields == 2; /* two fields: written by 0.1 */
    free(text);
    if (ok) s->cursor_seg = seg, s->cursor_off = off;
    if (!ok && s->nsegs) {
        log_kv(LOG_ERROR, "spool: the acknowledged position is missing or damaged; resending all the spool holds", "dir", s->dir,
               NULL);
        s->stats.cursor_repairs++;
    }
    return ok;
}

/* The cursor must be a record's start: one that points into a record (damage) goes back to that
 * record's start, one past the end to the segment's start; both re-send rather than lose. */
static void check_cursor(spool *s) {
    if (!s->cursor_off) return;
    char path[4096];
    seg_path(s, s->cursor_seg, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    uint64_t size = file_size(fd), off = 0, start = 0;
    size_t len, samples;
    while (off < s->cursor_off && off < size) {
        start = off;
        off = read_record(fd, off, size, NULL, &len, &samples) == 0 ? off + HEADER + len : next_good_record(fd, off, size);
    }
    close(fd);
    if (off == s->cursor_off) return;
    uint64_t fixed = s->cursor_off > size ? 0 : start;
    log_kv(LOG_ERROR, "spool: the acknowledged position is not a record's start; resending from an earlier one", "file", path,
           "position", LOG_INT(s->cursor_off), "resend_from", LOG_INT(fixed), NULL);
    s->stats.cursor_repairs++;
    s->cursor_off = fixed;
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

/* Two agents appending to one spool would interleave and re-send each other's data: the first
 * one takes DIR/lock (flock, released by the kernel when it exits), the second is refused. */
static int take_lock(spool *s, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/lock", s->dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char owner[32] = "";
        ssize_t n = pread(s->lock_fd, owner, sizeof owner - 1, 0);
        owner[n > 0 ? n : 0] = '\0';
        owner[strcspn(owner, "\n")] = '\0';
        snprintf(err, errlen,
                 "spool directory %s is in use by another slurmpush (pid %s); give each agent its own spool directory", s->dir,
                 owner[0] ? owner : "unknown");
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(s->lock_fd, 0) != 0 || pwrite(s->lock_fd, pid, (size_t)n, 0) != n) { /* the pid is only for the message */
    }
    return 0;
}

static void find_segments(spool *s, DIR *d) {
    for (struct dirent *e; (e = readdir(d));) {
        uint64_t id;
        char tail[8];
        if (sscanf(e->d_name, "%16" SCNu64 ".%4s", &id, tail) == 2 && !strcmp(tail, "seg")) add_segment(s, id);
    }
    if (s->nsegs > 1) qsort(s->segs, s->nsegs, sizeof *s->segs, cmp_seg);
}

spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen) {
    if (make_dirs(dir) != 0) {
        snprintf(err, errlen, "cannot create spool directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    spool *s = xcalloc(1, sizeof *s);
    s->dir = xstrdup(dir);
    s->max_bytes = max_bytes;
    s->write_fd = -1, s->lock_fd = -1;
    if (take_lock(s, err, errlen) != 0) {
        spool_close(s);
        return NULL;
    }
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot read spool directory %s: %s", dir, strerror(errno));
        spool_close(s);
        return NULL;
    }
    find_segments(s, d);
    closedir(d);
    if (!load_cursor(s)) s->cursor_seg = s->nsegs ? s->segs[0].id : 1, s->cursor_off = 0;
    /* segments wholly before the cursor were acknowledged: remove them */
    while (s->nsegs && s->segs[0].id < s->cursor_seg) remove_first_segment(s);
    if (s->nsegs && s->segs[0].id != s->cursor_seg) s->cursor_seg = s->segs[0].id, s->cursor_off = 0;
    if (s->nsegs) check_cursor(s);
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
    s->stats.dropped_records += g->records, s->stats.dropped_samples += g->samples;
    s->stats.records -= g->records, s->stats.bytes -= g->bytes;
    log_kv(LOG_WARN, "spool full: dropped the oldest segment", "dir", s->dir, "requests", LOG_INT(g->records), "samples",
           LOG_INT(g->samples), "max_bytes", LOG_INT(s->max_bytes), NULL);
    remove_first_segment(s);
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
    struct iovec iov[2] = {{h, HEADER}, {(void *)body, len}};
    off_t before = lseek(s->write_fd, 0, SEEK_END);
    if (writev(s->write_fd, iov, 2) != (ssize_t)(HEADER + len) || fdatasync(s->write_fd) != 0) {
        int saved = errno;
        /* a full disk: take back what part of the record went, so the next append starts clean */
        if (before >= 0 && ftruncate(s->write_fd, before) != 0) {
        }
        s->append_failed = true;
        errno = saved;
        return -1;
    }
    last->bytes += HEADER + len, last->records++, last->samples += samples;
    s->stats.records++, s->stats.bytes += HEADER + len;
    return 0;
}

/* Skips damage at the cursor up to the next intact record; false when the segment has none left. */
static bool skip_damage(spool *s, int fd, const char *path) {
    uint64_t size = file_size(fd), next = next_good_record(fd, s->cursor_off, size), skipped = next - s->cursor_off;
    segment *g = &s->segs[0];
    s->stats.damaged_records++;
    log_kv(LOG_ERROR, "spool: skipped damaged bytes (bad framing or CRC)", "file", path, "offset", LOG_INT(s->cursor_off),
           "bytes", LOG_INT(skipped), NULL);
    uint64_t counted = skipped < g->bytes ? skipped : g->bytes;
    g->bytes -= counted, s->stats.bytes -= counted;
    s->cursor_off = next;
    save_cursor(s);
    if (next < size) return true;
    s->stats.records -= g->records, s->stats.bytes -= g->bytes; /* whatever it still counted was in the damage */
    g->records = 0, g->bytes = 0, g->samples = 0;
    return false;
}

int spool_peek(spool *s, uint8_t **body, size_t *len, size_t *samples) {
    for (;;) {
        while (s->nsegs > 1 && s->segs[0].records == 0) { /* an emptied segment: on to the next */
            remove_first_segment(s);
            s->cursor_seg = s->segs[0].id, s->cursor_off = 0;
            save_cursor(s);
        }
        if (!s->segs[0].records) return 0;
        char path[4096];
        seg_path(s, s->segs[0].id, path, sizeof path);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            log_kv(LOG_ERROR, "spool: cannot open a segment", "file", path, "error", strerror(errno), NULL);
            return 0;
        }
        int rc = read_record(fd, s->cursor_off, file_size(fd), body, len, samples);
        bool more = rc == 0 || skip_damage(s, fd, path);
        close(fd);
        if (rc == 0) {
            s->peeked_len = *len + HEADER;
            s->peeked_samples = *samples;
            return 1;
        }
        if (!more && s->nsegs == 1) return 0;
    }
}

/* The newest segment, wholly acknowledged: a new one replaces it. The cursor moves first, so a
 * crash in between leaves only a segment before the cursor (removed at start-up). */
static void start_afresh(spool *s) {
    uint64_t id = s->segs[0].id + 1;
    s->cursor_seg = id, s->cursor_off = 0;
    save_cursor(s);
    remove_first_segment(s);
    add_segment(s, id);
    if (open_for_append(s) < 0)
        log_kv(LOG_ERROR, "spool: cannot start a new segment", "dir", s->dir, "error", strerror(errno), NULL);
    s->append_failed = false;
}

void spool_ack(spool *s) {
    if (!s->peeked_len) return;
    segment *g = &s->segs[0];
    g->records--, g->bytes -= s->peeked_len, g->samples -= s->peeked_samples;
    s->stats.records--, s->stats.bytes -= s->peeked_len;
    s->cursor_off += s->peeked_len;
    s->peeked_len = 0;
    if (g->records == 0 && s->nsegs > 1) { /* an older segment, all acknowledged: gone at once */
        remove_first_segment(s);
        s->cursor_seg = s->segs[0].id, s->cursor_off = 0;
    } else if (g->records == 0 && (s->cursor_off >= RECLAIM_BYTES || s->append_failed)) {
        start_afresh(s);
        return;
    }
    save_cursor(s);
}

void spool_get_stats(spool *s, spool_stats *out) { *out = s->stats; }

void spool_close(spool *s) {
    if (!s) return;
    if (s->write_fd >= 0) close(s->write_fd);
    if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock */
    free(s->segs);
    free(s->dir);
    free(s);
}
