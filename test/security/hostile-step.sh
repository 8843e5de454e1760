#!/bin/bash
# The step of a hostile PR (issue 10's acceptance test). PR 1 is the victim:
# it leaves a marker in its working directory and its output file, says where
# they are, and waits. Any other PR attacks: each probe prints one line
# "<name> <ok|blocked> <detail>" to $EPHEMERA_WORKDIR/results, where "ok"
# means the attack got through. Nothing it finds is printed, only whether it
# found it. The operator config gives it the targets: CONFIG_DIR, APP_PORT,
# REDIS_PORT, POSTGRES_PORT.

if [ "$EPHEMERA_PR" = 1 ]; then
  echo "victim-marker" > "$EPHEMERA_WORKDIR/marker"
  echo "victim=victim-output" >> "$EPHEMERA_OUTPUT"
  echo "$EPHEMERA_WORKDIR/marker $EPHEMERA_OUTPUT" > "$EPHEMERA_WORKDIR/paths"
  while [ ! -e "$CONFIG_DIR/release-victim" ]; do sleep 0.1; done
  exit 0
fi

results="$EPHEMERA_WORKDIR/results"
: > "$results"
say() { echo "$1 $2 ${3:-}" >> "$results"; }
# ok when the command succeeds; its stderr's last line is the detail.
probe() {
  local name=$1; shift
  local err
  if err=$("$@" 2>&1 >/dev/null); then say "$name" ok; else say "$name" blocked "$(echo "$err" | tail -n1 | tr -s ' ' | cut -c1-100)"; fi
}
contains() { grep -qaF -- "$2" "$1"; }
connect() { timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2"; }

# The app's environment, through /proc: any process whose environ shows one of its secrets.
found=$(grep -lsaE '(WEBHOOK_SECRET|PRIVATE_KEY|EPHEMERA_POSTGRES_URL|REDIS_URL)=' /proc/[0-9]*/environ | wc -l)
if [ "$found" -gt 0 ]; then say proc-environ ok "$found processes"; else say proc-environ blocked "no process shows one"; fi

probe key-file contains "$CONFIG_DIR/app.pem" "PRIVATE KEY"
probe dot-env contains "$CONFIG_DIR/.env" "APP_ID="
probe sqlite-store contains "$CONFIG_DIR/data/ephemera.sqlite" "SQLite format 3"
read -r victim_marker victim_output < "$CONFIG_DIR/victim-paths"
probe other-workdir contains "$victim_marker" "victim-marker"
probe other-output contains "$victim_output" "victim=victim-output"
probe other-workdir-write bash -c "echo pwned > '$(dirname "$victim_marker")/pwned'"
probe config-dir-write bash -c "echo pwned > '$CONFIG_DIR/pwned'"
probe redis bash -c "exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT && printf 'PING\r\n' >&3 && timeout 2 head -c 5 <&3 | grep -q PONG"
probe postgres-admin-tcp connect 127.0.0.1 "$POSTGRES_PORT"
probe postgres-admin-psql timeout 5 psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d postgres -Atc "select 1"
probe app-port connect 127.0.0.1 "$APP_PORT"
probe metadata connect 169.254.169.254 80

# A fork bomb, bounded: at most 200 sleepers, which a step limit stops far sooner.
# dash gives up at the first failed fork (bash would retry for seconds); each
# sleeper's pid is written down so builtins alone (no fork left) end them.
bomb="$EPHEMERA_WORKDIR/bomb"
: > "$bomb"
sh -c 'i=0; while [ $i -lt 200 ]; do sleep 30 & echo $! >> "$1"; i=$((i+1)); done' bomb "$bomb" 2>/dev/null
spawned=0
while read -r pid; do kill "$pid" 2>/dev/null; spawned=$((spawned + 1)); done < "$bomb"
if [ "$spawned" -ge 200 ]; then say fork-bomb ok "$spawned processes"; else say fork-bomb blocked "stopped after $spawned processes"; fi

# Builtins only: the sleepers may not all be reaped yet.
if echo mine > "$EPHEMERA_WORKDIR/own-file" && read -r line < "$EPHEMERA_WORKDIR/own-file" && [ "$line" = mine ]; then
  say own-workdir-write ok
else
  say own-workdir-write blocked
fi
echo done >> "$results"
