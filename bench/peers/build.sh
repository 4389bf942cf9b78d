#!/usr/bin/env bash
# bench/peers/build.sh — build the Debezium peer (bench/peers) with Maven
# when pom.xml or the driver changed since the last build, and print its
# Java classpath on stdout. Shared by `make bench` (bench/run.sh) and
# `make compat` (tests/compat). The first build downloads ~45 MB from Maven
# Central into the local Maven repository; its log is target/mvn.log.
set -euo pipefail
PEERS="$(cd "$(dirname "$0")" && pwd)"
stamp="$PEERS/target/.built"
if [[ ! -f "$stamp" || -n "$(find "$PEERS/pom.xml" "$PEERS/src" -newer "$stamp" -type f)" ]]; then
    command -v mvn >/dev/null && command -v java >/dev/null || {
        echo "bench/peers/build.sh: mvn/java missing (tests/services/deps.sh installs them)" >&2; exit 1; }
    echo "bench/peers/build.sh: building the Debezium peer (the first build downloads ~45 MB from Maven Central)" >&2
    mkdir -p "$PEERS/target"
    (cd "$PEERS" && mvn -B -q package) >"$PEERS/target/mvn.log" 2>&1 || {
        tail -n 30 "$PEERS/target/mvn.log" >&2; exit 1; }
    touch "$stamp"
fi
echo "$PEERS/target/classes:$PEERS/target/lib/*"
