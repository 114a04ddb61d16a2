#!/usr/bin/env bash
# Test of jobs/common.sh's run_step with stand-ins for srun and scontrol: when a task exits 5
# (MPI error) and triseg's own message did not reach the job's output (srun ended the step
# first), the job script prints the fix (`srun --mpi=pmix`) itself; when the message is there,
# it adds nothing. No SLURM and no timing involved.
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin"
out="$tmp/job.out"
cat >"$tmp/bin/scontrol" <<FAKE
#!/usr/bin/env bash
echo "   StdErr=$out"
FAKE
# srun stand-in: STEP_MESSAGE (if set) as a task's line, then srun's own line for STEP_CODE.
cat >"$tmp/bin/srun" <<'FAKE'
#!/usr/bin/env bash
[[ -z "${STEP_MESSAGE:-}" ]] || echo "$STEP_MESSAGE" >&2
echo "srun: error: node1: task 1: Exited with exit code 5" >&2
exit "$STEP_CODE"
FAKE
printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/triseg"
chmod +x "$tmp/bin/"*

fail() { echo "FAILED: $*" >&2; cat "$out" >&2; exit 1; }

# step CODE [MESSAGE]: run_step in a job shell whose output goes to $out; prints its status.
step() {
  : >"$out"
  STEP_CODE=$1 STEP_MESSAGE=${2:-} PATH="$tmp/bin:$PATH" SLURM_JOB_ID=1 \
    TRISEG="$tmp/bin/triseg" bash -c "source '$src/jobs/common.sh'; status=0; \
      run_step true || status=\$?; echo \"status \$status\"" >>"$out" 2>&1
  sed -n 's/^status //p' "$out"
}

# A task exited 5 without its message (srun reports 5, or 143 for a task it killed).
for code in 5 143; do
  [[ $(step "$code") == "$code" ]] || fail "srun $code: another status"
  [[ $(grep -c "srun --mpi=pmix" "$out") -eq 1 ]] || fail "srun $code: no hint naming srun --mpi=pmix"
done
# triseg's message reached the output: no second hint.
msg="triseg search: error: srun started this process as task 0 of 2 ... \`srun --mpi=pmix ...\`"
[[ $(step 5 "$msg") == 5 ]] || fail "with the message: another status"
[[ $(grep -c "srun --mpi=pmix" "$out") -eq 1 ]] || fail "with the message: a second hint"
echo "ok: the job script names srun --mpi=pmix when a task exited 5 without its message"
