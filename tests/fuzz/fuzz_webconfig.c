/* fuzz_webconfig.c — libFuzzer target for --web.config.file: any bytes as the YAML file. Relative
 * file names point into a directory that does not exist, so only the parsing and checks run. */
#include <stdint.h>

#include "agent/webconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    web_config wc;
    char err[512];
    if (web_config_parse((const char *)data, size, "/nonexistent-slurmpush-fuzz", &wc, err, sizeof err)) {
        char priorities[128];
        web_config_tls_priorities(&wc, priorities, sizeof priorities);
        web_config_free(&wc);
    }
    return 0;
}
