#!/usr/bin/env bash
# Runs each fuzz target briefly (default 15 s each). Skips, saying why, when cargo-fuzz cannot be
# installed or built; fails when a target finds a crash.
set -uo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${FUZZ_SECONDS:-15}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  if ! cargo install cargo-fuzz --locked >/tmp/cargo-fuzz-install.log 2>&1; then
    echo "fuzz: SKIPPED: cargo-fuzz could not be installed (see /tmp/cargo-fuzz-install.log)"
    exit 0
  fi
fi
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz build -a >/tmp/fuzz-build.log 2>&1; then
  echo "fuzz: SKIPPED: the fuzz targets could not be built on this toolchain (see /tmp/fuzz-build.log)"
  tail -20 /tmp/fuzz-build.log
  exit 0
fi
status=0
for target in token jwk_set authorization_header; do
  corpus="$(mktemp -d)"
  if cargo fuzz run -a "$target" "$corpus" "seeds/$target" -- -max_total_time="$SECONDS_EACH" >"/tmp/fuzz-$target.log" 2>&1; then
    echo "fuzz: $target: $(grep -Eo 'Done [0-9]+ runs' "/tmp/fuzz-$target.log" | tail -1) in ${SECONDS_EACH} s, no crash"
  else
    echo "fuzz: $target: FAILED"
    tail -40 "/tmp/fuzz-$target.log"
    status=1
  fi
  rm -rf "$corpus"
done
exit $status
