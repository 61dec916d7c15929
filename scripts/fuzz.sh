#!/usr/bin/env bash
# Fuzzes every parser of untrusted input with libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer (fuzz/fuzz_*.cpp): builds them in build-san/ (clang; the build
# of scripts/test.sh --sanitize, scripts/sanitize.sh), writes the seed corpora
# (scripts/fuzz_seeds.py), runs each target for SECONDS and prints one JSON line per target
# (runs, coverage, corpus size, crashes). Exits 1 when any target crashed; the
# crashing input is kept in build-san/artifacts/ (replay: build-san/fuzz/TARGET FILE).
# Corpora grow in build-san/corpus/ across runs.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]     (default 30 s each, every target)
#   JOBS=2 runs two targets at once; LETTER_FUZZ_NO_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-30}
shift || true
source scripts/sanitize.sh
BUILD=$SAN_BUILD
JOBS=${JOBS:-1}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
if [ "${LETTER_FUZZ_NO_BUILD:-0}" != 1 ]; then
  configure_sanitize_build
  cmake --build "$BUILD" -j"$(nproc)" --target "${targets[@]}" >"$BUILD/fuzz-build.log" 2>&1 ||
    { tail -40 "$BUILD/fuzz-build.log" >&2; echo "fuzz: build failed ($BUILD/fuzz-build.log)" >&2; exit 1; }
fi

python3 scripts/fuzz_seeds.py "$BUILD/seeds" >/dev/null
mkdir -p "$BUILD/corpus" "$BUILD/artifacts" "$BUILD/logs"
export OMP_NUM_THREADS=1

fuzz_one() {
  local t=$1 name=${1#fuzz_}
  local corpus="$BUILD/corpus/$name" log="$BUILD/logs/$name.log"
  mkdir -p "$corpus"
  local rc=0
  # -malloc_limit_mb: an input that makes a parser allocate more than this is a finding
  # (sizes read from a file must be checked before allocation).
  "$BUILD/fuzz/$t" "$corpus" "$BUILD/seeds/$name" -max_total_time="$SECONDS_EACH" \
    -rss_limit_mb=3072 -malloc_limit_mb=1024 -timeout=30 -max_len=65536 \
    -dict=fuzz/fuzz.dict -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$name-" \
    >"$log" 2>&1 || rc=$?
  local stats
  stats=$(grep -E "^#[0-9]+.*(DONE|cov:)" "$log" | tail -1 || true)
  local runs cov ft corp
  runs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" || echo 0)
  cov=$(echo "$stats" | grep -oE "cov: [0-9]+" | grep -oE "[0-9]+" || echo 0)
  ft=$(echo "$stats" | grep -oE "ft: [0-9]+" | grep -oE "[0-9]+" || echo 0)
  corp=$(ls "$corpus" | wc -l)
  printf '{"target": "%s", "seconds": %s, "runs": %s, "cov": %s, "features": %s, "corpus": %s, "crashed": %s}\n' \
    "$name" "$SECONDS_EACH" "${runs:-0}" "${cov:-0}" "${ft:-0}" "$corp" "$([ $rc -eq 0 ] && echo false || echo true)"
  if [ $rc -ne 0 ]; then
    echo "fuzz: $name crashed (exit $rc); log $log:" >&2
    grep -E "ERROR|SUMMARY|runtime error|terminate|deadly|Test unit written" "$log" | head -8 >&2
    return 1
  fi
}
export -f fuzz_one
export BUILD SECONDS_EACH

status=0
printf '%s\n' "${targets[@]}" | xargs -P "$JOBS" -I{} bash -c 'fuzz_one {}' || status=1
exit $status
