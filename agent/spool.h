/* spool.h — an endpoint's durable queue: every request body is appended to segment files on disk
 * before it is sent, and the position of the last acknowledged request is saved, so a clean stop
 * and start loses nothing and a crash re-sends at most the one request that was in flight.
 * Bounded in bytes: past the limit the oldest segment is dropped (counted). Records are immutable
 * and carry a CRC, so a re-sent request never mixes acknowledged samples with new ones and damage
 * on disk costs only the damaged records. One agent per directory (a lock). Knows nothing of HTTP. */
#ifndef SLURMPUSH_SPOOL_H
#define SLURMPUSH_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct spool spool;

typedef struct {
    uint64_t records, bytes;                   /* waiting (not yet acknowledged) */
    uint64_t dropped_records, dropped_samples; /* dropped because the spool was full */
    uint64_t recovered_records;                /* found waiting at start-up */
    uint64_t damaged_records;                  /* runs of damaged bytes skipped (bad framing or CRC) */
    uint64_t cursor_repairs;                   /* a missing or damaged acknowledged position: re-sent, not lost */
} spool_stats;

/* Opens (creating) dir, takes its lock and recovers what an earlier run left unacknowledged.
 * NULL on error (err says why: also when another agent holds the directory). */
spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen);
/* Appends one request durably (written and synced); 0 or -1 on an I/O error (errno kept). */
int spool_append(spool *s, const uint8_t *body, size_t len, size_t samples);
/* The oldest unacknowledged request (a malloc'd copy); 0 if there is none. */
int spool_peek(spool *s, uint8_t **body, size_t *len, size_t *samples);
/* Marks the request spool_peek returned as done (sent, or dropped by policy) and saves that. */
void spool_ack(spool *s);
void spool_get_stats(spool *s, spool_stats *out);
void spool_close(spool *s);

#endif
