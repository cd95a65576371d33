/* main.c — start-up: options, signals, listener, the loop; shutdown on SIGTERM/SIGINT, reload on SIGHUP. */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#include "agent.h"
#include "listener.h"
#include "log.h"
#include "options.h"

typedef struct {
    agent *a;
    pthread_mutex_t lock; /* guards l: main stops the listener only after taking it away from here */
    listener *l;
    sigset_t set;
} signal_watch;

/* Turns SIGTERM/SIGINT into an orderly stop and SIGHUP into a reload of what can be re-read
 * without a restart (the token files, the web config file; the remote-write token is re-read at its next request anyway);
 * no code runs in signal context. */
static void *watch_signals(void *arg) {
    signal_watch *w = arg;
    for (;;) {
        int sig = 0;
        sigwait(&w->set, &sig);
        if (sig != SIGHUP) break;
        log_kv(LOG_INFO, "SIGHUP: re-reading the token files and the web config file", NULL);
        pthread_mutex_lock(&w->lock);
        listener_reload(w->l);
        pthread_mutex_unlock(&w->lock);
    }
    log_kv(LOG_INFO, "signal received; stopping", NULL);
    agent_request_stop(w->a);
    return NULL;
}

int main(int argc, char **argv) {
    config cfg;
    options_result parsed = options_parse(&cfg, argc, argv);
    if (parsed != OPTIONS_OK) {
        options_free(&cfg);
        return parsed == OPTIONS_EXIT_OK ? 0 : 2;
    }
    log_set_level((log_level)log_parse_level(cfg.log_level));

    /* every thread inherits this mask; the watcher alone takes the signals */
    signal_watch watch;
    sigemptyset(&watch.set);
    sigaddset(&watch.set, SIGTERM);
    sigaddset(&watch.set, SIGINT);
    sigaddset(&watch.set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &watch.set, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    trace_table *traces = cfg.trace_enabled ? trace_table_new(cfg.trace_rate, (size_t)cfg.trace_max_jobs) : NULL;
    agent *a = agent_new(&cfg, traces);
    if (!a) {
        trace_table_free(traces);
        curl_global_cleanup();
        options_free(&cfg);
        return 2;
    }

    int rc;
    bool one_cycle = cfg.once || cfg.dry_run;
    listener *l = NULL;
    if (!one_cycle && cfg.listen_address[0]) {
        char err[256];
        listener_config lc = {.address = cfg.listen_address,
                              .metrics_path = cfg.telemetry_path,
                              .snap = agent_snapshot(a),
                              .traces = traces,
                              .trace_path = cfg.trace_path,
                              .trace_token_file = cfg.trace_enabled ? cfg.trace_token_file : NULL,
                              .trace_max_body = (size_t)cfg.trace_max_body,
                              .request_timeout = cfg.request_timeout,
                              .web_config_file = cfg.web_config_file};
        l = listener_start(&lc, err, sizeof err);
        if (!l) {
            log_kv(LOG_ERROR, "cannot start the listener", "error", err, NULL);
            agent_free(a);
            trace_table_free(traces);
            curl_global_cleanup();
            options_free(&cfg);
            return 2;
        }
        log_kv(LOG_INFO, "listening", "address", cfg.listen_address, "path", cfg.telemetry_path, NULL);
        agent_set_listener(a, l);
    }
    watch.a = a, watch.l = l;
    pthread_mutex_init(&watch.lock, NULL);
    pthread_t watcher;
    pthread_create(&watcher, NULL, watch_signals, &watch);
    pthread_detach(watcher);
    if (cfg.dry_run)
        rc = agent_run_once(a, stdout);
    else if (cfg.once)
        rc = agent_run_once(a, NULL);
    else
        rc = agent_run(a);
    pthread_mutex_lock(&watch.lock);
    watch.l = NULL;
    pthread_mutex_unlock(&watch.lock);
    listener_stop(l);
    agent_free(a);
    trace_table_free(traces);
    curl_global_cleanup();
    options_free(&cfg);
    return rc;
}
