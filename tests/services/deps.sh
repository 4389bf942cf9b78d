#!/usr/bin/env bash
# tests/services/deps.sh — owns everything the build and the real-service
# tests need on a Debian 12 machine (DESIGN.md §9): the apt packages (C build
# deps, MariaDB 10.11, PostgreSQL 15, a JDK and Maven), the Python venv at
# $REPO/.venv with tests/requirements.txt, and the cached Kafka jars.
#
# Usage: tests/services/deps.sh          # env: SLUICE_PYTHON (default python3)
#
# Idempotent and quick when everything is present: it checks first and only
# then installs; `apt-get update` runs only when a package is missing; pip
# runs only when requirements.txt (or the venv's python) changed.
# mariadb-server/postgresql postinst scripts want to start system services;
# while this script installs, a temporary /usr/sbin/policy-rc.d (only if none
# exists; removed on exit) denies that, so the install never blocks or fails
# on it. Our tests never use the system instances anyway.
set -euo pipefail
SLUICE_SCRIPT=deps.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export DEBIAN_FRONTEND=noninteractive

# "a|b" means: satisfied when a or b is installed; installs a otherwise.
APT_PACKAGES=(
    # build
    gcc make pkg-config libmariadb-dev libpq-dev librdkafka-dev libavro-dev
    libjansson-dev libyaml-dev libcmocka-dev libcurl4-openssl-dev libzstd-dev
    libsnappy-dev zlib1g-dev liblmdb-dev libsqlite3-dev
    # TLS read-ahead of the PostgreSQL stream; the unit test's stand-in
    # MySQL 8.4 server (caching_sha2_password)
    libssl-dev
    # transform expressions: time zones, Java date patterns and regexes
    libicu-dev
    # fuzzing (libFuzzer) and the TSan build: clang and its sanitizer runtimes
    clang libclang-rt-14-dev
    # servers and their clients
    mariadb-server mariadb-client postgresql-15 postgresql-client-15
    # java (Kafka broker, Debezium peer)
    "default-jdk-headless|openjdk-17-jdk-headless|openjdk-21-jdk-headless" maven
    # python venv for tests/e2e (the Debian python3 needs it)
    python3-venv ca-certificates
    # the throw-away CA of the TLS tests (lib.sh make_test_tls)
    openssl
    # make deb (dpkg-shlibdeps) and its test (the man page rendered by man)
    dpkg-dev man-db
)

# ---------------------------------------------------------------- apt ------
installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' 2>/dev/null | awk '$2 == "installed" {print $1}')"
missing=()
for req in "${APT_PACKAGES[@]}"; do
    ok=""
    IFS='|' read -r -a alts <<<"$req"
    for p in "${alts[@]}"; do
        if grep -qxF -- "$p" <<<"$installed"; then ok=1; break; fi
    done
    [[ -n "$ok" ]] || missing+=("${alts[0]}")
done

if ((${#missing[@]})); then
    log "missing apt packages: ${missing[*]}"
    SUDO=""
    if [[ "$(id -u)" -ne 0 ]]; then
        command -v sudo >/dev/null || die "not root and no sudo: install ${missing[*]} by hand"
        SUDO="sudo"
    fi
    POLICY=/usr/sbin/policy-rc.d
    if [[ ! -e "$POLICY" ]]; then
        # keep postinst scripts from starting the system mariadb/postgresql
        printf '#!/bin/sh\n# temporary, from sluice tests/services/deps.sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
        $SUDO chmod 0755 "$POLICY"
        trap '$SUDO rm -f "$POLICY"' EXIT
    fi
    APT=(${SUDO:+"$SUDO"} env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600)
    log "apt-get update"
    "${APT[@]}" update >/tmp/sluice-apt-update.log 2>&1 ||
        { show_log /tmp/sluice-apt-update.log; die "apt-get update failed"; }
    log "apt-get install ${missing[*]}"
    "${APT[@]}" install --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" </dev/null >/tmp/sluice-apt-install.log 2>&1 ||
        { show_log /tmp/sluice-apt-install.log; die "apt-get install failed (log: /tmp/sluice-apt-install.log)"; }
    log "apt packages installed"
else
    log "apt packages: all ${#APT_PACKAGES[@]} present"
fi

# ---------------------------------------------------------------- venv -----
VENV="$SLUICE_REPO/.venv"
REQS="$SLUICE_REPO/tests/requirements.txt"
[[ -f "$REQS" ]] || die "$REQS not found"
PY="${SLUICE_PYTHON:-python3}"
command -v "$PY" >/dev/null || die "$PY not found (set SLUICE_PYTHON)"

if [[ -d "$VENV" ]] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "$VENV is broken (its base python is gone?); recreating it"
    rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV with $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
    "$PY" -m venv "$VENV" || die "python -m venv failed (Debian: apt-get install python3-venv)"
fi
STAMP="$VENV/.sluice-requirements"
want="$(sha256sum "$REQS" | cut -d' ' -f1) $("$VENV/bin/python" -c 'import sys; print(sys.version)' | head -n1)"
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
    log "pip install -r tests/requirements.txt into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS" ||
        die "pip install failed"
    "$VENV/bin/python" -c 'import pytest, confluent_kafka.schema_registry.avro, pymysql, psycopg, chdb.session' ||
        die "python packages installed but do not import"
    echo "$want" >"$STAMP"
else
    log "venv: $VENV up to date"
fi

# ---------------------------------------------------------------- kafka ----
bash "$SLUICE_SERVICES_DIR/kafka.sh" fetch
bash "$SLUICE_SERVICES_DIR/iceberg.sh" fetch
# Kafka Connect's JsonConverter + Debezium's ExtractNewRecordState (the e2e Kafka tests' judge)
bash "$SLUICE_SERVICES_DIR/connect_judge.sh" fetch
log "all dependencies present"
