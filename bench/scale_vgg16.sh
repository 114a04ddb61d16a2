#!/usr/bin/env bash
# scale_vgg16.sh: triseg at the original's scale: VGG-16 width 1.0 on 3x32x32
# inputs, on a synthetic CIFAR-format dataset. Builds the setting and prints every figure:
#   - model MACs per image, full width vs the base width (0.25, same 3-channel input);
#   - candidate evaluations/s of the search's evaluator (bench_search_eval: 256 images, teacher
#     logits cached), full width vs base width in alternating rounds, and their ratio next to
#     the MAC ratio; also 2 ranks x 1 thread at full width;
#   - the wall time of a PPO search (default settings, --episodes, 500 by default) under
#     mpirun -np --ranks with one thread per rank, and each rank's peak RSS (getrusage);
#   - an int8 activation dump (triseg dump-acts) of --dump-images (10000) test images at full
#     width: wall time, peak RSS (the target is < 2 GiB) and file size.
# The last line is one JSON object with every number. Builds nothing: give the binaries.
#
# usage: bench/scale_vgg16.sh [--build DIR] [--work DIR] [--width W] [--base-width W]
#            [--episodes N] [--ranks N] [--dump-images N] [--rounds R] [--eval-rounds N]
#            [--train-images N] [--keep]
#   --build DIR        build folder with cli/triseg and bench/bench_search_eval (build)
#   --work DIR         where the data and runs go; must not exist (default: a new mktemp -d)
#   --width W          the measured width (1.0); --base-width W the reference width (0.25)
#   --episodes N       PPO episodes (500); --ranks N: mpirun ranks of the search (2)
#   --dump-images N    images of the activation dump (10000; the test set is made this big)
#   --rounds R         alternating rounds of the evaluator comparison (3)
#   --eval-rounds N    candidates timed per bench_search_eval call (5)
#   --train-images N   training records written (2560: 256 reward + 2000 held-out images)
#   --keep             keep --work (default: removed at the end when it was made by mktemp)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

build=build work="" width=1.0 base_width=0.25 episodes=500 ranks=2 dump_images=10000
rounds=3 eval_rounds=5 train_images=2560 keep=0
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --width) width=$2; shift 2 ;;
    --base-width) base_width=$2; shift 2 ;;
    --episodes) episodes=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    --dump-images) dump_images=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --eval-rounds) eval_rounds=$2; shift 2 ;;
    --train-images) train_images=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "scale_vgg16.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for n in episodes ranks dump_images rounds eval_rounds train_images; do
  [[ ${!n} =~ ^[1-9][0-9]*$ ]] || { echo "scale_vgg16.sh: --${n//_/-} must be a positive integer, got '${!n}'" >&2; exit 2; }
done
for w in width base_width; do
  [[ ${!w} =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "scale_vgg16.sh: --${w//_/-} must be a number, got '${!w}'" >&2; exit 2; }
done
triseg=$build/cli/triseg
bench_eval=$build/bench/bench_search_eval
for b in "$triseg" "$bench_eval"; do
  [[ -x $b ]] || { echo "scale_vgg16.sh: $b is missing: build it (scripts/build triseg bench_search_eval)" >&2; exit 2; }
done
made_work=0
if [[ -z $work ]]; then
  work=$(mktemp -d /tmp/scale_vgg16.XXXXXX)
  made_work=1
else
  [[ ! -e $work ]] || { echo "scale_vgg16.sh: --work $work exists; give a new folder" >&2; exit 2; }
  mkdir -p "$work"
fi
work=$(cd "$work" && pwd)
cleanup() { if ((made_work && !keep)); then rm -rf "$work"; fi; }
trap cleanup EXIT

export TRISEG_NO_PROGRESS=1 OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
now() { date +%s.%N; }
# peak_rss FILE CMD...: runs CMD and writes its peak RSS in KiB (getrusage of the child) to FILE,
# or to FILE.<rank> under mpirun; exits with CMD's status.
peak_rss() {
  python3 -c '
import os, resource, subprocess, sys
rank = os.environ.get("OMPI_COMM_WORLD_RANK")
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1] + ("." + rank if rank is not None else ""), "w") as f:
    f.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)' "$@"
}
export -f peak_rss
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
load() { uptime | sed 's/.*load average: /load /'; }

# --- Synthetic CIFAR-10 binary batches: label byte + 3072 pixel bytes (R, G, B planes) per
# record. Pixels are seeded noise around a per-class colour, so the short training learns
# something and the teacher's logits are not uniform.
data=$work/cifar-10-batches-bin
test_images=$((dump_images > 500 ? dump_images : 500))
python3 - "$data" "$train_images" "$test_images" <<'EOF'
import os, random, sys
out, n_train, n_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
rng = random.Random(15)
# Per class and channel a table mapping a noise byte to offset + noise/2 (values in [0, 255]).
tables = [[bytes(min(255, (c * 37 + k * 71) % 128 + b // 2) for b in range(256))
           for k in range(3)] for c in range(10)]
def write(name, count, first):
    with open(os.path.join(out, name), "wb") as f:
        for r in range(count):
            label = (first + r) % 10
            noise = rng.randbytes(3072)
            f.write(bytes([label]))
            for k in range(3):
                f.write(noise[k * 1024:(k + 1) * 1024].translate(tables[label][k]))
per = -(-n_train // 5)
for i in range(5):
    write(f"data_batch_{i + 1}.bin", per, i * per)
write("test_batch.bin", n_test, 0)
EOF

# --- MACs per image of VGG-16 at a width (channels = max(1, round(base * width)), 3x32x32).
macs() {
  python3 - "$1" <<'EOF'
import sys
w = float(sys.argv[1])
ch = lambda b: max(1, int(b * w + 0.5))
cfg = [(64, 32), (64, 32), (128, 16), (128, 16), (256, 8), (256, 8), (256, 8),
       (512, 4), (512, 4), (512, 4), (512, 2), (512, 2), (512, 2)]
cin, total = 3, 0
for base, side in cfg:
    cout = ch(base)
    total += cin * cout * 9 * side * side
    cin = cout
print(total)
EOF
}
macs_full=$(macs "$width")
macs_base=$(macs "$base_width")
mac_ratio=$(awk -v a="$macs_full" -v b="$macs_base" 'BEGIN { printf "%.2f", a / b }')

echo "scale_vgg16: VGG-16 width $width vs $base_width, 3x32x32, synthetic CIFAR-format data" \
     "($train_images train, $test_images test images) in $work"
echo "start: $(date -u +%FT%TZ), $(load), $(nproc) cores"
echo "MACs per image: width $width $(awk -v m="$macs_full" 'BEGIN { printf "%.1fM", m / 1e6 }')," \
     "width $base_width $(awk -v m="$macs_base" 'BEGIN { printf "%.1fM", m / 1e6 }'), ratio $mac_ratio"

# --- The two runs: train-float, train-qat, export-int8 (short, see bench/configs/vgg16-full.yaml).
config=$src/bench/configs/vgg16-full.yaml
declare -A setup_s
for w in "$width" "$base_width"; do
  run=$work/run-w$w
  t0=$(now)
  for stage in train-float train-qat export-int8; do
    quiet=-q
    [[ $stage == export-int8 ]] && quiet=""
    "$triseg" "$stage" -c "$config" --set data.root="$data" --set model.width="$w" $quiet -r "$run" \
      > "$work/$stage-w$w.log" 2>&1 || { echo "$stage (width $w) failed:" >&2; cat "$work/$stage-w$w.log" >&2; exit 1; }
  done
  setup_s[$w]=$(secs "$t0" "$(now)")
done
echo "set-up (train-float + train-qat + export-int8, short): width $width ${setup_s[$width]} s," \
     "width $base_width ${setup_s[$base_width]} s"
full=$work/run-w$width
base=$work/run-w$base_width

# --- Candidate evaluations/s, alternating full and base width, 1 rank x 1 thread.
eval_rate() { # run-dir [mpirun -np N]
  local run=$1; shift
  "$@" "$bench_eval" --run-dir "$run" --threads 1 --images 256 --batch "${BATCH:-1}" \
    --rounds "$eval_rounds" --warmup 1 2>&1 | awk '/^evals_per_s/ { print $2 }' | tail -1
}
runs_full="" runs_base=""
for ((r = 1; r <= rounds; r++)); do
  runs_full+="$(eval_rate "$full") "
  runs_base+="$(eval_rate "$base") "
done
med_full=$(echo "$runs_full" | median)
med_base=$(echo "$runs_base" | median)
eval_ratio=$(awk -v a="$med_base" -v b="$med_full" 'BEGIN { printf "%.2f", a / b }')
per_mac=$(awk -v r="$eval_ratio" -v m="$mac_ratio" 'BEGIN { printf "%.2f", m / r }')
echo "candidate evals/s (bench_search_eval, 1 rank x 1 thread, 256 images, batch 1, $rounds alternating rounds of $eval_rounds):"
printf '  width %-5s median %8.3f  runs %s\n' "$width" "$med_full" "$runs_full"
printf '  width %-5s median %8.3f  runs %s\n' "$base_width" "$med_base" "$runs_base"
echo "  ratio base/full = $eval_ratio (MAC ratio $mac_ratio): full width gives $per_mac x the base's MAC/s"
rate2=$(BATCH=4 eval_rate "$full" mpirun -np "$ranks" --oversubscribe)
echo "candidate evals/s at width $width, $ranks ranks x 1 thread, batch 4: $rate2" \
     "($(awk -v a="$rate2" -v b="$med_full" 'BEGIN { printf "%.2f", a / b }') x the 1-rank median)"

# --- PPO search, default settings, on --ranks ranks x 1 thread; peak RSS of every rank.
echo "ppo search: $episodes episodes, mpirun -np $ranks, runtime.threads 1, $(load)"
t0=$(now)
mpirun -np "$ranks" --oversubscribe bash -c 'peak_rss "$@"' peak_rss "$work/rss-search" \
  "$triseg" search -r "$full" --set runtime.threads=1 --set data.train_limit=0 \
  --set data.test_limit=0 --set search.episodes="$episodes" -q > "$work/search.log" 2>&1 ||
  { echo "search failed:" >&2; cat "$work/search.log" >&2; exit 1; }
search_s=$(secs "$t0" "$(now)")
rss_ranks=""
for ((r = 0; r < ranks; r++)); do
  rss_ranks+="${rss_ranks:+ }$(awk '{ printf "%.0f", $1 / 1024 }' "$work/rss-search.$r")"
done
eps=$(awk -v e="$episodes" -v s="$search_s" 'BEGIN { printf "%.2f", e / s }')
echo "  wall $search_s s ($eps episodes/s, set-up and held-out rounds included)," \
     "peak RSS per rank (MiB): $rss_ranks"
grep -E "^(search finished|constrained best)" "$work/search.log" | sed 's/^/  /' || true
orig_s=7200
vs_orig=$(awk -v o="$orig_s" -v s="$search_s" -v e="$episodes" 'BEGIN { printf "%.1f", o * e / 500 / s }')
echo "  the original reports about 2 h for 500 PPO episodes on a GPU (their report, not our" \
     "measurement): $vs_orig x that rate"

# --- Full-width int8 activation dump of --dump-images test images; peak RSS.
acts=$work/acts_int8.h5
echo "dump-acts: $dump_images images, --kind int8, width $width, runtime.threads 2, $(load)"
t0=$(now)
peak_rss "$work/rss-dump" "$triseg" dump-acts -r "$full" --kind int8 \
  --images "$dump_images" --set data.test_limit=0 --set runtime.threads=2 -o "$acts" \
  > "$work/dump.log" 2>&1 || { echo "dump-acts failed:" >&2; cat "$work/dump.log" >&2; exit 1; }
dump_s=$(secs "$t0" "$(now)")
dump_rss=$(awk '{ printf "%.0f", $1 / 1024 }' "$work/rss-dump")
dump_mib=$(du -m "$acts" | cut -f1)
raw_mib=$(python3 -c "
w = $width; n = $dump_images
ch = lambda b: max(1, int(b * w + 0.5))
print(round(n * sum(ch(b) * s * s for b, s in [(64, 32)] * 2 + [(128, 16)] * 2 + [(256, 8)] * 3
                 + [(512, 4)] * 3 + [(512, 2)] * 3) / 2**20))")
verdict=$( ((dump_rss < 2048)) && echo "below the 2 GiB target" || echo "ABOVE the 2 GiB target")
echo "  wall $dump_s s, peak RSS $dump_rss MiB ($verdict), file $dump_mib MiB" \
     "(codes $raw_mib MiB before compression)"
echo "end: $(date -u +%FT%TZ), $(load)"
echo "docs: VGG-16 w=$width 3x32x32: $med_full candidates/s (1x1, 256 images; ${eval_ratio}x slower" \
     "than w=$base_width for ${mac_ratio}x the MACs), $ranks-rank PPO $episodes episodes in" \
     "$search_s s (peak RSS/rank $rss_ranks MiB), dump-acts $dump_images images peak RSS $dump_rss MiB"
printf '{"bench":"scale_vgg16","width":%s,"base_width":%s,"macs_per_image":%s,"macs_per_image_base":%s,' \
  "$width" "$base_width" "$macs_full" "$macs_base"
printf '"evals_per_s":%s,"evals_per_s_base":%s,"evals_ratio_base_full":%s,"mac_ratio":%s,"evals_per_s_ranks":%s,' \
  "$med_full" "$med_base" "$eval_ratio" "$mac_ratio" "$rate2"
printf '"ranks":%s,"episodes":%s,"search_wall_s":%s,"search_peak_rss_mib":[%s],' \
  "$ranks" "$episodes" "$search_s" "${rss_ranks// /,}"
printf '"dump_images":%s,"dump_wall_s":%s,"dump_peak_rss_mib":%s,"dump_file_mib":%s}\n' \
  "$dump_images" "$dump_s" "$dump_rss" "$dump_mib"
