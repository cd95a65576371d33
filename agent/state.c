/* state.c — collectors' saved state (see state.h). */
#include "state.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void path_of(char *out, size_t len, const char *dir, const char *name, const char *suffix) {
    snprintf(out, len, "%s/%s.state.json%s", dir, name, suffix);
}

int state_load(const char *dir, const char *name, json_object **out, char *why, size_t why_len) {
    *out = NULL;
    char path[4096];
    path_of(path, sizeof path, dir, name, "");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size > STATE_MAX_BYTES) {
        snprintf(why, why_len, "%s: larger than %d bytes", path, STATE_MAX_BYTES);
        close(fd);
        return -1;
    }
    char *text = malloc((size_t)st.st_size + 1);
    ssize_t got = text ? read(fd, text, (size_t)st.st_size) : -1;
    close(fd);
    if (got != st.st_size) {
        snprintf(why, why_len, "%s: short read", path);
        free(text);
        return -1;
    }
    text[got] = '\0';
    *out = json_tokener_parse(text);
    free(text);
    if (!*out || !json_object_is_type(*out, json_type_object)) {
        json_object_put(*out);
        *out = NULL;
        snprintf(why, why_len, "%s: not a JSON object", path);
        return -1;
    }
    return 0;
}

int state_save(const char *dir, const char *name, json_object *doc, char *why, size_t why_len) {
    size_t len = 0;
    const char *text = json_object_to_json_string_length(doc, JSON_C_TO_STRING_PLAIN, &len);
    if (len > STATE_MAX_BYTES) {
        snprintf(why, why_len, "%zu bytes: larger than %d", len, STATE_MAX_BYTES);
        return -1;
    }
    char path[4096], tmp[4096];
    path_of(path, sizeof path, dir, name, "");
    path_of(tmp, sizeof tmp, dir, name, ".tmp");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, why_len, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += (size_t)n;
    }
    bool ok = done == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) < 0) {
        snprintf(why, why_len, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* the rename itself durable */
    if (dfd >= 0) fsync(dfd), close(dfd);
    return 0;
}
