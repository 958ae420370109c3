#!/usr/bin/env bash
# Proxy mode against nginx: the gateway in proxy mode (cache on, RS256-2048 token) and nginx
# proxy_pass with no auth (worker_processes auto, upstream keep-alive 64), in front of the same
# bare axum upstream (bench/server, MODE=bare), interleaved rounds of wrk -t2 -c50.
#
#   R=5 D=8 bash scripts/proxy_bench.sh        # rounds and seconds per run (default 3 and 5)
#   TW=1 bash scripts/proxy_bench.sh           # the gateway on one Tokio worker thread
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk nginx; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "installing $tool (Debian)" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
  fi
done
echo "building release binaries..." >&2
cargo build --release -q -p oauth2-api-gateway -p oauth2-api-bench-server
gw=target/release/oauth2-api-gateway
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
ISS="https://bench.issuer.test"; AUD="bench-api"
"$gw" token mint --key "$work/key.pem" --alg RS256 --kid k --iss "$ISS" --aud "$AUD" --sub bench-user --ttl 86400 --jwks-out "$work/jwks.json" > "$work/token" 2>/dev/null
TOKEN=$(cat $work/token)
MODE=bare PORT=18401 JWKS_FILE="$work/jwks.json" ISS="$ISS" AUD="$AUD" target/release/bench_server >/dev/null 2>&1 &
python3 - "$work" "$ISS" "$AUD" <<'PY'
import json, sys
work, iss, aud = sys.argv[1:]
jwks = open(f"{work}/jwks.json").read()
open(f"{work}/proxy.toml", "w").write('listen = "127.0.0.1:18402"\nupstream = "http://127.0.0.1:18401"\n\n' + f'[providers.bench]\nissuer = {json.dumps(iss)}\naudience = {json.dumps(aud)}\nkeys = {json.dumps(jwks)}\n')
PY
cat > "$work/nginx.conf" <<NG
worker_processes auto;
daemon off;
error_log $work/error.log warn;
pid $work/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/b; proxy_temp_path $work/p; fastcgi_temp_path $work/f; uwsgi_temp_path $work/u; scgi_temp_path $work/s;
  upstream api { server 127.0.0.1:18401; keepalive 64; }
  server { listen 127.0.0.1:18403; location / { proxy_pass http://api; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
NG
TOKIO_WORKER_THREADS=${TW:-2} "$gw" serve --config "$work/proxy.toml" >/dev/null 2>&1 &
nginx -p "$work" -c "$work/nginx.conf" &
sleep 1
run() { wrk -t2 -c50 -d${D:-5}s -H "Authorization: Bearer $TOKEN" "$1" 2>/dev/null | awk '/Requests\/sec/ {print $2}'; }
for r in $(seq ${R:-3}); do
  g=$(run http://127.0.0.1:18402/echo); n=$(run http://127.0.0.1:18403/echo)
  echo "round $r: gateway proxy $g, nginx proxy_pass (no auth) $n"
done
