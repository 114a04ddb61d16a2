#!/usr/bin/env bash
# compare_train.sh: training throughput of triseg (LibTorch, C++) vs Debian's PyTorch (Python)
# on the same model, batch and thread count, measured side by side in one run.
#
# usage: bench/compare_train.sh [BENCH_BINARY] [--rounds R] [--out FILE] [bench flags...]
#   BENCH_BINARY  path of bench_train_throughput (default build/bench/bench_train_throughput);
#                 also accepted as --bin PATH
#   --rounds R    alternating rounds, default 3 (C++ and Python take turns going first)
#   --out FILE    also write the runs, medians and ratio as JSON
#   bench flags   passed unchanged to both sides: --arch --width --batch --threads --warmup
#                 --iters --in-channels --image-size --classes --seed
# Builds nothing. Prints a table and "ratio ours/pytorch = X.XX" (median images/s over median).
set -euo pipefail

readonly PY=/usr/bin/python3
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly PY_BENCH="${script_dir}/train_throughput.py"

die() { echo "compare_train.sh: $*" >&2; exit 2; }

bin=build/bench/bench_train_throughput
rounds=3
out=""
flags=()
if [[ $# -gt 0 && "$1" != -* ]]; then
    bin="$1"
    shift
fi
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --bin) [[ $# -ge 2 ]] || die "--bin needs a value"; bin="$2"; shift 2 ;;
        --rounds) [[ $# -ge 2 ]] || die "--rounds needs a value"; rounds="$2"; shift 2 ;;
        --out) [[ $# -ge 2 ]] || die "--out needs a value"; out="$2"; shift 2 ;;
        --arch|--width|--batch|--threads|--warmup|--iters|--in-channels|--image-size|\
--classes|--seed)
            [[ $# -ge 2 ]] || die "$1 needs a value"; flags+=("$1" "$2"); shift 2 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be an integer >= 1, got '$rounds'"
[[ -x "$bin" ]] || die "bench binary '$bin' not found or not executable; build it with
  cmake --build <build-dir> --target bench_train_throughput"
[[ -x "$PY" ]] && "$PY" -c 'import torch' 2>/dev/null \
    || die "$PY cannot import torch; install the baseline with: apt-get install python3-torch"

runs_file="$(mktemp)"
trap 'rm -f "$runs_file"' EXIT

run_cpp() { "$bin" "${flags[@]}"; }
run_py() { "$PY" "$PY_BENCH" "${flags[@]}"; }

for ((r = 1; r <= rounds; ++r)); do
    # Alternate which side goes first so drift in machine load hits both equally.
    if ((r % 2)); then order=(run_cpp run_py); else order=(run_py run_cpp); fi
    for side in "${order[@]}"; do
        echo "round $r/$rounds: ${side#run_}" >&2
        line="$("$side" | tail -n 1)" || die "${side#run_} benchmark failed (round $r)"
        echo "$line" >>"$runs_file"
    done
done

"$PY" - "$runs_file" "$out" <<'EOF'
import json
import statistics
import sys

runs_path, out_path = sys.argv[1], sys.argv[2]
with open(runs_path) as f:
    runs = [json.loads(line) for line in f if line.strip()]
ours = [r for r in runs if r["impl"] == "triseg-libtorch"]
base = [r for r in runs if r["impl"] == "pytorch-python"]
med_ours = statistics.median(r["images_per_s"] for r in ours)
med_base = statistics.median(r["images_per_s"] for r in base)
ratio = med_ours / med_base
first = ours[0]
print(f"model {first['arch']} width {first['width']}, batch {first['batch']}, "
      f"threads {first['threads']}, {first['iters']} timed iters x {len(ours)} rounds")
print(f"{'impl':<17} {'median img/s':>12}  {'runs img/s':<32} {'final loss':>10}")
for name, rows, med in (("triseg-libtorch", ours, med_ours), ("pytorch-python", base, med_base)):
    each = " ".join(f"{r['images_per_s']:.1f}" for r in rows)
    print(f"{name:<17} {med:>12.1f}  {each:<32} {rows[0]['final_loss']:>10.4f}")
print(f"ratio ours/pytorch = {ratio:.2f}")
if out_path:
    with open(out_path, "w") as f:
        json.dump({"config": {k: first[k] for k in ("arch", "width", "batch", "threads", "iters")},
                   "rounds": len(ours), "runs": runs,
                   "median_images_per_s": {"triseg-libtorch": med_ours,
                                           "pytorch-python": med_base},
                   "ratio_ours_over_pytorch": ratio}, f, indent=2)
        f.write("\n")
EOF
