#!/usr/bin/env bash
# Test of scripts/check-includes: a tree with one upward include, one LibTorch include in a
# torch-free layer and one <mpi.h> outside engine/dist must fail with exactly those three
# lines; the same tree without them must pass.
set -euo pipefail
script="$(cd "$(dirname "$0")/../.." && pwd)/scripts/check-includes"
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/{engine/core,engine/int8,search/driver,cli,io}
printf '#include "common/error.h"\n#include "cli/commands.h"\n' > "$tree/engine/core/a.h"
printf '#include <vector>\n#include <torch/torch.h>\n' > "$tree/engine/int8/b.cpp"
printf '#include <mpi.h>\n#include "engine/core/a.h"\n' > "$tree/search/driver/c.cpp"
printf '#include "search/driver/c.h"\n#include "engine/core/a.h"\n' > "$tree/cli/d.cpp"
printf '#include "engine/core/a.h"\n#include "models/spec/model_options.h"\n' > "$tree/io/e.cpp"
set +e
out=$("$script" --root "$tree")
rc=$?
set -e
echo "$out"
[[ $rc == 1 ]] || { echo "FAIL: expected exit 1, got $rc"; exit 1; }
[[ $(grep -c . <<<"$out") == 3 ]] || { echo "FAIL: expected 3 violations"; exit 1; }
grep -q '^engine/core/a.h:2: engine/core/ includes "cli/commands.h" from cli/' <<<"$out"
grep -q '^engine/int8/b.cpp:2: LibTorch header <torch/torch.h> in engine/int8/' <<<"$out"
grep -q '^search/driver/c.cpp:1: <mpi.h> outside engine/dist' <<<"$out"
# Without the three offending lines the tree passes.
sed -i '/cli\/commands.h/d' "$tree/engine/core/a.h"
sed -i '/torch/d' "$tree/engine/int8/b.cpp"
sed -i '/mpi.h/d' "$tree/search/driver/c.cpp"
"$script" --root "$tree"
echo "PASS"
