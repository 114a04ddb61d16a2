#!/usr/bin/env bash
# The SLURM integration suite (ctest label `slurm`): the jobs/ scripts on a real two-node
# local SLURM (scripts/slurm-local), with the tiny config.
#
# usage: tests/slurm/slurm_suite.sh CASE
#   start         stand up the cluster (MpiDefault=pmix, nodes n1 and n2, 1 CPU each)
#   pipeline      jobs/pipeline.sbatch on configs/tiny.yaml
#   search        (1) a 2-rank search job across both nodes; its history.jsonl equals
#                 `mpirun -np 2` byte for byte (that run is the reference of the next cases)
#   requeue       (2) `scontrol requeue` mid-search; the resumed job ends with the reference
#   timelimit     (3) --time=1 with the USR1 warning: checkpoint, requeue (as often as it takes),
#                 the files of its own reference (a search scaled to about 100 s)
#   timeout       table row: a time limit without --signal ends TIMEOUT after a checkpoint (no
#                 requeue); the resubmitted job resumes
#   signals       table rows: `scancel --signal=USR1 --batch` (forwarded by the batch shell)
#                 and `scancel --signal=USR1` requeue by themselves; plain `scancel` cancels
#                 after a checkpoint and a resubmission finishes; the reference files
#   node_fail     table row: node n2 set DOWN mid-search; SLURM requeues the job itself, it
#                 resumes to the reference files
#   sweep         (4) jobs/study: the pipeline job (finished stages skipped), an array of 3
#                 seeds across both nodes with test-set evaluations, then jobs/report.sbatch
#                 (afterok); the aggregated table
#   replay        jobs/replay.sbatch: dump-acts on 2 ranks across both nodes, then replay (exact and
#                 with a sweep result), percentiles and variance from the dump
#   graph         a residual network through the jobs: the pipeline job on configs/tiny.yaml
#                 with model.arch=resnet20, then a 2-rank search job across both nodes whose
#                 history.jsonl and result.json equal `mpirun -np 2`'s, then the replay job on it
#   early_signal  (6) USR1 as soon as the search step starts: exit 130 and a requeue, no crash
#   mpi_none      (5) restarts the cluster with MpiDefault=none; srun without --mpi: the job
#                 fails with triseg's error naming --mpi=pmix, no duplicate searches
#   stop          stop the cluster
# Exit 77 (ctest: skipped) with the reason unless root on Debian with slurm-wlm, munge and
# Fashion-MNIST installed. Environment: TRISEG_BIN (the triseg binary), TRISEG_SLURM_WORK (a
# folder for the cluster, the run and the job outputs).
set -euo pipefail

case_name=${1:?usage: slurm_suite.sh CASE}
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=${TRISEG_BIN:?set TRISEG_BIN to the triseg binary}
work=${TRISEG_SLURM_WORK:?set TRISEG_SLURM_WORK to a folder}
export TRISEG_SLURM_DIR=$work/cluster
export TRISEG_SLURM_PORT=${TRISEG_SLURM_PORT:-16917}
export SLURM_CONF=$TRISEG_SLURM_DIR/slurm.conf
export TRISEG=$bin
run=$work/run
ref=$work/reference
# The single searches write here, so that the run's search/ holds only the sweep's, which the
# report job tabulates.
searches=$work/searches
slurm_local=$src/scripts/slurm-local
# A search of 10-30 s on 2 idle ranks (about 12 s with the zmm kernels), long enough that the
# interruptions below land mid-search (each waits for history lines first). The time-limit case
# scales its own longer search from the reference's wall time: slurmctld sends the warning at
# its next check of the limits, every 30 s, which once came after a fixed-length search had
# finished.
long="-q --episodes 4000 --set search.episodes_per_generation=4 --set search.reward_images=256
  --set search.eval_images=32 --set search.eval_every=100 --set search.shard_images=32
  --set search.checkpoint_every=5"
long=${long//$'\n'/}
short="-q --episodes 24 --set search.episodes_per_generation=4 --set search.reward_images=64
  --set search.eval_images=32 --set search.eval_every=8 --set search.shard_images=16"
short=${short//$'\n'/}

# Under TRISEG_REQUIRE_ALL=1 (.ci/run) a missing prerequisite fails instead of skipping.
skip() {
  [[ ${TRISEG_REQUIRE_ALL:-} == 1 ]] && { echo "FAILED: TRISEG_REQUIRE_ALL=1, but this case would skip: $*" >&2; exit 1; }
  echo "SKIPPED: $*"; exit 77
}
fail() { echo "FAILED: $*" >&2; exit 1; }
log() { echo "[$(date +%T)] $*"; }

check_prerequisites() {
  [[ $(id -u) -eq 0 ]] || skip "needs root (slurmd and munged run as root here)"
  [[ -f /etc/debian_version ]] || skip "needs Debian's slurm-wlm packages"
  local exe
  for exe in munged slurmctld slurmd sbatch srun scontrol; do
    command -v "$exe" >/dev/null ||
      skip "'$exe' is not installed: apt-get install slurm-wlm munge (scripts/bootstrap --slurm)"
  done
  [[ -d /usr/share/datasets/fashion-mnist ]] ||
    skip "needs Fashion-MNIST (apt-get install dataset-fashion-mnist)"
  [[ -x "$bin" ]] || fail "triseg binary '$bin' is missing"
}

need_cluster() {
  "$slurm_local" status >/dev/null 2>&1 ||
    fail "the local cluster is not running (the slurm_start test sets it up)"
}
need_run() { [[ -f $run/int8/model.h5 ]] || fail "no $run/int8/model.h5 (slurm_pipeline)"; }
need_reference() { [[ -f $ref/result.json ]] || fail "no reference run $ref (slurm_search)"; }

job_field() { # JOB FIELD: a field of `scontrol show job` (first task of an array)
  # (awk reads all input: `| head -1` could end scontrol with SIGPIPE, and pipefail the caller)
  scontrol show job -o "$1" 2>/dev/null | awk -v f="$2" 'NR == 1 {
    for (i = 1; i <= NF; i++) if (index($i, f "=") == 1) { print substr($i, length(f) + 2); exit }
  }' || true
}

wait_until() { # SECONDS DESCRIPTION COMMAND...: poll every 0.2 s
  local limit=$1 what=$2 start=$SECONDS
  shift 2
  until "$@"; do
    [[ $((SECONDS - start)) -lt $limit ]] || fail "timed out after ${limit}s waiting for $what"
    sleep 0.2
  done
}

lines_at_least() { [[ -f $1 && $(wc -l <"$1") -ge $2 ]]; }
restarts_at_least() { [[ $(job_field "$1" Restarts) -ge $2 ]]; }
state_is() { [[ $(job_field "$1" JobState) == "$2" ]]; }

# release_until JOB STATE SECONDS: a requeued job waits about 2 minutes (BeginTime) before it
# may start again; move its start time to now whenever it pends, until it reaches STATE.
release_until() {
  local job=$1 want=$2 limit=$3 start=$SECONDS st pending_since=-1
  while :; do
    st=$(job_field "$job" JobState)
    [[ $st == "$want" ]] && return 0
    case $st in
      PENDING)
        # SLURM's own delay exists for two races, so release the job only once both are past:
        # - the previous start's step daemons are gone (a step started while its predecessor's
        #   slurmstepd still holds the PMIx socket fails to launch);
        # - 3 s have passed since it was requeued: slurmd revokes the job's credential when it
        #   kills the job and refuses, in whole seconds, every credential not newer than that
        #   ("Killing non-startable batch JobId=N: Job credential revoked", the job ends FAILED).
        [[ $pending_since -ge 0 ]] || pending_since=$SECONDS
        if ((SECONDS - pending_since >= 3)) && ! pgrep -f "slurmstepd: \[$job\." >/dev/null; then
          scontrol update JobId="$job" StartTime=now >/dev/null 2>&1 || true
        fi ;;
      # (SIGNALING: the time-limit warning is being delivered; REQUEUE_FED/REQUEUE_HOLD do not
      # occur here but are not ends either.)
      RUNNING | REQUEUED | REQUEUE_FED | COMPLETING | CONFIGURING | SIGNALING | STAGE_OUT)
        pending_since=-1 ;;
      *) cat "$work"/*"$job"*.out 2>/dev/null | tail -20
         scontrol show job "$job" 2>/dev/null || true
         grep -E "JobId=${job}[ _]|job_?id[= ]${job}\b" "$TRISEG_SLURM_DIR"/log/*.log 2>/dev/null | tail -30 || true
         fail "job $job ended as $st, expected $want" ;;
    esac
    [[ $((SECONDS - start)) -lt $limit ]] || fail "job $job still $st after ${limit}s"
    sleep 0.5
  done
}

submit() { (cd "$work" && sbatch --parsable "$@" | cut -d';' -f1); }

# same_as_reference DIR [REFERENCE]: the final files equal the uninterrupted reference run's
# (default $ref).
same_as_reference() {
  local r=${2:-$ref}
  cmp "$r/history.jsonl" "$1/history.jsonl" || fail "$1/history.jsonl differs from $r"
  local facts='"(wall_seconds|ranks|threads_per_rank)":'
  diff <(grep -v -E "$facts" "$r/result.json") <(grep -v -E "$facts" "$1/result.json") ||
    fail "$1/result.json differs from the reference beyond wall time, ranks and threads"
  log "$1: history.jsonl ($(wc -l <"$1/history.jsonl") lines) and result.json equal the reference"
}

# reference_search OUT EXTRA [RUN]: the uninterrupted reference, `mpirun -np 2` outside SLURM, on
# RUN (default $run)
reference_search() {
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE OMPI_ALLOW_RUN_AS_ROOT=1 \
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 env -u SLURM_CONF mpirun -np 2 --oversubscribe \
    "$bin" search --run-dir "${3:-$run}" --out "$1" --set runtime.threads=1 $2
}

search_job() { # OUT_NAME SBATCH_OPTIONS...: a long 2-rank search job across both nodes
  local name=$1
  shift
  RUN_DIR=$run OUT=$searches/$name EXTRA="$long" submit -N 2 -n 2 "$@" \
    "$src/jobs/search.sbatch"
}

check_prerequisites
case $case_name in
  start)
    "$slurm_local" stop >/dev/null 2>&1 || true
    rm -rf "$work"
    mkdir -p "$work"
    "$slurm_local" start --mpi-default pmix
    ;;

  pipeline)
    need_cluster
    job=$(CONFIG=$src/configs/tiny.yaml RUN_DIR=$run submit --wait "$src/jobs/pipeline.sbatch") ||
      fail "pipeline job failed: $(tail -20 "$work"/triseg-pipeline-*.out)"
    state_is "$job" COMPLETED || fail "pipeline job $job: $(job_field "$job" JobState)"
    for f in float/model.pt qat/model.pt int8/model.h5 int8/eval.json; do
      [[ -f $run/$f ]] || fail "the pipeline did not write $run/$f"
    done
    log "pipeline job $job wrote $run/int8/model.h5"
    ;;

  search)
    need_cluster
    need_run
    log "reference: mpirun -np 2, outside SLURM"
    rm -rf "$ref"
    t0=$SECONDS
    reference_search "$ref" "$long"
    echo $((SECONDS - t0)) >"$work/reference.seconds"
    job=$(search_job slurm2 --wait) || fail "search job failed: $(tail "$work/triseg-search-$job.out")"
    out=$work/triseg-search-$job.out
    grep -q "on n\[1-2\]" "$out" || fail "job $job did not span both nodes: $(head -3 "$out")"
    [[ $(grep -c "search finished" "$out") -eq 1 ]] || fail "not exactly one search in $out"
    grep -q "on 2 ranks" "$out" || fail "the search did not see 2 MPI ranks: $(cat "$out")"
    same_as_reference "$searches/slurm2"
    ;;

  requeue)
    need_cluster
    need_reference
    job=$(search_job requeue)
    hist=$searches/requeue/history.jsonl
    wait_until 300 "200 history lines of job $job" lines_at_least "$hist" 200
    log "scontrol requeue $job at $(wc -l <"$hist") history lines"
    scontrol requeue "$job"
    wait_until 120 "job $job to be requeued" restarts_at_least "$job" 1
    release_until "$job" COMPLETED 600
    same_as_reference "$searches/requeue"
    grep -q "restart 1 " "$work/triseg-search-$job.out" || fail "no restart in the job output"
    ;;

  timelimit)
    need_cluster
    need_reference
    # 1 minute per start; SIGUSR1 55 s before the end (instead of the script's 120 s).
    # slurmctld checks the limits every 30 s, so the warning comes 5-35 s after a start: the
    # search must last well beyond that on this machine, whatever its speed. Its length is
    # scaled from the reference's wall time to about 100 s, with a reference of its own.
    secs=$(cat "$work/reference.seconds" 2>/dev/null || echo 1)
    [[ $secs -ge 1 ]] || secs=1
    eps=$(((4000 * 100 / secs + 3) / 4 * 4))
    [[ $eps -ge 4000 ]] || eps=4000
    tl_extra=${long/--episodes 4000 /--episodes $eps }
    [[ $tl_extra != "$long" || $eps -eq 4000 ]] || fail "could not set the episodes in '$long'"
    log "reference of $eps episodes (the 4000-episode one took ${secs} s)"
    rm -rf "$work/reference-timelimit"
    reference_search "$work/reference-timelimit" "$tl_extra"
    job=$(RUN_DIR=$run OUT=$searches/timelimit EXTRA="$tl_extra" submit -N 2 -n 2 --time=1 \
      --signal=USR1@55 "$src/jobs/search.sbatch")
    release_until "$job" COMPLETED 780
    out=$work/triseg-search-$job.out
    restarts_at_least "$job" 1 || fail "job $job was never interrupted by the time-limit warning"
    grep -q "interrupted by SIGUSR1" "$out" || fail "no SIGUSR1 checkpoint in $out"
    grep -q "requeueing job $job" "$out" || fail "the script did not requeue: $out"
    log "job $job: $(job_field "$job" Restarts) requeue(s) on the USR1 warning"
    same_as_reference "$searches/timelimit" "$work/reference-timelimit"
    ;;

  timeout)
    need_cluster
    need_run
    # A script of one's own without --signal: at the time limit SLURM sends SIGTERM, the
    # search checkpoints and exits 130, the job ends TIMEOUT and is not requeued; the same job
    # submitted again resumes. (The search is longer than any limit here: 100000 episodes.)
    sed '/--signal=USR1/d' "$src/jobs/search.sbatch" >"$work/search-nosignal.sbatch"
    nosignal() {
      TRISEG_JOBS_DIR=$src/jobs RUN_DIR=$run OUT=$searches/timeout \
        EXTRA="$(sed 's/^-q //; s/--episodes 4000/--episodes 100000/' <<<"$long")" \
        submit -N 2 -n 2 "$@" \
        "$work/search-nosignal.sbatch"
    }
    job=$(nosignal --time=1)
    wait_until 300 "job $job to time out" state_is "$job" TIMEOUT
    out=$work/triseg-search-$job.out
    grep -q "interrupted by SIGTERM" "$out" || fail "no SIGTERM checkpoint at the limit: $out"
    [[ $(job_field "$job" Restarts) -eq 0 ]] || fail "job $job was requeued"
    hist=$searches/timeout/history.jsonl
    n=$(wc -l <"$hist")
    log "job $job: TIMEOUT after $n history lines, checkpoint written, not requeued"
    again=$(nosignal --time=5)
    wait_until 300 "the resubmitted job $again to go on" lines_at_least "$hist" $((n + 50))
    scancel "$again"
    grep -q "resuming from $searches/timeout/checkpoint.h5" "$work/triseg-search-$again.out" ||
      fail "the resubmitted job did not resume: $(head -n 5 "$work/triseg-search-$again.out")"
    log "resubmitted as $again: $(grep -m1 resuming "$work/triseg-search-$again.out")"
    ;;

  signals)
    need_cluster
    need_reference
    job=$(search_job signals)
    hist=$searches/signals/history.jsonl
    out=$work/triseg-search-$job.out
    wait_until 300 "history lines of job $job" lines_at_least "$hist" 100
    log "scancel --signal=USR1 --batch $job (the batch shell only)"
    scancel --signal=USR1 --batch "$job"
    wait_until 120 "job $job to requeue itself" restarts_at_least "$job" 1
    grep -q "batch shell got SIGUSR1: forwarding" "$out" || fail "no forwarding in $out"
    release_until "$job" RUNNING 300
    n=$(wc -l <"$hist")
    wait_until 300 "job $job to go on" lines_at_least "$hist" $((n + 100))
    log "scancel --signal=USR1 $job (the steps)"
    scancel --signal=USR1 "$job"
    wait_until 120 "job $job to requeue itself again" restarts_at_least "$job" 2
    release_until "$job" RUNNING 300
    n=$(wc -l <"$hist")
    wait_until 300 "job $job to go on" lines_at_least "$hist" $((n + 100))
    log "scancel $job (plain: cancelled, needs a resubmission)"
    scancel "$job"
    wait_until 120 "job $job to be cancelled" state_is "$job" CANCELLED
    grep -q "so it is not requeued from here" "$out" || fail "no cancel notice in $out"
    [[ -f $searches/signals/checkpoint.h5 && ! -f $searches/signals/result.json ]] ||
      fail "no checkpoint (or already a result) after scancel"
    again=$(search_job signals)
    log "resubmitted as $again"
    release_until "$again" COMPLETED 600
    same_as_reference "$searches/signals"
    ;;

  node_fail)
    need_cluster
    need_reference
    # A node marked DOWN mid-search (what slurmctld does when a node stops answering, or an
    # admin or health check does): SLURM ends the job on every node and requeues it itself
    # (--requeue); it resumes from its checkpoint and ends with the reference files.
    job=$(search_job node-fail)
    hist=$searches/node-fail/history.jsonl
    wait_until 300 "history lines of job $job" lines_at_least "$hist" 200
    log "n2 DOWN under job $job at $(wc -l <"$hist") history lines"
    scontrol update NodeName=n2 State=DOWN Reason=slurm_suite
    wait_until 120 "job $job to be requeued" restarts_at_least "$job" 1
    # RESUME is refused while the node still completes the job's processes: retry until idle.
    n2_back() {
      sinfo -h -n n2 -o %t | grep -q '^idle' && return 0
      scontrol update NodeName=n2 State=RESUME >/dev/null 2>&1 || true
      return 1
    }
    wait_until 120 "n2 to be back" n2_back
    release_until "$job" COMPLETED 600
    same_as_reference "$searches/node-fail"
    ;;

  sweep)
    need_cluster
    need_run
    # The documented chain: pipeline (its stages are done: each one says so) -> the array
    # (afterok) -> the report (afterok).
    # (All of its output, then the first line: `| head -1` can end study with SIGPIPE.)
    study_out=$(cd "$work" && "$src/jobs/study" --config "$src/configs/tiny.yaml" --run-dir "$run" \
      --methods ppo --seeds "0 1 2" --extra "$short") || fail "jobs/study failed: $study_out"
    line=$(sed -n 1p <<<"$study_out")
    log "$line"
    pipeline=$(sed -n 's/.*: pipeline \([0-9]*\) -> .*/\1/p' <<<"$line")
    array=$(sed -n 's/.* -> sweep \([0-9]*\) .*/\1/p' <<<"$line")
    report=$(sed -n 's/.* -> report \([0-9]*\)$/\1/p' <<<"$line")
    [[ -n $pipeline && -n $array && -n $report ]] || fail "jobs/study printed '$line'"
    report_done() {
      local st
      st=$(job_field "$report" JobState)
      [[ $st == COMPLETED ]] && return 0
      if [[ $st != PENDING && $st != RUNNING && $st != COMPLETING ]] ||
        [[ $(job_field "$report" Reason) == DependencyNeverSatisfied ]]; then
        tail -n 5 "$work"/triseg-sweep-"${array}"_*.out
        fail "report job $report: $st ($(job_field "$report" Reason)); a sweep task failed"
      fi
      return 1
    }
    wait_until 600 "report job $report" report_done
    nodes=""
    for t in 0 1 2; do
      o=$work/triseg-sweep-${array}_$t.out
      [[ -f $o ]] || fail "no output $o (%A_%a)"
      grep -q "sweep task $t of 3: ppo seed $t" "$o" || fail "task $t ran the wrong pair: $(head -2 "$o")"
      nodes+=" $(grep -o -m1 'on n[12]' "$o")"
      grep -q '"seed": '"$t" "$run/search/ppo-seed$t/result.json" || fail "seed $t: wrong result"
      grep -q '"images": 500' "$run/search/ppo-seed$t/eval_test.json" ||
        fail "seed $t: no test-set evaluation in its folder"
    done
    [[ $nodes == *n1* && $nodes == *n2* ]] || fail "the tasks did not use both nodes:$nodes"
    grep -q "already trained" "$work/triseg-pipeline-$pipeline.out" ||
      fail "the chain's pipeline did not find the trained run: $work/triseg-pipeline-$pipeline.out"
    r=$work/triseg-report-$report.out
    for t in 0 1 2; do grep -q "ppo-seed$t" "$r" || fail "ppo-seed$t missing from $r"; done
    grep -qE "^ppo +3 " "$r" || fail "no 3-seed comparison line for ppo in $r: $(cat "$r")"
    [[ $(grep -o '"test_drop"' "$run/report.json" | wc -l) -ge 1 ]] || fail "no report.json"
    log "sweep tasks on$nodes; report table:"
    grep -E "^ppo " "$r"
    ;;

  replay)
    need_cluster
    need_run
    # dump-acts on 2 ranks across both nodes (one shard each), then replay and the analyses
    # from the dump alone.
    codes=$run/search/ppo-seed0/result.json
    [[ -f $codes ]] || fail "no $codes (slurm_sweep)"
    job=$(RUN_DIR=$run CODES=$codes IMAGES=200 submit --wait -N 2 -n 2 "$src/jobs/replay.sbatch") ||
      fail "replay job failed: $(tail -n 20 "$work/triseg-replay-$job.out")"
    out=$work/triseg-replay-$job.out
    for f in acts/acts_int8.h5 acts/acts_int8.shard-0-of-2.h5 acts/acts_int8.shard-1-of-2.h5 \
      acts/replay_exact.json acts/replay_result.json acts/percentiles.h5; do
      [[ -f $run/$f ]] || fail "the replay job did not write $run/$f: $(tail -n 20 "$out")"
    done
    ls "$run"/analysis/*variance*.json >/dev/null || fail "no activation variance in $run/analysis"
    grep -q '"images": 200' "$run/acts/replay_exact.json" || fail "replay_exact.json: not 200 images"
    log "replay job $job: 2 shards, replay exact and with codes, percentiles, variance"
    ;;

  graph)
    need_cluster
    graph_run=$work/run-resnet20
    job=$(CONFIG=$src/configs/tiny.yaml RUN_DIR=$graph_run \
      EXTRA="--set model.arch=resnet20 --set model.width=0.25" \
      submit --wait "$src/jobs/pipeline.sbatch") ||
      fail "graph pipeline job failed: $(tail -20 "$work/triseg-pipeline-$job.out")"
    grep -q "arch: resnet20" "$graph_run/config.yaml" || fail "$graph_run is not a resnet20 run"
    [[ -f $graph_run/int8/eval.json ]] || fail "the graph pipeline wrote no int8/eval.json"
    log "graph pipeline job $job wrote $graph_run/int8/model.h5"
    rm -rf "$work/reference-graph"
    reference_search "$work/reference-graph" "$short" "$graph_run"
    job=$(RUN_DIR=$graph_run OUT=$searches/graph EXTRA="$short" submit --wait -N 2 -n 2 \
      "$src/jobs/search.sbatch") || fail "graph search job failed: $(tail "$work/triseg-search-$job.out")"
    grep -q "on n\[1-2\]" "$work/triseg-search-$job.out" || fail "job $job did not span both nodes"
    same_as_reference "$searches/graph" "$work/reference-graph"
    # The replay job on the graph: dump-acts on 2 ranks across both nodes (the points and the
    # tensors the skips carry), then replay, percentiles and variance from the dump.
    job=$(RUN_DIR=$graph_run CODES=$searches/graph/result.json IMAGES=100 \
      submit --wait -N 2 -n 2 "$src/jobs/replay.sbatch") ||
      fail "graph replay job failed: $(tail -n 20 "$work/triseg-replay-$job.out")"
    for f in acts/acts_int8.h5 acts/replay_exact.json acts/replay_result.json acts/percentiles.h5 \
      analysis/activation_variance.json; do
      [[ -f $graph_run/$f ]] || fail "the graph replay job did not write $graph_run/$f"
    done
    grep -q '"images": 100' "$graph_run/acts/replay_exact.json" || fail "graph replay: not 100 images"
    log "graph replay job $job: 2 shards, replay exact and with codes, percentiles, variance"
    ;;

  early_signal)
    need_cluster
    need_run
    # (a) A real USR1 from outside, sent the moment the tasks' triseg processes exist (while
    # the shared libraries, MPI, the model and the data load). Where it lands is timing; every
    # outcome must be exit 130 and a requeue, never a signal death.
    job=$(search_job early)
    # (After the exec: jobs/common.sh starts triseg through perl, which blocks the signals.)
    wait_until 120 "the tasks of job $job" pgrep -f "^$bin search .*--out $searches/early "
    scancel --signal=USR1 "$job"
    wait_until 120 "job $job to requeue itself" restarts_at_least "$job" 1
    out=$work/triseg-search-$job.out
    grep -q "search exited with 130" "$out" || fail "the step did not exit 130: $(cat "$out")"
    if grep -q "before any state could be saved" "$out"; then
      log "(a) the signal arrived during start-up: clean exit 130, requeued"
    else
      log "(a) the signal arrived after start-up: checkpoint, exit 130, requeued"
    fi
    scancel "$job"
    # (b) Deterministic: every task raises USR1 itself at the end of start-up (the test hook
    # TRISEG_TEST_SIGNAL_DURING_STARTUP), so it always lands before the loop polls.
    job=$(TRISEG_TEST_SIGNAL_DURING_STARTUP=USR1 search_job early-hook)
    wait_until 120 "job $job to requeue itself" restarts_at_least "$job" 1
    scancel "$job"
    out=$work/triseg-search-$job.out
    [[ $(grep -c "interrupted by SIGUSR1 before any state could be saved" "$out") -eq 2 ]] ||
      fail "not both tasks exited cleanly at start-up: $(cat "$out")"
    grep -q "search exited with 130" "$out" || fail "the step did not exit 130: $(cat "$out")"
    grep -q "requeueing job $job" "$out" || fail "no requeue in $out"
    ! grep -qiE "core dumped|segmentation" "$out" || fail "a crash in $out"
    log "(b) USR1 at the end of start-up on both nodes: exit 130, requeued"
    ;;

  mpi_none)
    need_run
    "$slurm_local" stop
    "$slurm_local" start --mpi-default none
    # SRUN_MPI empty: plain `srun`, so slurm.conf's MpiDefault=none decides.
    if job=$(RUN_DIR=$run SRUN_MPI='' OUT=$searches/mpinone EXTRA="$short" \
      submit --wait -N 2 -n 2 "$src/jobs/search.sbatch"); then
      fail "job $job succeeded"
    fi
    out=$work/triseg-search-$job.out
    # The fix is named by triseg's task 0, or, when srun ended the step before that line reached
    # the output (a quiet task failed first; seen under load), by the job script itself.
    grep -q "srun --mpi=pmix" "$out" || fail "no error naming srun --mpi=pmix in $out"
    ! grep -q "search finished" "$out" || fail "a search ran: $out"
    [[ ! -f $searches/mpinone/history.jsonl ]] || fail "the refused tasks wrote a history"
    [[ $(job_field "$job" JobState) == FAILED ]] || fail "job $job: $(job_field "$job" JobState)"
    # The task that prints exits 5 (MPI error); srun's own code is the largest of its tasks',
    # 143 when --kill-on-bad-exit ended the other (quiet) task before it exited 5 too.
    grep -qE "task [01]: Exited with exit code 5" "$out" || fail "no task exited with 5: $out"
    log "MpiDefault=none: job $job FAILED ($(job_field "$job" ExitCode)), a task exited 5: $(grep -m1 'srun --mpi=pmix' "$out" | cut -c1-100)..."
    ;;

  stop)
    "$slurm_local" stop
    ;;

  *) fail "unknown case '$case_name'" ;;
esac
