#!/usr/bin/env python3
"""Checks one `pasv-doctor check --format json` report against a scenario's expectations.

Prints one line per failed expectation and exits 1 when any failed, 0 otherwise. Used by
tests/e2e/bench.sh; see tests/e2e/scenarios.sh for what each scenario expects.
"""

import argparse
import ipaddress
import json
import sys

CODE_WORDS = ("codes", "maybe")


def split_ip_port(text):
    """'203.0.113.1:30000' or '[2001:db8::1]:30000' -> (ip_address, port)."""
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    return ipaddress.ip_address(host), int(port)


def port_set(spec):
    """'none', '30000', '30000-30009', '30000-30004,30010' -> set of ports."""
    ports = set()
    if spec == "none":
        return ports
    for part in spec.split(","):
        low, _, high = part.partition("-")
        ports.update(range(int(low), int(high or low) + 1))
    return ports


def pairs(values):
    out = []
    for v in values or []:
        key, sep, val = v.partition("=")
        if not sep:
            raise SystemExit(f"check_report: expected KEY=VALUE, got {v!r}")
        out.append((key, val))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("report")
    ap.add_argument("--exit-code", type=int, help="the exit code pasv-doctor returned")
    ap.add_argument("--expect-exit", type=int)
    ap.add_argument("--verdict")
    ap.add_argument("--codes", default=None, help="codes that must be reported (space separated), no others")
    ap.add_argument("--maybe", default="", help="codes that may also be reported")
    ap.add_argument("--severity", action="append", help="CODE=SEVERITY for every finding of CODE")
    ap.add_argument("--evidence", action="append", help="CODE=TEXT: a finding of CODE has TEXT in its title or evidence")
    ap.add_argument("--finding-server", action="append", help="CODE=IP:PORT: every finding of CODE is about that server")
    ap.add_argument("--servers", type=int, help="number of server addresses checked")
    ap.add_argument("--open-ports", help="ports the firewall lets through to the server ('none', 'LOW-HIGH', ...)")
    ap.add_argument("--closed-outcome", default="timed_out",
                    help="comma-separated outcomes allowed for a port outside --open-ports")
    ap.add_argument("--transfers-ok", type=int, help="number of real transfers that completed with 226")
    ap.add_argument("--not-contacted", action="append", help="IP that no test connection went to")
    ap.add_argument("--advertised-outcome", action="append", help="IP=OUTCOME of a test connection to an advertised IP")
    ap.add_argument("--pasv-address", help="the address every PASV reply advertises")
    ap.add_argument("--tls-verdict", help="every server's control TLS handshake succeeded with this certificate verdict")
    ap.add_argument("--data-resumed", action="store_true",
                    help="every protected data connection (but the session-reuse test) resumed the control session")
    ap.add_argument("--max-seconds", type=float, help="upper bound for the whole check (timings.total_ms)")
    ap.add_argument("--range-map", help="REACHABLE/FILTERED: every server's --scan-range map, exactly "
                    "(compressed ranges, comma separated, e.g. 30000-30499/30500-30999)")
    a = ap.parse_args()

    fails = []
    try:
        with open(a.report, encoding="utf-8") as f:
            r = json.load(f)
    except (OSError, ValueError) as e:
        print(f"report is not JSON: {e}")
        return 1

    findings = r.get("findings", [])
    codes = sorted({f["code"] for f in findings})
    by_code = {}
    for f in findings:
        by_code.setdefault(f["code"], []).append(f)

    if a.expect_exit is not None:
        if a.exit_code != a.expect_exit:
            fails.append(f"exit code {a.exit_code}, expected {a.expect_exit}")
        if r.get("exit_code") != a.exit_code:
            fails.append(f"report says exit_code {r.get('exit_code')}, the process exited {a.exit_code}")
    if a.verdict and r.get("verdict") != a.verdict:
        fails.append(f"verdict {r.get('verdict')}, expected {a.verdict}")
    if a.codes is not None:
        must = set(a.codes.split())
        may = set(a.maybe.split())
        missing = sorted(must - set(codes))
        extra = sorted(set(codes) - must - may)
        if missing:
            fails.append(f"missing finding codes: {' '.join(missing)} (reported: {' '.join(codes)})")
        if extra:
            fails.append(f"unexpected finding codes: {' '.join(extra)} (reported: {' '.join(codes)})")
    for code, sev in pairs(a.severity):
        for f in by_code.get(code, []):
            if f["severity"] != sev:
                fails.append(f"{code} has severity {f['severity']}, expected {sev}")
    for code, text in pairs(a.evidence):
        hay = [f["title"] + "\n" + "\n".join(f["evidence"]) for f in by_code.get(code, [])]
        if not any(text in h for h in hay):
            fails.append(f"no {code} finding mentions {text!r}")
    for code, server in pairs(a.finding_server):
        got = [f["server"] for f in by_code.get(code, [])]
        if not got or any(g != server for g in got):
            fails.append(f"{code} findings are about {got}, expected only {server}")

    servers = r.get("servers", [])
    if a.range_map is not None:
        want_reach, want_filt = (x.split(",") if x else [] for x in a.range_map.split("/"))
        for s in servers:
            m = s.get("range_scan")
            if m is None:
                fails.append(f"{s['address']}: no range_scan")
                continue
            if m["reachable"] != want_reach or m["filtered"] != want_filt or m["refused"]:
                fails.append(f"{s['address']}: range map reachable={m['reachable']} "
                             f"refused={m['refused']} filtered={m['filtered']}, expected "
                             f"reachable={want_reach} filtered={want_filt}")
    if a.servers is not None and len(servers) != a.servers:
        fails.append(f"{len(servers)} server addresses checked, expected {a.servers}")

    tried = []  # (server, command or transfer label, tried entry)
    for s in servers:
        for p in s.get("passive", []):
            for t in p.get("tried", []):
                tried.append((s, p["command"], t))
        for x in s.get("transfers", []):
            if x.get("data"):
                tried.append((s, f"{x.get('command')} over {x['passive']['command']}", x["data"]))

    if a.open_ports is not None:
        open_ports = port_set(a.open_ports)
        closed_ok = set(a.closed_outcome.split(","))
        for s, what, t in tried:
            if t["outcome"] == "not_tried":
                continue
            ip, port = split_ip_port(t["address"])
            peer = ipaddress.ip_address(s["control_peer"])
            if ip != peer:
                continue
            if port in open_ports:
                if t["outcome"] not in ("connected", "refused"):
                    fails.append(f"{what} port {port} is forwarded but the test says {t['outcome']} ({t['ms']} ms)")
            elif t["outcome"] not in closed_ok:
                fails.append(f"{what} port {port} is not forwarded but the test says {t['outcome']}, "
                             f"expected {a.closed_outcome}")

    if a.transfers_ok is not None:
        ok = sum(1 for s in servers for x in s.get("transfers", [])
                 if (x.get("completion") or "").startswith("226") and not x.get("error"))
        if ok != a.transfers_ok:
            fails.append(f"{ok} transfers completed, expected {a.transfers_ok}")

    for ip in a.not_contacted or []:
        want = ipaddress.ip_address(ip)
        for s, what, t in tried:
            if t["outcome"] != "not_tried" and split_ip_port(t["address"])[0] == want:
                fails.append(f"{what}: a test connection went to {t['address']}, which must not be contacted")

    for ip, outcome in pairs(a.advertised_outcome):
        want = ipaddress.ip_address(ip)
        got = [t["outcome"] for s, what, t in tried
               if t["via"] == "advertised" and split_ip_port(t["address"])[0] == want]
        if not got or any(g != outcome for g in got):
            fails.append(f"test connections to advertised {ip}: {got}, expected all {outcome}")

    if a.pasv_address:
        for s in servers:
            for p in s.get("passive", []):
                if p["command"] == "PASV" and p.get("address") != a.pasv_address:
                    fails.append(f"PASV advertised {p.get('address')} ({p['reply']}), expected {a.pasv_address}")

    if a.tls_verdict:
        for s in servers:
            tls = s.get("tls") or {}
            hs = tls.get("handshake") or {}
            verdict = (tls.get("verdict") or {}).get("verdict")
            if not hs or hs.get("error"):
                fails.append(f"{s.get('control_peer')}: no TLS handshake on the control connection ({hs.get('error')})")
            elif verdict != a.tls_verdict:
                fails.append(f"{s.get('control_peer')}: certificate verdict {verdict}, expected {a.tls_verdict}")

    if a.data_resumed:
        data = [x for s in servers for x in s.get("transfers", [])
                if x.get("tls") and not x["tls"].get("fresh_session")]
        if not data:
            fails.append("no protected data connection")
        for x in data:
            hs = x["tls"].get("handshake") or {}
            if hs.get("resumed") is not True:
                fails.append(f"{x.get('command')} over {x['passive']['command']}: data TLS handshake "
                             f"not resumed ({hs.get('error') or 'full handshake'})")

    if a.max_seconds is not None:
        total = r.get("timings", {}).get("total_ms", 0) / 1000
        if total > a.max_seconds:
            fails.append(f"the check took {total:.1f} s, expected at most {a.max_seconds} s")

    for f in fails:
        print(f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
