#!/usr/bin/env bash
# Test of how jobs/common.sh finds the triseg binary and the run folder, on copies of it in a
# checkout-like folder and in an installed-like folder (<prefix>/share/triseg/jobs): $TRISEG
# first, then the checkout's build/cli/triseg, then triseg on PATH; an error naming both places
# when neither is there; RUN_DIR required by the installed copy. No SLURM involved.
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

checkout=$tmp/checkout
installed=$tmp/prefix/share/triseg
mkdir -p "$checkout/jobs" "$installed/jobs" "$tmp/bin" "$tmp/empty"
cp "$src/jobs/common.sh" "$checkout/jobs/"
cp "$src/jobs/common.sh" "$installed/jobs/"
touch "$checkout/CMakeLists.txt"
printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/triseg"
chmod +x "$tmp/bin/triseg"
out=$tmp/out

fail() { echo "FAILED: $*" >&2; cat "$out" >&2; exit 1; }

# jobs JOBS_DIR [VAR=VALUE ...]: sources JOBS_DIR/common.sh as a job does, with the given
# environment and a PATH without triseg unless PATH is given; prints TRISEG and RUN_DIR into
# $out, or the error. Returns the shell's status.
jobs() {
  local dir=$1
  shift
  env -u TRISEG -u RUN_DIR PATH="/usr/bin:/bin" SLURM_JOB_ID=1 SLURM_SUBMIT_DIR="$tmp" "$@" \
    bash -c "source '$dir/common.sh' && echo \"TRISEG=\$TRISEG\" && echo \"RUN_DIR=\$RUN_DIR\"" \
    >"$out" 2>&1
}

# A checkout without a build: triseg on PATH, made absolute.
jobs "$checkout/jobs" PATH="$tmp/bin:/usr/bin:/bin" || fail "checkout, triseg on PATH: exit $?"
grep -qx "TRISEG=$tmp/bin/triseg" "$out" || fail "checkout: not the triseg on PATH"
grep -qx "RUN_DIR=$checkout/runs/fmnist-vgg16" "$out" || fail "checkout: not the default RUN_DIR"
# Neither a build nor triseg on PATH: exit 2 naming both.
status=0
jobs "$checkout/jobs" || status=$?
[[ $status -eq 2 ]] || fail "no binary: exit $status, not 2"
{ grep -q "$checkout/build/cli/triseg" "$out" && grep -q "triseg on PATH" "$out"; } ||
  fail "no binary: the error does not name both places"
# The checkout's build comes before PATH.
mkdir -p "$checkout/build/cli"
cp "$tmp/bin/triseg" "$checkout/build/cli/triseg"
jobs "$checkout/jobs" PATH="$tmp/bin:/usr/bin:/bin" || fail "checkout with a build: exit $?"
grep -qx "TRISEG=$checkout/build/cli/triseg" "$out" || fail "checkout: not its build"
# $TRISEG comes first, relative to the submit folder; a missing one is an error.
jobs "$checkout/jobs" TRISEG=bin/triseg || fail "TRISEG: exit $?"
grep -qx "TRISEG=$tmp/bin/triseg" "$out" || fail "TRISEG: not used"
status=0
jobs "$checkout/jobs" TRISEG="$tmp/empty/triseg" || status=$?
{ [[ $status -eq 2 ]] && grep -q "$tmp/empty/triseg" "$out"; } ||
  fail "missing TRISEG: exit $status"

# The installed jobs: triseg on PATH, and RUN_DIR is required.
status=0
jobs "$installed/jobs" PATH="$tmp/bin:/usr/bin:/bin" || status=$?
{ [[ $status -eq 2 ]] && grep -q "RUN_DIR is not set" "$out"; } ||
  fail "installed, no RUN_DIR: exit $status"
jobs "$installed/jobs" PATH="$tmp/bin:/usr/bin:/bin" RUN_DIR=runs/r || fail "installed: exit $?"
grep -qx "TRISEG=$tmp/bin/triseg" "$out" || fail "installed: not the triseg on PATH"
grep -qx "RUN_DIR=$tmp/runs/r" "$out" || fail "installed: RUN_DIR not made absolute"
status=0
jobs "$installed/jobs" RUN_DIR=runs/r || status=$?
{ [[ $status -eq 2 ]] && grep -q "triseg on PATH" "$out"; } ||
  fail "installed, no binary: exit $status"
echo "ok: the jobs find \$TRISEG, the checkout's build, then triseg on PATH, and name both when" \
  "neither is there"
