/* fuzz_config.c — libFuzzer harness for the YAML pipeline loader: the
 * input is a whole config file, loaded and validated as `sluice check`
 * does (substitution, nesting and document limits, every connector's
 * option table, routes and transforms with their expressions). The loader
 * reads a path, so the input goes to a memfd named by /proc/self/fd.
 * ${file:...} may name real files; ${env:...} sees the fuzzer's
 * environment. Seeds: configs/ and the Flink CDC corpus.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../core/log.h"
#include "../../pipeline/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    sl_log_init(SL_LOG_ERROR);
    if (fd < 0) {
        fd = memfd_create("fuzz-config.yaml", 0);
        if (fd < 0)
            return 0;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    sl_config cfg;
    sl_err err;
    sl_config_load(path, &cfg, &err);
    sl_config_free(&cfg); /* also after a refusal, as main.c does */
    return 0;
}
