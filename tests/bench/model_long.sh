#!/bin/sh
# The reference-model test, long: STEPS (default 10000) random steps over all
# kinds, once with a short cache TTL (1 s, windows waited out) and once with a
# long one (300 s, SIGHUP drops caches).  Prints each run's seed, replay
# command, step count, duration and operation counts; on a divergence, the
# step list and the replay command.  Exits non-zero if either run diverged.
#   QLIKFS_BUILD=build tests/bench/model_long.sh [SEED]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
seed=${1:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
steps=${STEPS:-10000}
py=${PYTHON:-/usr/bin/python3}
rc=0
for ttl in 1000 300000; do
	nice -n 10 "$py" "$here/model.py" --seed "$seed" --steps "$steps" --ttl "$ttl" \
		--kinds spaces,apps,datafiles,users,stores || rc=1
	seed=$((seed + 1))
done
exit $rc
