#!/usr/bin/env bash
# tests/services/connect_judge.sh — fetches and compiles the Debezium
# consumer the e2e Kafka tests decode every message with (DESIGN.md §9:
# real consumers, not mocks): Kafka Connect's JsonConverter and Debezium's
# ExtractNewRecordState from Maven Central (connect_judge/pom.xml), and
# tests/connect_judge/ConnectJudge.java compiled against them.
#
# Usage: connect_judge.sh fetch   # resolve the jars, compile; prints nothing
#        connect_judge.sh path    # fetch if needed; prints the classpath
# Env:   SLUICE_CACHE  cache root (default $HOME/.cache/sluice); jars go to
#                      $SLUICE_CACHE/connect-judge-<connect>-<debezium>/libs,
#                      the class to .../classes-<hash of the source>
set -euo pipefail
SLUICE_SCRIPT=connect_judge.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 && ( "$1" == fetch || "$1" == path ) ]] || { echo "usage: $0 fetch|path" >&2; exit 2; }
POM="$SLUICE_SERVICES_DIR/connect_judge/pom.xml"
SRC="$SLUICE_REPO/tests/connect_judge/ConnectJudge.java"
CONNECT="$(sed -n 's:.*<connect.version>\(.*\)</connect.version>.*:\1:p' "$POM" | head -n1)"
DEBEZIUM="$(sed -n 's:.*<debezium.version>\(.*\)</debezium.version>.*:\1:p' "$POM" | head -n1)"
[[ -n "$CONNECT" && -n "$DEBEZIUM" ]] || die "cannot read the versions from $POM"
HOME_DIR="${SLUICE_CACHE:-$HOME/.cache/sluice}/connect-judge-$CONNECT-$DEBEZIUM"
LIBS="$HOME_DIR/libs"
CLASSES="$HOME_DIR/classes-$(sha256sum "$SRC" | cut -c1-12)"

maven_fetch "JsonConverter $CONNECT and Debezium $DEBEZIUM" "$POM" "$HOME_DIR" "connect-json-$CONNECT.jar"
if [[ ! -f "$CLASSES/ConnectJudge.class" ]]; then
    command -v javac >/dev/null || die "javac not found; run tests/services/deps.sh"
    tmp="$CLASSES.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    javac -nowarn -d "$tmp" -cp "$LIBS/*" "$SRC" >&2 || { rm -rf "$tmp"; die "javac $SRC failed"; }
    mv "$tmp" "$CLASSES" 2>/dev/null || rm -rf "$tmp"
fi
[[ "$1" == path ]] && echo "$CLASSES:$LIBS/*"
exit 0
