#!/usr/bin/env bash
# Runs bench/scale_vgg16.sh end to end at a small scale (narrow widths, 8 episodes, 600 dumped
# images) and checks that it prints every figure, that the dump holds the images asked for, and
# that bad arguments exit 2 with a message. usage: test_scale_vgg16.sh BUILD_DIR
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
script=$src/bench/scale_vgg16.sh
tmp=$(mktemp -d /tmp/test_scale_vgg16.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# Bad arguments: exit 2 and a message naming the argument.
for args in "--episodes 0" "--width abc" "--bogus" "--work $tmp"; do
  set +e
  out=$("$script" --build "$build" $args 2>&1)
  code=$?
  set -e
  [[ $code == 2 ]] || fail "'$args' exited $code, expected 2: $out"
  word=${args%% *}
  [[ $word == --work ]] && word=exists
  [[ $out == *"${word#--}"* ]] || fail "'$args': message lacks '${word#--}': $out"
done

# A small run: every figure printed, the JSON line complete, the dump of the right size.
out=$("$script" --build "$build" --work "$tmp/w" --keep --width 0.125 --base-width 0.0625 \
      --episodes 8 --ranks 2 --dump-images 600 --rounds 1 --eval-rounds 1 \
      --train-images 2260 2>&1) || fail "scale_vgg16.sh failed: $out"
echo "$out"
for want in "MACs per image: width 0.125" "candidate evals/s" "ratio base/full" \
            "ppo search: 8 episodes, mpirun -np 2" "peak RSS per rank (MiB)" \
            "their report, not our measurement" "dump-acts: 600 images" \
            "below the 2 GiB target" '"bench":"scale_vgg16"'; do
  [[ $out == *"$want"* ]] || fail "output lacks '$want'"
done
json=$(echo "$out" | tail -1)
python3 - "$json" <<'EOF' || fail "bad JSON line: $json"
import json, sys
j = json.loads(sys.argv[1])
assert j["episodes"] == 8 and j["ranks"] == 2 and j["dump_images"] == 600, j
assert len(j["search_peak_rss_mib"]) == 2 and all(m > 0 for m in j["search_peak_rss_mib"]), j
assert j["evals_per_s"] > 0 and j["evals_per_s_base"] > 0 and j["dump_peak_rss_mib"] > 0, j
# VGG-16 on 3x32x32: conv1_1 3->8, conv1_2 8->8 at 32x32, ... (channels round(base * 0.125)).
assert j["macs_per_image"] == 5087232, j["macs_per_image"]
EOF
h5dump -a /images "$tmp/w/acts_int8.h5" | grep -qE "\(0\): 600$" || fail "the dump does not hold 600 images"
[[ -f $tmp/w/run-w0.125/search/ppo-seed0/result.json ]] || fail "the search wrote no result.json"
echo "PASS"
