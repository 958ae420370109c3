#!/usr/bin/env bash
# Checks that every other crate's type in each crate's public API is on that crate's
# external-types.txt. Uses rustdoc's JSON output (unstable: RUSTC_BOOTSTRAP lets the stable
# toolchain emit it; only this check relies on it).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
status=0
for pair in oauth2-api:oauth2_api tower-oauth2-api:tower_oauth2_api actix-oauth2-api:actix_oauth2_api oauth2-api-gateway:oauth2_api_gateway; do
  crate="${pair%%:*}" lib="${pair##*:}"
  RUSTC_BOOTSTRAP=1 cargo rustdoc -q -p "$crate" --lib --all-features -- \
    -Z unstable-options --output-format json
  echo "== $crate"
  python3 scripts/external_types.py "$target/doc/$lib.json" "$crate/external-types.txt" || status=1
done
exit $status
