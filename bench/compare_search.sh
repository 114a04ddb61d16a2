#!/usr/bin/env bash
# compare_search.sh: end-to-end PPO search episodes/s of `triseg search --method ppo` vs the
# seed-faithful PyTorch PPO loop of bench/ppo_loop.py, same run, images, episodes and threads,
# measured side by side in one run.
#
# usage: bench/compare_search.sh TRISEG RUN_DIR [--episodes N] [--images N] [--threads N]
#                                [--rounds R] [--python-episodes N] [--student KIND]
#   TRISEG        build/cli/triseg
#   RUN_DIR       a trained run holding config.yaml and int8/model.h5 (only read)
#   --episodes N  episodes of each triseg search, default 200
#   --python-episodes N  episodes of each Python run, default: --episodes
#   --images N    reward images of both sides, default 128
#   --threads N   threads of both sides (1 rank), default 1
#   --rounds R    alternating rounds, default 3 (triseg and Python take turns going first)
#   --student KIND  ppo_loop.py's student: fakequant (the original's, default) or int8
# triseg runs 1 rank x N threads, search.init random (the original had no start codes),
# search.reward_split test (the first N test images, as ppo_loop.py), no held-out round inside
# the loop; its rate is the "search loop:" line (episodes / seconds of the generation loop,
# after set-up: ask, evaluate, tell/PPO updates, history, checkpoints). The Python rate is
# its `episodes_per_s` line (after set-up). Prints each side's median, where triseg's time
# goes per episode (median round), and "ratio triseg/python = X.XX" (median over median).
set -euo pipefail

readonly PY=/usr/bin/python3
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly PY_LOOP="${script_dir}/ppo_loop.py"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" TRISEG_NO_PROGRESS=1

die() { echo "compare_search.sh: $*" >&2; exit 2; }
usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

episodes=200
py_episodes=""
images=128
threads=1
rounds=3
student=fakequant
positional=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --episodes) [[ $# -ge 2 ]] || die "--episodes needs a value"; episodes="$2"; shift 2 ;;
        --python-episodes)
            [[ $# -ge 2 ]] || die "--python-episodes needs a value"; py_episodes="$2"; shift 2 ;;
        --images) [[ $# -ge 2 ]] || die "--images needs a value"; images="$2"; shift 2 ;;
        --threads) [[ $# -ge 2 ]] || die "--threads needs a value"; threads="$2"; shift 2 ;;
        --rounds) [[ $# -ge 2 ]] || die "--rounds needs a value"; rounds="$2"; shift 2 ;;
        --student) [[ $# -ge 2 ]] || die "--student needs a value"; student="$2"; shift 2 ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *) positional+=("$1"); shift ;;
    esac
done
[[ ${#positional[@]} -eq 2 ]] || die "expected TRISEG and RUN_DIR, got ${#positional[@]} \
argument(s) (see --help)"
bin="${positional[0]}"
run_dir="${positional[1]}"
py_episodes="${py_episodes:-$episodes}"
[[ "$student" == fakequant || "$student" == int8 ]] || die "--student must be fakequant or \
int8, got '$student'"
for pair in "episodes:$episodes" "python-episodes:$py_episodes" "images:$images" \
    "threads:$threads" "rounds:$rounds"; do
    [[ "${pair#*:}" =~ ^[1-9][0-9]*$ ]] || die "--${pair%%:*} must be an integer >= 1, got \
'${pair#*:}'"
done
[[ -x "$bin" ]] || die "'$bin' not found or not executable; build it first (scripts/build triseg)"
[[ -f "$run_dir/int8/model.h5" ]] || die "'$run_dir/int8/model.h5' not found; run
  triseg export-int8 -r $run_dir"
[[ -x "$PY" ]] && "$PY" -c 'import torch, h5py' 2>/dev/null \
    || die "$PY cannot import torch and h5py; install the baseline with:
  apt-get install python3-torch python3-h5py   (or scripts/bootstrap --bench)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

run_triseg() {
    rm -rf "$tmp/search"
    "$bin" search --run-dir "$run_dir" --out "$tmp/search" -q --method ppo \
        --episodes "$episodes" --set runtime.threads="$threads" \
        --set search.init=random --set search.reward_images="$images" \
        --set search.reward_split=test --set search.eval_every=1000000000 \
        --set search.eval_images="$images"
}
run_py() {
    "$PY" "$PY_LOOP" --run-dir "$run_dir" --images "$images" --episodes "$py_episodes" \
        --threads "$threads" --student "$student"
}
rate_of() { # side, log
    if [[ "$1" == triseg ]]; then
        sed -n 's/^search loop: .*(\([0-9.]*\) episodes\/s).*/\1/p' "$2" | tail -1
    else
        awk '$1 == "episodes_per_s" { v = $2 } END { print v }' "$2"
    fi
}

for ((r = 1; r <= rounds; ++r)); do
    if ((r % 2)); then order=(triseg py); else order=(py triseg); fi
    for name in "${order[@]}"; do
        echo "round $r/$rounds: $name ($(uptime | sed 's/.*load/load/'))" >&2
        log="$tmp/$name.$r.log"
        if ! "run_$name" >"$log" 2>&1; then
            tail -n 20 "$log" >&2
            die "$name failed (round $r); its output is above"
        fi
        value="$(rate_of "$name" "$log")"
        [[ -n "$value" ]] || { tail -n 20 "$log" >&2; die "$name printed no rate (round $r)"; }
        echo "$name $value $r" >>"$tmp/runs"
    done
done

"$PY" - "$tmp" "$run_dir" "$images" "$threads" "$episodes" "$py_episodes" "$student" <<'EOF'
import re
import statistics
import sys

tmp, run_dir, images, threads, episodes, py_episodes, student = sys.argv[1:8]
runs = {"triseg": [], "py": []}
with open(f"{tmp}/runs") as f:
    for line in f:
        name, value, r = line.split()
        runs[name].append((float(value), int(r)))
med = {n: statistics.median(v for v, _ in runs[n]) for n in runs}


def median_round(name):
    """The round whose rate is the median (its breakdown is printed)."""
    return sorted(runs[name])[(len(runs[name]) - 1) // 2][1]


print(f"PPO search loop, run {run_dir}, images {images}, threads {threads}, episodes "
      f"{episodes} (triseg) / {py_episodes} (python, {student} student), "
      f"{len(runs['py'])} rounds")
print(f"{'impl':<16} {'median episodes/s':>17}  runs episodes/s")
for name, label in (("triseg", "triseg-search"), ("py", "pytorch-python")):
    each = " ".join(f"{v:.2f}" for v, _ in runs[name])
    print(f"{label:<16} {med[name]:>17.3f}  {each}")
with open(f"{tmp}/triseg.{median_round('triseg')}.log") as f:
    loop = next(l for l in f if l.startswith("search loop:"))
print("triseg, median round: " + loop.split(";", 1)[1].strip())
with open(f"{tmp}/py.{median_round('py')}.log") as f:
    ms = next(l for l in f if l.startswith("ms per episode:"))
print("python, median round: " + ms.strip())
evaluate = float(re.search(r"evaluate ([0-9.]+)%", loop).group(1))
print(f"triseg: the evaluator is {evaluate:.1f}% of an episode (median round)")
print(f"ratio triseg/python = {med['triseg'] / med['py']:.2f}")
EOF
