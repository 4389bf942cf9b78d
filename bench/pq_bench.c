/* pq_bench.c — micro-benchmark of the Parquet writer (not a test): N rows of
 * the sysbench table (id INT, k INT, c CHAR(120), pad CHAR(60)) generated on
 * the fly into formats/parquet, one thread, timed; prints one JSON line with
 * rows/s, MB/s of raw values, output size, CPU seconds and peak RSS.
 *
 *   pq_bench [--rows N] [--codec zstd|snappy|none] [--level L] [--out FILE]
 *            [--csv FILE]      (writes the same rows as CSV, untimed, for peers)
 *            [--gen-only]      (times the row generator alone)
 *
 * The rows follow sysbench's oltp tables: id 1..N, k uniform in 1..N, c ten
 * groups of 11 digits joined by '-', pad five such groups; a fixed-seed
 * xorshift makes every run and every peer see the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../formats/parquet/parquet.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static inline uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* groups of 11 random digits separated by '-' */
static size_t digits(char *out, int groups)
{
    size_t n = 0;
    for (int g = 0; g < groups; g++) {
        if (g)
            out[n++] = '-';
        uint64_t r = next();
        for (int i = 0; i < 11; i++) {
            out[n++] = (char)('0' + r % 10);
            r /= 10;
        }
    }
    return n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork + exec, so a
 * child of a big parent would report the parent's size */
static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    long rows = 2000000;
    const char *codec = "zstd", *out = "/tmp/pq_bench.parquet", *csv = NULL;
    int level = 3, gen_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rows") && i + 1 < argc)
            rows = atol(argv[++i]);
        else if (!strcmp(argv[i], "--codec") && i + 1 < argc)
            codec = argv[++i];
        else if (!strcmp(argv[i], "--level") && i + 1 < argc)
            level = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(argv[i], "--csv") && i + 1 < argc)
            csv = argv[++i];
        else if (!strcmp(argv[i], "--gen-only"))
            gen_only = 1;
        else {
            fprintf(stderr, "usage: pq_bench [--rows N] [--codec zstd|snappy|none] [--level L] "
                            "[--out FILE] [--csv FILE] [--gen-only]\n");
            return 2;
        }
    }
    char c[128], pad[64];
    if (csv) {
        FILE *f = fopen(csv, "w");
        if (!f) {
            perror(csv);
            return 1;
        }
        for (long id = 1; id <= rows; id++) {
            long k = (long)(next() % (uint64_t)rows) + 1;
            size_t cn = digits(c, 10), pn = digits(pad, 5);
            fprintf(f, "%ld,%ld,%.*s,%.*s\n", id, k, (int)cn, c, (int)pn, pad);
        }
        fclose(f);
        return 0;
    }

    sl_pq_column cols[4] = {
        {.name = "id", .field_id = 1, .type = sl_pq_t_int32()},
        {.name = "k", .field_id = 2, .type = sl_pq_t_int32()},
        {.name = "c", .field_id = 3, .type = sl_pq_t_string()},
        {.name = "pad", .field_id = 4, .type = sl_pq_t_string()},
    };
    sl_pq_options o;
    sl_pq_options_default(&o);
    o.codec = !strcmp(codec, "snappy") ? SL_PQ_SNAPPY : !strcmp(codec, "none") ? SL_PQ_UNCOMPRESSED : SL_PQ_ZSTD;
    o.zstd_level = level;
    sl_err err;
    sl_pq_writer *w = NULL;
    unlink(out);
    double t0 = now(), c0 = cpu_seconds();
    if (!gen_only) {
        sl_wfile *f;
        if (sl_wfile_open_local(out, &f, &err) || sl_pq_open(&w, f, cols, 4, &o, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    uint64_t raw = 0, sink = 0;
    for (long id = 1; id <= rows; id++) {
        int32_t k = (int32_t)(next() % (uint64_t)rows) + 1;
        size_t cn = digits(c, 10), pn = digits(pad, 5);
        raw += 8 + cn + pn;
        if (gen_only) {
            sink += (uint64_t)c[cn - 1] + (uint64_t)pad[0] + (uint64_t)k;
            continue;
        }
        if (sl_pq_put_i32(w, 0, (int32_t)id) || sl_pq_put_i32(w, 1, k) || sl_pq_put_bytes(w, 2, c, cn) ||
            sl_pq_put_bytes(w, 3, pad, pn) || sl_pq_end_row(w, &err)) {
            sl_pq_end_row(w, &err);
            fprintf(stderr, "%s\n", err.msg);
            sl_pq_abort(w);
            return 1;
        }
    }
    sl_pq_result *res = NULL;
    if (!gen_only && sl_pq_close(w, &res, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double wall = now() - t0, cpu = cpu_seconds() - c0;
    printf("{\"rows\": %ld, \"codec\": \"%s\", \"level\": %d, \"seconds\": %.3f, \"cpu_seconds\": %.3f, "
           "\"rows_per_s\": %.0f, \"raw_mb_per_s\": %.1f, \"raw_bytes\": %llu, \"file_bytes\": %llu, "
           "\"row_groups\": %d, \"peak_rss_kib\": %ld, \"gen_only\": %s, \"check\": %llu}\n",
           rows, codec, level, wall, cpu, rows / wall, raw / wall / 1e6, (unsigned long long)raw,
           res ? (unsigned long long)res->file_size : 0ull, res ? res->num_row_groups : 0, peak_rss_kib(),
           gen_only ? "true" : "false", (unsigned long long)sink);
    sl_pq_result_free(res);
    return 0;
}
