# shellcheck shell=bash
# Shared pieces of the real-world bench (tests/e2e/bench.sh) and the performance script
# (scripts/bench-perf): packages, the namespace network, the daemons, cleanup.
#
# Everything runs in network namespaces this file creates; no namespace has a route to the
# outside world and no veth is attached to the root namespace. Addresses (all inside the
# namespaces; the "Internet" is made of documentation ranges):
#
#   client  c0 203.0.113.2/24, 2001:db8:1::2/64
#      |                    (optional: a delay namespace relaying frames between c0 and r0)
#   router  r0 203.0.113.1 (public address A), .11 (public address B), .20 (a host that
#              refuses every port), 2001:db8:1::1/64
#           r1 192.168.50.1/24, 2001:db8:50::1/64 (the server LAN)
#           r2 198.51.100.1/24 (toward the DNS server)
#   server  s0 192.168.50.10/24, 2001:db8:50::10/64
#   dns     d0 198.51.100.53/24 (dnsmasq)
#
#   192.0.2.99 is a "stale" public address: routed toward the router and silently dropped there.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)

WAN_A=203.0.113.1
WAN_B=203.0.113.11
WAN_RST=203.0.113.20
CLIENT_IP=203.0.113.2
STALE_IP=192.0.2.99
SERVER_IP=192.168.50.10
ROUTER_LAN=192.168.50.1
DNS_IP=198.51.100.53
CLIENT_IP6=2001:db8:1::2
ROUTER_WAN6=2001:db8:1::1
SERVER_IP6=2001:db8:50::10
ROUTER_LAN6=2001:db8:50::1

FTP_USER=pdbench
FTP_UID=64123
# A throwaway password for a user that exists only inside the server namespace's /etc/passwd.
FTP_PASS=bench-Secret-4711
PASV_LOW=30000
PASV_HIGH=30999

# Set by e2e_init.
E2E_TAG=""   # unique per run: namespace names and /etc/netns entries carry it
WORK=""      # per-run scratch directory, removed at exit
CACHE=""     # unpacked ProFTPD / Pure-FTPd packages, kept between runs (under target/)
NS_CLI="" NS_RTR="" NS_SRV="" NS_DNS="" NS_DLY=""
declare -a E2E_PIDS=()      # daemons started (session leaders)
declare -a E2E_NETNS=()     # namespaces created
E2E_POLICY_RC=0             # 1 when we created /usr/sbin/policy-rc.d
E2E_ETC_NETNS=0             # 1 when we created /etc/netns
E2E_VERBOSE=${E2E_VERBOSE:-0}

log() { printf '%s\n' "$*" >&2; }
vlog() { [[ $E2E_VERBOSE == 1 ]] && printf '  . %s\n' "$*" >&2; return 0; }
die() { printf 'bench: ERROR: %s\n' "$*" >&2; exit 2; }

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ---------------------------------------------------------------------------------------------
# Preconditions and packages

# Prints why the bench cannot run here, or nothing when it can.
e2e_cannot_run() {
  if [[ $(id -u) != 0 ]]; then echo "it needs root (network namespaces, nftables, daemons)"; return; fi
  if ! command -v ip >/dev/null 2>&1; then echo "iproute2 (ip) is missing"; return; fi
  local probe="pdbprobe$$"
  if ! ip netns add "$probe" 2>/dev/null; then
    echo "network namespaces are not available (ip netns add failed)"; return
  fi
  ip netns del "$probe" 2>/dev/null || true
}

# e2e_install [PACKAGE...]: installs what the bench needs, once: Debian packages (these and
# the given ones), and ProFTPD / Pure-FTPd unpacked into $CACHE (they conflict with vsftpd as
# packages). Package scripts start no daemon.
e2e_install() {
  local want=(vsftpd dnsmasq-base nftables ethtool curl iproute2 iputils-ping openssl python3 "$@")
  local missing=() p
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  local need_unpack=()
  [[ -x $CACHE/proftpd/usr/sbin/proftpd ]] || need_unpack+=(proftpd-core proftpd-mod-crypto)
  # Debian builds mod_tls as a shared module in its own package (proftpd -l does not list it).
  [[ -e $CACHE/proftpd/usr/lib/proftpd/mod_tls.so || " ${need_unpack[*]} " == *" proftpd-mod-crypto "* ]] \
    || need_unpack+=(proftpd-mod-crypto)
  [[ -x $CACHE/pureftpd/usr/sbin/pure-ftpd ]] || need_unpack+=(pure-ftpd)
  if ((${#missing[@]} == 0 && ${#need_unpack[@]} == 0)); then
    e2e_install_libs   # cheap when nothing is missing
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    die "missing packages (${missing[*]} ${need_unpack[*]}) and no apt-get to install them"
  fi
  log "bench: installing: ${missing[*]} ${need_unpack[*]}"
  e2e_policy_rc_on
  local updated=0
  apt_retry() {
    if "$@"; then return 0; fi
    if ((updated == 0)); then
      updated=1
      log "bench: apt-get update"
      apt-get update -qq >&2 || return 1
      "$@"
    else
      return 1
    fi
  }
  export DEBIAN_FRONTEND=noninteractive
  # Package lists may be missing or stale on a fresh machine: update once when needed.
  if ((${#missing[@]})); then
    apt_retry apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
      || die "apt-get install ${missing[*]} failed"
  fi
  if ((${#need_unpack[@]})); then
    mkdir -p "$CACHE/debs"
    local name
    for name in "${need_unpack[@]}"; do rm -f "$CACHE/debs/${name}_"*.deb; done
    (cd "$CACHE/debs" && apt_retry apt-get download -qq -o APT::Sandbox::User=root "${need_unpack[@]}") >&2 \
      || die "apt-get download ${need_unpack[*]} failed"
    local deb
    for deb in "$CACHE"/debs/proftpd-core_*.deb; do
      [[ -e $deb ]] && { rm -rf "$CACHE/proftpd"; dpkg-deb -x "$deb" "$CACHE/proftpd"; }
    done
    # Unpacked over proftpd-core (after it: a fresh core unpack starts from an empty tree).
    for deb in "$CACHE"/debs/proftpd-mod-crypto_*.deb; do
      [[ -e $deb ]] && dpkg-deb -x "$deb" "$CACHE/proftpd"
    done
    for deb in "$CACHE"/debs/pure-ftpd_*.deb; do
      [[ -e $deb ]] && { rm -rf "$CACHE/pureftpd"; dpkg-deb -x "$deb" "$CACHE/pureftpd"; }
    done
    [[ -x $CACHE/proftpd/usr/sbin/proftpd && -e $CACHE/proftpd/usr/lib/proftpd/mod_tls.so \
      && -x $CACHE/pureftpd/usr/sbin/pure-ftpd ]] \
      || die "unpacking proftpd-core / proftpd-mod-crypto / pure-ftpd failed"
  fi
  e2e_install_libs apt_retry
  e2e_policy_rc_off
}

# The shared libraries the unpacked daemons need, installed as normal packages.
e2e_install_libs() {
  local retry=${1:-}
  local libs=() deb dep
  for deb in "$CACHE"/debs/*.deb; do
    [[ -e $deb ]] || continue
    while read -r dep; do
      [[ $dep == lib* ]] || continue
      dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q "install ok installed" || libs+=("$dep")
    done < <(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -E 's/\(.*\)//; s/\|.*//; s/^ +//; s/ +$//')
  done
  ((${#libs[@]})) || return 0
  log "bench: installing libraries: ${libs[*]}"
  e2e_policy_rc_on
  export DEBIAN_FRONTEND=noninteractive
  if [[ -n $retry ]]; then
    $retry apt-get install -y -qq --no-install-recommends "${libs[@]}" >&2 || die "installing ${libs[*]} failed"
  elif ! apt-get install -y -qq --no-install-recommends "${libs[@]}" >&2; then
    apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${libs[@]}" >&2 \
      || die "installing ${libs[*]} failed"
  fi
  e2e_policy_rc_off
}

e2e_policy_rc_on() {
  [[ -e /usr/sbin/policy-rc.d ]] && return 0
  printf '#!/bin/sh\n# temporary, from pasv-doctor tests/e2e: start no daemon\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  E2E_POLICY_RC=1
}

e2e_policy_rc_off() {
  if ((E2E_POLICY_RC)); then rm -f /usr/sbin/policy-rc.d; E2E_POLICY_RC=0; fi
}

# ---------------------------------------------------------------------------------------------
# Run state, cleanup

e2e_init() {
  # One bench at a time on a machine: two runs share /etc/netns, the server packages'
  # state and two cores, and their timings would measure each other.
  local lock=${PASV_DOCTOR_E2E_LOCK:-/tmp/pasv-doctor-bench.lock}
  exec 8>"$lock"
  if ! flock -n 8; then
    echo "== another bench holds $lock; waiting for it"
    flock 8
  fi
  E2E_TAG="pdb$$"
  CACHE=${PASV_DOCTOR_E2E_CACHE:-${CARGO_TARGET_DIR:-$REPO_ROOT/target}/e2e}
  mkdir -p "$CACHE"
  WORK=$(mktemp -d /tmp/pasv-doctor-bench.XXXXXX)
  chmod 755 "$WORK"
  mkdir -p "$WORK/empty" "$WORK/home" "$WORK/logs"
  chmod 755 "$WORK/empty"
  [[ -d /etc/netns ]] || E2E_ETC_NETNS=1
  NS_CLI="$E2E_TAG-cli" NS_RTR="$E2E_TAG-rtr" NS_SRV="$E2E_TAG-srv" NS_DNS="$E2E_TAG-dns" NS_DLY="$E2E_TAG-dly"
  trap e2e_cleanup EXIT
  trap 'e2e_cleanup; trap - INT; kill -INT $$' INT
  trap 'e2e_cleanup; exit 143' TERM
  trap 'e2e_cleanup; exit 129' HUP
}

e2e_cleanup() {
  local rc=$?
  trap - EXIT
  e2e_net_down
  if ((E2E_ETC_NETNS)); then rmdir /etc/netns 2>/dev/null || true; fi
  e2e_policy_rc_off
  if [[ -n $WORK && -d $WORK && ${PASV_DOCTOR_E2E_KEEP:-0} != 1 ]]; then rm -rf "$WORK"; fi
  [[ ${PASV_DOCTOR_E2E_KEEP:-0} == 1 && -n $WORK ]] && log "bench: kept $WORK"
  return $rc
}

# Ends a daemon we started, by PID: its whole session (it was started under setsid, so its
# process group is its PID), TERM first, KILL after 3 s. Waits until it is really gone.
e2e_stop_pid() {
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    e2e_pid_alive "$pid" || break
    sleep 0.1
  done
  if e2e_pid_alive "$pid"; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# A killed child stays a zombie until reaped: look at the state, not at kill -0.
e2e_pid_alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $st && $st != Z && $st != X ]]
}

e2e_stop_daemons() {
  local pid
  for pid in "${E2E_PIDS[@]}"; do e2e_stop_pid "$pid"; done
  E2E_PIDS=()
}

# Starts a command in the foreground of its own session inside namespace $2, output to $3.
# Sets E2E_LAST_PID.
e2e_start() {
  local name=$1 ns=$2 logf=$3
  shift 3
  # stdin too goes to the log: vsftpd writes its start-up errors ("500 OOPS: ...") to fd 0.
  : >"$logf"
  setsid ip netns exec "$ns" "$@" >>"$logf" 2>&1 0>>"$logf" &
  E2E_LAST_PID=$!
  E2E_PIDS+=("$E2E_LAST_PID")
  vlog "started $name (pid $E2E_LAST_PID) in $ns: $*"
}

# ---------------------------------------------------------------------------------------------
# The network

e2e_netns_add() {
  local ns=$1
  ip netns add "$ns"
  E2E_NETNS+=("$ns")
  mkdir -p "/etc/netns/$ns"
  # ip netns exec bind-mounts these over /etc/resolv.conf: nothing asks the machine's resolver.
  printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$DNS_IP" >"/etc/netns/$ns/resolv.conf"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"/etc/netns/$ns/hosts"
  nsx "$ns" ip link set lo up
  # No duplicate address detection: fresh veth addresses would sit "tentative" for a while.
  nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

# e2e_net_up [DELAY_MS]: creates the namespaces and links (no firewall rules yet).
e2e_net_up() {
  local delay=${1:-0}
  e2e_netns_add "$NS_CLI"
  e2e_netns_add "$NS_RTR"
  e2e_netns_add "$NS_SRV"
  e2e_netns_add "$NS_DNS"
  # The server namespace alone sees the test user (ip netns exec bind-mounts these too).
  e2e_user_files "/etc/netns/$NS_SRV"

  if ((delay > 0)); then
    e2e_netns_add "$NS_DLY"
    ip link add name c0 netns "$NS_CLI" type veth peer name dc netns "$NS_DLY"
    ip link add name r0 netns "$NS_RTR" type veth peer name dr netns "$NS_DLY"
    nsx "$NS_DLY" ip link set dc up
    nsx "$NS_DLY" ip link set dr up
  else
    ip link add name c0 netns "$NS_CLI" type veth peer name r0 netns "$NS_RTR"
  fi
  ip link add name r1 netns "$NS_RTR" type veth peer name s0 netns "$NS_SRV"
  ip link add name r2 netns "$NS_RTR" type veth peer name d0 netns "$NS_DNS"
  # Links up before addresses: an IPv6 address added to a down link answers neighbour
  # solicitations only after a second or so (its multicast group is joined late).
  nsx "$NS_CLI" ip link set c0 up
  local l
  for l in r0 r1 r2; do nsx "$NS_RTR" ip link set "$l" up; done
  nsx "$NS_SRV" ip link set s0 up
  nsx "$NS_DNS" ip link set d0 up

  nsx "$NS_CLI" ip addr add "$CLIENT_IP/24" dev c0
  nsx "$NS_CLI" ip addr add "$CLIENT_IP6/64" dev c0 nodad
  nsx "$NS_CLI" ip route add 198.51.100.0/24 via "$WAN_A"
  nsx "$NS_CLI" ip route add 192.0.2.0/24 via "$WAN_A"
  nsx "$NS_CLI" ip -6 route add 2001:db8:50::/64 via "$ROUTER_WAN6"

  nsx "$NS_RTR" ip addr add "$WAN_A/24" dev r0
  nsx "$NS_RTR" ip addr add "$WAN_B/24" dev r0
  nsx "$NS_RTR" ip addr add "$WAN_RST/24" dev r0
  nsx "$NS_RTR" ip addr add "$ROUTER_WAN6/64" dev r0 nodad
  nsx "$NS_RTR" ip addr add "$ROUTER_LAN/24" dev r1
  nsx "$NS_RTR" ip addr add "$ROUTER_LAN6/64" dev r1 nodad
  nsx "$NS_RTR" ip addr add 198.51.100.1/24 dev r2
  nsx "$NS_RTR" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

  nsx "$NS_SRV" ip addr add "$SERVER_IP/24" dev s0
  nsx "$NS_SRV" ip addr add "$SERVER_IP6/64" dev s0 nodad
  nsx "$NS_SRV" ip route add 203.0.113.0/24 via "$ROUTER_LAN"
  nsx "$NS_SRV" ip route add 198.51.100.0/24 via "$ROUTER_LAN"
  nsx "$NS_SRV" ip -6 route add 2001:db8:1::/64 via "$ROUTER_LAN6"

  nsx "$NS_DNS" ip addr add "$DNS_IP/24" dev d0
  nsx "$NS_DNS" ip route add 203.0.113.0/24 via 198.51.100.1
  nsx "$NS_DNS" ip route add 192.168.50.0/24 via 198.51.100.1

  if ((delay > 0)); then e2e_delay_start "$delay"; fi
}

e2e_net_down() {
  e2e_stop_daemons
  local ns pid
  for ns in "${E2E_NETNS[@]}"; do
    # Anything still inside one of our namespaces was started by us: end it by PID.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  for ns in "${E2E_NETNS[@]}"; do
    ip netns del "$ns" 2>/dev/null || true
    [[ -n $ns && -d /etc/netns/$ns ]] && rm -rf "/etc/netns/${ns:?}"
  done
  E2E_NETNS=()
}

# /etc/passwd, /etc/shadow and /etc/group for the server namespace: the machine's own plus the
# test user. Nothing is added to the machine's user database.
e2e_user_files() {
  local dir=$1 hash
  hash=$(openssl passwd -6 -salt pdbenchsalt "$FTP_PASS")
  { cat /etc/passwd; echo "$FTP_USER:x:$FTP_UID:$FTP_UID:pasv-doctor bench:$WORK/home:/bin/sh"; } >"$dir/passwd"
  { cat /etc/group; echo "$FTP_USER:x:$FTP_UID:"; } >"$dir/group"
  { cat /etc/shadow; echo "$FTP_USER:$hash:19000:0:99999:7:::"; } >"$dir/shadow"
  chmod 644 "$dir/passwd" "$dir/group"
  chmod 640 "$dir/shadow"
}

e2e_files() {
  local home=$WORK/home
  mkdir -p "$home/pub"
  printf 'pasv-doctor bench file\n' >"$home/readme.txt"
  head -c 65536 /dev/zero | tr '\0' 'x' >"$home/pub/64k.bin"
  printf 'hello\n' >"$home/pub/hello.txt"
  chmod -R a+rX "$home"
}

# e2e_tls_certs: a small CA and a server certificate it signs (SANs: the bench's host name, the
# public address A and the server's LAN address), in $WORK/tls. Once per run; the scenarios
# verify it with --ca-file / curl --cacert.
TLS_DIR=""
e2e_tls_certs() {
  TLS_DIR=$WORK/tls
  mkdir -p "$TLS_DIR"
  local d=$TLS_DIR
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 400 \
    -subj "/CN=pasv-doctor bench CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    >/dev/null 2>&1 || die "openssl: the bench CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=ftp.pasv.test" -keyout "$d/server.key" \
    -out "$d/server.csr" >/dev/null 2>&1 || die "openssl: the server key"
  printf '%s\n' "subjectAltName=DNS:ftp.pasv.test,IP:$WAN_A,IP:$SERVER_IP" \
    "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 365 -extfile "$d/server.ext" -out "$d/server.pem" >/dev/null 2>&1 || die "openssl: signing the server certificate"
  cat "$d/server.pem" "$d/ca.pem" >"$d/chain.pem"
  chmod 644 "$d"/*.pem
  chmod 600 "$d"/*.key
}

# e2e_firewall FWD_PORTS WAN_ACTION V6_FORWARD_RULE ALG ICMP_LIMIT
#  FWD_PORTS: the passive ports DNAT-forwarded to the server ("30000-30999", "" for none)
#  WAN_ACTION: what the router's own WAN input does with any other new connection ("drop",
#              "reject with tcp reset", "reject with icmp type admin-prohibited")
#  V6_FORWARD_RULE: an nftables rule for IPv6 forwarding (e.g. a drop of the passive range), or ""
#  ALG: 1 attaches the kernel's FTP helper to port 21 (it rewrites 227 and opens pinholes)
#  ICMP_LIMIT: 1 keeps the kernel's ICMP rate limit (about 6 errors at once, then 1 a second
#              per destination); 0 (default) sends an ICMP error for every rejected SYN, so that
#              "rejected with ICMP" is the same for every port probed at once
e2e_firewall() {
  local fwd=$1 wan_action=$2 v6rule=$3 alg=${4:-0} icmp_limit=${5:-0}
  if [[ $icmp_limit == 0 ]]; then
    nsx "$NS_RTR" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
  fi
  local f=$WORK/router.nft
  {
    echo "flush ruleset"
    echo "table inet pdbench {"
    if [[ $alg == 1 ]]; then
      echo '  ct helper ftp-std { type "ftp" protocol tcp; }'
      echo '  chain alg { type filter hook prerouting priority 10; policy accept;'
      echo '    tcp dport 21 ct helper set "ftp-std"'
      echo '  }'
    fi
    echo '  chain stale { type filter hook prerouting priority raw; policy accept;'
    echo "    ip daddr 192.0.2.0/24 drop comment \"the stale address: nobody answers\""
    echo '  }'
    echo '  chain port_forward { type nat hook prerouting priority dstnat; policy accept;'
    echo "    ip daddr { $WAN_A, $WAN_B } tcp dport { 21, 990 } dnat ip to $SERVER_IP"
    [[ -n $fwd ]] && echo "    ip daddr { $WAN_A, $WAN_B } tcp dport $fwd dnat ip to $SERVER_IP"
    echo '  }'
    echo '  chain masq { type nat hook postrouting priority srcnat; policy accept;'
    echo "    ip saddr 192.168.50.0/24 oifname \"r0\" masquerade"
    echo '  }'
    echo '  chain wan_in { type filter hook input priority filter; policy accept;'
    echo '    iifname != "r0" accept'
    echo '    ct state established,related accept'
    echo '    meta l4proto { icmp, ipv6-icmp } accept'
    echo "    ip daddr $WAN_RST tcp flags syn reject with tcp reset comment \"another host: every port refused\""
    echo "    $wan_action"
    echo '  }'
    echo '  chain forwarding { type filter hook forward priority filter; policy accept;'
    [[ -n $v6rule ]] && echo "    $v6rule"
    echo '  }'
    echo "}"
  } >"$f"
  nsx "$NS_RTR" nft -f "$f" || die "nft -f $f failed"
}

# e2e_dns "name ip" ... : starts dnsmasq in the DNS namespace answering these records (a name
# may appear more than once: several A records). Other names get NXDOMAIN.
e2e_dns() {
  local hosts=$WORK/dns.hosts rec
  : >"$hosts"
  for rec in "$@"; do
    # shellcheck disable=SC2086
    set -- $rec
    printf '%s %s\n' "$2" "$1" >>"$hosts"
  done
  chmod 644 "$hosts"
  e2e_start dnsmasq "$NS_DNS" "$WORK/logs/dnsmasq.log" \
    dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --no-poll \
    --addn-hosts="$hosts" --listen-address="$DNS_IP" --bind-interfaces --local=/test/ \
    --user=nobody --group=nogroup --pid-file= --log-queries --log-facility=-
  E2E_DNS_PID=$E2E_LAST_PID
  e2e_wait_listen "$NS_DNS" udp "$DNS_IP" 53 || die "dnsmasq did not start: $(tail -5 "$WORK/logs/dnsmasq.log")"
}

# e2e_wait_listen NS tcp|udp ADDR PORT: waits up to 5 s for a listener.
e2e_wait_listen() {
  local ns=$1 proto=$2 addr=$3 port=$4 i flag=-Hltn
  [[ $proto == udp ]] && flag=-Hlun
  for ((i = 0; i < 50; i++)); do
    if nsx "$ns" ss "$flag" "sport = :$port" 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# The FTP daemons. Each writes its config for the current scenario and starts in the foreground.
#  SRV_PASV_ADDRESS: the external address to advertise ("" = none: the server's own address)
#  SRV_EPSV: 0 refuses EPSV;  SRV_PASV: 0 disables passive mode (vsftpd pasv_enable=NO)
#  SRV_PASV_CMD: 0 refuses only PASV;  SRV_FAMILY: 4, 6, or dual (vsftpd: one IPv6 socket
#  serving both families)
#  SRV_TLS: "" plain, explicit (AUTH TLS), implicit (TLS from the first byte, port 990), with
#  the certificate of e2e_tls_certs; session reuse required (vsftpd require_ssl_reuse=YES, ProFTPD
#  1.3.8's default). SRV_TLS_FORCE: 1 (default) refuses logins and data without TLS.

e2e_start_server() {
  local server=$1
  case $server in
    vsftpd) e2e_start_vsftpd ;;
    proftpd) e2e_start_proftpd ;;
    pureftpd) e2e_start_pureftpd ;;
    *) die "unknown server $server" ;;
  esac
  local port_ok=0 port=21
  [[ ${SRV_TLS:-} == implicit ]] && port=990
  case ${SRV_FAMILY:-4} in
    4) e2e_wait_listen "$NS_SRV" tcp "$SERVER_IP" "$port" && port_ok=1 ;;
    *) e2e_wait_listen "$NS_SRV" tcp "$SERVER_IP6" "$port" && port_ok=1 ;;
  esac
  ((port_ok)) || die "$server did not start listening: $(tail -5 "$WORK/logs/$server.log")"
}

e2e_start_vsftpd() {
  local conf=$WORK/vsftpd.conf
  {
    echo "background=NO"
    case ${SRV_FAMILY:-4} in
      4) echo "listen=YES"; echo "listen_ipv6=NO"; echo "listen_address=$SERVER_IP" ;;
      6) echo "listen=NO"; echo "listen_ipv6=YES"; echo "listen_address6=$SERVER_IP6" ;;
      dual) echo "listen=NO"; echo "listen_ipv6=YES" ;;
    esac
    if [[ ${SRV_TLS:-} == implicit ]]; then echo "listen_port=990"; else echo "listen_port=21"; fi
    if [[ -n ${SRV_TLS:-} ]]; then
      echo "ssl_enable=YES"
      echo "rsa_cert_file=$TLS_DIR/chain.pem"
      echo "rsa_private_key_file=$TLS_DIR/server.key"
      # vsftpd 3.0.3's default cipher list is DES-CBC3-SHA, which no current client offers.
      echo "ssl_ciphers=HIGH"
      echo "require_ssl_reuse=YES"
      local force=YES
      [[ ${SRV_TLS_FORCE:-1} == 0 ]] && force=NO
      echo "force_local_logins_ssl=$force"
      echo "force_local_data_ssl=$force"
      [[ $SRV_TLS == implicit ]] && echo "implicit_ssl=YES"
      echo "debug_ssl=YES"
    fi
    echo "seccomp_sandbox=NO"
    echo "anonymous_enable=NO"
    echo "local_enable=YES"
    echo "write_enable=NO"
    echo "pam_service_name=vsftpd"
    echo "secure_chroot_dir=$WORK/empty"
    echo "connect_from_port_20=NO"
    echo "xferlog_enable=YES"
    echo "vsftpd_log_file=$WORK/logs/vsftpd.xfer.log"
    echo "log_ftp_protocol=YES"
    echo "dual_log_enable=NO"
    echo "pasv_min_port=${SRV_PASV_LOW:-$PASV_LOW}"
    echo "pasv_max_port=${SRV_PASV_HIGH:-$PASV_HIGH}"
    [[ -n ${SRV_PASV_ADDRESS:-} ]] && echo "pasv_address=$SRV_PASV_ADDRESS"
    [[ ${SRV_PASV:-1} == 0 ]] && echo "pasv_enable=NO"
    local cmds="ABOR,CWD,CDUP,EPSV,FEAT,LIST,MDTM,MLSD,MLST,NLST,NOOP,OPTS,PASS,PASV,PORT,PWD,QUIT,REST,RETR,SIZE,STAT,SYST,TYPE,USER,XPWD,EPRT,MODE,STRU,HELP,ALLO"
    [[ ${SRV_EPSV:-1} == 0 ]] && cmds=${cmds/EPSV,/}
    [[ ${SRV_PASV_CMD:-1} == 0 ]] && cmds=${cmds/PASV,/}
    [[ ${SRV_EPSV:-1} == 0 || ${SRV_PASV_CMD:-1} == 0 ]] && echo "cmds_allowed=$cmds"
  } >"$conf"
  chmod 600 "$conf"
  e2e_start vsftpd "$NS_SRV" "$WORK/logs/vsftpd.log" vsftpd "$conf"
}

e2e_start_proftpd() {
  local conf=$WORK/proftpd.conf
  local bind=$SERVER_IP
  [[ ${SRV_FAMILY:-4} == 6 ]] && bind=$SERVER_IP6
  {
    echo "ServerName \"pasv-doctor bench\""
    echo "ServerType standalone"
    echo "DefaultServer on"
    echo "DefaultAddress $bind"
    echo "SocketBindTight on"
    if [[ ${SRV_TLS:-} == implicit ]]; then echo "Port 990"; else echo "Port 21"; fi
    [[ ${SRV_FAMILY:-4} == 6 ]] && echo "UseIPv6 on" || echo "UseIPv6 off"
    echo "User nobody"
    echo "Group nogroup"
    echo "PidFile $WORK/proftpd.pid"
    echo "ScoreboardFile $WORK/proftpd.scoreboard"
    echo "DelayTable none"
    echo "<IfModule mod_delay.c>"
    echo "  DelayEngine off"
    echo "</IfModule>"
    echo "<IfModule mod_auth_pam.c>"
    echo "  AuthPAM off"
    echo "</IfModule>"
    echo "AuthOrder mod_auth_unix.c"
    echo "RequireValidShell off"
    echo "UseReverseDNS off"
    echo "WtmpLog off"
    echo "UseLastlog off"
    echo "TransferLog none"
    echo "SystemLog $WORK/logs/proftpd.system.log"
    echo "MaxInstances 30"
    echo "PassivePorts ${SRV_PASV_LOW:-$PASV_LOW} ${SRV_PASV_HIGH:-$PASV_HIGH}"
    [[ -n ${SRV_PASV_ADDRESS:-} ]] && echo "MasqueradeAddress $SRV_PASV_ADDRESS"
    if [[ -n ${SRV_TLS:-} ]]; then
      echo "ModulePath $CACHE/proftpd/usr/lib/proftpd"
      echo "LoadModule mod_tls.c"
      echo "TLSEngine on"
      echo "TLSLog $WORK/logs/proftpd.tls.log"
      echo "TLSProtocol TLSv1.2 TLSv1.3"
      echo "TLSRSACertificateFile $TLS_DIR/server.pem"
      echo "TLSRSACertificateKeyFile $TLS_DIR/server.key"
      echo "TLSCertificateChainFile $TLS_DIR/ca.pem"
      echo "TLSVerifyClient off"
      echo "TLSRenegotiate none"
      if [[ ${SRV_TLS_FORCE:-1} == 0 ]]; then echo "TLSRequired off"; else echo "TLSRequired on"; fi
      # Session reuse on data connections is ProFTPD 1.3.8's default (no NoSessionReuseRequired).
      [[ $SRV_TLS == implicit ]] && echo "TLSOptions UseImplicitSSL"
    fi
    echo "<Limit WRITE>"
    echo "  DenyAll"
    echo "</Limit>"
    [[ ${SRV_EPSV:-1} == 0 ]] && printf '<Limit EPSV>\n  DenyAll\n</Limit>\n'
    [[ ${SRV_PASV_CMD:-1} == 0 ]] && printf '<Limit PASV>\n  DenyAll\n</Limit>\n'
    [[ ${SRV_PASV:-1} == 0 ]] && printf '<Limit PASV EPSV>\n  DenyAll\n</Limit>\n'
  } >"$conf"
  e2e_start proftpd "$NS_SRV" "$WORK/logs/proftpd.log" \
    "$CACHE/proftpd/usr/sbin/proftpd" --nodaemon --config "$conf"
}

e2e_start_pureftpd() {
  local bind="$SERVER_IP,21"
  [[ ${SRV_FAMILY:-4} == 6 ]] && bind="$SERVER_IP6,21"
  local args=(-S "$bind" -p "${SRV_PASV_LOW:-$PASV_LOW}:${SRV_PASV_HIGH:-$PASV_HIGH}" -l unix -E -H -u 1 -c 20 -C 20 -A)
  [[ -n ${SRV_PASV_ADDRESS:-} ]] && args+=(-P "$SRV_PASV_ADDRESS")
  e2e_start pureftpd "$NS_SRV" "$WORK/logs/pureftpd.log" "$CACHE/pureftpd/usr/sbin/pure-ftpd" "${args[@]}"
}

# ---------------------------------------------------------------------------------------------
# Optional link delay between client and router (no sch_netem here): a userspace relay of
# Ethernet frames in the middle namespace holding each frame DELAY_MS in each direction.
e2e_delay_start() {
  local delay=$1 ifc ns
  for ns in "$NS_CLI:c0" "$NS_RTR:r0" "$NS_DLY:dc" "$NS_DLY:dr"; do
    ifc=${ns#*:}
    nsx "${ns%%:*}" ethtool -K "$ifc" tx off tso off gso off gro off >/dev/null 2>&1 \
      || die "ethtool -K $ifc failed"
  done
  e2e_start delay-relay "$NS_DLY" "$WORK/logs/delay-relay.log" \
    python3 "$E2E_DIR/delay_relay.py" --delay-ms "$delay" dc dr
  local i
  for ((i = 0; i < 50; i++)); do
    grep -q "relaying" "$WORK/logs/delay-relay.log" 2>/dev/null && return 0
    sleep 0.1
  done
  die "delay relay did not start: $(cat "$WORK/logs/delay-relay.log")"
}

# e2e_ping_rtt: prints the average RTT in ms from client to router (10 pings, after one that
# fills the neighbour caches).
e2e_ping_rtt() {
  nsx "$NS_CLI" ping -n -q -c 1 -W 2 "$WAN_A" >/dev/null || true
  nsx "$NS_CLI" ping -n -q -c 10 -i 0.1 -W 2 "$WAN_A" | awk -F'/' '/^rtt|^round-trip/ {print $5}'
}
