#!/usr/bin/env bash
# TRISEG_REQUIRE_ALL=1 turns a skip for something the machine lacks into a failure: a gtest
# skip (h5dump hidden from PATH) and a script skip (clang-format hidden from PATH), each run
# once without the variable (skipped, exit 0 or 77) and once with it (failed, with the reason).
#
# usage: test_require_all.sh TEST_IO_H5_BINARY
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
h5_tests=${1:?usage: test_require_all.sh TEST_IO_H5_BINARY}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A PATH with only what the two commands need besides the hidden tool.
mkdir "$tmp/bin"
for exe in bash sh dirname git env; do
  ln -s "$(command -v "$exe")" "$tmp/bin/$exe"
done

fail() { echo "FAILED: $*" >&2; exit 1; }

# run OUT_FILE ENV... -- COMMAND...: the exit code of COMMAND run with PATH=$tmp/bin.
run() {
  local out=$1; shift
  local code=0
  env -i HOME="$HOME" PATH="$tmp/bin" "$@" >"$out" 2>&1 || code=$?
  echo "$code"
}

filter=--gtest_filter=H5Int8Model.H5dumpShowsTheSchema
code=$(run "$tmp/skip.out" "$h5_tests" "$filter")
[[ $code == 0 ]] || fail "without TRISEG_REQUIRE_ALL the hidden h5dump should skip (exit $code)"
grep -q "SKIPPED" "$tmp/skip.out" || fail "no SKIPPED line: $(cat "$tmp/skip.out")"
code=$(run "$tmp/req.out" TRISEG_REQUIRE_ALL=1 "$h5_tests" "$filter")
[[ $code != 0 ]] || fail "under TRISEG_REQUIRE_ALL=1 the skip should fail: $(cat "$tmp/req.out")"
grep -q "TRISEG_REQUIRE_ALL=1, but this test would skip: h5dump is not installed" "$tmp/req.out" ||
  fail "the failure does not give the reason: $(cat "$tmp/req.out")"

code=$(run "$tmp/fmt.out" "$src/scripts/check-format")
[[ $code == 77 ]] || fail "check-format without clang-format should exit 77, got $code: $(cat "$tmp/fmt.out")"
code=$(run "$tmp/fmt_req.out" TRISEG_REQUIRE_ALL=1 "$src/scripts/check-format")
[[ $code == 1 ]] || fail "under TRISEG_REQUIRE_ALL=1 check-format should exit 1, got $code"
grep -q "clang-format is not installed" "$tmp/fmt_req.out" || fail "no reason: $(cat "$tmp/fmt_req.out")"
echo "PASSED: skips become failures under TRISEG_REQUIRE_ALL=1, with their reasons"
