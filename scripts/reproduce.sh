#!/usr/bin/env bash
# Reproduce the LETTER paper's tables for one dataset with one command:
#   embed -> train-cf (SASRec) -> train-tokenizer (tiger, letter) -> train-recommender (TIGER,
#   LETTER-TIGER) -> evaluate -> scripts/report.py (RUN_DIR/report.md); with --ablations also
#   the Table 2 ablation (two more tokenizers, three more recommenders).
#
#   scripts/reproduce.sh DATASET [--budget cpu|gpu|smoke] [--ablations] [--run-dir DIR]
#                        [--threads N] [--device DEV] [--set KEY=VALUE]... [--no-report] [--dry-run]
#
# DATASET   a folder of $DATA_ROOT (default ../shared/data): Beauty | Instruments, or tiny with
#           DATA_ROOT=data (the bundled synthetic data). Settings: configs/<dataset>.json.
# --budget  what is trained, and roughly how long it takes (printed at the start too):
#   smoke   configs/tiny.json's sizes with short schedules: TF-IDF embeddings, SASRec 10 epochs,
#           tokenizers tiger + letter 60 epochs, recommenders TIGER + LETTER-TIGER 2 epochs,
#           evaluation: about 1 minute on 2 cores (about 2 with --ablations).
#   cpu     (default) converged models on a 2-core CPU, all users: MiniLM embeddings (the
#           config's hf encoder, embed.dtype auto = bfloat16 on AMX CPUs; ~3 min), SASRec up to
#           25 epochs (~6 min), tokenizers tiger + letter with tokenizer.preset=quick in
#           bfloat16 (~20 min together), recommenders TIGER + LETTER-TIGER with
#           recommender.preset=quick (decoder-only, the paper's 4 layers at d_model 256, lr
#           1.5e-3, all-positions training, up to 25 epochs; ~2 x 50 min at 2 threads),
#           evaluation on every test user (~2 x 4 min): about 2.5 hours for Beauty (under 3).
#           With --ablations about 6 hours (two more tokenizers ~2 x 10 min, three more
#           recommenders ~3 x 50 min).
#           CPU_USERS=N trains on a seeded subset of N users (all items kept): faster, but not
#           comparable to the paper. EMB_NPY=FILE imports precomputed embeddings instead of MiniLM.
#   gpu     the paper configuration, configs/<dataset>.json as is (tokenizers 10,000 epochs,
#           the T5 recommender up to 200 epochs), --device cuda: not yet timed on a GPU; expect
#           hours (more with --ablations).
# --ablations  also trains LETTER's Table 2 ablation (any budget): tokenizers collab (beta = 0)
#           and div (alpha = 0), recommenders collab and div (their codes, tau 1) and both
#           (letter codes, tau 1), and evaluates them. Without it, ablation folders of an
#           earlier run are left as they are (and still reported).
# --run-dir default runs/reproduce-<DATASET>-<budget>.
# --set     a config override for every stage, after the budget's (e.g. --set recommender.epochs=3;
#           a key given here keeps its value under a preset); only the stages whose config
#           sections it touches (and their downstream) re-run.
#
# Stages and run-directory layout (every stage has its own folder):
#   data/<DATASET>/   cpu budget with CPU_USERS only: the user subset (scripts/subsample_users.py)
#   embed/            items.emb.npy       (Instruments, no item text: the shipped SASRec vectors imported)
#   cf/               items.cf.npy, metrics.json (SASRec = Table 1 baseline)
#   tok-<m>/          codes.json, stats.json for m = tiger, letter; with --ablations also
#                     collab (beta = 0), div (alpha = 0)
#   rec-<v>/          recommender.pt, train_summary.json, metrics.json (test) for
#                     v = tiger (tiger codes, tau 1), letter (letter codes, config tau) = Table 1;
#                     with --ablations also collab, div (their codes, tau 1), both (letter
#                     codes, tau 1) = Table 2
#   timings.json      wall time, status and config hash of every stage; machine, device, threads
#   report.md, *.svg  written by scripts/report.py
# A stage is skipped when its artifact exists and the SHA-256 of its resolved config (the
# sections it reads, from `letter config`, presets applied, plus its flags and the hashes of
# the stages it reads from) equals the one stored beside the artifact (<subcommand>.sha256,
# with the hashed JSON in <subcommand>.resolved.json). A stage that was interrupted with the
# same config continues from its checkpoint (--resume): re-run the same command after an
# interruption. One whose config changed starts afresh.
# Seeds are fixed (the config's seed, 42). Environment: DATA_ROOT, LETTER_BIN (default
# $BUILD_DIR/letter, BUILD_DIR default build), THREADS, CPU_USERS, EMB_NPY, PYTHON (python3).
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "reproduce.sh: error: $*" >&2; exit 2; }

DS="" BUDGET=cpu RUN="" DEVICE="" NO_REPORT=0 DRY=0 ABLATIONS=0
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
    --ablations) ABLATIONS=1; shift ;;
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
# Budget settings: every stage gets --config $CFG plus the --set lists below. PLAN_* say what
# each budget trains and roughly how long it takes (printed at the start; Beauty timings).
DATA_SETS=() EMBED_SETS=() CF_SETS=() TOK_SETS=() REC_SETS=() EVAL_SETS=()
DATA_PATH=$SRC
case "$BUDGET" in
  smoke)
    CF_SETS=(cf.epochs=10 cf.lr=0.003)
    TOK_SETS=(tokenizer.epochs=60 tokenizer.eval_every=20)
    REC_SETS=(recommender.epochs=2 recommender.valid_users=200)
    PLAN_EMBED="embeddings as configs/$LOWER.json says (TF-IDF for tiny)"
    PLAN_MAIN="SASRec 10 epochs, tokenizers tiger + letter 60 epochs, recommenders TIGER + LETTER-TIGER 2 epochs, evaluation"
    PLAN_TIME="about 1 min on 2 cores"
    PLAN_ABL="tokenizers collab + div, recommenders collab, div, both (2 epochs each) and their evaluation"
    PLAN_ABL_TIME="about 2 min in all"
    ;;
  cpu)
    CPU_USERS=${CPU_USERS:-all}
    if [ "$CPU_USERS" != all ]; then
      DATA_PATH=$RUN/data/$DS
      DATA_SETS=(data.kcore=0)  # the subset keeps every item id (see subsample_users.py)
    fi
    # Embeddings: the config's encoder (MiniLM for Beauty), embed.dtype auto (bfloat16 on AMX).
    CF_SETS=(cf.epochs=25 cf.lr=0.003 cf.patience=5)
    # The quick tokenizer schedule (letter 1,000 epochs, tiger 800), bfloat16 products.
    TOK_SETS=(tokenizer.preset=quick tokenizer.dtype=bfloat16)
    # The quick recommender schedule (decoder-only, all-positions training, batch 256, up to 25
    # epochs, patience 6 on 2,000 validation users) on the paper's depth at twice its width
    # (d_model 256, peak lr 1.5e-3): measured better on both datasets (docs/results.md).
    REC_SETS=(recommender.preset=quick recommender.d_model=256 recommender.lr=1.5e-3)
    EVAL_SETS=(eval.batch_size=256)
    PLAN_EMBED="MiniLM embeddings (~3 min)"
    PLAN_MAIN="SASRec up to 25 epochs (~6 min), tokenizers tiger + letter quick bf16 (~20 min), recommenders TIGER + LETTER-TIGER decoder quick d_model 256 (~2 x 50 min), evaluation (~2 x 4 min)"
    PLAN_TIME="about 2.5 h on 2 cores"
    PLAN_ABL="tokenizers collab + div quick bf16 (~2 x 10 min), recommenders collab, div, both decoder quick d_model 256 (~3 x 50 min), evaluation (~3 x 4 min)"
    PLAN_ABL_TIME="about 6 h in all"
    if [ "$CPU_USERS" != all ]; then
      PLAN_TIME="$PLAN_TIME for all users; less on the $CPU_USERS-user subset"
    fi
    ;;
  gpu)
    EVAL_SETS=(eval.batch_size=1024)
    PLAN_EMBED="MiniLM embeddings"
    PLAN_MAIN="SASRec, tokenizers tiger + letter (configs/$LOWER.json: 10,000 epochs), recommenders TIGER + LETTER-TIGER (T5, up to 200 epochs), evaluation"
    PLAN_TIME="not yet timed on a GPU; expect hours"
    PLAN_ABL="tokenizers collab + div, recommenders collab, div, both and their evaluation"
    PLAN_ABL_TIME="about 2.5 times as long"
    ;;
esac
DATA_SETS=("data.path=$DATA_PATH" "${DATA_SETS[@]}")
if [ -n "${EMB_NPY:-}" ]; then
  [ -f "$EMB_NPY" ] || die "EMB_NPY=$EMB_NPY not found"
  EMBED_SETS=("embed.from_npy=$EMB_NPY")
  PLAN_EMBED="embeddings imported from $EMB_NPY (seconds)"
elif [ "$HAS_TEXT" = 0 ]; then
  # No item text (Instruments): the tokenizer's input is the shipped CF vectors (configs/instruments.json).
  SHIPPED=$SRC/$DS.sasrec-cf-32d.npy
  [ -f "$SHIPPED" ] || die "$DS has no item text ($SRC/$DS.item.json) and no $SHIPPED to use instead; set EMB_NPY"
  EMBED_SETS=("embed.from_npy=$SHIPPED")
  PLAN_EMBED="no item text: the shipped CF vectors $SHIPPED imported (seconds)"
fi
TOKENIZERS=(tiger letter)
RECOMMENDERS=(tiger letter)
if [ "$ABLATIONS" = 1 ]; then
  TOKENIZERS+=(collab div)
  RECOMMENDERS+=(collab div both)
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
  "$PY" - "$TIMINGS" "$@" "$DS" "$BUDGET" "$DEVICE" "$THREADS" "$BIN" "$CFG" "$DATA_PATH" "$ABLATIONS" <<'EOF'
import json, os, platform, subprocess, sys, time
path, name, d, sub, status, secs, h, ds, budget, dev, threads, binary, cfg, data, abl = sys.argv[1:]
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
t["run"] = {"dataset": ds, "budget": budget, "ablations": abl == "1", "device": dev, "threads": int(threads),
            "letter_bin": binary,
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

echo "reproduce $DS, budget $BUDGET$([ "$ABLATIONS" = 1 ] && echo ' with ablations'), device $DEVICE, threads $THREADS, run dir $RUN ($(date -u +%FT%TZ))"
echo "$BUDGET budget: $PLAN_EMBED, $PLAN_MAIN: $PLAN_TIME"
if [ "$ABLATIONS" = 1 ]; then
  echo "  --ablations: + $PLAN_ABL: $PLAN_ABL_TIME"
else
  echo "  (Table 2 ablation not included: add --ablations for $PLAN_ABL; $PLAN_ABL_TIME)"
  stale=()
  for d in tok-collab tok-div rec-collab rec-div rec-both; do
    if [ -f "$RUN/$d/codes.json" ] || [ -f "$RUN/$d/recommender.pt" ]; then stale+=("$d"); fi
  done
  if [ ${#stale[@]} -gt 0 ]; then
    echo "  note: ${stale[*]} of an earlier --ablations run are left as they are (not updated; the report still shows them)"
  fi
fi

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
# 3. tokenizers: tiger; letter; with --ablations collaborative only (beta = 0), diversity only (alpha = 0)
EMB=$RUN/embed/items.emb.npy
CFV=$RUN/cf/items.cf.npy
for m in "${TOKENIZERS[@]}"; do
  case $m in
    tiger) extra=(tokenizer.method=tiger) ;;
    letter) extra=(tokenizer.method=letter) ;;
    collab) extra=(tokenizer.method=letter tokenizer.beta=0) ;;
    div) extra=(tokenizer.method=letter tokenizer.alpha=0) ;;
  esac
  stage "tok-$m" "$RUN/tok-$m" train-tokenizer data,tokenizer,seed "$RUN/tok-$m/codes.json" \
    tokenizer.resume.pt 1 "embed cf" -- ++ "${TOK_SETS[@]}" "tokenizer.embeddings=$EMB" "tokenizer.cf=$CFV" "${extra[@]}"
done
# 4. recommenders (Table 1: tiger, letter; Table 2: + collab, div, both) and 5. their test metrics
for v in "${RECOMMENDERS[@]}"; do
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
