/* controller.c — the controller collector: `scontrol ping`, one line per slurmctld
 * ("Slurmctld(primary) at vm is UP", "Slurmctld(backup1) at vm2 is DOWN"), as
 * slurm_controller_up{controller, role} 1/0 and how long the ping took. scontrol exits non-zero
 * when a controller is down: that is an answer here, not a failed run. */
#include <stdio.h>
#include <string.h>

#include "../collector.h"

enum { C_UP, C_PING_SECONDS, N_CONTROLLER };

static const family_def controller_families[] = {
    [C_UP] = {.name = "slurm_controller_up",
              .type = METRIC_GAUGE,
              .labels = LABELS("controller", "role"),
              .help = "1 if the slurmctld answers scontrol ping, else 0",
              .doc = "1/0 per slurmctld; role=`primary`\\|`backup` (backup1, backup2 … are `backup`)"},
    [C_PING_SECONDS] = {.name = "slurm_controller_ping_seconds",
                        .type = METRIC_GAUGE,
                        .help = "How long scontrol ping took, seconds",
                        .doc = "wall time of `scontrol ping`"},
    [N_CONTROLLER] = {0},
};

typedef struct {
    family *fam[N_CONTROLLER];
    double started;
    size_t controllers;
} controller_state;

static void controller_begin(void *state, sample_set *out, const collect_env *env) {
    (void)env;
    controller_state *s = state;
    ss_declare(out, controller_families, s->fam);
    s->started = mono_seconds();
}

static int controller_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    controller_state *s = state;
    if (!len || line[0] == '*') return 0; /* blank lines and the ***** frame of a failed ping */
    char role[32], host[256], status[16];
    if (sscanf(line, "Slurmctld(%31[^)]) at %255s is %15s", role, host, status) != 3 ||
        (strcmp(status, "UP") && strcmp(status, "DOWN"))) {
        snprintf(why, why_len, "not \"Slurmctld(ROLE) at HOST is UP|DOWN\"");
        return -1;
    }
    const char *r = !strncmp(role, "backup", 6) ? "backup" : role;
    FAM_SET(s->fam[C_UP], !strcmp(status, "UP") ? 1 : 0, host, r);
    s->controllers++;
    return 0;
}

static int controller_end(void *state, sample_set *out, char *why, size_t why_len) {
    (void)out;
    controller_state *s = state;
    if (!s->controllers) {
        snprintf(why, why_len, "scontrol ping named no controller");
        return -1;
    }
    fam_set(s->fam[C_PING_SECONDS], mono_seconds() - s->started, NULL);
    return 0;
}

const collector_def controller_collector = {
    .name = "controller",
    .summary = "slurmctld up or down, primary and backups (scontrol ping)",
    .enabled_by_default = true,
    .command = "scontrol ping",
    .interval = "60",
    .fixture = "ping",
    .families = controller_families,
    .error_metric = "slurmpush_controller_scrape_error",
    .error_help = "failed runs of the controller collector",
    .state_size = sizeof(controller_state),
    .begin = controller_begin,
    .parse_line = controller_line,
    .end = controller_end,
    .nonzero_exit_ok = true,
};
