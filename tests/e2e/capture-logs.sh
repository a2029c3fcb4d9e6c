#!/usr/bin/env bash
# Captures real client logs for `pasv-doctor explain` against the bench's real servers:
# `curl -v` and `lftp -d` in the client namespace, for the scenarios healthy, private-address,
# stale-address and range-not-forwarded, on vsftpd, ProFTPD and Pure-FTPd. Writes
# fixtures/logs/bench/{curl,lftp}-SERVER-SCENARIO.log with the user replaced by `alice` and the
# password by `fixture-Secret-9` (the fixtures' conventions, fixtures/logs/README.md).
#
#   sudo tests/e2e/capture-logs.sh                 # all of them
#   sudo tests/e2e/capture-logs.sh -s vsftpd -t healthy
#
# Same network, daemons, cleanup and rules as tests/e2e/bench.sh (docs/bench.md): nothing
# leaves the namespaces it creates. Needs root; installs lftp with apt-get when missing.
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/scenarios.sh
source "$E2E_DIR/scenarios.sh"

OUT=${CAPTURE_OUT:-$REPO_ROOT/fixtures/logs/bench}
FIX_USER=alice
FIX_PASS=fixture-Secret-9

want_servers=()
want_scenarios=()
while (($#)); do
  case $1 in
    -s | --server) want_servers+=("$2"); shift 2 ;;
    -t | --scenario) want_scenarios+=("$2"); shift 2 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "capture-logs: unknown argument $1" >&2; exit 3 ;;
  esac
done
((${#want_servers[@]})) || want_servers=("${ALL_SERVERS[@]}")
((${#want_scenarios[@]})) || want_scenarios=(healthy private-address stale-address range-not-forwarded)

why=$(e2e_cannot_run)
[[ -z $why ]] || die "cannot run: $why"
e2e_init
e2e_install
if ! command -v lftp >/dev/null 2>&1; then
  log "capture-logs: installing lftp"
  e2e_policy_rc_on
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lftp >&2 \
    || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lftp >&2; } \
    || die "apt-get install lftp failed"
  e2e_policy_rc_off
fi
e2e_files
mkdir -p "$OUT"

# The fixture conventions: the capture's user and password replaced, nothing else.
mask() { sed -e "s/$FTP_PASS/$FIX_PASS/g" -e "s/$FTP_USER/$FIX_USER/g" -e "s|$WORK|/tmp/pasv-doctor-bench.XXXXXX|g"; }

# curl: the default (EPSV first) where the data path is the question, PASV where the advertised
# address is (--disable-epsv; curl then skips the address, as it does by default), and the
# "naive" client for the stale address (it trusts it and times out).
curl_args() {
  case $1 in
    private-address) echo "--disable-epsv" ;;
    stale-address) echo "$CURL_NAIVE" ;;
    *) echo "" ;;
  esac
}

capture_one() {
  local name=$1 server=$2
  scenario_define "$name" "$server"
  e2e_net_up 0
  e2e_firewall "$S_FWD" "$S_WAN" "$S_V6RULE" "$S_ALG" "$S_ICMP_LIMIT"
  e2e_dns "${S_DNS[@]}"
  e2e_start_server "$server"

  local host=${S_CURL_URL#ftp://}
  host=${host%/}
  local f=$OUT/curl-$server-$name.log args
  args=$(curl_args "$name")
  # shellcheck disable=SC2086
  {
    curl --version | head -1
    nsx "$NS_CLI" timeout 30 curl -sS -v --connect-timeout 3 -m 10 -u "$FTP_USER:$FTP_PASS" $args \
      "$S_CURL_URL" 2>&1 >/dev/null || true
  } | mask >"$f"

  # lftp: PASV (its default), fixing a private address itself (ftp:fix-pasv-address, default).
  local script="version; set net:timeout 3; set net:max-retries 2; set net:reconnect-interval-base 1; set ftp:ssl-allow no; ls; quit"
  f=$OUT/lftp-$server-$name.log
  nsx "$NS_CLI" timeout 40 lftp -d -e "$script" -u "$FTP_USER,$FTP_PASS" "ftp://$host" 2>&1 | mask >"$f" || true

  e2e_net_down
  rm -f "$WORK"/logs/*.log "$WORK"/*.conf
  log "capture-logs: $server $name: $(grep -cE '^(<|>) |^(<---|--->) ' "$OUT/curl-$server-$name.log" "$f" | tr '\n' ' ')"
}

for sc in "${want_scenarios[@]}"; do
  for server in "${want_servers[@]}"; do
    [[ " $(scenario_servers "$sc") " == *" $server "* ]] || continue
    capture_one "$sc" "$server"
  done
done
log "capture-logs: wrote $OUT"
