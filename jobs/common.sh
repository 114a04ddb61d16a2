# shellcheck shell=bash
# jobs/common.sh: sourced by the jobs/*.sbatch scripts (not a job itself).
#
# Every job finds this file through the path it was submitted with (`scontrol show job`
# Command=, an absolute path), because SLURM runs a copy of the script from its spool folder.
# It resolves every path to an absolute one once, prints them, runs triseg steps with srun and
# turns an interrupted step (exit 130) into a requeue.
#
# Environment read here (all optional):
#   TRISEG     the triseg binary (default: <repository>/build/cli/triseg when it is there, else
#              triseg on PATH, as for an installed triseg)
#   RUN_DIR    the run folder (default: <repository>/runs/fmnist-vgg16; required for the installed
#              jobs in <prefix>/share/triseg/jobs); a relative path is taken relative to the
#              folder sbatch was called from ($SLURM_SUBMIT_DIR). On several nodes it must be on a
#              filesystem every node sees at the same path.
#   SRUN_MPI   srun's --mpi plugin (default pmix; `none`/`pmi2`, or empty for slurm.conf's
#              MpiDefault)
#   EXTRA      more options for the triseg command, split on spaces

jobs_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "$jobs_dir")

# absolute PATH: PATH made absolute against the submit folder (not the spool copy's folder).
absolute() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "${SLURM_SUBMIT_DIR:-$PWD}" "$1" ;;
  esac
}

# The binary: $TRISEG, else this checkout's build, else an installed triseg on PATH (the jobs
# installed in <prefix>/share/triseg/jobs have no build folder beside them).
if [[ -n "${TRISEG:-}" ]]; then
  TRISEG=$(absolute "$TRISEG")
  if [[ ! -x "$TRISEG" ]]; then
    echo "$(basename "$0"): triseg binary '$TRISEG' (TRISEG) is missing or not executable:" \
      "build it (scripts/build triseg) or set TRISEG=/absolute/path/to/triseg" >&2
    exit 2
  fi
elif [[ -x "$repo_dir/build/cli/triseg" ]]; then
  TRISEG=$repo_dir/build/cli/triseg
elif TRISEG=$(command -v triseg); then
  TRISEG=$(absolute "$TRISEG")
else
  echo "$(basename "$0"): no triseg binary: neither '$repo_dir/build/cli/triseg' (a build of" \
    "this checkout) nor triseg on PATH ($PATH) is there: build it (scripts/build triseg)," \
    "install it (cmake --install, or the Debian package), or set" \
    "TRISEG=/absolute/path/to/triseg" >&2
  exit 2
fi
# An installed copy of the jobs (no CMakeLists.txt beside jobs/) has no repository to hold runs/.
if [[ -z "${RUN_DIR:-}" && ! -f "$repo_dir/CMakeLists.txt" ]]; then
  echo "$(basename "$0"): RUN_DIR is not set: the installed jobs ($jobs_dir) have no repository" \
    "to hold runs/; set RUN_DIR to the run folder, e.g. RUN_DIR=/shared/runs/fmnist-vgg16" >&2
  exit 2
fi
RUN_DIR=$(absolute "${RUN_DIR:-$repo_dir/runs/fmnist-vgg16}")
SRUN_MPI=${SRUN_MPI-pmix}
EXTRA=${EXTRA:-}

# The command line of a triseg step: a signal that arrives while triseg's shared libraries load
# (1-2 s, before its main installs the handlers) would kill it (exit 138 or 143). So the step's
# process first blocks SIGTERM, SIGINT and SIGUSR1 (perl-base is part of every Debian) and
# execs triseg with them blocked: such a signal stays pending, and triseg's main delivers it
# to its handler, a clean exit 130.
# shellcheck disable=SC2034 # used by the job scripts
triseg=(perl -MPOSIX -e 'sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGTERM, SIGINT, SIGUSR1))
  or die "sigprocmask: $!"; exec {$ARGV[0]} @ARGV or die "exec $ARGV[0]: $!"' "$TRISEG")

# Threads per rank = the CPUs SLURM gave each task; OpenMP must not spin on shared cores.
export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"
export OMP_WAIT_POLICY=PASSIVE

job_line() {
  echo "$(date -Is) job ${SLURM_JOB_ID}${SLURM_ARRAY_TASK_ID:+ (array ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID})}" \
    "restart ${SLURM_RESTART_COUNT:-0} on ${SLURM_JOB_NODELIST:-?}: $*"
}

# run_step ARGS...: `srun [--mpi=$SRUN_MPI] ARGS` as a job step, in the background, so that a
# signal sent to the batch shell alone (`scancel --signal=USR1 --batch`, `--signal=B:USR1@120`)
# is forwarded to the step (srun passes it on to every task) instead of killing the shell.
# Returns the step's exit code.
run_step() {
  local mpi=() out_file before=0 other step_output=""
  [[ -n "$SRUN_MPI" ]] && mpi=(--mpi="$SRUN_MPI")
  out_file=$(scontrol show job "$SLURM_JOB_ID" | sed -n 's/^ *StdErr=//p' | head -1)
  [[ -f $out_file ]] && before=$(stat -c %s "$out_file")
  srun --kill-on-bad-exit=1 "${mpi[@]}" "$@" &
  step_pid=$!
  trap 'forward USR1' USR1
  trap 'forward TERM' TERM
  trap 'forward INT' INT
  local status=0
  # `wait` returns early (> 128) when a trapped signal arrives; wait again until srun ends.
  while :; do
    status=0
    wait "$step_pid" || status=$?
    kill -0 "$step_pid" 2>/dev/null || break
  done
  trap - USR1 TERM INT
  step_pid=""
  [[ -f $out_file ]] && step_output=$(tail -c +$((before + 1)) "$out_file")
  # srun reports the largest exit code of its tasks. When one task fails (say 5) and
  # --kill-on-bad-exit stops another that was still starting, that one exits 130 and srun
  # reports 130, which is no interruption: take the failed task's code from srun's own lines
  # ("task N: Exited with exit code C") in this job's output, written since the step started.
  if [[ $status -eq 130 && -n $step_output ]]; then
    other=$(sed -n 's/.*task [0-9]*: Exited with exit code \([0-9]*\).*/\1/p' <<<"$step_output" |
      awk '$0 != 130' | sed -n 1p)
    if [[ -n $other ]]; then
      echo "$(date -Is) a task of the step exited with $other (srun's 130 is a task it stopped" \
        "after that failure)"
      status=$other
    fi
  fi
  mpi_hint_if_silent "$status" "$step_output"
  return "$status"
}

# mpi_hint_if_silent STATUS STEP_OUTPUT: a task that exits 5 (MPI error) prints why, but srun
# can end the step before that line reaches this output: with --kill-on-bad-exit, a quiet task
# that fails first gets the printing task (task 0, maybe still starting under load) killed.
# When a task exited 5 and no triseg error line is in the step's output, print the usual cause
# here: srun started the tasks without a PMI plugin, so each ran as a world of one.
mpi_hint_if_silent() {
  local status=$1 step_output=$2
  if [[ $status -ne 5 ]] && ! grep -q "task [0-9]*: Exited with exit code 5" <<<"$step_output"; then
    return 0
  fi
  if grep -qE "triseg [a-z0-9-]+( \[rank [0-9]+ of [0-9]+\])?: error:" <<<"$step_output"; then
    return 0
  fi
  echo "$(date -Is) a task of the step exited with 5 (MPI error) and its message is not in this" \
    "output. Usually srun started the tasks without a PMI plugin for MPI, so each ran alone:" \
    "launch with \`srun --mpi=pmix ...\` (SRUN_MPI=pmix, the default of these jobs; \`srun" \
    "--mpi=list\` shows the plugins), or set MpiDefault=pmix in slurm.conf" >&2
}

# SIGTERM or SIGINT reached the batch shell: SLURM is ending the job (scancel, scontrol
# requeue, preemption, the time limit, a node lost); it requeues the job itself where it does
# (docs/search.md, "What requeues by itself"), and the script must not undo a cancel.
ending=0
forward() {
  [[ $1 == USR1 ]] || ending=1
  if [[ -n "${step_pid:-}" ]]; then
    echo "$(date -Is) batch shell got SIG$1: forwarding it to the step (srun pid $step_pid)"
    kill -s "$1" "$step_pid" 2>/dev/null || true
  fi
}

# requeue_if_interrupted STATUS WHAT: 130 (interrupted after a checkpoint) requeues this job (it
# resumes where it stopped) and ends the script; another status ends the script with it.
requeue_if_interrupted() {
  local status=$1 what=$2
  job_line "$what exited with $status"
  if [[ $status -eq 130 && $ending -eq 1 ]]; then
    echo "$(date -Is) $what was interrupted; SLURM is ending job $SLURM_JOB_ID (SIGTERM to the" \
      "batch shell), so it is not requeued from here: SLURM requeues it itself after" \
      "scontrol requeue, preemption or a lost node; after scancel or a time limit, submit it again"
    exit 130
  fi
  if [[ $status -eq 130 ]]; then
    echo "$(date -Is) $what was interrupted (exit 130, its state saved where it had any):" \
      "requeueing job $SLURM_JOB_ID"
    if ! scontrol requeue "$SLURM_JOB_ID"; then
      # SLURM is ending the job itself: its own requeue (scontrol requeue, preemption) is
      # under way, or it was cancelled or hit its time limit (then resubmit; docs/search.md).
      echo "$(date -Is) scontrol requeue refused: SLURM is already ending this job" >&2
      exit 130
    fi
    exit 0
  fi
  if [[ $status -ne 0 ]]; then
    exit "$status"
  fi
}
