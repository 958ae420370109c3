#!/usr/bin/env bash
# HTTP benchmark: wrk against five servers in one sitting, interleaved (A B C D E, repeated),
# median of the rounds, written as a markdown table.
#
#   bash scripts/http_bench.sh                 # 3 rounds of 10 s each
#   ROUNDS=5 DURATION=15 bash scripts/http_bench.sh
#
# Servers (all on 127.0.0.1, tokio multi-thread runtime, release builds, the same handler that
# returns the token's `sub`): bare axum; axum + AuthLayer with the verified-token cache on; with
# it off; axum 0.7 + jwt-authorizer 0.15 (bench/jwt-authorizer); the gateway in echo mode (its
# handler echoes all claims as JSON). One RS256-2048 token, sent on every request.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-50}"
THREADS="${THREADS:-2}"
ISS="https://bench.issuer.test"
AUD="bench-api"

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (Debian)" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

echo "building release binaries..." >&2
cargo build --release -q -p oauth2-api-bench-server
cargo build --release -q -p oauth2-api-gateway
(cd bench/jwt-authorizer && CARGO_TARGET_DIR=../../target/bench-peer cargo build --release -q)

work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
gw=target/release/oauth2-api-gateway
"$gw" token mint --key "$work/key.pem" --alg RS256 --kid bench-rs256 --iss "$ISS" --aud "$AUD" \
  --sub bench-user --ttl 86400 --jwks-out "$work/jwks.json" > "$work/token" 2>/dev/null
TOKEN="$(cat "$work/token")"
python3 - "$work" "$ISS" "$AUD" <<'PY'
import json, sys
work, iss, aud = sys.argv[1:]
jwks = open(f"{work}/jwks.json").read()
open(f"{work}/gw.toml", "w").write(
    f'listen = "127.0.0.1:18105"\n\n[providers.bench]\nissuer = {json.dumps(iss)}\naudience = {json.dumps(aud)}\nkeys = {json.dumps(jwks)}\n')
PY

names=(bare cache nocache jwt-authorizer gateway)
declare -A port=([bare]=18101 [cache]=18102 [nocache]=18103 [jwt-authorizer]=18104 [gateway]=18105)
declare -A results

start_server() {
  local name=$1 p=${port[$1]}
  case "$name" in
    bare|cache|nocache)
      MODE=$name PORT=$p JWKS_FILE="$work/jwks.json" ISS="$ISS" AUD="$AUD" target/release/bench_server & ;;
    jwt-authorizer)
      PORT=$p JWKS_FILE="$work/jwks.json" ISS="$ISS" AUD="$AUD" target/bench-peer/release/bench-jwt-authorizer & ;;
    gateway)
      "$gw" serve --config "$work/gw.toml" >/dev/null 2>&1 & ;;
  esac
  pid=$!
  for _ in $(seq 100); do
    if curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$p/echo"; then break; fi
    sleep 0.05
  done
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$p/echo")
  if [ "$code" != 200 ]; then echo "$name answered $code, not 200" >&2; exit 1; fi
}

for round in $(seq "$ROUNDS"); do
  for name in "${names[@]}"; do
    start_server "$name"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d1s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${port[$name]}/echo" >/dev/null
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${port[$name]}/echo")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    if grep -q "Non-2xx" <<<"$out"; then echo "$name: non-2xx responses" >&2; echo "$out" >&2; exit 1; fi
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    results[$name]="${results[$name]:-} $rps"
    echo "round $round: $name $rps req/s" >&2
  done
done

python3 - "${results[bare]}" "${results[cache]}" "${results[nocache]}" "${results[jwt-authorizer]}" "${results[gateway]}" "$ROUNDS" "$DURATION" "$THREADS" "$CONNECTIONS" <<'PY'
import statistics, sys
labels = ["bare axum (no auth)", "axum + AuthLayer, cache on", "axum + AuthLayer, cache off",
          "axum 0.7 + jwt-authorizer 0.15", "oauth2-api-gateway, echo mode"]
runs = [list(map(float, s.split())) for s in sys.argv[1:6]]
rounds, duration, threads, conns = sys.argv[6:]
med = [statistics.median(r) for r in runs]
print(f"`wrk -t{threads} -c{conns} -d{duration}s`, RS256-2048 token, {rounds} interleaved rounds, median shown.\n")
print("| server | runs (req/s) | median req/s | vs bare | vs jwt-authorizer |")
print("|---|---|---|---|---|")
for label, r, m in zip(labels, runs, med):
    print(f"| {label} | {', '.join(f'{x:,.0f}' for x in r)} | {m:,.0f} | {m / med[0]:.2f}x | {m / med[3]:.2f}x |")
PY
