#!/usr/bin/env bash
# pagmo_scaling.sh: search throughput of 2 MPI ranks x 1 thread against 1 rank x 1 thread, for
# PPO and the pagmo2 methods: a batch-evaluated method (a whole generation per evaluate() call)
# or a one-at-a-time method (one candidate per call, split over ranks by image shards only).
#
# usage: bench/pagmo_scaling.sh TRISEG RUN_DIR [--methods "ppo gaco"] [--episodes N] [--rounds R]
#                               [--images N]
#   TRISEG       build/cli/triseg
#   RUN_DIR      a trained run holding config.yaml and int8/model.h5 (only read)
#   --methods    methods to measure (any of `triseg search --help`), default "ppo gaco"
#   --episodes N search budget per run, default 120
#   --rounds R   alternating rounds of 1 x 1, 2 x 1 and the pair per method, default 2
#   --images N   reward images (search.reward_images), default 256
# Runs `triseg search` (no held-out round inside the loop) into a temporary folder and reads
# the rate of the search loop from the `search loop:` summary line (episodes / seconds of the
# generation loop on rank 0: set-up and the final held-out round excluded). Prints the median
# of each configuration, the ratio 2x1 / 1x1 and the parallel efficiency
#   efficiency = (2x1) / (2 x 1x1)     (target: >= 90%)
# A third configuration runs two independent 1 x 1 searches at the same time and sums their
# rates: what this machine gives two processes right now (the ceiling for 2 x 1; on a busy
# machine it is far below 2x), and the efficiency against that ceiling.
set -euo pipefail

die() { echo "pagmo_scaling.sh: $*" >&2; exit 2; }
usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

methods="ppo gaco"
episodes=120
rounds=2
images=256
positional=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --methods) [[ $# -ge 2 ]] || die "--methods needs a value"; methods="$2"; shift 2 ;;
        --episodes) [[ $# -ge 2 ]] || die "--episodes needs a value"; episodes="$2"; shift 2 ;;
        --rounds) [[ $# -ge 2 ]] || die "--rounds needs a value"; rounds="$2"; shift 2 ;;
        --images) [[ $# -ge 2 ]] || die "--images needs a value"; images="$2"; shift 2 ;;
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

search_args() { # method, out folder
    echo search --run-dir "$run_dir" --out "$2" -q --method "$1" --episodes "$episodes" \
        --set runtime.threads=1 --set search.reward_images="$images" \
        --set search.eval_every=1000000000 --set search.eval_images=256
}
rate_of() { # the log of one search: its loop's episodes/s, ms per episode evaluating and not
    local line rate ev
    line="$(echo "$1" | grep '^search loop:' | tail -1)"
    rate="$(echo "$line" | sed -n 's/.*(\([0-9.]*\) episodes\/s).*/\1/p')"
    ev="$(echo "$line" | sed -n 's/.*ms per episode: evaluate \([0-9.]*\),.*/\1/p')"
    [[ -n "$rate" && -n "$ev" ]] || return 0
    awk -v r="$rate" -v e="$ev" 'BEGIN { printf "%s %s %.3f\n", r, e, 1000 / r - e }'
}
measure() { # ranks, method; prints episodes/s of one search
    local ranks="$1" method="$2" out="$tmp/$1-$2" log
    rm -rf "$out"
    # shellcheck disable=SC2046  # search_args prints words without spaces
    log="$(mpirun -np "$ranks" "$bin" $(search_args "$method" "$out") 2>&1)" ||
        die "$method on $ranks rank(s) failed: $log"
    rate_of "$log"
}
pair() { # method; two independent 1 x 1 searches at once, prints the sum of their rates
    local a b pa pb
    a="$(mktemp)"; b="$(mktemp)"
    measure 1 "$1" > "$a" & pa=$!
    measure_b "$1" > "$b" & pb=$!
    wait "$pa" && wait "$pb" || die "independent pair of $1 failed"
    awk '{s += $1} END {print s, 0, 0}' "$a" "$b"
    rm -f "$a" "$b"
}
measure_b() { # method; like `measure 1` (without mpirun), into another folder
    local out="$tmp/pair-$1" log
    rm -rf "$out"
    # shellcheck disable=SC2046
    log="$("$bin" $(search_args "$1" "$out") 2>&1)" || die "$1 (pair) failed: $log"
    rate_of "$log"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for method in $methods; do
    declare -a r1=() r2=() rp=() e1=() e2=() o1=() o2=()
    for ((i = 0; i < rounds; i++)); do
        read -r rate ev other <<<"$(measure 1 "$method")"
        [[ -n "$rate" ]] || die "$method on 1 rank printed no 'search loop:' line"
        r1+=("$rate"); e1+=("$ev"); o1+=("$other")
        read -r rate ev other <<<"$(measure 2 "$method")"
        [[ -n "$rate" ]] || die "$method on 2 ranks printed no 'search loop:' line"
        r2+=("$rate"); e2+=("$ev"); o2+=("$other")
        read -r rate ev other <<<"$(pair "$method")"
        [[ -n "$rate" ]] || die "the independent pair of $method printed no rate"
        rp+=("$rate")
        echo "$method round $((i + 1)): 1x1 ${r1[-1]}  2x1 ${r2[-1]}  2 independent ${rp[-1]} \
episodes/s ($(uptime | sed 's/.*load/load/'))"
    done
    m1="$(median "${r1[@]}")"
    m2="$(median "${r2[@]}")"
    mp="$(median "${rp[@]}")"
    awk -v m="$method" -v a="$m2" -v b="$m1" -v p="$mp" -v e1="$(median "${e1[@]}")" \
        -v e2="$(median "${e2[@]}")" -v o1="$(median "${o1[@]}")" -v o2="$(median "${o2[@]}")" 'BEGIN {
        printf "%s: median 1x1 %.2f, 2x1 %.2f, 2 independent 1x1 %.2f episodes/s\n", m, b, a, p
        printf "%s: ratio 2x1 / 1x1 = %.2f; ceiling 2 independent / 1x1 = %.2f\n", m, a / b, p / b
        printf "%s: parallel efficiency 2x1 / (2 x 1x1) = %.0f%% (target >= 90%%); 2x1 / 2 independent = %.0f%%\n", m, 50 * a / b, 100 * a / p
        # Why: the evaluator scales by e1 / (2 e2); rank 0 alone does the rest (o) on any rank count.
        printf "%s: ms per episode (medians): evaluate 1x1 %.2f, 2x1 %.2f (evaluator scaling %.0f%%); rank-0 work besides evaluation 1x1 %.2f, 2x1 %.2f (efficiency with a perfectly scaling evaluator: %.0f%%)\n", m, e1, e2, 50 * e1 / e2, o1, o2, 100 * (e1 + o1) / (e1 + 2 * o2) }'
done
