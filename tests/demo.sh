#!/usr/bin/env bash
# Starts the bundled tenant simulator and mounts it on ./mnt, so that qlikfs
# can be tried without a Qlik account.  `tests/demo.sh stop` undoes it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${QLIKFS_BUILD:-build}
MNT=${QLIKFS_DEMO_MNT:-$PWD/mnt}
STATE=${TMPDIR:-/tmp}/qlikfs-demo
mkdir -p "$STATE"

if [ "${1:-}" = stop ]; then
	fusermount3 -u "$MNT" 2>/dev/null || true
	rm -f "$STATE/qlikfs.pid"
	[ -f "$STATE/sim.pid" ] && kill "$(cat "$STATE/sim.pid")" 2>/dev/null || true
	rm -f "$STATE/sim.pid" "$STATE/port"
	echo "unmounted $MNT and stopped the simulator"
	exit 0
fi

if mountpoint -q "$MNT" 2>/dev/null; then
	echo "$MNT is already mounted (tests/demo.sh stop first)"; exit 1
fi
rm -f "$STATE/port"
QLIK_SIM_API_KEY=sim-demo-key setsid "$BUILD/tests/sim/qlik-sim" --port 0 --port-file "$STATE/port" \
	</dev/null >/dev/null 2>"$STATE/sim.log" &
echo $! >"$STATE/sim.pid"
for _ in $(seq 100); do [ -s "$STATE/port" ] && break; sleep 0.1; done
PORT=$(cat "$STATE/port")
mkdir -p "$MNT"
# in the foreground of a background job, so that $! is qlikfs itself: the
# demo signals that process only, never another mount's
QLIK_API_KEY=sim-demo-key setsid "$BUILD/fs/qlikfs" -f -o log_file="$STATE/qlikfs.log" \
	"http://127.0.0.1:$PORT" "$MNT" </dev/null >/dev/null 2>"$STATE/qlikfs.err" &
echo $! >"$STATE/qlikfs.pid"
for _ in $(seq 100); do mountpoint -q "$MNT" && break; sleep 0.1; done
mountpoint -q "$MNT" || { cat "$STATE/qlikfs.err"; exit 1; }

cat <<MSG
The simulated tenant at http://127.0.0.1:$PORT is mounted on $MNT.  Try:

  ls $MNT
  cat $MNT/me.json
  ls -l $MNT/apps | head
  ls $MNT/spaces/ "$MNT/spaces/@personal/apps"
  jq -r .name $MNT/users/*.json | sort | uniq -d
  find $MNT/data-files -name '*.json' | head
  getfattr -d -m user.qlik "$MNT/me.json"
  cp -r $MNT /tmp/tenant-backup && rsync -a --stats $MNT/ /tmp/tenant-backup/ | grep transferred
  sed -i 's/Finance team content/Edited through qlikfs/' "$MNT/spaces/Finance/space.json"
  mkdir "$MNT/spaces/Research" && ls "$MNT/spaces/Research"
  printf 'region,amount\nnorth,1\n' > /tmp/q.csv && cp /tmp/q.csv $MNT/data-files/ && cat $MNT/data-files/q.csv.json
  ls -l "$MNT/apps/.qvf" | head -3; jq -r '.[] | .name' $MNT/users/.index.json | head -3
  exec 3<>$MNT/api; printf '{"method":"GET","path":"/api/v1/spaces","query":{"limit":1}}' >&3; cat <&3; exec 3<&-
  kill -USR1 $(cat "$STATE/qlikfs.pid"); sleep 1; cat $MNT/changes/spaces.json
  watch -n1 cat $MNT/.status.json      # requests, cache, operations in flight
  tail -f $MNT/.errors                 # every change the tenant refused
  less $STATE/qlikfs.log

Stop with: tests/demo.sh stop
MSG
ls "$MNT"
