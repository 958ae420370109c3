#!/usr/bin/env bash
# External-authorization benchmark: wrk against the gateway's check endpoint (nginx shape:
# GET /auth with X-Original-URI) and against its echo mode (GET /echo), same provider, same
# RS256-2048 token, verified-token cache on (the default), interleaved rounds, medians, and the
# ratio check/echo in one sitting.
#
#   bash scripts/authz_bench.sh                  # 3 rounds of 10 s
#   ROUNDS=5 DURATION=10 bash scripts/authz_bench.sh
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
echo "building the release gateway..." >&2
cargo build --release -q -p oauth2-api-gateway
gw=target/release/oauth2-api-gateway

work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$gw" token mint --key "$work/key.pem" --alg RS256 --kid bench-rs256 --iss "$ISS" --aud "$AUD" \
  --sub bench-user --ttl 86400 --jwks-out "$work/jwks.json" > "$work/token" 2>/dev/null
TOKEN="$(cat "$work/token")"
python3 - "$work" "$ISS" "$AUD" <<'PY'
import json, sys
work, iss, aud = sys.argv[1:]
jwks = open(f"{work}/jwks.json").read()
provider = f'[providers.bench]\nissuer = {json.dumps(iss)}\naudience = {json.dumps(aud)}\nkeys = {json.dumps(jwks)}\n'
open(f"{work}/echo.toml", "w").write('listen = "127.0.0.1:18201"\n\n' + provider)
open(f"{work}/check.toml", "w").write(
    'listen = "127.0.0.1:18202"\nforward_claims = { sub = "x-user" }\n\n' + provider
    + '\n[external_authorization]\nproxy = "nginx"\n')
PY
"$gw" serve --config "$work/echo.toml" >/dev/null 2>&1 &
"$gw" serve --config "$work/check.toml" >/dev/null 2>&1 &
sleep 1
curl -fsS -H "Authorization: Bearer $TOKEN" http://127.0.0.1:18201/echo >/dev/null
curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" -H "X-Original-URI: /echo" http://127.0.0.1:18202/auth

run() { # url, extra header
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "$@" 2>/dev/null \
    | awk '/Requests\/sec/ {print $2}'
}
echo_rps=(); check_rps=()
for r in $(seq "$ROUNDS"); do
  echo_rps+=("$(run http://127.0.0.1:18201/echo)")
  check_rps+=("$(run -H "X-Original-URI: /echo" http://127.0.0.1:18202/auth)")
  echo "round $r: echo ${echo_rps[-1]} req/s, check ${check_rps[-1]} req/s" >&2
done
python3 - "${echo_rps[*]}" "${check_rps[*]}" <<'PY'
import statistics, sys
echo = [float(x) for x in sys.argv[1].split()]
check = [float(x) for x in sys.argv[2].split()]
e, c = statistics.median(echo), statistics.median(check)
print("| server | req/s (median) | ratio to echo |")
print("|---|---|---|")
print(f"| gateway, echo mode (`GET /echo`) | {e:,.0f} | 1.00x |")
print(f"| gateway, external authorization (nginx shape, `GET /auth`) | {c:,.0f} | {c / e:.2f}x |")
PY
