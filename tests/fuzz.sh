#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (ASan + UBSan) into
# a build directory of their own, then runs them (docs/FUZZING.md):
#
#   tests/fuzz.sh --replay            every target over its seed corpus once (CI)
#   tests/fuzz.sh --time SECONDS      every target for SECONDS; prints the
#                                     executions of each and keeps what it
#                                     found in a temporary directory
#   tests/fuzz.sh --build             only build
#
# Options: --build-dir DIR (default: build-fuzz), --jobs N (parallel
# compiles, default 2), and target names to restrict the run (names, url...).
# Exit status: 0, 1 when a target crashed, leaked or broke an invariant,
# 2 on a usage or build error.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FUZZ="$ROOT/tests/fuzz"
BUILD="$ROOT/build-fuzz"
MODE=""
SECONDS_EACH=0
JOBS=2
ONLY=()

usage() {
	sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--replay) MODE=replay ;;
	--build) MODE=build ;;
	--time)
		MODE=time
		SECONDS_EACH="${2:-}"
		shift
		[[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] && [ "$SECONDS_EACH" -gt 0 ] || usage
		;;
	--build-dir)
		BUILD="$(realpath -m "${2:-}")"
		shift
		;;
	--jobs)
		JOBS="${2:-}"
		shift
		[[ "$JOBS" =~ ^[0-9]+$ ]] && [ "$JOBS" -gt 0 ] || usage
		;;
	-h | --help) usage ;;
	-*) usage ;;
	*) ONLY+=("$1") ;;
	esac
	shift
done
[ -n "$MODE" ] || usage

CC="${FUZZ_CC:-clang}"
command -v "$CC" >/dev/null || { echo "fuzz.sh: $CC not found (apt-get install clang)" >&2; exit 2; }

PKGS="libcjson libcurl fuse3 yaml-0.1 libcrypto"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS="-std=gnu11 -g -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -DFUSE_USE_VERSION=312"
CFLAGS+=" -DQLIKFS_VERSION=\"fuzz\" -I$ROOT/fs -I$ROOT/cache $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) -lpthread -lm"

# Every fs/ source (in its layer folder) but the daemon's main() goes into one archive; a target
# links only the objects it needs from it.
mkdir -p "$BUILD/obj"
SRCS=()
shopt -s globstar
for f in "$ROOT"/fs/**/*.c "$ROOT"/cache/cache.c; do
	[ "$(basename "$f")" = main.c ] || SRCS+=("$f")
done

# Rebuilds obj when its source or any header is newer.
newest_header="$(ls -t "$ROOT"/fs/**/*.h "$ROOT"/cache/*.h "$FUZZ"/*.h | head -1)"
stale() { [ ! -e "$2" ] || [ "$1" -nt "$2" ] || [ "$newest_header" -nt "$2" ] || [ "$0" -nt "$2" ]; }

compile() { # src obj
	"$CC" $CFLAGS $SAN -fsanitize=fuzzer-no-link -c "$1" -o "$2"
}

pids=()
build_fail=0
wait_some() { # waits while JOBS compiles run
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n || build_fail=1
	done
}
changed=0
for f in "${SRCS[@]}" "$FUZZ"/fuzz_*.c; do
	o="$BUILD/obj/$(basename "${f%.c}").o"
	[ "$f" = "$FUZZ/fuzz_common.c" ] && o="$BUILD/obj/fuzz_common.o"
	if stale "$f" "$o"; then
		changed=1
		wait_some
		compile "$f" "$o" &
	fi
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || build_fail=1; done
[ "$build_fail" -eq 0 ] || { echo "fuzz.sh: compilation failed" >&2; exit 2; }

LIB="$BUILD/libqlikfs_fuzz.a"
if [ "$changed" -eq 1 ] || [ ! -e "$LIB" ]; then
	rm -f "$LIB"
	objs=()
	for f in "${SRCS[@]}"; do objs+=("$BUILD/obj/$(basename "${f%.c}").o"); done
	ar rcs "$LIB" "${objs[@]}"
fi

TARGETS=()
for f in "$FUZZ"/fuzz_*.c; do
	n="$(basename "${f%.c}")"
	n="${n#fuzz_}"
	[ "$n" = common ] && continue
	if [ ${#ONLY[@]} -gt 0 ]; then
		keep=0
		for x in "${ONLY[@]}"; do [ "$x" = "$n" ] && keep=1; done
		[ "$keep" -eq 1 ] || continue
	fi
	TARGETS+=("$n")
	bin="$BUILD/fuzz_$n"
	if [ ! -e "$bin" ] || [ "$LIB" -nt "$bin" ] || [ "$BUILD/obj/fuzz_$n.o" -nt "$bin" ] ||
		[ "$BUILD/obj/fuzz_common.o" -nt "$bin" ]; then
		"$CC" $SAN -fsanitize=fuzzer -o "$bin" "$BUILD/obj/fuzz_$n.o" \
			"$BUILD/obj/fuzz_common.o" "$LIB" $LIBS ||
			{ echo "fuzz.sh: linking fuzz_$n failed" >&2; exit 2; }
	fi
done
[ ${#TARGETS[@]} -gt 0 ] || { echo "fuzz.sh: no such target: ${ONLY[*]}" >&2; exit 2; }
[ "$MODE" = build ] && { echo "built ${#TARGETS[@]} targets in $BUILD"; exit 0; }

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# A target's dictionary: dict/<name>.dict, else dict/json.dict for the
# targets whose input is mostly JSON.
JSON_TARGETS=" errbody listing resource reswrite rawreq reports_reg changes_state "
dict_of() {
	if [ -e "$FUZZ/dict/$1.dict" ]; then
		echo "-dict=$FUZZ/dict/$1.dict"
	elif [[ "$JSON_TARGETS" == *" $1 "* ]]; then
		echo "-dict=$FUZZ/dict/json.dict"
	fi
	return 0
}

failed=()
if [ "$MODE" = replay ]; then
	for n in "${TARGETS[@]}"; do
		corpus="$FUZZ/corpus/$n"
		files=("$corpus"/*)
		if [ ! -e "${files[0]}" ]; then
			echo "fuzz_$n: no corpus in $corpus" >&2
			failed+=("$n")
			continue
		fi
		log="$BUILD/replay-$n.log"
		if "$BUILD/fuzz_$n" -runs=1 "${files[@]}" >"$log" 2>&1; then
			echo "fuzz_$n: ${#files[@]} inputs ok"
		else
			echo "fuzz_$n: FAILED (log: $log)"
			tail -40 "$log"
			failed+=("$n")
		fi
	done
else
	OUT="$(mktemp -d "${TMPDIR:-/tmp}/qlikfs-fuzz.XXXXXX")"
	echo "new inputs and crashes go to $OUT"
	for n in "${TARGETS[@]}"; do
		mkdir -p "$OUT/$n"
		log="$OUT/$n.log"
		# shellcheck disable=SC2046
		if "$BUILD/fuzz_$n" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
			-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$OUT/$n/crash-" \
			$(dict_of "$n") "$OUT/$n" "$FUZZ/corpus/$n" >"$log" 2>&1; then
			st=ok
		else
			st=FAILED
			failed+=("$n")
		fi
		execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
		printf 'fuzz_%-14s %-6s %12s executions in %ss (log: %s)\n' "$n" "$st" "${execs:-?}" \
			"$SECONDS_EACH" "$log"
		[ "$st" = ok ] || grep -m5 -E 'ERROR|SUMMARY|invariant|runtime error' "$log" || true
	done
fi

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz.sh: failed: ${failed[*]}" >&2
	exit 1
fi
exit 0
