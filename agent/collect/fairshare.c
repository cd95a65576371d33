/* fairshare.c — the fairshare collector: `sshare -a -l -P`, read by its header row (so a site's
 * own -o column list works too). Account rows (empty User) give slurm_account_fairshare* per
 * account; user rows give slurm_user_fairshare* per (account, user), behind
 * --collector.fairshare.users (one series per association: cardinality). Account names are
 * printed indented by tree depth: the indent is not part of the name. A value Slurm prints as
 * empty or "inf" has no series, and is no error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../collector.h"

/* The columns read, in family order; FairShare falls back to LevelFS for accounts (FairShare is empty there). */
#define FAIRSHARE_COLUMNS(X)                                                                                                     \
    X(FAIRSHARE, "FairShare", "", "FairShare (accounts: LevelFS, as FairShare is empty there)")                                  \
    X(RAW_SHARES, "RawShares", "_raw_shares", "RawShares")                                                                       \
    X(NORM_SHARES, "NormShares", "_norm_shares", "NormShares")                                                                   \
    X(RAW_USAGE, "RawUsage", "_raw_usage", "RawUsage (decayed CPU-seconds)")                                                     \
    X(NORM_USAGE, "NormUsage", "_norm_usage", "NormUsage")                                                                       \
    X(EFFECTIVE_USAGE, "EffectvUsage", "_effective_usage", "EffectvUsage")                                                       \
    X(LEVEL_FS, "LevelFS", "_level_fs", "LevelFS")
#define COLUMN_ENUM(id, column, suffix, what) FS_##id,
enum { FAIRSHARE_COLUMNS(COLUMN_ENUM) N_COLUMNS };
#define COLUMN_NAME(id, column, suffix, what) [FS_##id] = column,
static const char *const column_names[N_COLUMNS] = {FAIRSHARE_COLUMNS(COLUMN_NAME)};

#define ACCOUNT_ROW(id, column, suffix, what)                                                                                    \
    [FS_##id] = {.name = "slurm_account_fairshare" suffix,                                                                       \
                 .type = METRIC_GAUGE,                                                                                           \
                 .labels = LABELS("account"),                                                                                    \
                 .help = "sshare " what " of the account"},
#define USER_ROW(id, column, suffix, what)                                                                                       \
    [N_COLUMNS + FS_##id] = {.name = "slurm_user_fairshare" suffix,                                                              \
                             .type = METRIC_GAUGE,                                                                               \
                             .labels = LABELS("account", "username"),                                                            \
                             .help = "sshare " what " of the user in the account",                                               \
                             .doc = "the same per user; only with --collector.fairshare.users"},
static const family_def fairshare_families[] = {FAIRSHARE_COLUMNS(ACCOUNT_ROW) FAIRSHARE_COLUMNS(USER_ROW)[2 * N_COLUMNS] = {0}};

typedef struct {
    bool users;
} fairshare_settings;

static const collector_option fairshare_options[] = {
    {.name = "collector.fairshare.users",
     .type = OPT_BOOL,
     .def = "false",
     .offset = offsetof(fairshare_settings, users),
     .help = "Also slurm_user_fairshare* per (account, user): one series per association."},
    {0},
};

enum { MAX_COLUMNS = 64 };

typedef struct {
    family *fam[2 * N_COLUMNS];
    bool users, saw_header;
    int col_account, col_user, col[N_COLUMNS]; /* -1: not printed */
    size_t n_columns;
    htab seen; /* account or account|user already counted */
    arena *mem;
} fairshare_state;

static void fairshare_begin(void *state, sample_set *out, const collect_env *env) {
    fairshare_state *s = state;
    ss_declare(out, fairshare_families, s->fam);
    s->users = env->settings && ((const fairshare_settings *)env->settings)->users;
    s->mem = &out->mem;
}

static char *trim(char *t) {
    while (*t == ' ') t++;
    for (size_t n = strlen(t); n && t[n - 1] == ' ';) t[--n] = '\0';
    return t;
}

static int header(fairshare_state *s, char **f, size_t n, char *why, size_t why_len) {
    s->col_account = s->col_user = -1;
    for (int k = 0; k < N_COLUMNS; k++) s->col[k] = -1;
    for (size_t i = 0; i < n; i++) {
        const char *name = trim(f[i]);
        if (!strcmp(name, "Account")) s->col_account = (int)i;
        if (!strcmp(name, "User")) s->col_user = (int)i;
        for (int k = 0; k < N_COLUMNS; k++)
            if (!strcmp(name, column_names[k])) s->col[k] = (int)i;
    }
    if (s->col_account < 0 || s->col_user < 0) {
        snprintf(why, why_len, "no Account|User header (run sshare with -P and without -n)");
        return -1;
    }
    s->n_columns = n;
    s->saw_header = true;
    return 0;
}

/* A number of sshare's, or missing (empty, "inf"): no series. Anything else is garbage. */
static int value_of_cell(const char *text, double *v, bool *missing) {
    *missing = !*text || !strcmp(text, "inf") || !strcmp(text, "N/A");
    if (*missing) return 0;
    char *end;
    *v = strtod(text, &end);
    return *end || !isfinite(*v) ? -1 : 0;
}

static int fairshare_line(void *state, char *line, size_t len, char *why, size_t why_len) {
    fairshare_state *s = state;
    if (!len) return 0;
    char *f[MAX_COLUMNS];
    size_t n = split_fields(line, f, MAX_COLUMNS);
    if (!s->saw_header) return header(s, f, n, why, why_len);
    if (n != s->n_columns) {
        snprintf(why, why_len, "%zu fields where the header has %zu", n, s->n_columns);
        return -1;
    }
    const char *account = trim(f[s->col_account]), *user = trim(f[s->col_user]);
    bool is_user = *user;
    if (!*account || (is_user && !s->users)) return 0;
    char key[512];
    int klen = snprintf(key, sizeof key, "%s|%s", account, user);
    if (klen < 0 || (size_t)klen >= sizeof key) klen = (int)sizeof key - 1;
    if (htab_find(&s->seen, key, (size_t)klen) >= 0) return 0; /* the same association twice: counted once */
    htab_insert(&s->seen, arena_strndup(s->mem, key, (size_t)klen), (size_t)klen);
    family **b = &s->fam[is_user ? N_COLUMNS : 0];
    double values[N_COLUMNS];
    bool missing[N_COLUMNS];
    for (int k = 0; k < N_COLUMNS; k++) {
        missing[k] = true;
        if (s->col[k] >= 0 && value_of_cell(trim(f[s->col[k]]), &values[k], &missing[k]) < 0) {
            snprintf(why, why_len, "%s \"%.30s\" is not a number", column_names[k], f[s->col[k]]);
            return -1;
        }
    }
    if (missing[FS_FAIRSHARE] && !missing[FS_LEVEL_FS]) values[FS_FAIRSHARE] = values[FS_LEVEL_FS], missing[FS_FAIRSHARE] = false;
    for (int k = 0; k < N_COLUMNS; k++) /* each family by itself (no shared series): a missing value leaves its series out */
        if (!missing[k]) {
            if (is_user)
                FAM_SET(b[k], values[k], account, user);
            else
                FAM_SET(b[k], values[k], account);
        }
    return 0;
}

static int fairshare_end(void *state, sample_set *out, char *why, size_t why_len) {
    (void)out;
    if (((fairshare_state *)state)->saw_header) return 0;
    snprintf(why, why_len, "no output: sshare printed not even its header");
    return -1;
}

static void fairshare_release(void *state) { htab_free(&((fairshare_state *)state)->seen); }

const collector_def fairshare_collector = {
    .name = "fairshare",
    .summary = "fairshare per account (and per user on request) from sshare -a -l -P",
    .enabled_by_default = false,
    .command = "sshare -a -l -P",
    .interval = "300",
    .fixture = "sshare",
    .options = fairshare_options,
    .settings_size = sizeof(fairshare_settings),
    .families = fairshare_families,
    .error_metric = "slurmpush_fairshare_scrape_error",
    .error_help = "failed runs of the fairshare collector",
    .state_size = sizeof(fairshare_state),
    .begin = fairshare_begin,
    .parse_line = fairshare_line,
    .end = fairshare_end,
    .release = fairshare_release,
};
