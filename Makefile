# sluice — build, test, install. `make help` lists the targets.
PREFIX      ?= /usr/local
BUILD       ?= build
CC          ?= cc
# pkg-config modules the binary links. Evaluated when make parses this file,
# which is why `test`, `demo` and `bench` run `make deps` and then a fresh
# sub-make: on a new machine the -dev packages appear only after deps.
PKGS        := libmariadb libpq libssl rdkafka jansson yaml-0.1 libzstd zlib icu-uc icu-i18n libcurl sqlite3 lmdb
PKG_MISSING := $(strip $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(p) && echo y),,$(p))))
PKG_CFLAGS  := $(if $(PKG_MISSING),,$(shell pkg-config --cflags $(PKGS)))
PKG_LIBS    := $(if $(PKG_MISSING),,$(shell pkg-config --libs $(PKGS)))
# expanded in the compile and link recipes only, so `make deps` and `make
# help` work on a machine without the packages
need_pkgs    = $(if $(PKG_MISSING),$(error pkg-config finds no $(PKG_MISSING): run 'make deps' (or install the -dev packages listed in tests/services/deps.sh)))
OPT         ?= -O2 -g
CFLAGS      := $(OPT) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
               -Wshadow -Wformat=2 -fno-strict-aliasing -pthread -MMD -MP $(PKG_CFLAGS)
LDLIBS      := $(PKG_LIBS) -lsnappy -lm -pthread $(EXTRA_LDFLAGS)
VENV        := .venv
PYTEST      := $(VENV)/bin/pytest
# a failed e2e/compat test runs once more and shows as RERUN in the summary
# (-rR); RERUNS= (empty) runs every test exactly once
RERUNS      ?= --reruns 1 --reruns-delay 5 -rR
# one test's limit in seconds (the longest passes in ~150 s on 2 cores): a
# hang fails that test with every thread's stack instead of the whole run
TEST_TIMEOUT ?= 600

SRC_DIRS    := core pipeline pipeline/expr pipeline/ha sources sources/mysql sources/postgres snapshot sinks sinks/file \
               sinks/blackhole sinks/kafka sinks/clickhouse sinks/iceberg formats formats/parquet formats/avro
LIB_SRCS    := $(filter-out pipeline/main.c,$(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ    := $(BUILD)/pipeline/main.o
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# test helpers (the memory source and sink): linked into the unit tests only
TEST_OBJS   := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c)))
# drivers the e2e tests run to write Parquet/Avro files (not part of sluice)
FORMAT_TOOLS := $(patsubst tests/formats/%.c,$(BUILD)/tests/formats/%,$(wildcard tests/formats/*.c))

.PHONY: all asan tsan deps test unit e2e demo bench install clean help check-configs format-tools bench-parquet \
        bench-iceberg bench-scale fuzz fuzz-bins fuzz-ci sanitize-e2e deb test-long compat compat-run

all: $(BUILD)/sluice

help:
	@echo "make            build build/sluice"
	@echo "make deps       install every package, jar and Python module the build and tests need"
	@echo "make test       unit tests + end-to-end tests against real servers (runs deps first)"
	@echo "make demo       local MariaDB -> sluice -> file sink, live"
	@echo "make bench      benchmarks against the physical limit and Debezium"
	@echo "make compat     Debezium 3.5 beside sluice on both type zoos, every field diffed (tests/compat)"
	@echo "make bench-parquet  the Parquet writer beside DuckDB's COPY TO parquet"
	@echo "make bench-iceberg  make bench's Iceberg scenarios alone (BENCH_ONLY=iceberg)"
	@echo "make bench-scale    scale curve (1M..20M rows), a 10M-row transaction, latency at 10k/50k rows/s"
	@echo "make asan       build with AddressSanitizer + UBSan into build-asan/"
	@echo "make tsan       build with ThreadSanitizer (clang) into build-tsan/"
	@echo "make sanitize-e2e  crash/snapshot/large-transaction e2e on the ASan and TSan builds"
	@echo "                (SANITIZE=ci: a ~3 min subset, the default; SANITIZE=full: all of them)"
	@echo "make fuzz       each libFuzzer harness (tests/fuzz) for FUZZ_SECONDS (default 60) seconds"
	@echo "make install    install the binary into PREFIX (default /usr/local)"
	@echo "make deb        a Debian package: binary, man page, systemd unit sluice@.service"

$(BUILD)/sluice: $(LIB_OBJS) $(MAIN_OBJ) $(SANITIZER_OBJS)
	$(need_pkgs)$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(need_pkgs)$(CC) $(CFLAGS) -c -o $@ $<

# the stand-in MySQL 8.4 server hashes and decrypts (caching_sha2_password)
$(BUILD)/tests/test_mysql8_client: LDLIBS += -lcrypto
$(BUILD)/tests/%: tests/unit/%.c $(TEST_OBJS) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS) -lcmocka

# fails realloc on demand (the key index when memory runs out)
$(BUILD)/tests/test_ice_index_oom: LDFLAGS += -Wl,--wrap=realloc

$(BUILD)/tests/formats/%: tests/formats/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(LDLIBS)

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	        EXTRA_LDFLAGS="-fsanitize=address,undefined" all unit-bins format-tools

# ThreadSanitizer, built by clang like the fuzzers
tsan:
	$(MAKE) BUILD=build-tsan CC=clang OPT="-O1 -g -fsanitize=thread -fno-omit-frame-pointer" \
	        EXTRA_LDFLAGS="-fsanitize=thread" SANITIZER_OBJS=build-tsan/tests/tsan_thrd.o all unit-bins

unit-bins: $(TEST_OBJS) $(UNIT_BINS)

# libFuzzer harnesses (tests/fuzz/fuzz_*.c): the library built by clang with
# ASan + UBSan and fuzzer coverage into build-fuzz/, one binary per harness
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES   := $(FUZZ_SRCS:tests/fuzz/%.c=%)
FUZZ_SECONDS ?= 60
FUZZ_CI_SECONDS ?= 15
FUZZ_OPT     := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(LDLIBS)

fuzz-bins:
	$(MAKE) BUILD=build-fuzz CC=clang OPT="$(FUZZ_OPT)" EXTRA_LDFLAGS="-fsanitize=address,undefined" \
	        $(FUZZ_NAMES:%=build-fuzz/fuzz/%)

# each harness for FUZZ_SECONDS from its committed seeds; new inputs go to
# build-fuzz/corpus/<name>, crashes to build-fuzz/crash/<name>/
fuzz: fuzz-bins
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-ci: fuzz-bins
	@bash tests/fuzz/run.sh $(FUZZ_CI_SECONDS) $(FUZZ_NAMES)

# the crash, snapshot and large-transaction e2e scenarios against the
# ASan/UBSan and TSan binaries, every sanitizer report a failure
# (tests/sanitize_e2e.sh; SANITIZE=full runs every scenario)
SANITIZE ?= ci
sanitize-e2e:
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory tsan
	@bash tests/sanitize_e2e.sh $(SANITIZE)

format-tools: $(FORMAT_TOOLS)

deps:
	@bash tests/services/deps.sh

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# the examples read secrets from the environment; any value validates
check-configs: $(BUILD)/sluice
	@set -e; for f in configs/*.yaml; do MYSQL_PASSWORD=example PG_PASSWORD=example CLICKHOUSE_PASSWORD=example $(BUILD)/sluice check "$$f"; done

e2e: $(BUILD)/sluice $(FORMAT_TOOLS)
	$(PYTEST) -q --durations=30 --timeout $(TEST_TIMEOUT) $(RERUNS) tests/e2e

# Debezium 3.5's embedded engine (bench/peers, built by Maven through
# bench/peers/build.sh) beside sluice on the MariaDB and PostgreSQL type
# zoos, every field of every record diffed per value-mode set; the allowed
# differences are listed in tests/compat and README.md; and the schema-change
# records of a CREATE, ALTER and DROP TABLE. About 100 s (plus
# the peer's first Maven build), so `make test` runs it after the e2e
# suite (its own directory, which `pytest tests/e2e` does not collect).
compat: $(BUILD)/sluice
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory compat-run

compat-run: $(BUILD)/sluice
	@bash bench/peers/build.sh >/dev/null
	$(PYTEST) -q --durations=30 --timeout $(TEST_TIMEOUT) $(RERUNS) tests/compat

# the kill loops and failovers at full length (SLUICE_LONG=1: every kill
# count as the issues ask; make test runs them shorter)
test-long: $(BUILD)/sluice $(FORMAT_TOOLS)
	@$(MAKE) --no-print-directory deps
	SLUICE_LONG=1 $(PYTEST) -q --durations=30 --timeout $$(( $(TEST_TIMEOUT) * 4 )) -k "kill or crash or failover or fenced" tests/e2e

# deps first, then a new make that parses this file with the packages present
test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory check-configs
	@$(MAKE) --no-print-directory fuzz-ci
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory compat-run
	@$(MAKE) --no-print-directory sanitize-e2e SANITIZE=ci

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@bash tests/demo.sh

$(BUILD)/bench/raw_produce: bench/raw_produce.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

# the Parquet writer beside DuckDB's COPY TO parquet (bench/parquet_vs_duckdb.py)
$(BUILD)/bench/pq_bench: bench/pq_bench.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(LDLIBS)

bench-parquet: $(BUILD)/bench/pq_bench
	$(VENV)/bin/python bench/parquet_vs_duckdb.py --bin $(BUILD)/bench/pq_bench

# make bench's Iceberg scenarios alone (BENCH_ONLY=iceberg): a MariaDB snapshot
# and binlog range into Iceberg beside the blackhole, and DuckDB reading them
bench-iceberg:
	@BENCH_ONLY=iceberg $(MAKE) --no-print-directory bench

# the scale curve, a big transaction and the latency under load
# (BENCH_ONLY=scale, bench/scale.sh); an hour or more with the default sizes
bench-scale:
	@BENCH_ONLY=scale $(MAKE) --no-print-directory bench

bench:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all $(BUILD)/bench/raw_produce
	@bash bench/run.sh

install: $(BUILD)/sluice
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/sluice $(DESTDIR)$(PREFIX)/bin/sluice

# packaging/deb/build.sh: binary, man page from `sluice describe` + README,
# sluice@.service; prints the .deb's path
deb: $(BUILD)/sluice
	@bash packaging/deb/build.sh $(BUILD)

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_OBJS:.o=.d)
