#!/usr/bin/env bash
# Test of bench/pagmo_scaling.sh with a stand-in for triseg: it runs the 1-rank, 2-rank (real
# mpirun) and independent-pair searches, reads each rate and split from the `search loop:`
# line (rank 0 only) and prints the documented ratios. The stand-in is 10 episodes/s (96 ms
# evaluating, 4 ms else) on one rank and 18 (51.556 + 4 ms) on two, so: 2x1 / 1x1 = 1.80,
# efficiency 90%, 90% of the two independent processes (10 + 10), evaluator scaling 93%,
# efficiency left by rank 0's work (96 + 4) / (96 + 2 x 4) = 96%.
set -euo pipefail
script="$(cd "$(dirname "$0")/../.." && pwd)/bench/pagmo_scaling.sh"
if ! command -v mpirun >/dev/null; then
  [[ ${TRISEG_REQUIRE_ALL:-} == 1 ]] && { echo "FAIL: TRISEG_REQUIRE_ALL=1, but there is no mpirun" >&2; exit 1; }
  echo "SKIP: no mpirun"; exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/run/int8"
: > "$tmp/run/int8/model.h5"
cat > "$tmp/triseg" <<'FAKE'
#!/usr/bin/env bash
args=" $* "
for want in " search " " --method ppo " " --episodes 30 " " --set runtime.threads=1 " \
    " --set search.reward_images=64 "; do
    [[ "$args" == *"$want"* ]] || { echo "stand-in: '$want' missing in:$args" >&2; exit 3; }
done
[[ "${OMPI_COMM_WORLD_RANK:-0}" == 0 ]] || exit 0
if [[ "${OMPI_COMM_WORLD_SIZE:-1}" == 2 ]]; then rate=18.000 ev=51.556; else rate=10.000 ev=96.000; fi
echo "search finished: 30 episodes, 30 evaluations in 3.1 s (9.68 ev/s) on 1 rank"
echo "search loop: 30 episodes in 3.000 s ($rate episodes/s); ms per episode: evaluate $ev, ask 0.100, tell 2.000, history 0.100, checkpoints 1.800, held-out 0.000, other 0.000; evaluate 96.0% of the loop"
FAKE
chmod +x "$tmp/triseg"
export OMPI_MCA_rmaps_base_oversubscribe=1
out=$("$script" "$tmp/triseg" "$tmp/run" --methods ppo --episodes 30 --rounds 1 --images 64)
echo "$out"
grep -q '^ppo: median 1x1 10.00, 2x1 18.00, 2 independent 1x1 20.00 episodes/s$' <<<"$out"
grep -q '^ppo: ratio 2x1 / 1x1 = 1.80; ceiling 2 independent / 1x1 = 2.00$' <<<"$out"
grep -q '^ppo: parallel efficiency 2x1 / (2 x 1x1) = 90% (target >= 90%); 2x1 / 2 independent = 90%$' <<<"$out"
grep -q '^ppo: ms per episode (medians): evaluate 1x1 96.00, 2x1 51.56 (evaluator scaling 93%); rank-0 work besides evaluation 1x1 4.00, 2x1 4.00 (efficiency with a perfectly scaling evaluator: 96%)$' <<<"$out"
# A search that prints no `search loop:` line is an error, not a rate of 0.
sed -i 's/^echo "search loop:.*/true/' "$tmp/triseg"
set +e
err=$("$script" "$tmp/triseg" "$tmp/run" --methods ppo --episodes 30 --rounds 1 --images 64 2>&1)
rc=$?
set -e
[[ $rc == 2 ]] || { echo "FAIL: expected exit 2 without a 'search loop:' line, got $rc: $err"; exit 1; }
grep -q "printed no 'search loop:' line" <<<"$err" || { echo "FAIL: $err"; exit 1; }
echo "PASS"
