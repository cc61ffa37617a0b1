#!/usr/bin/env bash
# Runs every Go fuzz target in the module briefly (go test allows one -fuzz target per run).
#
#   scripts/fuzz.sh            each target for a fixed number of executions (what make test runs)
#   scripts/fuzz.sh 1m         each target for a duration, for a deeper run by hand
#
# The default is a count, not a duration, on purpose: a duration -fuzztime makes Go's fuzz
# coordinator (go1.26 and older) race its own deadline and fail a target that found nothing
# with a bare "context deadline exceeded" (golang/go#75804, fixed in go1.27). A count sets
# the coordinator's execution limit and creates no deadline, so that failure cannot happen.
# A target whose executions are slow (a network round trip, a file write) states a smaller
# count in the comment line right above its func:  // fuzz: 1500 execs (why)
#
# In duration mode the race is still possible; a failure that says "context deadline exceeded"
# and wrote no new input under testdata/fuzz is that race, not a finding: it is said so and the
# target runs once more. A real finding always writes its input first.
#
# -fuzzminimizetime 5s: minimizing a new interesting input may take 60 s by default, which
# left some targets with a handful of executions for the whole run.
set -euo pipefail
budget=${1:-}
default_execs=${FUZZEXECS:-20000}
minimize=${FUZZMINIMIZETIME:-5s}

# execs_for DIR TARGET: the count from a "// fuzz: N execs" line right above func TARGET.
execs_for() {
  local n
  n=$(awk -v t="func $2(" '
    index($0, t) == 1 { if (prev ~ /^\/\/ fuzz: [0-9]+ execs/) { split(prev, w, " "); print w[3] }; exit }
    { prev = $0 }' "$1"/*_test.go 2>/dev/null | head -1)
  echo "${n:-$default_execs}"
}

# crashers DIR: the inputs a fuzz run has written so far (a real finding adds one).
crashers() { find "$1/testdata/fuzz" -type f 2>/dev/null | sort || true; }

run_target() { # pkg dir target fuzztime
  go test -run '^$' -fuzz "^${3}\$" -fuzztime "$4" -fuzzminimizetime "$minimize" -timeout 10m "$1"
}

failed=()
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
  for t in $targets; do
    if [ -z "$budget" ]; then
      ft="$(execs_for "$dir" "$t")x"
    else
      ft=$budget
    fi
    echo "fuzz: $pkg $t ($ft)"
    before=$(crashers "$dir")
    out=$(mktemp)
    if run_target "$pkg" "$dir" "$t" "$ft" 2>&1 | tee "$out"; then
      rm -f "$out"; continue
    fi
    if [ -n "$budget" ] && grep -q 'context deadline exceeded' "$out" &&
       ! grep -q 'Failing input written to' "$out" && [ "$before" = "$(crashers "$dir")" ]; then
      echo "fuzz: $t stopped with Go's fuzztime deadline race (golang/go#75804) and found nothing; running it once more"
      if run_target "$pkg" "$dir" "$t" "$ft"; then rm -f "$out"; continue; fi
    fi
    rm -f "$out"
    failed+=("$pkg $t")
  done
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
