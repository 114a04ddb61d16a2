#!/usr/bin/env bash
# search_scaling.sh: evaluator throughput of 2 MPI ranks x 1 thread against 1 rank x 1 thread
# and 1 rank x 2 threads, measured in one run with alternating rounds.
#
# usage: bench/search_scaling.sh BENCH RUN_DIR [--rounds R] [--batch N] [--images N]
#   BENCH        build/bench/bench_search_eval
#   RUN_DIR      a trained run holding int8/model.h5
#   --rounds R   alternating rounds of the three configurations, default 3
#   --batch N    candidates per evaluate() call (a search generation), default 4
#   --images N   reward images, default 256
# A fourth configuration runs two independent 1 x 1 benches at the same time (no MPI) and
# sums them: what this machine gives two processes at all (its ceiling for 2 x 1).
# Prints the median evals/s of each configuration and the two ratios the search's scaling targets:
#   2 ranks x 1 thread / 1 rank x 1 thread   (target >= 1.8)
#   2 ranks x 1 thread / 1 rank x 2 threads  (target >= 0.9)
# and the parallel efficiency 2x1 / (2 x 1x1) (target: >= 90%).
set -euo pipefail

die() { echo "search_scaling.sh: $*" >&2; exit 2; }
usage() { sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

rounds=3
batch=4
images=256
positional=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --rounds) [[ $# -ge 2 ]] || die "--rounds needs a value"; rounds="$2"; shift 2 ;;
        --batch) [[ $# -ge 2 ]] || die "--batch needs a value"; batch="$2"; shift 2 ;;
        --images) [[ $# -ge 2 ]] || die "--images needs a value"; images="$2"; shift 2 ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *) positional+=("$1"); shift ;;
    esac
done
[[ ${#positional[@]} -eq 2 ]] || die "expected BENCH and RUN_DIR (see --help)"
bin="${positional[0]}"
run_dir="${positional[1]}"
[[ -x "$bin" ]] || die "bench '$bin' not found or not executable; build it first"
[[ -f "$run_dir/int8/model.h5" ]] || die "'$run_dir/int8/model.h5' not found"
command -v mpirun >/dev/null || die "mpirun not found (apt-get install openmpi-bin)"

export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
common=(--run-dir "$run_dir" --images "$images" --batch "$batch" --rounds 25)

measure() { # label, command...
    local label="$1"; shift
    local out
    out="$("$@" 2>&1)" || die "$label failed: $out"
    echo "$out" | awk '/^evals_per_s/ {print $2}' | tail -1
}

pair() { # two independent 1 x 1 runs at once; prints the sum of their evals/s
    local a b
    a="$(mktemp)"; b="$(mktemp)"
    "$bin" "${common[@]}" --threads 1 > "$a" 2>&1 &
    local pa=$!
    "$bin" "${common[@]}" --threads 1 > "$b" 2>&1 &
    local pb=$!
    wait "$pa" && wait "$pb" || die "independent pair failed: $(cat "$a" "$b")"
    awk '/^evals_per_s/ {s += $2} END {print s}' "$a" "$b"
    rm -f "$a" "$b"
}

declare -a r11 r12 r21 rpp
for ((i = 0; i < rounds; i++)); do
    r11+=("$(measure "1x1" "$bin" "${common[@]}" --threads 1)")
    r12+=("$(measure "1x2" "$bin" "${common[@]}" --threads 2)")
    r21+=("$(measure "2x1" mpirun -np 2 "$bin" "${common[@]}" --threads 1)")
    rpp+=("$(pair)")
    echo "round $((i + 1)): 1x1 ${r11[-1]}  1x2 ${r12[-1]}  2x1 ${r21[-1]}  2 independent ${rpp[-1]} evals/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
m11="$(median "${r11[@]}")"
m12="$(median "${r12[@]}")"
m21="$(median "${r21[@]}")"
mpp="$(median "${rpp[@]}")"
echo "median evals/s: 1 rank x 1 thread $m11, 1 rank x 2 threads $m12, 2 ranks x 1 thread $m21,"
echo "                2 independent 1 x 1 processes $mpp (the machine's ceiling for 2 x 1)"
awk -v a="$m21" -v b="$m11" -v c="$m12" -v p="$mpp" 'BEGIN {
    printf "ratio 2x1 / 1x1 = %.2f (target >= 1.8)\n", a / b
    printf "parallel efficiency 2x1 / (2 x 1x1) = %.0f%% (target >= 90%%)\n", 50 * a / b
    printf "ratio 2x1 / 1x2 = %.2f (target >= 0.9)\n", a / c
    printf "ratio 2 independent / 1x1 = %.2f; 2x1 reaches %.0f%% of that ceiling\n", p / b, 100 * a / p }'
