/* util.c — arena, buffer, hash index and small helpers (see util.h). */
#include "util.h"

#include <curl/curl.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct arena_chunk {
    arena_chunk *next;
    size_t used, size;
    max_align_t data[]; /* keeps every allocation aligned */
};

enum { ARENA_CHUNK = 64 * 1024 };

void *arena_alloc(arena *a, size_t size) {
    size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    arena_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t want = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        c = xmalloc(sizeof(*c) + want);
        c->size = want;
        c->used = 0;
        c->next = a->head;
        a->head = c;
        a->bytes += want;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

void *arena_calloc(arena *a, size_t n, size_t size) {
    void *p = arena_alloc(a, n * size);
    memset(p, 0, n * size);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n) {
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

void arena_free(arena *a) {
    for (arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    a->head = NULL;
    a->bytes = 0;
}

void buf_reserve(buf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(buf *b, const void *data, size_t n) {
    buf_reserve(b, n);
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void buf_puts(buf *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_printf(buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        buf_append(b, small, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_free(buf *b) {
    free(b->data);
    *b = (buf){0};
}

bool same_bytes(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)(x[i] ^ y[i]);
    return diff == 0;
}

uint64_t hash_bytes(const void *data, size_t n) {
    /* FNV-1a: short keys, no adversary controls which keys we insert in bulk */
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static size_t htab_slot(const htab *h, const char *key, size_t klen) {
    size_t mask = h->nslots - 1;
    size_t i = hash_bytes(key, klen) & mask;
    for (;;) {
        uint32_t s = h->slots[i];
        if (!s) return i;
        if (h->klens[s - 1] == klen && memcmp(h->keys[s - 1], key, klen) == 0) return i;
        i = (i + 1) & mask;
    }
}

long htab_find(const htab *h, const char *key, size_t klen) {
    if (!h->nslots) return -1;
    uint32_t s = h->slots[htab_slot(h, key, klen)];
    return s ? (long)s - 1 : -1;
}

static void htab_grow(htab *h) {
    size_t n = h->nslots ? h->nslots * 2 : 16;
    free(h->slots);
    h->slots = xcalloc(n, sizeof *h->slots);
    h->nslots = n;
    for (size_t k = 0; k < h->count; k++) h->slots[htab_slot(h, h->keys[k], h->klens[k])] = (uint32_t)k + 1;
}

size_t htab_insert(htab *h, const char *key, size_t klen) {
    if ((h->count + 1) * 4 > h->nslots * 3) {
        size_t cap = h->nslots ? h->nslots * 2 : 16;
        h->keys = xrealloc(h->keys, cap * sizeof *h->keys);
        h->klens = xrealloc(h->klens, cap * sizeof *h->klens);
        htab_grow(h);
    }
    size_t idx = h->count++;
    h->keys[idx] = key;
    h->klens[idx] = klen;
    h->slots[htab_slot(h, key, klen)] = (uint32_t)idx + 1;
    return idx;
}

void htab_free(htab *h) {
    free(h->slots);
    free(h->keys);
    free(h->klens);
    *h = (htab){0};
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("level=error msg=\"out of memory\"\n", stderr);
        abort();
    }
    return p;
}

void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fputs("level=error msg=\"out of memory\"\n", stderr);
        abort();
    }
    return p;
}

void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) {
        fputs("level=error msg=\"out of memory\"\n", stderr);
        abort();
    }
    return p;
}

char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

/* The URL as logs and labels may show it: no user info, no query (either may hold a secret). */
/* libcurl's URL parser finds the parts (IPv6 literals, an '@' in a password, no path); a URL
 * without user info, options, query or fragment is kept as written, so names made from it stay. */
char *url_without_secrets(const char *url) {
    CURLU *u = curl_url();
    char *out = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
        static const CURLUPart secret[] = {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS, CURLUPART_QUERY,
                                           CURLUPART_FRAGMENT};
        bool any = false;
        for (size_t i = 0; i < sizeof secret / sizeof *secret; i++) {
            char *part = NULL;
            if (curl_url_get(u, secret[i], &part, 0) == CURLUE_OK) any = true;
            curl_free(part);
            curl_url_set(u, secret[i], NULL, 0);
        }
        char *shown = NULL;
        if (!any)
            out = xstrdup(url);
        else if (curl_url_get(u, CURLUPART_URL, &shown, 0) == CURLUE_OK)
            out = xstrdup(shown);
        curl_free(shown);
    }
    curl_url_cleanup(u);
    return out ? out : xstrdup("(unparsable URL)");
}

int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cond_init_monotonic(pthread_cond_t *c) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

void monotonic_deadline(struct timespec *ts, double seconds) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    if (seconds < 0) seconds = 0;
    time_t whole = (time_t)seconds;
    ts->tv_sec += whole;
    ts->tv_nsec += (long)((seconds - (double)whole) * 1e9);
    if (ts->tv_nsec >= 1000000000L) ts->tv_sec++, ts->tv_nsec -= 1000000000L;
}

double mono_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *read_file(const char *path, size_t max, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > max) {
            fclose(f);
            buf_free(&b);
            errno = EFBIG;
            return NULL;
        }
        buf_append(&b, chunk, n);
    }
    fclose(f);
    if (!b.data) buf_append(&b, "", 0);
    if (len) *len = b.len;
    return b.data;
}

size_t utf8_sequence(const unsigned char *s) {
    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        unsigned lo = s[0] == 0xe0 ? 0xa0 : 0x80, hi = s[0] == 0xed ? 0x9f : 0xbf; /* no overlongs, no surrogates */
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        unsigned lo = s[0] == 0xf0 ? 0x90 : 0x80, hi = s[0] == 0xf4 ? 0x8f : 0xbf; /* up to U+10FFFF */
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
    }
    return 0;
}

bool utf8_valid(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_sequence(p);
        if (!n) return false;
        p += n;
    }
    return true;
}

/* How many bytes of an invalid sequence one U+FFFD stands for: the lead byte and the continuation
 * bytes that could still have begun a valid sequence ("maximal subpart", as Unicode recommends and
 * Python's and browsers' decoders do). */
static size_t invalid_span(const unsigned char *s) {
    unsigned lo = 0x80, hi = 0xbf;
    size_t need;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        need = 1;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        need = 2, lo = s[0] == 0xe0 ? 0xa0 : 0x80, hi = s[0] == 0xed ? 0x9f : 0xbf;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        need = 3, lo = s[0] == 0xf0 ? 0x90 : 0x80, hi = s[0] == 0xf4 ? 0x8f : 0xbf;
    else
        return 1;
    size_t n = 1;
    if (s[1] >= lo && s[1] <= hi) {
        n = 2;
        while (n <= need && (s[n] & 0xc0) == 0x80) n++;
    }
    return n;
}

void utf8_sanitize(const char *s, char *out) {
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_sequence(p);
        if (n) {
            memcpy(out, p, n);
            out += n, p += n;
        } else {
            memcpy(out, "\xef\xbf\xbd", 3); /* U+FFFD */
            out += 3, p += invalid_span(p);
        }
    }
    *out = '\0';
}

char *read_secret(const char *path) {
    char *text = read_file(path, 16384, NULL);
    if (!text) return NULL;
    text[strcspn(text, "\r\n")] = '\0';
    if (*text) return text;
    free(text);
    return NULL;
}
