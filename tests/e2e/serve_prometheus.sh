# shellcheck shell=bash
# The bench's serve-prometheus run, sourced by tests/e2e/bench.sh (`bench.sh -t serve-prometheus`):
# a real Prometheus (Debian's package) scrapes `pasv-doctor serve` with the multi-target
# relabelling of docs/serve.md, against real vsftpd and ProFTPD behind the bench's NAT router.
#
# Four daemons run at once in the server namespace, each behind its own public address:
#
#   target (name)              daemon   LAN            public        passive ports  the NAT
#   vsftpd.healthy.pasv.test   vsftpd   192.168.50.10  203.0.113.1   30000-30099    advertises the public address, range forwarded
#   proftpd.healthy.pasv.test  ProFTPD  192.168.50.11  203.0.113.11  30100-30199    the same
#   vsftpd.bad.pasv.test       vsftpd   192.168.50.12  203.0.113.12  30200-30299    advertises its LAN address, range not forwarded
#   proftpd.bad.pasv.test      ProFTPD  192.168.50.13  203.0.113.13  30300-30399    the same
#
# In the client namespace, on its own 127.0.0.1: three `serve` processes (one for the job
# "ftp", which scrapes every target, and two shards, jobs ftp-shard-0 and ftp-shard-1, that
# share the targets by hashmod) and one Prometheus scraping the three jobs every 3 s. Only the
# bench's hosts are reachable from there. tests/e2e/check_prometheus.py then reads
# `probe_success`, `pasv_doctor_finding` and `up` back through the query API (see its header
# for what it asserts).
#
# The target names are chosen so that hashmod gives each shard one healthy and one broken
# target, one on each daemon (check_prometheus.py computes the shard and fails if a shard
# gets nothing).
#
# A second vantage point: site B, a namespace of its own on another network of the router
# (198.18.0.2/24, behind r3), with its own `serve` on its own 127.0.0.1 and a Prometheus in
# agent mode that scrapes it with `location: site-b` and remote-writes to the central
# Prometheus (the client namespace's, `location: site-a`, remote-write receiver on). The
# router forwards vsftpd.healthy's passive range only for the main client's network (an
# allowlist): from site B its data ports are dropped, so that target works from site A and
# fails from site B, and the query of docs/serve.md that finds "fails from somewhere, works
# from elsewhere" must name exactly it.

SP_PROM_PORT=9090
SP_SERVE_PORTS=(9129 9130 9131)   # the "ftp" job's exporter, shard 0's, shard 1's
# The broken targets' checks wait out two data connections (EPSV's, PASV's) of one step
# timeout each: 2 s, inside the 2.5 s a 3 s scrape timeout leaves the check (serve takes
# 0.5 s off). check_prometheus.py fails if a check runs into that deadline.
SP_SCRAPE_INTERVAL=3s
SP_SCRAPE_TIMEOUT=3s
SP_CHECK_TIMEOUT=1s
SP_CHECK_BUDGET=2.5
SP_DEADLINE=45                    # seconds for Prometheus to scrape every target twice (about 13 s here)
# NAME|SERVER|LAN|PUBLIC|PASV_LOW|PASV_HIGH|HEALTHY
SP_DAEMONS=(
  "vsftpd.healthy|vsftpd|$SERVER_IP|$WAN_A|30000|30099|1"
  "proftpd.healthy|proftpd|192.168.50.11|$WAN_B|30100|30199|1"
  "vsftpd.bad|vsftpd|192.168.50.12|203.0.113.12|30200|30299|0"
  "proftpd.bad|proftpd|192.168.50.13|203.0.113.13|30300|30399|0"
)
# The findings the broken targets must show (1) and the healthy ones must not (0).
SP_FINDINGS=(PASV_ADDRESS_PRIVATE DATA_PORT_FILTERED)
# The findings no target may show: a check cut short by the scrape's budget.
SP_ABSENT=(CHECK_INTERRUPTED SESSION_INTERRUPTED)
# Site B: its network, the router's address there, its exporter's and agent's ports (on its
# own loopback), and the target whose passive range only site A may reach.
SP_SITE_B_NET=198.18.0.0/24
SP_SITE_B_IP=198.18.0.2
SP_SITE_B_GW=198.18.0.1
SP_SITE_B_PORTS=(9129 9091)
SP_SITE_B_FAILS=vsftpd.healthy

# sp_job JOB EXPORTER_PORT LOCATION [SHARD]: one multi-target scrape job of prometheus.yml,
# as docs/serve.md gives it, its targets labelled with LOCATION (with SHARD: keeps the
# targets hashmod gives that shard of 2).
sp_job() {
  local job=$1 port=$2 location=$3 shard=${4:-} t
  printf '  - job_name: %s\n    metrics_path: /probe\n    params:\n      module: [bench]\n' "$job"
  printf '    static_configs:\n      - targets:\n'
  for t in "${SP_TARGETS[@]}"; do printf '          - %s\n' "$t"; done
  printf '        labels:\n          location: %s\n' "$location"
  printf '    relabel_configs:\n'
  printf '      - source_labels: [__address__]\n        target_label: __param_target\n'
  printf '      - source_labels: [__param_target]\n        target_label: instance\n'
  if [[ -n $shard ]]; then
    printf '      - source_labels: [__param_target]\n        modulus: 2\n        target_label: __tmp_hash\n        action: hashmod\n'
    printf "      - source_labels: [__tmp_hash]\n        regex: '%s'\n        action: keep\n" "$shard"
  fi
  printf "      - target_label: __address__\n        replacement: '127.0.0.1:%s'\n" "$port"
}

# sp_wait_tcp NS ADDR PORT: waits up to 5 s for a listener on exactly ADDR:PORT.
sp_wait_tcp() {
  local ns=$1 addr=$2 port=$3 i
  for ((i = 0; i < 50; i++)); do
    if nsx "$ns" ss -Hltn "src $addr and sport = :$port" 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.1
  done
  return 1
}

# sp_forget_pid PID: drops a daemon stopped by hand from the list e2e_stop_daemons ends (its
# PID may be reused by then).
sp_forget_pid() {
  local keep=() p
  for p in "${E2E_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  E2E_PIDS=("${keep[@]}")
}

# sp_site_b_up: site B's namespace, linked to the router by its own veth pair (c0 there, r3
# on the router), with routes to the public side and the DNS server only; the server, DNS
# and client namespaces get the way back. Sets SP_NS_B.
sp_site_b_up() {
  SP_NS_B="$E2E_TAG-siteb"
  e2e_netns_add "$SP_NS_B"
  ip link add name c0 netns "$SP_NS_B" type veth peer name r3 netns "$NS_RTR"
  nsx "$SP_NS_B" ip link set c0 up
  nsx "$NS_RTR" ip link set r3 up
  nsx "$SP_NS_B" ip addr add "$SP_SITE_B_IP/24" dev c0
  nsx "$NS_RTR" ip addr add "$SP_SITE_B_GW/24" dev r3
  nsx "$SP_NS_B" ip route add 203.0.113.0/24 via "$SP_SITE_B_GW"
  nsx "$SP_NS_B" ip route add 198.51.100.0/24 via "$SP_SITE_B_GW"
  nsx "$NS_SRV" ip route add "$SP_SITE_B_NET" via "$ROUTER_LAN"
  nsx "$NS_DNS" ip route add "$SP_SITE_B_NET" via 198.51.100.1
  nsx "$NS_CLI" ip route add "$SP_SITE_B_NET" via "$WAN_A"
}

run_serve_prometheus() {
  local name=serve-prometheus
  scenario_define "$name" vsftpd
  local dir=$LAST_RUN/$name sp=$WORK/serve-prometheus
  mkdir -p "$dir" "$sp"
  local t0 t1
  t0=$(date +%s.%N)
  fails=()
  fail_details=()
  local prometheus=${PASV_DOCTOR_PROMETHEUS:-prometheus}

  e2e_net_up 0
  e2e_firewall "" drop "" 0
  sp_site_b_up
  local nft=$sp/forwards.nft spec label server lan pub low high healthy
  local dns=() healthy_targets=() broken_targets=()
  SP_TARGETS=()
  : >"$nft"
  for spec in "${SP_DAEMONS[@]}"; do
    IFS='|' read -r label server lan pub low high healthy <<<"$spec"
    [[ $lan == "$SERVER_IP" ]] || nsx "$NS_SRV" ip addr add "$lan/24" dev s0
    [[ $pub == "$WAN_A" || $pub == "$WAN_B" ]] || nsx "$NS_RTR" ip addr add "$pub/24" dev r0
    # Inserted ahead of e2e_firewall's forward of 21 to the first server.
    if ((healthy)) && [[ $label == "$SP_SITE_B_FAILS" ]]; then
      # The allowlist: the passive range for every source but site B, whose SYNs are dropped.
      echo "insert rule inet pdbench port_forward ip daddr $pub tcp dport 21 dnat ip to $lan" >>"$nft"
      echo "insert rule inet pdbench port_forward ip saddr != $SP_SITE_B_NET ip daddr $pub tcp dport $low-$high dnat ip to $lan" >>"$nft"
      echo "insert rule inet pdbench wan_in ip saddr $SP_SITE_B_NET ip daddr $pub tcp dport $low-$high drop" >>"$nft"
      healthy_targets+=("$label.pasv.test")
    elif ((healthy)); then
      echo "insert rule inet pdbench port_forward ip daddr $pub tcp dport { 21, $low-$high } dnat ip to $lan" >>"$nft"
      healthy_targets+=("$label.pasv.test")
    else
      echo "insert rule inet pdbench port_forward ip daddr $pub tcp dport 21 dnat ip to $lan" >>"$nft"
      broken_targets+=("$label.pasv.test")
    fi
    SP_TARGETS+=("$label.pasv.test")
    dns+=("$label.pasv.test $pub")
  done
  nsx "$NS_RTR" nft -f "$nft" || die "nft -f $nft failed"
  nsx "$NS_RTR" nft list ruleset >"$sp/router.nft"
  e2e_dns "${dns[@]}"

  # Each daemon in its own scratch folder (config, pid, logs): the start functions of lib.sh
  # write to $WORK and bind $SERVER_IP, so both are set for the call.
  for spec in "${SP_DAEMONS[@]}"; do
    IFS='|' read -r label server lan pub low high healthy <<<"$spec"
    local d=$sp/$label adv=""
    mkdir -p "$d/logs" "$d/empty"
    chmod 755 "$d" "$d/empty"
    ((healthy)) && adv=$pub
    WORK=$d SERVER_IP=$lan SRV_PASV_ADDRESS=$adv SRV_PASV_LOW=$low SRV_PASV_HIGH=$high \
      e2e_start_server "$server"
  done
  for spec in "${SP_DAEMONS[@]}"; do
    IFS='|' read -r label server lan pub low high healthy <<<"$spec"
    sp_wait_tcp "$NS_SRV" "$lan" 21 || fails+=("$server for $label did not listen on $lan:21: $(tail -3 "$sp/$label/logs/$server.log" | tr '\n' ' ')")
  done

  # The exporters: one config, one module; the password from a file (never in argv or env).
  printf '%s\n' "$FTP_PASS" >"$sp/ftp-password"
  chmod 600 "$sp/ftp-password"
  cat >"$sp/serve.toml" <<EOF
# pasv-doctor serve in the bench's client namespace (tests/e2e/serve_prometheus.sh).
[defaults]
timeout = "$SP_CHECK_TIMEOUT"
samples = 1
transfers = 1
dns_server = "$DNS_IP"

[modules.bench]
user = "$FTP_USER"
password_file = "ftp-password"

[serve]
# The routers' public addresses only: the LAN addresses the broken servers advertise are
# not allowed, so nothing is sent there.
allow_targets = ["203.0.113.0/24"]
EOF
  local i port
  for i in 0 1 2; do
    port=${SP_SERVE_PORTS[i]}
    e2e_start "serve-$i" "$NS_CLI" "$sp/serve-$port.log" "$BIN_RUN" serve --config "$sp/serve.toml" \
      --listen "127.0.0.1:$port"
  done
  e2e_start serve-site-b "$SP_NS_B" "$sp/serve-site-b.log" "$BIN_RUN" serve --config "$sp/serve.toml" \
    --listen "127.0.0.1:${SP_SITE_B_PORTS[0]}"
  for port in "${SP_SERVE_PORTS[@]}"; do
    sp_wait_tcp "$NS_CLI" 127.0.0.1 "$port" || fails+=("serve did not listen on 127.0.0.1:$port: $(tail -3 "$sp/serve-$port.log" | tr '\n' ' ')")
  done
  sp_wait_tcp "$SP_NS_B" 127.0.0.1 "${SP_SITE_B_PORTS[0]}" || fails+=("site B's serve did not listen: $(tail -3 "$sp/serve-site-b.log" | tr '\n' ' ')")

  {
    echo "# Prometheus in the bench's client namespace (tests/e2e/serve_prometheus.sh)."
    echo "global:"
    echo "  scrape_interval: $SP_SCRAPE_INTERVAL"
    echo "  scrape_timeout: $SP_SCRAPE_TIMEOUT"
    echo "  evaluation_interval: $SP_SCRAPE_INTERVAL"
    echo "scrape_configs:"
    sp_job ftp "${SP_SERVE_PORTS[0]}" site-a
    sp_job ftp-shard-0 "${SP_SERVE_PORTS[1]}" site-a 0
    sp_job ftp-shard-1 "${SP_SERVE_PORTS[2]}" site-a 1
  } >"$sp/prometheus.yml"
  {
    echo "# Site B's Prometheus agent (tests/e2e/serve_prometheus.sh): scrapes site B's exporter,"
    echo "# remote-writes to the central Prometheus in the client namespace."
    echo "global:"
    echo "  scrape_interval: $SP_SCRAPE_INTERVAL"
    echo "  scrape_timeout: $SP_SCRAPE_TIMEOUT"
    echo "scrape_configs:"
    sp_job ftp "${SP_SITE_B_PORTS[0]}" site-b
    echo "remote_write:"
    echo "  - url: http://$CLIENT_IP:$SP_PROM_PORT/api/v1/write"
    echo "    queue_config:"
    echo "      batch_send_deadline: 1s"
  } >"$sp/prometheus-site-b.yml"
  local prom_pid="" agent_pid="" out="" rc=0
  if ((${#fails[@]} == 0)); then
    # On the client namespace's every address: site B's agent writes to it over the router.
    e2e_start prometheus "$NS_CLI" "$sp/prometheus.log" "$prometheus" \
      --config.file="$sp/prometheus.yml" --storage.tsdb.path="$sp/prometheus-data" \
      --web.listen-address="0.0.0.0:$SP_PROM_PORT" --web.enable-remote-write-receiver
    prom_pid=$E2E_LAST_PID
    e2e_start prometheus-site-b "$SP_NS_B" "$sp/prometheus-site-b.log" "$prometheus" \
      --enable-feature=agent --config.file="$sp/prometheus-site-b.yml" \
      --storage.agent.path="$sp/prometheus-site-b-data" \
      --web.listen-address="127.0.0.1:${SP_SITE_B_PORTS[1]}"
    agent_pid=$E2E_LAST_PID
    local args=(--prometheus "http://127.0.0.1:$SP_PROM_PORT" --deadline "$SP_DEADLINE" --scrapes 2
      --check-budget "$SP_CHECK_BUDGET" --job ftp --shard-job ftp-shard-0 --shard-job ftp-shard-1
      --single-log "$sp/serve-${SP_SERVE_PORTS[0]}.log"
      --shard-log "ftp-shard-0=$sp/serve-${SP_SERVE_PORTS[1]}.log"
      --shard-log "ftp-shard-1=$sp/serve-${SP_SERVE_PORTS[2]}.log"
      --dump "$sp/queries.json" --location site-a --vantage site-b
      --vantage-fails "$SP_SITE_B_FAILS.pasv.test" --vantage-finding DATA_PORT_FILTERED
      --vantage-log "$sp/serve-site-b.log")
    local t c
    for t in "${healthy_targets[@]}"; do args+=(--healthy "$t"); done
    for t in "${broken_targets[@]}"; do args+=(--broken "$t"); done
    for c in "${SP_FINDINGS[@]}"; do args+=(--finding "$c"); done
    for c in "${SP_ABSENT[@]}"; do args+=(--absent "$c"); done
    set +e
    out=$(nsx "$NS_CLI" timeout $((SP_DEADLINE + 30)) python3 "$E2E_DIR/check_prometheus.py" "${args[@]}" 2>&1)
    rc=$?
    set -e
    if ((rc != 0)); then
      [[ -n $out ]] || out="check_prometheus.py exited $rc"
      while IFS= read -r line; do fails+=("prometheus: $line"); done <<<"$out"
      local warned
      warned=$({ grep -E 'level=(error|warn)' "$sp/prometheus.log" || true; } | tail -3 | tr '\n' ' ')
      [[ -z $warned ]] || fail_details+=("prometheus log: $warned")
    fi
    # Prometheus first, so that no scrape is under way when the exporters stop.
    e2e_stop_pid "$agent_pid"
    sp_forget_pid "$agent_pid"
    e2e_stop_pid "$prom_pid"
    sp_forget_pid "$prom_pid"
  fi

  e2e_net_down
  rm -rf "$sp/prometheus-data" "$sp/prometheus-site-b-data"
  cp -r "$sp"/. "$dir/"
  rm -f "$dir/ftp-password"
  fail_details+=("artifacts: $dir (prometheus.yml, serve.toml, the logs, queries.json)")

  t1=$(date +%s.%N)
  local summary=""
  ((rc == 0)) && summary=$out
  record_result "vsftpd+proftpd $name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')" "$summary"
}
