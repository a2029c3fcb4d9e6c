# shellcheck shell=bash disable=SC2034
# The bench's scenarios and what each must show. Sourced by tests/e2e/bench.sh.
#
# scenario_define NAME SERVER sets, for one scenario on one server:
#   S_DESC                one line: the real-world situation
#   S_SERVERS             the servers it runs on
#   S_FWD S_WAN S_V6RULE S_ALG   the router (see e2e_firewall in lib.sh)
#   S_DNS                 records "name address" served by dnsmasq
#   SRV_*                 the FTP server's settings (see lib.sh)
#   S_TARGET S_ARGS       pasv-doctor's target and extra flags (always run with --format json
#                         --timeout 2s --dns-server, the password in PASV_DOCTOR_PASSWORD)
#   X_EXIT X_VERDICT      expected exit code and verdict
#   X_CODES               the finding codes that must be reported, no more
#   X_MAYBE               codes that may also appear (where the real server's random port
#                         choice decides, e.g. which port the transfer got)
#   X_CHECKS              more assertions for check_report.py (see its --help)
#   X_CURL                curl runs in the client namespace, each "LABEL|EXIT|ARGS|PATTERN":
#                         curl ARGS URL must exit EXIT (0 ok, 7 could not connect, 28 timed
#                         out...) and its -v output must match the extended regex PATTERN
#                         (optional). URL is S_CURL_URL.
#   S_KNOWN               set when pasv-doctor is known to get this wrong today: the reason
#                         (listed in docs/bench.md); the scenario then does not fail the run
#
# The expectations are the correct behaviour as docs/findings.md describes it, checked
# against the real daemons; curl shows the symptom each finding predicts.

NAT_SCENARIOS=(healthy private-address stale-address range-not-forwarded range-partial
  range-rejected-rst range-rejected-icmp dns-elsewhere dns-elsewhere-probed two-a-records alg-rewrite)
OTHER_SCENARIOS=(range-rejected-icmp-ratelimited epsv-refused pasv-disabled pasv-refused-epsv-ok two-a-one-dead ipv6-healthy
  ipv6-filtered vsftpd-dual-stack-zero single-port-range active-ok active-blocked)
TLS_SCENARIOS=(ftps-explicit ftps-implicit ftps-private-address ftps-alg)
# Not a check of one server: Prometheus scraping `pasv-doctor serve` (tests/e2e/serve_prometheus.sh).
SERVE_SCENARIOS=(serve-prometheus)
ALL_SCENARIOS=("${NAT_SCENARIOS[@]}" "${OTHER_SCENARIOS[@]}" "${TLS_SCENARIOS[@]}" "${SERVE_SCENARIOS[@]}")
ALL_SERVERS=(vsftpd proftpd pureftpd)

# Codes any scenario may show besides its own: the plain scenarios' servers run without TLS on purpose.
AMBIENT_CODES="TLS_NOT_OFFERED"

# Curl flags: "naive" is what a client that trusts the PASV address does (FileZilla, wget,
# lftp, old curl); curl's default (EPSV first, PASV address ignored) hides most NAT mistakes.
CURL_NAIVE="--disable-epsv --no-ftp-skip-pasv-ip"

scenario_define() {
  local name=$1 server=$2
  S_DESC="" S_SERVERS="vsftpd proftpd pureftpd"
  S_FWD="$PASV_LOW-$PASV_HIGH" S_WAN="drop" S_V6RULE="" S_ALG=0 S_ICMP_LIMIT=0
  S_DNS=("ftp.pasv.test $WAN_A")
  SRV_PASV_ADDRESS=$WAN_A SRV_EPSV=1 SRV_PASV=1 SRV_PASV_CMD=1 SRV_FAMILY=4
  SRV_PASV_LOW=$PASV_LOW SRV_PASV_HIGH=$PASV_HIGH SRV_TLS="" SRV_TLS_FORCE=1
  S_TARGET="ftp://$FTP_USER@ftp.pasv.test/"
  S_CURL_URL="ftp://ftp.pasv.test/"
  S_ARGS=()
  X_EXIT=0 X_VERDICT=ok X_CODES="CLEARTEXT_LOGIN DATA_PATH_OK" X_MAYBE="" X_CHECKS=()
  X_CURL=("default|0||" "naive|0|$CURL_NAIVE|")
  S_KNOWN=""

  case $name in
    healthy)
      S_DESC="external address set, whole passive range forwarded"
      S_ARGS=(--expect-range "$PASV_LOW-$PASV_HIGH" --expect-address "$WAN_A")
      X_CHECKS=(--open-ports "$PASV_LOW-$PASV_HIGH" --transfers-ok 2)
      ;;
    private-address)
      S_DESC="no external address set: the server advertises its LAN address 192.168.50.10"
      SRV_PASV_ADDRESS=""
      X_EXIT=1 X_VERDICT=warning X_CODES="CLEARTEXT_LOGIN DATA_PATH_OK PASV_ADDRESS_PRIVATE"
      X_CHECKS=(--severity PASV_ADDRESS_PRIVATE=warning --evidence "PASV_ADDRESS_PRIVATE=192.168.50.10"
        --not-contacted 192.168.50.10 --transfers-ok 2)
      # Connecting to the LAN address fails at once here: the client has no route to it.
      X_CURL=("default|0||" "naive|7|$CURL_NAIVE|192\.168\.50\.10")
      ;;
    stale-address)
      S_DESC="external address set to an old public address (192.0.2.99), now dropped"
      SRV_PASV_ADDRESS=$STALE_IP
      S_TARGET="ftp://$FTP_USER@$WAN_A/"
      S_CURL_URL="ftp://$WAN_A/"
      # Not contacted, so not tested: a warning that names --probe-advertised (issue 13).
      X_EXIT=1 X_VERDICT=warning X_CODES="CLEARTEXT_LOGIN DATA_PATH_OK PASV_ADDRESS_MISMATCH"
      X_CHECKS=(--severity PASV_ADDRESS_MISMATCH=warning --evidence "PASV_ADDRESS_MISMATCH=$STALE_IP"
        --evidence "PASV_ADDRESS_MISMATCH=--probe-advertised"
        --not-contacted "$STALE_IP" --transfers-ok 2)
      X_CURL=("default|0||" "naive|28|$CURL_NAIVE|$STALE_IP")
      ;;
    range-not-forwarded)
      S_DESC="passive range not forwarded: the router drops it"
      S_FWD=""
      X_EXIT=2 X_VERDICT=critical X_CODES="CLEARTEXT_LOGIN DATA_PORT_FILTERED"
      X_CHECKS=(--open-ports none --closed-outcome timed_out --max-seconds 5)
      X_CURL=("default|28||" "naive|28|$CURL_NAIVE|")
      ;;
    range-partial)
      S_DESC="only 30000-30499 of the server's 30000-30999 forwarded"
      S_FWD="$PASV_LOW-$((PASV_LOW + 499))"
      # 8 samples of each kind: the chance that all 16 random ports fall in one half is 3e-5.
      # And the whole range mapped: the forwarded half reachable, the rest filtered, exactly.
      S_ARGS=(--samples 8 --expect-range "$PASV_LOW-$((PASV_LOW + 499))"
              --scan-range "$PASV_LOW-$PASV_HIGH")
      X_EXIT=2 X_VERDICT=critical X_CODES="CLEARTEXT_LOGIN DATA_RANGE_PARTIAL PASV_PORT_OUT_OF_RANGE PASSIVE_RANGE_MAP"
      X_MAYBE="DATA_PATH_OK DATA_TRANSFER_FAILED"
      X_CHECKS=(--open-ports "$PASV_LOW-$((PASV_LOW + 499))" --closed-outcome timed_out
                --range-map "$PASV_LOW-$((PASV_LOW + 499))/$((PASV_LOW + 500))-$PASV_HIGH")
      # Whether a curl run works depends on the port the server picks: check each against it.
      X_CURL=("default-1|port||" "default-2|port||" "naive|port|$CURL_NAIVE|")
      ;;
    range-rejected-rst)
      S_DESC="passive range rejected by the router with TCP RST"
      S_FWD="" S_WAN="tcp dport $PASV_LOW-$PASV_HIGH reject with tcp reset"
      X_EXIT=2 X_VERDICT=critical X_CODES="CLEARTEXT_LOGIN DATA_PORT_REFUSED"
      X_CHECKS=(--open-ports none --closed-outcome refused --max-seconds 2)
      X_CURL=("default|7||" "naive|7|$CURL_NAIVE|")
      ;;
    range-rejected-icmp)
      S_DESC="passive range rejected by the router with ICMP admin-prohibited"
      S_FWD="" S_WAN="tcp dport $PASV_LOW-$PASV_HIGH reject with icmp type admin-prohibited"
      X_EXIT=2 X_VERDICT=critical X_CODES="CLEARTEXT_LOGIN DATA_PORT_REFUSED"
      X_CHECKS=(--open-ports none --closed-outcome refused,unreachable --max-seconds 2)
      X_CURL=("default|7||" "naive|7|$CURL_NAIVE|")
      ;;
    range-rejected-icmp-ratelimited)
      S_DESC="passive range rejected with ICMP, at the kernel's default ICMP rate limit (6 at once, then 1/s)"
      S_SERVERS="vsftpd"
      S_FWD="" S_WAN="tcp dport $PASV_LOW-$PASV_HIGH reject with icmp type admin-prohibited" S_ICMP_LIMIT=1
      X_EXIT=2 X_VERDICT=critical X_CODES="CLEARTEXT_LOGIN DATA_PORT_REFUSED"
      X_CHECKS=(--evidence "DATA_PORT_REFUSED=$WAN_A")
      X_CURL=("default|7,28||" "naive|7,28|$CURL_NAIVE|")
      ;;
    dns-elsewhere)
      S_DESC="the name now points at 203.0.113.11; the server still advertises 203.0.113.20 (another host, refusing every port)"
      S_DNS=("moved.pasv.test $WAN_B")
      SRV_PASV_ADDRESS=$WAN_RST
      S_TARGET="ftp://$FTP_USER@moved.pasv.test/"
      S_CURL_URL="ftp://moved.pasv.test/"
      # Untested (not contacted): a warning; dns-elsewhere-probed tests it and is critical.
      X_EXIT=1 X_VERDICT=warning X_CODES="CLEARTEXT_LOGIN DATA_PATH_OK PASV_ADDRESS_MISMATCH"
      X_CHECKS=(--severity PASV_ADDRESS_MISMATCH=warning --evidence "PASV_ADDRESS_MISMATCH=$WAN_RST"
        --evidence "PASV_ADDRESS_MISMATCH=not one of the DNS addresses" --not-contacted "$WAN_RST"
        --transfers-ok 2)
      X_CURL=("default|0||" "naive|7|$CURL_NAIVE|Connecting to $WAN_RST")
      ;;
    dns-elsewhere-probed)
      S_DESC="as dns-elsewhere, checked with --probe-advertised: the advertised host refuses"
      S_DNS=("moved.pasv.test $WAN_B")
      SRV_PASV_ADDRESS=$WAN_RST
      S_TARGET="ftp://$FTP_USER@moved.pasv.test/"
      S_CURL_URL="ftp://moved.pasv.test/"
      S_ARGS=(--probe-advertised)
      X_EXIT=2 X_VERDICT=critical X_CODES="CLEARTEXT_LOGIN DATA_PATH_OK PASV_ADDRESS_MISMATCH"
      # The PASV transfer goes where a trusting client goes (and fails); the EPSV one works.
      X_CHECKS=(--severity PASV_ADDRESS_MISMATCH=critical --advertised-outcome "$WAN_RST=refused" --transfers-ok 1)
      X_CURL=("naive|7|$CURL_NAIVE|Connecting to $WAN_RST")
      ;;
    two-a-records)
      S_DESC="the name has two A records (203.0.113.1, .11), both forwarded; the server advertises .1"
      S_DNS=("rr.pasv.test $WAN_A" "rr.pasv.test $WAN_B")
      S_TARGET="ftp://$FTP_USER@rr.pasv.test/"
      S_CURL_URL="ftp://$WAN_B/"
      X_EXIT=1 X_VERDICT=warning X_CODES="CLEARTEXT_LOGIN DATA_PATH_OK PASV_ADDRESS_MISMATCH"
      X_CHECKS=(--servers 2 --severity PASV_ADDRESS_MISMATCH=warning
        --finding-server "PASV_ADDRESS_MISMATCH=$WAN_B:21" --evidence "PASV_ADDRESS_MISMATCH=$WAN_A"
        --transfers-ok 4)
      # A client that trusts the PASV address, connected to .11, moves its data over .1: works.
      X_CURL=("default|0||" "naive|0|$CURL_NAIVE|Connecting to $WAN_A .*port 3")
      ;;
    alg-rewrite)
      S_DESC="no external address set, no range forwarded, but the router's FTP helper (ALG) rewrites 227 and opens each data port"
      SRV_PASV_ADDRESS="" S_FWD="" S_ALG=1
      X_CHECKS=(--transfers-ok 2 --pasv-address "$WAN_A")
      # The kernel's helper keeps one expectation per control connection (max_expected 1):
      # each PASV closes the pinhole of the one before, so older samples' ports are dropped.
      # pasv-doctor reports that as DATA_PORTS_ON_DEMAND (info), not as a partial range.
      X_MAYBE="DATA_PORTS_ON_DEMAND"
      ;;
    epsv-refused)
      S_DESC="EPSV refused (vsftpd cmds_allowed / ProFTPD <Limit EPSV>)"
      S_SERVERS="vsftpd proftpd"
      SRV_EPSV=0
      X_CODES="CLEARTEXT_LOGIN DATA_PATH_OK EPSV_UNSUPPORTED"
      X_CHECKS=(--severity EPSV_UNSUPPORTED=info --transfers-ok 1)
      # curl tries EPSV, gets the refusal and falls back to PASV.
      X_CURL=("default|0||PASV" "naive|0|$CURL_NAIVE|")
      ;;
    pasv-disabled)
      S_DESC="passive mode disabled (vsftpd pasv_enable=NO / ProFTPD <Limit PASV EPSV>)"
      S_SERVERS="vsftpd proftpd"
      SRV_PASV=0
      X_EXIT=2 X_VERDICT=critical X_CODES="CLEARTEXT_LOGIN EPSV_UNSUPPORTED PASV_UNSUPPORTED"
      X_CHECKS=(--severity PASV_UNSUPPORTED=critical --transfers-ok 0)
      X_CURL=("default|13||" "naive|13|$CURL_NAIVE|")
      ;;
    pasv-refused-epsv-ok)
      S_DESC="PASV refused, EPSV allowed: only EPSV-first clients work"
      S_SERVERS="vsftpd proftpd"
      SRV_PASV_CMD=0
      X_EXIT=2 X_VERDICT=critical X_CODES="CLEARTEXT_LOGIN DATA_PATH_OK PASV_UNSUPPORTED"
      X_CHECKS=(--severity PASV_UNSUPPORTED=critical --transfers-ok 1)
      X_CURL=("default|0||" "naive|13|$CURL_NAIVE|")
      ;;
    two-a-one-dead)
      S_DESC="the name has two A records, one of them a dead old address (192.0.2.99)"
      S_SERVERS="vsftpd"
      S_DNS=("rr.pasv.test $WAN_A" "rr.pasv.test $STALE_IP")
      S_TARGET="ftp://$FTP_USER@rr.pasv.test/"
      S_CURL_URL="ftp://$STALE_IP/"
      X_EXIT=2 X_VERDICT=critical X_CODES="CLEARTEXT_LOGIN CONNECT_FAILED DATA_PATH_OK"
      X_CHECKS=(--servers 2 --finding-server "CONNECT_FAILED=$STALE_IP:21" --transfers-ok 2 --max-seconds 5)
      X_CURL=("dead-address|28||")
      ;;
    ipv6-healthy)
      S_DESC="IPv6 (no NAT): EPSV, range open"
      S_SERVERS="vsftpd proftpd pureftpd"
      SRV_FAMILY=6 SRV_PASV_ADDRESS=""
      S_DNS=("v6.pasv.test $SERVER_IP6")
      S_TARGET="ftp://$FTP_USER@v6.pasv.test/"
      S_CURL_URL="ftp://v6.pasv.test/"
      # No client uses PASV over IPv6 (they use EPSV), so whatever PASV answers there (a refusal,
      # vsftpd's 0,0,0,0, ProFTPD's garbled 227) is worth an info at most (docs: PASV_UNSUPPORTED
      # is info over IPv6).
      X_MAYBE="PASV_UNSUPPORTED PASV_ADDRESS_UNSPECIFIED REPLY_MALFORMED"
      X_CHECKS=(--severity PASV_UNSUPPORTED=info --severity PASV_ADDRESS_UNSPECIFIED=info
        --severity REPLY_MALFORMED=info)
      X_CURL=("default|0||")
      ;;
    ipv6-filtered)
      S_DESC="IPv6: EPSV answered, but the router's forward chain drops the passive range"
      S_SERVERS="vsftpd proftpd pureftpd"
      SRV_FAMILY=6 SRV_PASV_ADDRESS=""
      S_V6RULE="ip6 daddr $SERVER_IP6 tcp dport $PASV_LOW-$PASV_HIGH drop"
      S_DNS=("v6.pasv.test $SERVER_IP6")
      S_TARGET="ftp://$FTP_USER@v6.pasv.test/"
      S_CURL_URL="ftp://v6.pasv.test/"
      X_EXIT=2 X_VERDICT=critical X_CODES="CLEARTEXT_LOGIN DATA_PORT_FILTERED"
      X_MAYBE="PASV_UNSUPPORTED PASV_ADDRESS_UNSPECIFIED REPLY_MALFORMED"
      X_CHECKS=(--severity PASV_UNSUPPORTED=info --severity PASV_ADDRESS_UNSPECIFIED=info
        --severity REPLY_MALFORMED=info --open-ports none --closed-outcome timed_out --max-seconds 5)
      # Over IPv6 curl reports a data-port timeout as exit 8 (see bench-notes), 28 elsewhere.
      X_CURL=("default|8,28||")
      ;;
    vsftpd-dual-stack-zero)
      S_DESC="vsftpd with one listen_ipv6 socket for both families and pasv_address set: IPv4 PASV says 0,0,0,0"
      S_SERVERS="vsftpd"
      SRV_FAMILY=dual
      X_EXIT=1 X_VERDICT=warning X_CODES="CLEARTEXT_LOGIN DATA_PATH_OK PASV_ADDRESS_UNSPECIFIED"
      X_CHECKS=(--severity PASV_ADDRESS_UNSPECIFIED=warning --transfers-ok 2)
      # A client that trusts 0.0.0.0 connects to itself: refused.
      X_CURL=("default|0||" "naive|7|$CURL_NAIVE|0\.0\.0\.0")
      ;;
    active-ok)
      S_DESC="healthy, and --active: the server connects back to the client"
      S_ARGS=(--active)
      X_CODES="CLEARTEXT_LOGIN DATA_PATH_OK ACTIVE_MODE_OK"
      X_CHECKS=(--transfers-ok 2)
      ;;
    active-blocked)
      S_DESC="healthy passive; the router drops the server's own outbound connections"
      S_ARGS=(--active)
      S_V6RULE="ip saddr $SERVER_IP tcp flags syn / syn,ack drop comment \"no connection out of the LAN\""
      X_EXIT=1 X_VERDICT=warning X_CODES="CLEARTEXT_LOGIN DATA_PATH_OK ACTIVE_MODE_BLOCKED"
      X_CHECKS=(--severity ACTIVE_MODE_BLOCKED=warning --transfers-ok 2)
      ;;
    single-port-range)
      S_DESC="healthy, with a one-port passive range (30000-30000), forwarded"
      S_SERVERS="vsftpd"
      S_FWD="$PASV_LOW" SRV_PASV_HIGH=$PASV_LOW
      X_CHECKS=(--open-ports "$PASV_LOW" --transfers-ok 2)
      ;;
    ftps-explicit)
      S_DESC="explicit FTPS (AUTH TLS) required for login and data, session reuse required, CA-signed certificate"
      S_SERVERS="vsftpd proftpd"
      SRV_TLS=explicit
      S_ARGS=(--tls explicit --ca-file "$TLS_DIR/ca.pem" --expect-range "$PASV_LOW-$PASV_HIGH" --expect-address "$WAN_A")
      X_CODES="DATA_PATH_OK TLS_SESSION_REUSE_REQUIRED"
      X_CHECKS=(--severity TLS_SESSION_REUSE_REQUIRED=info --tls-verdict trusted --data-resumed
        --open-ports "$PASV_LOW-$PASV_HIGH" --transfers-ok 2)
      # The refusal of the reuse test: vsftpd 522; ProFTPD 425 "Operation not permitted".
      if [[ $server == vsftpd ]]; then
        X_CHECKS+=(--evidence "TLS_SESSION_REUSE_REQUIRED=522 SSL connection failed: session reuse required")
      else
        X_CHECKS+=(--evidence "TLS_SESSION_REUSE_REQUIRED=425 Unable to build data connection")
      fi
      X_CURL=("ftps|0|--ssl-reqd --cacert $TLS_DIR/ca.pem|SSL certificate verify ok" "ftps-naive|0|--ssl-reqd --cacert $TLS_DIR/ca.pem $CURL_NAIVE|")
      ;;
    ftps-implicit)
      S_DESC="implicit FTPS on port 990 (TLS from the first byte), session reuse required"
      S_SERVERS="vsftpd proftpd"
      SRV_TLS=implicit
      S_TARGET="ftps://$FTP_USER@ftp.pasv.test/"
      S_CURL_URL="ftps://ftp.pasv.test/"
      S_ARGS=(--ca-file "$TLS_DIR/ca.pem" --expect-range "$PASV_LOW-$PASV_HIGH" --expect-address "$WAN_A")
      X_CODES="DATA_PATH_OK TLS_SESSION_REUSE_REQUIRED"
      X_CHECKS=(--severity TLS_SESSION_REUSE_REQUIRED=info --tls-verdict trusted --data-resumed --transfers-ok 2)
      X_CURL=("ftps|0|--cacert $TLS_DIR/ca.pem|SSL certificate verify ok")
      ;;
    ftps-private-address)
      S_DESC="explicit FTPS, no external address set: the TLS 227 names 192.168.50.10 (no router can fix it)"
      S_SERVERS="vsftpd proftpd"
      SRV_TLS=explicit SRV_PASV_ADDRESS=""
      S_ARGS=(--tls explicit --ca-file "$TLS_DIR/ca.pem")
      X_EXIT=1 X_VERDICT=warning X_CODES="DATA_PATH_OK PASV_ADDRESS_PRIVATE TLS_SESSION_REUSE_REQUIRED"
      X_CHECKS=(--severity PASV_ADDRESS_PRIVATE=warning --evidence "PASV_ADDRESS_PRIVATE=192.168.50.10"
        --not-contacted 192.168.50.10 --tls-verdict trusted --data-resumed --transfers-ok 2)
      X_CURL=("ftps|0|--ssl-reqd --cacert $TLS_DIR/ca.pem|" "ftps-naive|7|--ssl-reqd --cacert $TLS_DIR/ca.pem $CURL_NAIVE|192\.168\.50\.10")
      ;;
    ftps-alg)
      S_DESC="FTPS optional; no external address, nothing forwarded: the router's FTP helper rewrites plain 227 only, TLS sessions get the private address"
      S_SERVERS="vsftpd proftpd"
      SRV_TLS=explicit SRV_TLS_FORCE=0 SRV_PASV_ADDRESS="" S_FWD="" S_ALG=1
      S_ARGS=(--tls explicit --ca-file "$TLS_DIR/ca.pem" --compare-plain)
      X_EXIT=2 X_VERDICT=critical X_CODES="PASV_REWRITTEN_IN_TRANSIT PASV_ADDRESS_PRIVATE DATA_PORT_FILTERED"
      X_MAYBE="CLEARTEXT_LOGIN"
      X_CHECKS=(--severity PASV_REWRITTEN_IN_TRANSIT=critical --not-contacted 192.168.50.10 --tls-verdict trusted)
      # Plain FTP works through the helper; FTPS times out (EPSV port not forwarded).
      X_CURL=("plain|0||" "plain-naive|0|$CURL_NAIVE|Connecting to $WAN_A" "ftps|28|--ssl-reqd --cacert $TLS_DIR/ca.pem|")
      ;;
    serve-prometheus)
      S_DESC="Prometheus scrapes pasv-doctor serve (/probe, multi-target relabelling, two hashmod shards): healthy and broken vsftpd and ProFTPD behind the NAT at once"
      S_SERVERS="vsftpd proftpd"
      ;;
    *) die "unknown scenario $name" ;;
  esac
  return 0
}

# The servers a scenario runs on.
scenario_servers() {
  scenario_define "$1" vsftpd
  echo "$S_SERVERS"
}
