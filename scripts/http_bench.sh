#!/usr/bin/env bash
# HTTP benchmark: every server of a sitting, in interleaved rounds (A B C ..., repeated), wrk
# for throughput, then tail latency at a fixed rate (bench_rate, open loop); medians of the
# rounds as markdown tables, and the ratios on the last line.
#
#   bash scripts/http_bench.sh                 # 3 rounds of 10 s each
#   ROUNDS=5 DURATION=15 bash scripts/http_bench.sh
#   ONLY="bare cache" bash scripts/http_bench.sh   # a subset (the ratios need their pairs)
#
# Servers (all on 127.0.0.1, release builds, the same handler that returns the token's `sub`
# unless said otherwise; one RS256-2048 token on every request):
#   bare      axum, no auth (returns a constant)
#   floor     axum + one aws-lc-rs RS256 verification (key prepared at start) + one JSON parse
#   cache     axum + AuthLayer, verified-token cache on
#   nocache   axum + AuthLayer, cache off
#   jwt-authorizer  axum 0.7 + jwt-authorizer 0.15 (bench/jwt-authorizer)
#   gateway   oauth2-api-gateway, echo mode (answers all claims as JSON), cache on
#   proxy     oauth2-api-gateway, proxy mode, cache on, in front of an upstream bare axum
#   nginx     nginx proxy_pass, no auth, in front of the same upstream (worker_processes auto,
#             upstream keepalive 64)
# Tail latency: bench_rate at 80% of the layer's (cache) median throughput against bare and
# cache, and at 80% of the proxy's against nginx and proxy; p99 medians of LAT_ROUNDS rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"
LAT_ROUNDS="${LAT_ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-50}"
THREADS="${THREADS:-2}"
ISS="https://bench.issuer.test"
AUD="bench-api"

for tool in wrk nginx; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ -x /usr/sbin/$tool ] ; then PATH="$PATH:/usr/sbin"; fi
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "installing $tool (Debian)" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
  fi
done

echo "building release binaries..." >&2
cargo build --release -q -p oauth2-api-bench-server -p oauth2-api-gateway
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
provider = f'[providers.bench]\nissuer = {json.dumps(iss)}\naudience = {json.dumps(aud)}\nkeys = {json.dumps(jwks)}\n'
open(f"{work}/gw.toml", "w").write('listen = "127.0.0.1:18105"\n\n' + provider)
open(f"{work}/proxy.toml", "w").write('listen = "127.0.0.1:18106"\nupstream = "http://127.0.0.1:18100"\n\n' + provider)
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
  upstream api { server 127.0.0.1:18100; keepalive 64; }
  server { listen 127.0.0.1:18107; location / { proxy_pass http://api; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
NG

names=(${ONLY:-bare floor cache nocache jwt-authorizer gateway proxy nginx})
declare -A port=([bare]=18101 [floor]=18108 [cache]=18102 [nocache]=18103 [jwt-authorizer]=18104 [gateway]=18105 [proxy]=18106 [nginx]=18107)
declare -A results p99s

# The proxies' upstream runs for the whole sitting.
MODE=bare PORT=18100 target/release/bench_server >/dev/null 2>&1 &

start_server() {
  local name=$1 p=${port[$1]}
  case "$name" in
    bare|floor|cache|nocache)
      MODE=$name PORT=$p JWKS_FILE="$work/jwks.json" ISS="$ISS" AUD="$AUD" target/release/bench_server & ;;
    jwt-authorizer)
      PORT=$p JWKS_FILE="$work/jwks.json" ISS="$ISS" AUD="$AUD" target/bench-peer/release/bench-jwt-authorizer & ;;
    gateway)
      "$gw" serve --config "$work/gw.toml" >/dev/null 2>&1 & ;;
    proxy)
      "$gw" serve --config "$work/proxy.toml" >/dev/null 2>&1 & ;;
    nginx)
      nginx -p "$work" -c "$work/nginx.conf" & ;;
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

stop_server() {
  kill "$pid"; wait "$pid" 2>/dev/null || true
  # nginx's workers leave after the master; wait for the port to be free.
  for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:${port[$1]}/" || break
    sleep 0.05
  done
}

for round in $(seq "$ROUNDS"); do
  for name in "${names[@]}"; do
    start_server "$name"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d1s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${port[$name]}/echo" >/dev/null
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${port[$name]}/echo")
    stop_server "$name"
    if grep -q "Non-2xx" <<<"$out"; then echo "$name: non-2xx responses" >&2; echo "$out" >&2; exit 1; fi
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    results[$name]="${results[$name]:-} $rps"
    echo "round $round: $name $rps req/s" >&2
  done
done

median() { python3 -c 'import statistics,sys; print(statistics.median(map(float, sys.argv[1:])))' $1; }

# Tail latency at 80% of a server's saturation, against its baseline at the same rate.
latency_pair() {
  local base=$1 subject=$2 rate
  [[ " ${names[*]} " == *" $base "* && " ${names[*]} " == *" $subject "* ]] || return 0
  rate=$(python3 -c "print(int(0.8 * $(median "${results[$subject]}")))")
  for round in $(seq "$LAT_ROUNDS"); do
    for name in "$base" "$subject"; do
      start_server "$name"
      out=$(URL="http://127.0.0.1:${port[$name]}/echo" RATE=$rate DURATION="$DURATION" \
        CONNECTIONS="$CONNECTIONS" TOKEN="$TOKEN" target/release/bench_rate)
      stop_server "$name"
      p99=$(sed -n 's/.*p99_us=\([0-9]*\).*/\1/p' <<<"$out")
      p99s["$name@$subject"]="${p99s["$name@$subject"]:-} $p99"
      echo "latency round $round at $rate req/s: $name $out" >&2
    done
  done
  echo "$rate" > "$work/rate-$subject"
}
latency_pair bare cache
latency_pair nginx proxy

args=("$ROUNDS" "$DURATION" "$THREADS" "$CONNECTIONS")
for name in bare floor cache nocache jwt-authorizer gateway proxy nginx; do args+=("${results[$name]:-}"); done
for key in bare@cache cache@cache nginx@proxy proxy@proxy; do args+=("${p99s[$key]:-}"); done
for s in cache proxy; do args+=("$(cat "$work/rate-$s" 2>/dev/null || true)"); done
python3 - "${args[@]}" <<'PY'
import statistics, sys
rounds, duration, threads, conns = sys.argv[1:5]
names = ["bare", "floor", "cache", "nocache", "jwt-authorizer", "gateway", "proxy", "nginx"]
labels = {"bare": "bare axum (no auth)", "floor": "floor: axum + aws-lc-rs RS256 verify + JSON parse",
          "cache": "axum + AuthLayer, cache on", "nocache": "axum + AuthLayer, cache off",
          "jwt-authorizer": "axum 0.7 + jwt-authorizer 0.15", "gateway": "oauth2-api-gateway, echo mode",
          "proxy": "oauth2-api-gateway, proxy mode, cache on", "nginx": "nginx proxy_pass, no auth"}
runs = {n: list(map(float, s.split())) for n, s in zip(names, sys.argv[5:13]) if s.strip()}
lat = dict(zip(["bare@cache", "cache@cache", "nginx@proxy", "proxy@proxy"],
               [list(map(float, s.split())) for s in sys.argv[13:17]]))
rates = dict(zip(["cache", "proxy"], sys.argv[17:19]))
med = {n: statistics.median(r) for n, r in runs.items()}
print(f"`wrk -t{threads} -c{conns} -d{duration}s`, RS256-2048 token, {rounds} interleaved rounds, median shown.\n")
print("| server | runs (req/s) | median req/s | vs bare |")
print("|---|---|---|---|")
for n in names:
    if n in runs:
        vs = f"{med[n] / med['bare']:.2f}x" if "bare" in med else "—"
        print(f"| {labels[n]} | {', '.join(f'{x:,.0f}' for x in runs[n])} | {med[n]:,.0f} | {vs} |")
if any(lat.values()):
    print("\nTail latency (bench_rate, open loop, p99 in µs, median of the rounds):\n")
    print("| rate | baseline | p99 runs | subject | p99 runs | p99 ratio |")
    print("|---|---|---|---|---|---|")
    for base, subject in [("bare", "cache"), ("nginx", "proxy")]:
        b, s = lat[f"{base}@{subject}"], lat[f"{subject}@{subject}"]
        if b and s:
            print(f"| {rates[subject]} req/s (80% of {subject}) | {labels[base]} | {', '.join(f'{x:.0f}' for x in b)} "
                  f"| {labels[subject]} | {', '.join(f'{x:.0f}' for x in s)} | {statistics.median(s) / statistics.median(b):.2f}x |")
def ratio(a, b):
    return f"{med[a] / med[b]:.2f}x" if a in med and b in med else "—"
def p99ratio(s, b, subject):
    x, y = lat[f"{s}@{subject}"], lat[f"{b}@{subject}"]
    return f"{statistics.median(x) / statistics.median(y):.2f}x" if x and y else "—"
print(f"\nratios: layer/bare={ratio('cache', 'bare')} echo/bare={ratio('gateway', 'bare')} "
      f"proxy/nginx={ratio('proxy', 'nginx')} layer-nocache/floor={ratio('nocache', 'floor')} "
      f"layer-nocache/jwt-authorizer={ratio('nocache', 'jwt-authorizer')} "
      f"p99 layer/bare={p99ratio('cache', 'bare', 'cache')} p99 proxy/nginx={p99ratio('proxy', 'nginx', 'proxy')}")
PY
