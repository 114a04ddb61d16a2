#!/usr/bin/env bash
# compare_eval.sh: candidate evaluations/s of triseg's C++ evaluator vs the plain PyTorch
# evaluation loop of bench/eval_loop.py, on the same run, images and threads, side by side.
#
# usage: bench/compare_eval.sh CPP_BENCH RUN_DIR [--threads N] [--images N] [--rounds R]
#                              [--teacher int8|fakequant] [--student fakequant|int8]
#   CPP_BENCH     the C++ benchmark; run as CPP_BENCH --run-dir RUN_DIR --threads N --images N
#   RUN_DIR       a trained run holding int8/model.h5
#   --threads N   threads of both sides, default 1
#   --images N    reward batch, the first N test images, default 256
#   --rounds R    alternating rounds, default 5 (C++ and Python take turns going first)
#   --teacher, --student   passed to eval_loop.py only (defaults int8, fakequant)
# Both programs must end with a line "evals_per_s <float>". Builds nothing. Prints the median
# evals/s of each side and "ratio cpp/python = X.XX" (median over median).
set -euo pipefail

readonly PY=/usr/bin/python3
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly PY_BENCH="${script_dir}/eval_loop.py"
# Spinning OpenMP threads of processes sharing the cores slow each other down several times.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

die() { echo "compare_eval.sh: $*" >&2; exit 2; }
usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

threads=1
images=256
rounds=5
py_flags=()
positional=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --threads) [[ $# -ge 2 ]] || die "--threads needs a value"; threads="$2"; shift 2 ;;
        --images) [[ $# -ge 2 ]] || die "--images needs a value"; images="$2"; shift 2 ;;
        --rounds) [[ $# -ge 2 ]] || die "--rounds needs a value"; rounds="$2"; shift 2 ;;
        --teacher|--student)
            [[ $# -ge 2 ]] || die "$1 needs a value"; py_flags+=("$1" "$2"); shift 2 ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *) positional+=("$1"); shift ;;
    esac
done
[[ ${#positional[@]} -eq 2 ]] || die "expected CPP_BENCH and RUN_DIR, got ${#positional[@]} \
argument(s) (see --help)"
bin="${positional[0]}"
run_dir="${positional[1]}"
for pair in "threads:$threads" "images:$images" "rounds:$rounds"; do
    [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || die "--${pair%%:*} must be an integer >= 1, got \
'${pair#*:}'"
done
[[ -x "$bin" ]] || die "C++ bench '$bin' not found or not executable; build it first"
[[ -f "$run_dir/int8/model.h5" ]] || die "'$run_dir/int8/model.h5' not found; run
  triseg export-int8 -r $run_dir"
[[ -x "$PY" ]] && "$PY" -c 'import torch, h5py' 2>/dev/null \
    || die "$PY cannot import torch and h5py; install the baseline with:
  apt-get install python3-torch python3-h5py   (or scripts/bootstrap --bench)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
common=(--run-dir "$run_dir" --threads "$threads" --images "$images")

run_cpp() { "$bin" "${common[@]}"; }
run_py() { "$PY" "$PY_BENCH" "${common[@]}" "${py_flags[@]}"; }

for ((r = 1; r <= rounds; ++r)); do
    # Alternate which side goes first so drift in machine load hits both equally.
    if ((r % 2)); then order=(run_cpp run_py); else order=(run_py run_cpp); fi
    for side in "${order[@]}"; do
        name="${side#run_}"
        echo "round $r/$rounds: $name" >&2
        log="$tmp/$name.$r.log"
        if ! "$side" >"$log" 2>&1; then
            tail -n 20 "$log" >&2
            die "$name benchmark failed (round $r); its output is above"
        fi
        value="$(awk '$1 == "evals_per_s" { v = $2 } END { print v }' "$log")"
        [[ -n "$value" ]] || { tail -n 20 "$log" >&2; die "$name printed no 'evals_per_s' line \
(round $r)"; }
        echo "$name $value" >>"$tmp/runs"
    done
done
# The Python side's readable summary (teacher/student kinds, mean KD) of the last round.
py_summary="$(grep -v '^evals_per_s' "$tmp/py.$rounds.log" | tail -n 3)"

"$PY" - "$tmp/runs" "$run_dir" "$images" "$threads" "$py_summary" <<'EOF'
import statistics
import sys

runs_path, run_dir, images, threads, py_summary = sys.argv[1:6]
runs = {"cpp": [], "py": []}
with open(runs_path) as f:
    for line in f:
        name, value = line.split()
        runs[name].append(float(value))
med = {name: statistics.median(values) for name, values in runs.items()}
print(f"candidate evaluation, run {run_dir}, images {images}, threads {threads}, "
      f"{len(runs['cpp'])} rounds")
print(f"{'impl':<16} {'median evals/s':>14}  runs evals/s")
for name, label in (("cpp", "triseg-cpp"), ("py", "pytorch-python")):
    each = " ".join(f"{v:.2f}" for v in runs[name])
    print(f"{label:<16} {med[name]:>14.3f}  {each}")
print("python side (last round):")
for line in py_summary.splitlines():
    print(f"  {line}")
print(f"ratio cpp/python = {med['cpp'] / med['py']:.2f}")
EOF
