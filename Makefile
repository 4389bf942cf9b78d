# sluice — build, test, install. `make help` lists the targets.
PREFIX      ?= /usr/local
BUILD       ?= build
CC          ?= cc
PKGS        := libmariadb libpq rdkafka jansson yaml-0.1 libcurl libzstd
PKG_CFLAGS  := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
OPT         ?= -O2 -g
CFLAGS      := $(OPT) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
               -Wshadow -Wformat=2 -fno-strict-aliasing -pthread -MMD -MP $(PKG_CFLAGS)
LDLIBS      := $(PKG_LIBS) -lsnappy -lm -pthread $(EXTRA_LDFLAGS)
VENV        := .venv
PYTEST      := $(VENV)/bin/pytest

SRC_DIRS    := pipeline sources sources/mysql sources/postgres snapshot sinks sinks/file \
               sinks/blackhole sinks/kafka
LIB_SRCS    := $(filter-out pipeline/main.c,$(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ    := $(BUILD)/pipeline/main.o
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all asan deps test unit e2e demo bench install clean help check-configs

all: $(BUILD)/sluice

help:
	@echo "make            build build/sluice"
	@echo "make deps       install every package, jar and Python module the build and tests need"
	@echo "make test       unit tests + end-to-end tests against real servers (runs deps first)"
	@echo "make demo       local MariaDB -> sluice -> file sink, live"
	@echo "make bench      benchmarks against the physical limit and Debezium"
	@echo "make asan       build with AddressSanitizer + UBSan into build-asan/"
	@echo "make install    install the binary into PREFIX (default /usr/local)"

$(BUILD)/sluice: $(LIB_OBJS) $(MAIN_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(LDLIBS) -lcmocka

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	        EXTRA_LDFLAGS="-fsanitize=address,undefined" all unit-bins

unit-bins: $(UNIT_BINS)

deps:
	@bash tests/services/deps.sh

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# the examples read secrets from the environment; any value validates
check-configs: $(BUILD)/sluice
	@set -e; for f in configs/*.yaml; do MYSQL_PASSWORD=example PG_PASSWORD=example $(BUILD)/sluice check "$$f"; done

e2e: $(BUILD)/sluice
	$(PYTEST) -q tests/e2e

test: deps all
	$(MAKE) unit
	$(MAKE) check-configs
	$(MAKE) e2e

demo: deps all
	@bash tests/demo.sh

$(BUILD)/bench/raw_produce: bench/raw_produce.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) $(LDLIBS)

bench: deps all $(BUILD)/bench/raw_produce
	@bash bench/run.sh

install: $(BUILD)/sluice
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/sluice $(DESTDIR)$(PREFIX)/bin/sluice

clean:
	rm -rf build build-asan

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d)
