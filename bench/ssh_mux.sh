#!/bin/bash
# ssh_mux.sh - what one multiplexed SSH master buys the `ssh` transport.
#
# Starts a throwaway sshd on 127.0.0.1 (fresh host and client keys, free port, the `xl`
# stand-in from scheduler/tests/fixtures/xl keeping its state in the temp dir), then in one
# run measures:
#   1. ACTIONS sequential actions (alternating pause/unpause of one domain) through
#      SshDispatcher: the xl_over_ssh example's `repeat` step, one master connection;
#   2. ACTIONS fresh `ssh` processes, each logging in and running the stand-in's
#      `xl pause`/`xl unpause` once.
# Prints a Markdown table: wall time in total and per action, SSH logins (from sshd's log),
# and the ratio. Note the dispatcher's Pause runs two xl commands (`xl list -v NAME` to refuse
# a nested pause, then `xl pause`), so its column runs 1.5 remote commands per action.
#
# usage: bench/ssh_mux.sh [ACTIONS]        (default 100; needs openssh-server, python3)
set -euo pipefail
ACTIONS=${1:-100}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
XL=$ROOT/scheduler/tests/fixtures/xl
EXAMPLE=$ROOT/target/release/examples/xl_over_ssh

(cd "$ROOT" && cargo build --release -q -p zentific-scheduler --example xl_over_ssh)

T=$(mktemp -d /tmp/zentific-ssh-bench.XXXXXX)
SSHD_PID=
cleanup() {
    if [ -n "$SSHD_PID" ]; then
        # sshd's per-connection children first, then the listener (all started by this script)
        for child in $(ps -o pid= --ppid "$SSHD_PID" 2>/dev/null); do kill "$child" 2>/dev/null || true; done
        kill "$SSHD_PID" 2>/dev/null || true
        wait "$SSHD_PID" 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT

USER_NAME=$(id -un)
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -C zentific-bench -f "$T/host_key"
ssh-keygen -q -t ed25519 -N '' -C zentific-bench -f "$T/client_key"
cp "$T/client_key.pub" "$T/authorized_keys"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$T/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/host_key
PidFile none
AuthorizedKeysFile $T/authorized_keys
AllowUsers $USER_NAME
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
UseDNS no
MaxStartups 100:30:200
LogLevel INFO
SetEnv HOME=$T XL_STANDIN_STATE=$T/xl-state.json XL_STANDIN_LOG=$T/xl-calls.log
EOF
/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
SSHD_PID=$!

# readiness: poll (bounded) until sshd greets with its banner
ready=0
for _ in $(seq 500); do
    if python3 - "$PORT" 2>/dev/null <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
sys.exit(0 if s.recv(4) == b"SSH-" else 1)
EOF
    then ready=1; break; fi
    kill -0 "$SSHD_PID" 2>/dev/null || break
    sleep 0.02
done
[ $ready = 1 ] || { echo "sshd did not start:" >&2; cat "$T/sshd.log" >&2; exit 1; }

cat > "$T/xl-state.json" <<'EOF'
{"next_domid": 2, "domains": {"bench1": {"domid": 1, "uuid": "5a0c5b2e-9f3e-4d1a-8c7b-6e5f4d3c2b1a", "type": "pv", "memory_kb": 131072, "max_memory_kb": 131072, "vcpus": 1, "max_vcpus": 1, "pause_count": 0, "cpu_time": 0.0}}}
EOF
logins() { grep -c "Accepted publickey" "$T/sshd.log" || true; }
now_ns() { date +%s%N; }

# 1. one master connection
before=$(logins)
t0=$(now_ns)
"$EXAMPLE" --uri "ssh://$USER_NAME@127.0.0.1:$PORT?xl=$XL" --identity "$T/client_key" \
    --known-hosts "$T/known_hosts" repeat "$ACTIONS" bench1 > "$T/mux.out"
t1=$(now_ns)
mux_ns=$((t1 - t0)); mux_logins=$(( $(logins) - before ))
mux_calls=$(wc -l < "$T/xl-calls.log")

# 2. a fresh ssh process (and login) per action
SSH=(ssh -q -T -p "$PORT" -i "$T/client_key" -o IdentitiesOnly=yes -o BatchMode=yes
     -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$T/known_hosts"
     -o ControlMaster=no -o ControlPath=none "$USER_NAME@127.0.0.1")
before=$(logins)
t0=$(now_ns)
for i in $(seq "$ACTIONS"); do
    if [ $((i % 2)) = 1 ]; then verb=pause; else verb=unpause; fi
    "${SSH[@]}" "$XL" "$verb" bench1
done
t1=$(now_ns)
fresh_ns=$((t1 - t0)); fresh_logins=$(( $(logins) - before ))
fresh_calls=$(( $(wc -l < "$T/xl-calls.log") - mux_calls ))

python3 - "$ACTIONS" "$mux_ns" "$mux_logins" "$mux_calls" "$fresh_ns" "$fresh_logins" "$fresh_calls" <<'EOF'
import sys
actions, mux_ns, mux_logins, mux_calls, fresh_ns, fresh_logins, fresh_calls = map(int, sys.argv[1:])
print("| %d sequential actions | xl runs | SSH logins | wall time total | per action |" % actions)
print("|---|---:|---:|---:|---:|")
for label, ns, logins, calls in (
    ("SshDispatcher, one multiplexed master", mux_ns, mux_logins, mux_calls),
    ("fresh `ssh` process per action", fresh_ns, fresh_logins, fresh_calls),
):
    print("| %s | %d | %d | %.0f ms | %.2f ms |" % (label, calls, logins, ns / 1e6, ns / 1e6 / actions))
print()
print("Fresh ssh takes **%.1f×** the wall time of the multiplexed master." % (fresh_ns / mux_ns))
EOF
