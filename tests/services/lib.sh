# shellcheck shell=bash
# tests/services/lib.sh — shared helpers for the service scripts in this folder
# (deps.sh, mariadb.sh, postgres.sh, kafka.sh). Owns: locating the repo,
# logging to stderr, picking free loopback ports, waiting for ports/conditions
# with a timeout, and stopping a process reliably. Sourced, never executed.
#
# Conventions used by every service script:
#   - all messages go to stderr, prefixed with the script name;
#   - servers are started detached (setsid, stdin from /dev/null, stdout and
#     stderr into a log file in DIR) so that a caller that captures our
#     output (pytest's subprocess.run) is never kept waiting on an inherited
#     pipe and a Ctrl-C in the caller's terminal does not hit the server.

SLUICE_SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034  # used by the scripts that source this file
SLUICE_REPO="$(cd "$SLUICE_SERVICES_DIR/../.." && pwd)"
SLUICE_SCRIPT="${SLUICE_SCRIPT:-$(basename "$0")}"

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "$SLUICE_SCRIPT" "$*" >&2; }
die() { printf '[%s %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$SLUICE_SCRIPT" "$*" >&2; exit 1; }

# show_log FILE [LINES] — print the tail of a server log to stderr (for errors).
show_log() {
    local f="$1" n="${2:-40}"
    if [[ -s "$f" ]]; then
        printf -- '----- last %s lines of %s -----\n' "$n" "$f" >&2
        tail -n "$n" "$f" >&2 || true
        printf -- '----- end of %s -----\n' "$f" >&2
    else
        printf -- '(log %s is empty or missing)\n' "$f" >&2
    fi
}

# A python3 for small helpers (port picking, protocol probes). The system one
# is preferred: it does not depend on the venv or a pyenv shim's cwd.
sluice_python() {
    if [[ -x /usr/bin/python3 ]]; then echo /usr/bin/python3
    elif command -v python3 >/dev/null 2>&1; then command -v python3
    else die "python3 is required"; fi
}

# free_ports N — print N distinct free TCP ports on 127.0.0.1, one per line.
# The sockets are bound at the same time so the N ports are distinct; there is
# the usual small race between picking and the server binding them.
free_ports() {
    "$(sluice_python)" - "${1:-1}" <<'EOF'
import random, socket, sys
# below the kernel's ephemeral range: while a test has a server stopped,
# its port could otherwise go to any outgoing connection (sluice's own
# retries to that very port included), and the restart then finds it
# taken (a ClickHouse front restart failed so in one CI run)
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
first = 10000 if low > 15000 else 1024
rnd = random.SystemRandom()
socks = []
while len(socks) < int(sys.argv[1]):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", rnd.randrange(first, low)))
    except OSError:
        s.close()
        continue
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
    s.close()
EOF
}
free_port() { free_ports 1; }

# port_open HOST PORT — true when something accepts TCP connections there.
port_open() {
    # shellcheck disable=SC2016  # expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# port_in_use PORT — true when a listener holds 127.0.0.1:PORT. SO_REUSEADDR
# like the servers use: connections of a just-stopped server (TIME_WAIT,
# FIN_WAIT) must not block restarting it on the same port.
port_in_use() {
    ! "$(sluice_python)" - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
EOF
}

# pid_alive PID — true while PID runs; a zombie (killed, not yet reaped by a
# parent that is not init) counts as gone.
pid_alive() {
    [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null &&
        [[ "$(sed -E 's/.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

# read_pid FILE — print the pid stored in FILE if that process is alive.
read_pid() {
    local pid
    [[ -s "$1" ]] || return 1
    pid="$(tr -dc '0-9' <"$1")"
    pid_alive "$pid" || return 1
    echo "$pid"
}

# wait_until TIMEOUT_S DESCRIPTION PID CMD... — run CMD every 0.2 s until it
# succeeds. Fails when TIMEOUT_S passes or when PID (if not empty) exits.
wait_until() {
    local timeout="$1" what="$2" pid="$3"; shift 3
    local deadline=$((SECONDS + timeout))
    while :; do
        if "$@"; then return 0; fi
        if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
            log "process $pid exited while waiting for $what"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            log "timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}

# wait_for_port HOST PORT TIMEOUT_S [PID] — wait until HOST:PORT accepts.
wait_for_port() {
    wait_until "$3" "$1:$2 to accept connections" "${4:-}" port_open "$1" "$2"
}

# stop_pid PID TIMEOUT_S [NAME] — SIGTERM, wait up to TIMEOUT_S, then SIGKILL.
stop_pid() {
    local pid="$1" timeout="$2" name="${3:-process}"
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout))
    while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
    if pid_alive "$pid"; then
        log "$name (pid $pid) still alive after ${timeout}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        while pid_alive "$pid"; do sleep 0.1; done
    fi
}

# write_env FILE NAME=VALUE... — write an env.sh with one quoted export per line,
# atomically (readers never see a half-written file).
write_env() {
    local file="$1" kv; shift
    {
        echo "# generated by tests/services/$SLUICE_SCRIPT on $(date -Is); source it"
        for kv in "$@"; do printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"; done
    } >"$file.tmp"
    mv -f "$file.tmp" "$file"
}

# abs_dir DIR — create DIR if needed and print its absolute path.
abs_dir() {
    [[ -n "${1:-}" ]] || die "missing DIR argument"
    mkdir -p "$1" || die "cannot create $1"
    (cd "$1" && pwd)
}

# make_test_tls DIR — write the files of a throw-away PKI for the TLS tests
# into DIR (once; kept across restarts): ca.pem (the CA the servers' certificates
# chain to), server.pem/server.key (for 127.0.0.1 and localhost), client.pem/
# client.key (a client certificate from the same CA), other-ca.pem (an
# unrelated CA: "wrong CA" tests) and otherhost.pem/otherhost.key (from the
# right CA but for db.invalid only: "hostname mismatch" tests swap it in).
# EC P-256 keys: generated in milliseconds.
make_test_tls() {
    local d="$1"
    [[ -s "$d/otherhost.key" ]] && return 0
    command -v openssl >/dev/null || die "openssl not found; run tests/services/deps.sh"
    mkdir -p "$d"
    (
        cd "$d" || exit 1
        ossl() { openssl "$@" 2>>openssl.log; }
        key() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
        # leaf NAME CN SAN: a certificate signed by ca.pem
        leaf() {
            key "$1.key"
            ossl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
            printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\n' "$3" >"$1.ext"
            ossl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
                -extfile "$1.ext" -out "$1.pem"
            rm -f "$1.csr" "$1.ext"
        }
        key ca.key
        ossl req -x509 -new -key ca.key -subj "/CN=sluice test CA" -days 3650 -out ca.pem
        key other-ca.key
        ossl req -x509 -new -key other-ca.key -subj "/CN=some other CA" -days 3650 -out other-ca.pem
        leaf server 127.0.0.1 "IP:127.0.0.1,DNS:localhost"
        leaf client sluice "DNS:sluice"
        leaf otherhost db.invalid "DNS:db.invalid"
        chmod 0644 ./*.pem
        chmod 0600 ./*.key
    ) || die "could not create the test certificates in $d (see $d/openssl.log)"
}

# maven_fetch WHAT POM HOME EXPECTED_JAR [MVN_ARG...]: the runtime jars of
# POM from Maven Central into HOME/libs, once (HOME/.complete marks a whole
# copy); EXPECTED_JAR must be among them. Resolved into a temporary
# directory and moved into place, so a concurrent fetch or an interrupted
# one never leaves half a classpath. With $CMD = fetch a cached copy is
# reported.
maven_fetch() {
    local what="$1" pom="$2" home="$3" expect="$4"
    shift 4
    local libs="$home/libs"
    if [[ -f "$home/.complete" && -d "$libs" ]]; then
        [[ "${CMD:-}" != fetch ]] || log "$what jars already cached in $libs"
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found; run tests/services/deps.sh"
    mkdir -p "$home"
    local tmp="$libs.tmp.$$"
    rm -rf "$tmp"
    log "resolving $what jars from Maven Central into $libs"
    if ! (cd "$(dirname "$pom")" &&
          mvn -B -q -f "$pom" "$@" dependency:copy-dependencies -DincludeScope=runtime \
              -DoutputDirectory="$tmp") >"$home/mvn.log" 2>&1; then
        show_log "$home/mvn.log"
        rm -rf "$tmp"
        die "mvn dependency:copy-dependencies failed (log: $home/mvn.log)"
    fi
    [[ -f "$tmp/$expect" ]] || { rm -rf "$tmp"; die "$expect missing after mvn"; }
    rm -rf "$libs"
    mv "$tmp" "$libs" 2>/dev/null || rm -rf "$tmp"   # a concurrent fetch won the race
    touch "$home/.complete"
    log "cached $(find "$libs" -name '*.jar' | wc -l) jars in $libs"
}
