#!/usr/bin/env bash
# Reproduce the LETTER paper's tables for one dataset with one command:
#   embed -> train-cf (SASRec) -> train-tokenizer (tiger, letter, and the LETTER ablations)
#   -> train-recommender (5 variants) -> evaluate -> scripts/report.py (RUN_DIR/report.md).
#
#   scripts/reproduce.sh DATASET [--budget cpu|gpu|smoke] [--run-dir DIR] [--threads N]
#                        [--device DEV] [--set KEY=VALUE]... [--no-report] [--dry-run]
#
# DATASET   a folder of $DATA_ROOT (default ../shared/data): Beauty | Instruments, or tiny with
#           DATA_ROOT=data (the bundled synthetic data). Settings: configs/<dataset>.json.
# --budget  smoke: configs/tiny.json's sizes with short schedules (about 1-2 minutes on 2 cores);
#           cpu (default): fits 60 minutes on a 2-core CPU: all users (CPU_USERS=N: a seeded
#             subset of N users, all items kept), TF-IDF embeddings (128-d; EMB_NPY=FILE imports
#             precomputed ones instead), SASRec up to 25 epochs, tokenizers 100 epochs with one
#             k-means restart, the 2+2-layer d_model 64 recommender for 1 epoch (tables in the report);
#           gpu: the paper configuration, configs/<dataset>.json as is, --device cuda.
# --run-dir default runs/reproduce-<DATASET>-<budget>.
# --set     a config override for every stage, after the budget's (e.g. --set recommender.epochs=3);
#           only the stages whose config sections it touches (and their downstream) re-run.
#
# Stages and run-directory layout (every stage has its own folder):
#   data/<DATASET>/   cpu budget only: the user subset (scripts/subsample_users.py)
#   embed/            items.emb.npy       (Instruments: the shipped SASRec vectors imported)
#   cf/               items.cf.npy, metrics.json (SASRec = Table 1 baseline)
#   tok-<m>/          codes.json, stats.json for m = tiger, letter, collab (beta = 0), div (alpha = 0)
#   rec-<v>/          recommender.pt, train_summary.json, metrics.json (test) for
#                     v = tiger (tiger codes, tau 1), collab, div (their codes, tau 1),
#                     both (letter codes, tau 1), letter (letter codes, config tau) = Table 2
#   timings.json      wall time, status and config hash of every stage; machine, device, threads
#   report.md, *.svg  written by scripts/report.py
# A stage is skipped when its artifact exists and the SHA-256 of its resolved config (the
# sections it reads, from `letter config`, plus its flags and the hashes of the stages it
# reads from) equals the one stored beside the artifact (<subcommand>.sha256, with the hashed
# JSON in <subcommand>.resolved.json). A stage that was interrupted with the same config
# continues from its checkpoint (--resume); one whose config changed starts afresh.
# Seeds are fixed (the config's seed, 42). Environment: DATA_ROOT, LETTER_BIN (default
# $BUILD_DIR/letter, BUILD_DIR default build), THREADS, CPU_USERS, EMB_NPY, PYTHON (python3).
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "reproduce.sh: error: $*" >&2; exit 2; }

DS="" BUDGET=cpu RUN="" DEVICE="" NO_REPORT=0 DRY=0
USER_SETS=()
THREADS=${THREADS:-}
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --budget) [ $# -ge 2 ] || die "--budget needs a value (cpu|gpu|smoke)"; BUDGET=$2; shift 2 ;;
    --budget=*) BUDGET=${1#*=}; shift ;;
    --run-dir) [ $# -ge 2 ] || die "--run-dir needs a folder"; RUN=$2; shift 2 ;;
    --run-dir=*) RUN=${1#*=}; shift ;;
    --threads) [ $# -ge 2 ] || die "--threads needs a number"; THREADS=$2; shift 2 ;;
    --device) [ $# -ge 2 ] || die "--device needs a value"; DEVICE=$2; shift 2 ;;
    --set) [ $# -ge 2 ] || die "--set needs KEY=VALUE"; USER_SETS+=("$2"); shift 2 ;;
    --no-report) NO_REPORT=1; shift ;;
    --dry-run) DRY=1; shift ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$DS" ] || die "one DATASET only (got '$DS' and '$1')"; DS=$1; shift ;;
  esac
done
[ -n "$DS" ] || { usage >&2; die "missing DATASET (Beauty | Instruments | tiny)"; }
case "$BUDGET" in cpu|gpu|smoke) ;; *) die "--budget must be cpu, gpu or smoke, got '$BUDGET'" ;; esac

cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
BUILD_DIR=${BUILD_DIR:-build}
BIN=${LETTER_BIN:-$BUILD_DIR/letter}
[ -x "$BIN" ] || die "letter binary '$BIN' not found: build it (cmake -S . -B build && cmake --build build -j) or set LETTER_BIN"
command -v "$PY" >/dev/null || die "$PY not found (report and hashing need Python 3)"
if [ -z "${DATA_ROOT:-}" ]; then
  DATA_ROOT=../shared/data
  [ "$DS" = tiny ] && DATA_ROOT=data
fi
SRC=$DATA_ROOT/$DS
[ -f "$SRC/$DS.inter.json" ] || die "dataset not found: $SRC/$DS.inter.json (set DATA_ROOT; DATASET is a folder name there)"
LOWER=$(echo "$DS" | tr '[:upper:]' '[:lower:]')
CFG=configs/$LOWER.json
[ -f "$CFG" ] || die "no config $CFG for dataset $DS"
RUN=${RUN:-runs/reproduce-$DS-$BUDGET}
if [ -z "$DEVICE" ]; then DEVICE=cpu; [ "$BUDGET" = gpu ] && DEVICE=cuda; fi
# Threads: smoke 1 (tiny tensors: more threads only contend on a shared machine), cpu all
# cores, gpu the default (0 = all cores for the CPU-side work).
if [ -z "$THREADS" ]; then
  case "$BUDGET" in smoke) THREADS=1 ;; cpu) THREADS=$(nproc) ;; gpu) THREADS=0 ;; esac
fi
HAS_TEXT=1
[ -f "$SRC/$DS.item.json" ] || HAS_TEXT=0

# ---------------------------------------------------------------------------------------
# Budget settings: every stage gets --config $CFG plus the --set lists below.
DATA_SETS=() EMBED_SETS=() CF_SETS=() TOK_SETS=() REC_SETS=() EVAL_SETS=()
DATA_PATH=$SRC
case "$BUDGET" in
  smoke)
    CF_SETS=(cf.epochs=10 cf.lr=0.003)
    TOK_SETS=(tokenizer.epochs=60 tokenizer.eval_every=20)
    REC_SETS=(recommender.epochs=2 recommender.valid_users=200)
    ;;
  cpu)
    CPU_USERS=${CPU_USERS:-all}
    if [ "$CPU_USERS" != all ]; then
      DATA_PATH=$RUN/data/$DS
      DATA_SETS=(data.kcore=0)  # the subset keeps every item id (see subsample_users.py)
    fi
    EMBED_SETS=(embed.encoder=tfidf embed.dim=128)
    CF_SETS=(cf.epochs=25 cf.lr=0.003 cf.patience=5)
    TOK_SETS=(tokenizer.epochs=100 tokenizer.eval_every=25 tokenizer.kmeans_restarts=1
              tokenizer.lr=0.004 tokenizer.warmup_epochs=5 tokenizer.schedule=cosine)
    # The CPU model of scripts/run_recommender_cpu.sh (2+2 layers, d_model 64, 4 x 16 heads).
    REC_SETS=(recommender.encoder_layers=2 recommender.decoder_layers=2 recommender.d_model=64
              recommender.heads=4 recommender.d_kv=16 recommender.d_ff=256 recommender.epochs=1
              recommender.batch_size=256 recommender.lr=0.002 recommender.valid_users=500
              recommender.patience=3)
    EVAL_SETS=(eval.batch_size=256)
    ;;
  gpu)
    EVAL_SETS=(eval.batch_size=1024)
    ;;
esac
DATA_SETS=("data.path=$DATA_PATH" "${DATA_SETS[@]}")
if [ -n "${EMB_NPY:-}" ]; then
  [ -f "$EMB_NPY" ] || die "EMB_NPY=$EMB_NPY not found"
  EMBED_SETS=("embed.from_npy=$EMB_NPY")
elif [ "$HAS_TEXT" = 0 ]; then
  # No item text (Instruments): the tokenizer's input is the shipped CF vectors (configs/instruments.json).
  SHIPPED=$SRC/$DS.sasrec-cf-32d.npy
  [ -f "$SHIPPED" ] || die "$DS has no item text ($SRC/$DS.item.json) and no $SHIPPED to use instead; set EMB_NPY"
  EMBED_SETS=("embed.from_npy=$SHIPPED")
fi

COMMON=(--device "$DEVICE")
RUNTIME=(--threads "$THREADS")
mkdir -p "$RUN"
TIMINGS=$RUN/timings.json
T_START=$(date +%s)


# json_hash CONFIG_FILE SECTIONS EXTRA: prints the SHA-256 of the chosen sections of the
# resolved config plus EXTRA (flags and upstream hashes); writes the hashed JSON to $HASH_JSON.
json_hash() {
  "$PY" - "$1" "$2" "$3" "$HASH_JSON" <<'EOF'
import hashlib, json, sys
cfg_file, sections, extra, out = sys.argv[1], sys.argv[2].split(","), sys.argv[3], sys.argv[4]
with open(cfg_file) as f:
    cfg = json.load(f)
sel = {k: cfg[k] for k in sections if k in cfg}
doc = {"config": sel, "stage": extra}
text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
with open(out, "w") as f:
    json.dump(doc, f, indent=2, sort_keys=True)
print(hashlib.sha256(text.encode()).hexdigest())
EOF
}

# record NAME DIR SUBCOMMAND STATUS SECONDS HASH: one entry of timings.json.
record() {
  "$PY" - "$TIMINGS" "$@" "$DS" "$BUDGET" "$DEVICE" "$THREADS" "$BIN" "$CFG" "$DATA_PATH" <<'EOF'
import json, os, platform, subprocess, sys, time
path, name, d, sub, status, secs, h, ds, budget, dev, threads, binary, cfg, data = sys.argv[1:]
try:
    with open(path) as f:
        t = json.load(f)
except (OSError, ValueError):
    t = {}
def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
t["run"] = {"dataset": ds, "budget": budget, "device": dev, "threads": int(threads), "letter_bin": binary,
            "config": cfg, "data_path": data, "host": platform.node(), "cpu": cpu_model(),
            "cores": os.cpu_count(), "git_commit": git_commit(),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
st = t.setdefault("stages", {})
prev = st.get(name, {})
e = {"dir": d, "subcommand": sub, "status": status, "config_sha256": h,
     "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
     "load_avg": open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else []}
if status == "skipped":
    # keep the wall time of the run that made the artifact
    e["seconds"] = prev.get("seconds")
    e["finished"] = prev.get("finished", e["finished"])
    e["load_avg"] = prev.get("load_avg", e["load_avg"])
    e["git_commit"] = prev.get("git_commit")
else:
    e["seconds"] = float(secs)
    e["git_commit"] = t["run"]["git_commit"]
st[name] = e
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(t, f, indent=2)
os.replace(tmp, path)
EOF
}

# stage NAME DIR SUBCOMMAND SECTIONS ARTIFACT RESUME_FILE OWNS_DIR DEPS -- [letter args] ++ [--set values]
#   DEPS: space-separated stage dirs whose <subcommand>.sha256 files this stage depends on
#   (as DIR:SUBCOMMAND). Letter args after --, then "++", then the --set values of this stage.
declare -A HASH_OF
stage() {
  local name=$1 dir=$2 sub=$3 sections=$4 artifact=$5 resume_file=$6 owns=$7 deps=$8
  shift 9
  local args=() sets=()
  while [ $# -gt 0 ] && [ "$1" != "++" ]; do args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  sets=("$@")
  local set_args=()
  local s
  for s in "${DATA_SETS[@]}" "${sets[@]}" "${USER_SETS[@]}"; do set_args+=(--set "$s"); done
  local extra="$sub ${args[*]} | device=$DEVICE"
  local dep
  for dep in $deps; do
    [ -n "${HASH_OF[$dep]:-}" ] || die "internal: stage $name depends on $dep, which has not run"
    extra+=" $dep=${HASH_OF[$dep]}"
  done
  mkdir -p "$dir"
  local resolved=$dir/$sub.config.tmp
  # (the device goes into the hash as a flag: `letter config --device cuda` fails without a GPU)
  "$BIN" config --config "$CFG" "${set_args[@]}" > "$resolved" 2> "$resolved.err" ||
    die "stage $name: invalid settings: $(cat "$resolved.err")"
  HASH_JSON=$dir/$sub.resolved.json.tmp
  local h
  h=$(json_hash "$resolved" "$sections" "$extra")
  rm -f "$resolved" "$resolved.err"
  HASH_OF[$name]=$h
  local hash_file=$dir/$sub.sha256
  if [ -f "$artifact" ] && [ -f "$hash_file" ] && [ "$(cat "$hash_file")" = "$h" ]; then
    rm -f "$HASH_JSON"
    printf '== %-22s skipped (artifact %s exists, config %s unchanged)\n' "$name" "$artifact" "${h:0:12}"
    record "$name" "$dir" "$sub" skipped 0 "$h"
    return 0
  fi
  local resume=()
  if [ -n "$resume_file" ] && [ -f "$dir/$resume_file" ] && [ -f "$hash_file.running" ] &&
     [ "$(cat "$hash_file.running")" = "$h" ]; then
    resume=(--resume)
  elif [ "$owns" = 1 ] && [ "$DRY" = 0 ]; then
    # Stale artifacts of another config: start the stage's folder afresh.
    find "$dir" -mindepth 1 -maxdepth 1 ! -name "$(basename "$HASH_JSON")" -exec rm -rf {} +
  fi
  local cmd=("$BIN" "$sub" "${args[@]}" --config "$CFG" "${COMMON[@]}" "${RUNTIME[@]}" "${set_args[@]}"
             --out "$dir" "${resume[@]}")
  if [ "$DRY" = 1 ]; then
    printf '== %-22s would run: %s\n' "$name" "${cmd[*]}"
    rm -f "$HASH_JSON"
    return 0
  fi
  mv "$HASH_JSON" "$dir/$sub.resolved.json"
  echo "$h" > "$hash_file.running"
  rm -f "$hash_file"
  printf '== %-22s %s%s (log %s) load %s\n' "$name" "$sub" "${resume:+ --resume}" "$dir/$sub.log" \
    "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)"
  local t0 t1 rc=0 status=ran
  [ ${#resume[@]} -gt 0 ] && status=resumed
  t0=$(date +%s.%N)
  "${cmd[@]}" > "$dir/$sub.out" 2> "$dir/$sub.log" || rc=$?
  if [ "$rc" != 0 ] && [ ${#resume[@]} -gt 0 ]; then
    # The checkpoint could not be continued (e.g. a file of it is missing): start afresh once.
    echo "   $name: --resume failed ($(grep -m1 '^error:' "$dir/$sub.log" || echo "exit $rc")); starting the stage afresh" >&2
    find "$dir" -mindepth 1 -maxdepth 1 ! -name "$sub.resolved.json" ! -name "$sub.sha256.running" -exec rm -rf {} +
    unset 'cmd[${#cmd[@]}-1]'  # drop --resume (always the last argument)
    rc=0 status=ran
    "${cmd[@]}" > "$dir/$sub.out" 2> "$dir/$sub.log" || rc=$?
  fi
  t1=$(date +%s.%N)
  local secs
  secs=$("$PY" -c "print(round($t1 - $t0, 1))")
  if [ "$rc" != 0 ] || [ ! -f "$artifact" ]; then
    echo "reproduce.sh: stage $name failed (exit $rc) after ${secs} s; last lines of $dir/$sub.log:" >&2
    tail -n 15 "$dir/$sub.log" >&2 || true
    echo "command: ${cmd[*]}" >&2
    echo "re-run the same command to continue from this stage" >&2
    exit 1
  fi
  mv "$hash_file.running" "$hash_file"
  record "$name" "$dir" "$sub" "$status" "$secs" "$h"
  printf '   %-22s done in %s s\n' "$name" "$secs"
}

echo "reproduce $DS, budget $BUDGET, device $DEVICE, threads $THREADS, run dir $RUN ($(date -u +%FT%TZ))"

# ---------------------------------------------------------------------------------------
# 0. cpu budget: the user subset (a stage with its own hash: source file, users, seed).
if [ "$BUDGET" = cpu ] && [ "$CPU_USERS" != all ]; then
  SUB_DIR=$RUN/data/$DS
  mkdir -p "$SUB_DIR"
  src_sum=$(sha256sum "$SRC/$DS.inter.json" | cut -c1-64)
  h=$(printf 'subsample %s users=%s seed=42' "$src_sum" "$CPU_USERS" | sha256sum | cut -c1-64)
  HASH_OF[subset]=$h
  if [ -f "$SUB_DIR/$DS.inter.json" ] && [ "$(cat "$SUB_DIR/subsample.sha256" 2>/dev/null)" = "$h" ]; then
    printf '== %-22s skipped (artifact %s exists, config %s unchanged)\n' subset "$SUB_DIR/$DS.inter.json" "${h:0:12}"
    record subset "$SUB_DIR" subsample skipped 0 "$h"
  elif [ "$DRY" = 1 ]; then
    echo "== subset                 would run: scripts/subsample_users.py $SRC $SUB_DIR --users $CPU_USERS --seed 42"
  else
    t0=$(date +%s.%N)
    "$PY" scripts/subsample_users.py "$SRC" "$SUB_DIR" --users "$CPU_USERS" --seed 42 --name "$DS" > "$SUB_DIR/subsample.out"
    echo "$h" > "$SUB_DIR/subsample.sha256"
    record subset "$SUB_DIR" subsample ran "$("$PY" -c "import time; print(round(time.time() - $t0, 1))")" "$h"
    printf '== %-22s %s users of %s\n' subset "$CPU_USERS" "$SRC"
  fi
fi
SUBDEP=""
[ "$BUDGET" = cpu ] && [ "$CPU_USERS" != all ] && SUBDEP=subset

# 1. embed (item text -> items.emb.npy; or the imported vectors)
stage embed "$RUN/embed" embed data,embed,seed "$RUN/embed/items.emb.npy" "" 1 "$SUBDEP" -- \
  ++ "${EMBED_SETS[@]}"
# 2. SASRec (Table 1 baseline and the CF vectors of the LETTER tokenizer)
stage cf "$RUN/cf" train-cf data,cf,eval,seed "$RUN/cf/items.cf.npy" sasrec.last.pt 1 "$SUBDEP" -- \
  ++ "${CF_SETS[@]}"
# 3. tokenizers: tiger; letter; collaborative only (beta = 0); diversity only (alpha = 0)
EMB=$RUN/embed/items.emb.npy
CFV=$RUN/cf/items.cf.npy
for m in tiger letter collab div; do
  case $m in
    tiger) extra=(tokenizer.method=tiger) ;;
    letter) extra=(tokenizer.method=letter) ;;
    collab) extra=(tokenizer.method=letter tokenizer.beta=0) ;;
    div) extra=(tokenizer.method=letter tokenizer.alpha=0) ;;
  esac
  stage "tok-$m" "$RUN/tok-$m" train-tokenizer data,tokenizer,seed "$RUN/tok-$m/codes.json" \
    tokenizer.resume.pt 1 "embed cf" -- ++ "${TOK_SETS[@]}" "tokenizer.embeddings=$EMB" "tokenizer.cf=$CFV" "${extra[@]}"
done
# 4. recommenders (Table 2) and 5. their test metrics
for v in tiger collab div both letter; do
  case $v in
    tiger) tok=tiger; tau=(recommender.tau=1) ;;
    collab) tok=collab; tau=(recommender.tau=1) ;;
    div) tok=div; tau=(recommender.tau=1) ;;
    both) tok=letter; tau=(recommender.tau=1) ;;
    letter) tok=letter; tau=() ;;  # the config's tau (ranking-guided loss, paper 0.7)
  esac
  stage "rec-$v" "$RUN/rec-$v" train-recommender data,recommender,seed "$RUN/rec-$v/recommender.pt" \
    recommender.last.pt 1 "tok-$tok" -- ++ "${REC_SETS[@]}" "recommender.codes=$RUN/tok-$tok/codes.json" "${tau[@]}"
  stage "eval-$v" "$RUN/rec-$v" evaluate data,recommender,eval,seed "$RUN/rec-$v/metrics.json" \
    "" 0 "rec-$v" -- ++ "${REC_SETS[@]}" "recommender.codes=$RUN/tok-$tok/codes.json" "${tau[@]}" "${EVAL_SETS[@]}"
done

T_END=$(date +%s)
echo "pipeline done in $((T_END - T_START)) s ($RUN/timings.json)"
[ "$DRY" = 1 ] && exit 0
# Wall time of this invocation (stage times + hashing overhead; cached stages cost ~1 s each).
"$PY" - "$TIMINGS" "$((T_END - T_START))" <<'EOF'
import json, os, sys
path, secs = sys.argv[1], int(sys.argv[2])
with open(path) as f:
    t = json.load(f)
t.setdefault("run", {})["last_invocation_seconds"] = secs
with open(path + ".tmp", "w") as f:
    json.dump(t, f, indent=2)
os.replace(path + ".tmp", path)
EOF
if [ "$NO_REPORT" = 0 ]; then
  "$PY" scripts/report.py "$RUN"
fi
