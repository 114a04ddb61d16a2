#!/usr/bin/env bash
# pagmo_scaling.sh: search throughput of the pagmo2 methods on 2 MPI ranks x 1 thread against
# 1 rank x 1 thread, for a batch-evaluated method (a whole generation per evaluate() call) and a
# one-at-a-time method (one candidate per call, split over ranks by image shards only).
#
# usage: bench/pagmo_scaling.sh TRISEG RUN_DIR [--methods "gaco sga"] [--episodes N] [--rounds R]
#   TRISEG       build/cli/triseg
#   RUN_DIR      a trained run holding config.yaml and int8/model.h5 (only read)
#   --methods    methods to measure, default "gaco sga"
#   --episodes N search budget per run, default 120
#   --rounds R   alternating rounds of 1 x 1 and 2 x 1 per method, default 2
# Runs `triseg search` (held-out rounds only at the end, 256 held-out images, so the time is
# the search's) into a temporary folder, reads evaluations/s from the summary line, and prints
# the median of each configuration and the ratio 2x1 / 1x1 (issue 11's target for the
# batch-evaluated methods: >= 1.8). A third configuration runs two independent 1 x 1 searches
# at the same time and sums their rates: what this machine gives two processes right now (the
# ceiling for 2 x 1; on a busy machine it is far below 2x).
set -euo pipefail

die() { echo "pagmo_scaling.sh: $*" >&2; exit 2; }
usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

methods="gaco sga"
episodes=120
rounds=2
positional=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --methods) [[ $# -ge 2 ]] || die "--methods needs a value"; methods="$2"; shift 2 ;;
        --episodes) [[ $# -ge 2 ]] || die "--episodes needs a value"; episodes="$2"; shift 2 ;;
        --rounds) [[ $# -ge 2 ]] || die "--rounds needs a value"; rounds="$2"; shift 2 ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *) positional+=("$1"); shift ;;
    esac
done
[[ ${#positional[@]} -eq 2 ]] || die "expected TRISEG and RUN_DIR (see --help)"
bin="${positional[0]}"
run_dir="${positional[1]}"
[[ -x "$bin" ]] || die "'$bin' not found or not executable; build it first"
[[ -f "$run_dir/int8/model.h5" ]] || die "'$run_dir/int8/model.h5' not found"
command -v mpirun >/dev/null || die "mpirun not found (apt-get install openmpi-bin)"

export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}" TRISEG_NO_PROGRESS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

measure() { # ranks, method; prints evaluations/s of one search
    local ranks="$1" method="$2" out="$tmp/$1-$2" log
    rm -rf "$out"
    log="$(mpirun -np "$ranks" "$bin" search --run-dir "$run_dir" --out "$out" -q \
        --method "$method" --episodes "$episodes" --set runtime.threads=1 \
        --set search.eval_every="$episodes" --set search.eval_images=256 2>&1)" ||
        die "$method on $ranks rank(s) failed: $log"
    echo "$log" | sed -n 's/^search finished:.*(\([0-9.]*\) ev\/s).*/\1/p' | tail -1
}
pair() { # method; two independent 1 x 1 searches at once, prints the sum of their rates
    local a b pa pb
    a="$(mktemp)"; b="$(mktemp)"
    measure 1 "$1" > "$a" & pa=$!
    measure_b "$1" > "$b" & pb=$!
    wait "$pa" && wait "$pb" || die "independent pair of $1 failed"
    awk '{s += $1} END {print s}' "$a" "$b"
    rm -f "$a" "$b"
}
measure_b() { # method; like `measure 1` (without mpirun), into another folder
    local out="$tmp/pair-$1" log
    rm -rf "$out"
    log="$("$bin" search --run-dir "$run_dir" --out "$out" -q --method "$1" \
        --episodes "$episodes" --set runtime.threads=1 --set search.eval_every="$episodes" \
        --set search.eval_images=256 2>&1)" || die "$1 (pair) failed: $log"
    echo "$log" | sed -n 's/^search finished:.*(\([0-9.]*\) ev\/s).*/\1/p' | tail -1
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for method in $methods; do
    declare -a r1=() r2=() rp=()
    for ((i = 0; i < rounds; i++)); do
        r1+=("$(measure 1 "$method")")
        r2+=("$(measure 2 "$method")")
        rp+=("$(pair "$method")")
        echo "$method round $((i + 1)): 1x1 ${r1[-1]}  2x1 ${r2[-1]}  2 independent ${rp[-1]} ev/s"
    done
    m1="$(median "${r1[@]}")"
    m2="$(median "${r2[@]}")"
    mp="$(median "${rp[@]}")"
    awk -v m="$method" -v a="$m2" -v b="$m1" -v p="$mp" 'BEGIN {
        printf "%s: median 1x1 %.2f, 2x1 %.2f, 2 independent 1x1 %.2f ev/s\n", m, b, a, p
        printf "%s: ratio 2x1 / 1x1 = %.2f (target >= 1.8 for batch methods); ceiling 2 independent / 1x1 = %.2f\n", m, a / b, p / b }'
done
