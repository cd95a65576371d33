/* http_source.c — GET URLs and stream their bodies as lines (see http_source.h). */
#include "http_source.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct {
    line_fn on_line;
    void *ctx;
    run_result *res;
    buf partial; /* the line being assembled */
    size_t max_output;
    const _Atomic bool *cancel;
    bool too_large, rejected;
} stream;

static int emit(stream *st, char *line, size_t len) {
    st->res->lines++;
    if (len && line[len - 1] == '\r') line[--len] = '\0';
    if (st->on_line(st->ctx, line, len, st->res->reject_reason, sizeof st->res->reject_reason)) {
        st->rejected = true;
        return -1;
    }
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg) {
    stream *st = arg;
    size_t len = size * n;
    st->res->stdout_bytes += len;
    if (st->res->stdout_bytes > st->max_output) {
        st->too_large = true;
        return 0; /* aborts the transfer */
    }
    for (char *p = data, *end = data + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        buf_append(&st->partial, p, (size_t)((nl ? nl : end) - p));
        if (!nl) break;
        buf_append(&st->partial, "", 1);
        int rc = emit(st, st->partial.data, st->partial.len - 1);
        st->partial.len = 0;
        if (rc) return 0;
        p = nl + 1;
    }
    return len;
}

static int check_cancel(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
    (void)a, (void)b, (void)c, (void)d;
    const stream *st = arg;
    return st->cancel && *st->cancel;
}

/* The token file's first line, or NULL (why in res). */
static char *read_token(const char *path, run_result *res) {
    size_t len;
    char *token = read_file(path, 16384, &len);
    if (!token) {
        snprintf(res->stderr_head, sizeof res->stderr_head, "cannot read the token file %s", path);
        return NULL;
    }
    token[strcspn(token, "\r\n")] = '\0';
    return token;
}

/* One GET; 0 when the whole body reached the parser. */
static int get_one(CURL *curl, const char *url, stream *st, double deadline) {
    double left = deadline - mono_seconds();
    if (left <= 0) {
        st->res->status = RUN_TIMEOUT;
        return -1;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(left * 1000) + 1);
    CURLcode rc = curl_easy_perform(curl);
    if (st->rejected) {
        st->res->status = RUN_LINE_REJECTED;
        return -1;
    }
    if (st->too_large) {
        st->res->status = RUN_OUTPUT_TOO_LARGE;
        return -1;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT || (rc == CURLE_ABORTED_BY_CALLBACK && st->cancel && *st->cancel)) {
        st->res->status = RUN_TIMEOUT;
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200) {
        st->res->status = RUN_HTTP_FAILED;
        if (rc != CURLE_OK)
            snprintf(st->res->stderr_head, sizeof st->res->stderr_head, "GET %s: %s", url, curl_easy_strerror(rc));
        else
            snprintf(st->res->stderr_head, sizeof st->res->stderr_head, "GET %s: HTTP status %ld", url, status);
        return -1;
    }
    if (st->partial.len) { /* a last line without its newline */
        buf_append(&st->partial, "", 1);
        int bad = emit(st, st->partial.data, st->partial.len - 1);
        st->partial.len = 0;
        if (bad) {
            st->res->status = RUN_LINE_REJECTED;
            return -1;
        }
    }
    return 0;
}

void http_source_run(const http_request *req, size_t max_output, const _Atomic bool *cancel, line_fn on_line, void *ctx,
                     run_result *res) {
    *res = (run_result){.status = RUN_OK};
    double start = mono_seconds();
    stream st = {.on_line = on_line, .ctx = ctx, .res = res, .max_output = max_output, .cancel = cancel};
    char *token = req->token_file ? read_token(req->token_file, res) : NULL;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    if (req->token_file && !token) {
        res->status = RUN_HTTP_FAILED;
    } else if (!curl) {
        res->status = RUN_HTTP_FAILED;
        snprintf(res->stderr_head, sizeof res->stderr_head, "curl_easy_init failed");
    } else {
        if (token) {
            buf h = {0};
            buf_printf(&h, req->bearer ? "Authorization: Bearer %s" : "X-SLURM-USER-TOKEN: %s", token);
            headers = curl_slist_append(headers, h.data);
            buf_free(&h);
        }
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &st);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, check_cancel);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &st);
        curl_easy_setopt(curl, CURLOPT_PROXY, ""); /* the environment's proxies are not for slurmctld */
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "slurmpush/" SLURMPUSH_VERSION);
        curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        double deadline = start + req->timeout_s;
        for (size_t i = 0; req->urls[i]; i++)
            if (get_one(curl, req->urls[i], &st, deadline)) break;
    }
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    curl_slist_free_all(headers);
    if (curl) curl_easy_cleanup(curl);
    buf_free(&st.partial);
    res->seconds = mono_seconds() - start;
}
