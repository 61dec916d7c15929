#!/usr/bin/env bash
# Run every stage's benchmark and collect their JSON into one bench.json.
#
#   scripts/bench.sh [--device cpu|cuda] [--threads N] [--out FILE] [--only NAME[,NAME...]]
#
# Benchmarks (each prints one JSON object; see the usage header of bench/bench_<name>.cpp):
#   embed          bench_embed: MiniLM over the first items of Beauty (all items on cuda)
#   cf             bench_cf: one SASRec epoch on Beauty + full-ranking evaluation
#   tokenizer      bench_tokenizer: RQ-VAE epochs, 4096-d paper layers (a) and 384-d (b), float32
#   tokenizer_bf16 the same with --dtype bfloat16 (tokenizer.dtype) and the bf16 GEMM rate
#   kmeans         bench_kmeans: size-constrained k-means, 256 clusters, 10 x 10 run     [CPU only]
#   rec_small      bench_rec --size small: the CPU-budget recommender, Beauty with LETTER codes
#   rec_paper      bench_rec --size paper: LETTER-TIGER's 4+4-layer model, Beauty (training
#                  under bf16 autocast where the device has bf16 hardware, as recommender.bf16)
# Sizes are chosen so that the whole script takes about 8 minutes on a 2-core CPU (the
# cuda sizes are larger). bench.json holds: "benchmarks" (each benchmark's JSON under its
# name, or {"error", "rc"} when it failed), "commands", "wall_seconds", "machine" (the
# benchmarks' machine description plus CPU, cores, memory, load average, GPU), and
# "sgemm_gflops" (the sgemm reference each benchmark measured in its own process: per
# benchmark, min, median, max).
#
# Environment: BUILD_DIR (default build; the bench_* executables), DATA_ROOT (default
# ../shared/data), BENCH_TIMEOUT (seconds per benchmark, default 300), PYTHON (python3).
# Default output: runs/bench/bench.json (per-benchmark stdout/stderr beside it).
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "bench.sh: error: $*" >&2; exit 2; }

DEVICE=cpu THREADS=0 OUT="" ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --device) [ $# -ge 2 ] || die "--device needs cpu or cuda"; DEVICE=$2; shift 2 ;;
    --threads) [ $# -ge 2 ] || die "--threads needs a number"; THREADS=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a file"; OUT=$2; shift 2 ;;
    --only) [ $# -ge 2 ] || die "--only needs benchmark names"; ONLY=$2; shift 2 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
case "$DEVICE" in cpu|cuda|cuda:*) ;; *) die "--device must be cpu or cuda, got '$DEVICE'" ;; esac
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
DATA_ROOT=${DATA_ROOT:-../shared/data}
PY=${PYTHON:-python3}
TMO=${BENCH_TIMEOUT:-300}
OUT=${OUT:-runs/bench/bench.json}
BEAUTY=$DATA_ROOT/Beauty
[ -f "$BEAUTY/Beauty.inter.json" ] || die "Beauty not found in $DATA_ROOT (set DATA_ROOT)"
for b in bench_embed bench_cf bench_tokenizer bench_kmeans bench_rec; do
  [ -x "$BUILD_DIR/$b" ] || die "$BUILD_DIR/$b not found: build first (cmake --build $BUILD_DIR -j) or set BUILD_DIR"
done
LOGDIR=$(dirname "$OUT")/bench-logs
mkdir -p "$LOGDIR"

if [ "$DEVICE" = cpu ]; then
  EMBED_ARGS=(--limit 600)
  CF_ARGS=(--epochs 1)
  TOK_ARGS=(--case all --epochs 2 --items 2000)
  KM_ARGS=()  # the paper size: 12,101 items
  REC_SMALL=(--steps 8 --batch 256 --users 256)
  REC_PAPER=(--steps 2 --batch 256 --users 64)
else
  EMBED_ARGS=()
  CF_ARGS=(--epochs 2)
  TOK_ARGS=(--case all --epochs 3)
  KM_ARGS=()
  REC_SMALL=(--steps 50 --batch 1024 --users 4096)
  REC_PAPER=(--steps 50 --batch 1024 --users 4096)
fi
CODES=$BEAUTY/Beauty.index.json
declare -A CMD
CMD[embed]="$BUILD_DIR/bench_embed --data $BEAUTY --device $DEVICE --threads $THREADS ${EMBED_ARGS[*]}"
CMD[cf]="$BUILD_DIR/bench_cf $BEAUTY --device $DEVICE --threads $THREADS ${CF_ARGS[*]}"
CMD[tokenizer]="$BUILD_DIR/bench_tokenizer --device $DEVICE --threads $THREADS ${TOK_ARGS[*]}"
CMD[tokenizer_bf16]="$BUILD_DIR/bench_tokenizer --device $DEVICE --threads $THREADS --dtype bfloat16 ${TOK_ARGS[*]}"
CMD[kmeans]="$BUILD_DIR/bench_kmeans --threads $THREADS ${KM_ARGS[*]}"
CMD[rec_small]="$BUILD_DIR/bench_rec --data $BEAUTY --codes $CODES --size small --device $DEVICE --threads $THREADS ${REC_SMALL[*]}"
CMD[rec_paper]="$BUILD_DIR/bench_rec --data $BEAUTY --codes $CODES --size paper --device $DEVICE --threads $THREADS ${REC_PAPER[*]}"
ORDER=(embed cf tokenizer tokenizer_bf16 kmeans rec_small rec_paper)
if [ -n "$ONLY" ]; then
  IFS=, read -r -a ORDER <<< "$ONLY"
  for n in "${ORDER[@]}"; do [ -n "${CMD[$n]:-}" ] || die "unknown benchmark '$n' (embed cf tokenizer tokenizer_bf16 kmeans rec_small rec_paper)"; done
fi

echo "bench.sh: device $DEVICE, threads $THREADS, load $(cut -d' ' -f1-3 /proc/loadavg), output $OUT"
T0=$(date +%s)
for n in "${ORDER[@]}"; do
  echo "== $n: ${CMD[$n]}"
  t0=$(date +%s.%N)
  rc=0
  # shellcheck disable=SC2086  # the command string is split on purpose (no spaces in paths)
  timeout "$TMO" ${CMD[$n]} > "$LOGDIR/$n.json" 2> "$LOGDIR/$n.log" || rc=$?
  t1=$(date +%s.%N)
  echo "$rc $t0 $t1" > "$LOGDIR/$n.status"
  echo "${CMD[$n]}" > "$LOGDIR/$n.cmd"
  [ "$rc" = 0 ] || echo "   $n failed (exit $rc$([ "$rc" = 124 ] && echo ", timed out after $TMO s")); see $LOGDIR/$n.log" >&2
  printf '   %s: %.1f s\n' "$n" "$("$PY" -c "print($t1 - $t0)")"
done

rc=0
"$PY" - "$OUT" "$LOGDIR" "$DEVICE" "$THREADS" "${ORDER[@]}" <<'EOF' || rc=$?
import json, os, platform, statistics, subprocess, sys, time
out, logdir, device, threads, names = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
res = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "device": device, "threads": threads,
       "benchmarks": {}, "commands": {}, "wall_seconds": {}}
sgemm, machine = {}, {}
for n in names:
    rc, t0, t1 = open(os.path.join(logdir, n + ".status")).read().split()
    res["wall_seconds"][n] = round(float(t1) - float(t0), 2)
    text = open(os.path.join(logdir, n + ".json")).read()
    try:
        j = json.loads(text) if rc == "0" else None
    except ValueError:
        j = None
    if j is None:
        err = open(os.path.join(logdir, n + ".log")).read().strip().splitlines()[-5:]
        res["benchmarks"][n] = {"error": "\n".join(err) or "no output", "rc": int(rc)}
        continue
    res["benchmarks"][n] = j
    for k in ("sgemm_gflops", "sgemm_gflops_before"):
        if isinstance(j.get(k), (int, float)):
            sgemm[n] = j[k]
            break
    if not machine and isinstance(j.get("machine"), dict):
        machine = dict(j["machine"])
res["commands"] = {n: open(os.path.join(logdir, n + ".cmd")).read().strip() for n in names}
def first(path, prefix):
    try:
        for line in open(path):
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
machine.update({"host": platform.node(), "kernel": platform.release(), "cores_online": os.cpu_count(),
                "cpu_model": first("/proc/cpuinfo", "model name"), "mem_total": first("/proc/meminfo", "MemTotal"),
                "load_avg_end": open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else None})
try:
    g = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                       capture_output=True, text=True, timeout=20)
    if g.returncode == 0:
        machine["gpus"] = [l.strip() for l in g.stdout.splitlines() if l.strip()]
except (OSError, subprocess.SubprocessError):
    pass
res["machine"] = machine
vals = list(sgemm.values())
res["sgemm_gflops"] = {"per_benchmark": sgemm, "min": min(vals) if vals else None,
                       "median": statistics.median(vals) if vals else None, "max": max(vals) if vals else None,
                       "note": "float32 matmul rate measured inside each benchmark's process (CPU sgemm on cpu, "
                               "the GPU's on cuda); benchmarks compare their achieved GFLOP/s to it"}
failed = [n for n, j in res["benchmarks"].items() if "error" in j]
res["failed"] = failed
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
with open(out + ".tmp", "w") as f:
    json.dump(res, f, indent=2)
os.replace(out + ".tmp", out)
print(f"wrote {out}: {len(names) - len(failed)} of {len(names)} benchmarks"
      + (f"; failed: {', '.join(failed)}" if failed else ""))
sys.exit(1 if failed else 0)
EOF
echo "bench.sh: total $(( $(date +%s) - T0 )) s"
exit "$rc"
