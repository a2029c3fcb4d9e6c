#!/usr/bin/env python3
"""Reads back through Prometheus's HTTP query API what a real Prometheus scraped from
`pasv-doctor serve`, and checks it against the bench's serve-prometheus section
(tests/e2e/serve_prometheus.sh).

Waits, at most --deadline seconds, until every target has --scrapes samples of
`probe_success` in the single-exporter job and in one of the shard jobs, then checks:

- `up` was 1 at every scrape of every (job, target): no scrape failed or timed out;
- the single job: `probe_success` was 1 at every scrape of a healthy target, 0 of a broken
  one, and each --finding code's `pasv_doctor_finding` was 1 for a broken target, 0 for a
  healthy one, at every scrape, with the exporter's `target` label equal to `instance`; each
  --absent code's was 0 for every target, and no probe took --check-budget (the deadline the
  scrape timeout gives the check: a check cut short there proves nothing);
- the shard jobs: each target's series come from exactly one shard, the one Prometheus's
  `hashmod` gives (the last 8 bytes of the MD5 of the target, big-endian, modulo the number of
  shards), every shard has targets, and the values are as above;
- each shard's `serve` log (--shard-log) names a check of its own targets only, and the
  single exporter's log (--single-log) one of every target;
- with --vantage LOCATION (a second exporter elsewhere, its samples remote-written here with
  that `location` label; the checks above then select --location): every target has
  --scrapes samples from there, `up` was 1, `probe_success` was 0 for the broken targets and
  the --vantage-fails ones and 1 for the other healthy ones, each --vantage-finding was 1 for
  the --vantage-fails targets there, and docs/serve.md's query for "fails from somewhere,
  works from elsewhere" returns exactly the --vantage-fails targets.

Prints one line per failed expectation and exits 1 when any failed; else prints a one-line
summary and exits 0. Talks to the Prometheus given (a loopback address), through no proxy.
"""

import argparse
import hashlib
import json
import sys
import time
import urllib.parse
import urllib.request

# No proxy, whatever the environment says: the only address this talks to is --prometheus.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(base, path, params=None, timeout=5):
    url = base + path
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with OPENER.open(url, timeout=timeout) as r:
        return r.status, r.read()


def query(base, promql):
    """The result vector of an instant query: [(labels, float value)]."""
    _, body = get(base, "/api/v1/query", {"query": promql})
    doc = json.loads(body)
    if doc.get("status") != "success":
        raise RuntimeError(f"query {promql!r}: {doc}")
    return [(r["metric"], float(r["value"][1])) for r in doc["data"]["result"]]


def hashmod(value, modulus):
    """Prometheus's relabel action hashmod (model/relabel/relabel.go)."""
    return int.from_bytes(hashlib.md5(value.encode()).digest()[8:], "big") % modulus


def pairs(values):
    out = {}
    for v in values or []:
        key, sep, val = v.partition("=")
        if not sep:
            raise SystemExit(f"check_prometheus: expected KEY=VALUE, got {v!r}")
        out[key] = val
    return out


def by_job_instance(rows):
    out = {}
    for labels, value in rows:
        out.setdefault((labels.get("job", ""), labels.get("instance", "")), []).append((labels, value))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--prometheus", required=True, help="base URL, e.g. http://127.0.0.1:9090")
    ap.add_argument("--deadline", type=float, default=60, help="seconds to wait for the scrapes")
    ap.add_argument("--scrapes", type=int, default=2, help="scrapes of each target to wait for")
    ap.add_argument("--job", required=True, help="the single-exporter job")
    ap.add_argument("--shard-job", action="append", default=[], help="the shard jobs, in shard order")
    ap.add_argument("--healthy", action="append", default=[], help="a target whose probe_success must be 1")
    ap.add_argument("--broken", action="append", default=[], help="a target whose probe_success must be 0")
    ap.add_argument("--finding", action="append", default=[],
                    help="a code whose pasv_doctor_finding is 1 for the broken targets, 0 for the healthy")
    ap.add_argument("--absent", action="append", default=[],
                    help="a code whose pasv_doctor_finding must be 0 for every target (e.g. CHECK_INTERRUPTED)")
    ap.add_argument("--check-budget", type=float,
                    help="seconds a scrape leaves the check: no probe may take that long (cut short)")
    ap.add_argument("--single-log", help="the single exporter's serve log")
    ap.add_argument("--shard-log", action="append", help="JOB=FILE: a shard exporter's serve log")
    ap.add_argument("--dump", help="write the last query results here (JSON)")
    ap.add_argument("--location", help="the location label of the jobs above (with --vantage)")
    ap.add_argument("--vantage", help="the location label of a second vantage point's series")
    ap.add_argument("--vantage-fails", action="append", default=[],
                    help="a healthy target that fails from the --vantage location only")
    ap.add_argument("--vantage-finding", action="append", default=[],
                    help="a code whose pasv_doctor_finding is 1 there for the --vantage-fails targets")
    ap.add_argument("--vantage-log", help="the --vantage exporter's serve log")
    args = ap.parse_args()

    base = args.prometheus.rstrip("/")
    targets = args.healthy + args.broken
    want_success = {t: 1.0 for t in args.healthy} | {t: 0.0 for t in args.broken}
    shards = args.shard_job
    shard_of = {t: shards[hashmod(t, len(shards))] for t in targets} if shards else {}
    jobs_re = "|".join([args.job] + shards)
    loc = f',location="{args.location}"' if args.location else ""
    # Every selector of the checks 1-5: these jobs at this location.
    jobs_sel = f'job=~"{jobs_re}"{loc}'
    fails = []
    dump = {}
    started = time.monotonic()

    # 1. Prometheus up, then enough scrapes of every target in the single job and a shard.
    while True:
        try:
            status, _ = get(base, "/-/ready", timeout=2)
            if status == 200:
                break
        except OSError:
            pass
        if time.monotonic() - started > args.deadline:
            print(f"Prometheus at {base} not ready within {args.deadline:.0f}s")
            return 1
        time.sleep(0.25)

    def counts():
        rows = query(base, f'count_over_time(probe_success{{{jobs_sel}}}[10m])')
        single = {l["instance"]: v for l, v in rows if l.get("job") == args.job}
        sharded = {}
        for l, v in rows:
            if l.get("job") in shards:
                sharded[l["instance"]] = sharded.get(l["instance"], 0) + v
        return single, sharded

    vantage_sel = f'location="{args.vantage}"'

    def vantage_counts():
        rows = query(base, f"count_over_time(probe_success{{{vantage_sel}}}[10m])")
        return {l["instance"]: v for l, v in rows}

    while True:
        single, sharded = counts()
        missing = [t for t in targets if single.get(t, 0) < args.scrapes]
        if shards:
            missing += [f"{t} (shards)" for t in targets if sharded.get(t, 0) < args.scrapes]
        if args.vantage:
            there = vantage_counts()
            missing += [f"{t} (from {args.vantage})" for t in targets if there.get(t, 0) < args.scrapes]
        if not missing:
            break
        if time.monotonic() - started > args.deadline:
            print(f"within {args.deadline:.0f}s, fewer than {args.scrapes} scrapes of probe_success for: "
                  + ", ".join(missing) + f" (single job: {single}; shards: {sharded})")
            break
        time.sleep(0.5)
    waited = time.monotonic() - started

    # 2. Every scrape succeeded (a scrape over its timeout or a 403/400/503 makes up 0).
    up = query(base, f'min_over_time(up{{{jobs_sel}}}[10m])')
    dump["min_over_time(up)"] = up
    for labels, value in up:
        if value != 1:
            fails.append(f"up was 0 at a scrape of {labels.get('instance')} by job {labels.get('job')}")

    # 3. probe_success and the findings, at every scrape: min and max over time both as wanted.
    def over_time(name, selector):
        """min_over_time and max_over_time of a family, by (job, instance)."""
        lo = by_job_instance(query(base, f"min_over_time({name}{{{selector}}}[10m])"))
        hi = by_job_instance(query(base, f"max_over_time({name}{{{selector}}}[10m])"))
        dump[f"{name}{{{selector}}}"] = {f"{j} {i}": [v for _, v in s] for (j, i), s in lo.items()}
        return lo, hi

    single_success = by_job_instance(query(base, f'probe_success{{job="{args.job}"{loc}}}'))
    lo, hi = over_time("probe_success", jobs_sel)
    for (job, inst), series in lo.items():
        if inst not in want_success:
            fails.append(f"probe_success for an unexpected instance {inst!r} (job {job})")
            continue
        got = {v for _, v in series} | {v for _, v in hi.get((job, inst), [])}
        if got != {want_success[inst]}:
            fails.append(f"probe_success of {inst} (job {job}) took the values {sorted(got)} over its scrapes, "
                         f"expected only {want_success[inst]:.0f}")
    for t in targets:
        if (args.job, t) not in single_success:
            fails.append(f"no probe_success for {t} in job {args.job}")

    for code in args.finding:
        want = {t: 1.0 for t in args.broken} | {t: 0.0 for t in args.healthy}
        sel = f'{jobs_sel},code="{code}"'
        lo, hi = over_time("pasv_doctor_finding", sel)
        for (job, inst), series in lo.items():
            for labels, _ in series:
                if labels.get("target") != inst:
                    fails.append(f"pasv_doctor_finding{{code={code}}}: target label {labels.get('target')!r} "
                                 f"is not the instance {inst!r}")
            got = {v for _, v in series} | {v for _, v in hi.get((job, inst), [])}
            if inst in want and got != {want[inst]}:
                fails.append(f"pasv_doctor_finding{{code=\"{code}\"}} of {inst} (job {job}) took the values "
                             f"{sorted(got)} over its scrapes, expected only {want[inst]:.0f}")
        for t in targets:
            if (args.job, t) not in lo:
                fails.append(f"no pasv_doctor_finding{{code=\"{code}\"}} for {t} in job {args.job}")

    for code in args.absent:
        rows = query(base, f'max_over_time(pasv_doctor_finding{{{jobs_sel},code="{code}"}}[10m]) == 1')
        for labels, _ in rows:
            fails.append(f"{labels.get('instance')} (job {labels.get('job')}) reported {code} at a scrape")
    reported = {}
    for labels, _ in query(base, f'max_over_time(pasv_doctor_finding{{{jobs_sel}}}[10m]) == 1'):
        reported.setdefault(f"{labels.get('job')} {labels.get('instance')}", []).append(labels.get("code"))
    dump["codes reported at some scrape"] = {k: sorted(v) for k, v in sorted(reported.items())}

    # 4. The shards: each target by exactly the shard hashmod gives, every shard used.
    if shards:
        rows = query(base, 'count by (job, instance) ({__name__=~"probe_success|pasv_doctor_finding", '
                     f'job=~"{"|".join(shards)}"}})')
        by_target = {}
        for labels, _ in rows:
            by_target.setdefault(labels["instance"], set()).add(labels["job"])
        dump["shard of each target"] = {t: sorted(j) for t, j in by_target.items()}
        for t in targets:
            got = by_target.get(t, set())
            if got != {shard_of[t]}:
                fails.append(f"{t}: series from shard jobs {sorted(got) or 'none'}, expected from "
                             f"{shard_of[t]} only (hashmod)")
        for t in by_target:
            if t not in shard_of:
                fails.append(f"shard series for an unexpected instance {t!r}")
        for job in shards:
            if not any(j == job for j in shard_of.values()):
                fails.append(f"hashmod gives {job} no target: choose target names that spread over the shards")

    # 5. The exporters' own logs: who checked what.
    def checked(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            fails.append(f"cannot read {path}: {e}")
            return set()
        return {t for t in targets if f"check {t} " in text}

    if args.single_log:
        seen = checked(args.single_log)
        for t in targets:
            if t not in seen:
                fails.append(f"the single exporter's log has no check of {t}")
    for job, path in pairs(args.shard_log).items():
        seen = checked(path)
        for t in targets:
            mine = shard_of.get(t) == job
            if mine and t not in seen:
                fails.append(f"{job}'s exporter log has no check of its target {t}")
            if not mine and t in seen:
                fails.append(f"{job}'s exporter log has a check of {t}, which is another shard's")

    # 6. The second vantage point: the same targets seen from elsewhere.
    if args.vantage:
        fails += vantage_checks(base, args, targets, dump)

    durations = query(base, f'max_over_time(probe_duration_seconds{{{jobs_sel}}}[10m])')
    slowest = max((v for _, v in durations), default=0.0)
    # A data connection cut by the deadline is recorded as timed out, like a filtered port:
    # a check that ran into the deadline proves nothing about the port.
    if args.check_budget is not None:
        for labels, v in durations:
            if v >= args.check_budget - 0.05:
                fails.append(f"a probe of {labels.get('instance')} (job {labels.get('job')}) took {v:.2f}s: it ran "
                             f"into the {args.check_budget}s the scrape leaves the check")
    samples = query(base, f'sum(count_over_time(probe_success{{{jobs_sel}}}[10m]))')
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as f:
            json.dump(dump, f, indent=1, default=str)

    if fails:
        for line in fails:
            print(line)
        return 1
    split = "; ".join(f"{job}: " + ", ".join(t for t in targets if shard_of[t] == job) for job in shards)
    vantage = ""
    if args.vantage:
        vantage = f"; from {args.vantage} (remote-written) failing there only: {', '.join(args.vantage_fails)}"
    print(f"{len(targets)} targets ({len(args.healthy)} healthy, {len(args.broken)} broken), "
          f"{int(samples[0][1]) if samples else 0} probes scraped in {waited:.1f}s, slowest {slowest:.2f}s; "
          f"{split}{vantage}")
    return 0


def vantage_checks(base, args, targets, dump):
    """What the --vantage location's series must say (see the module's docstring)."""
    fails = []
    sel = f'location="{args.vantage}"'
    want = {t: 1.0 for t in args.healthy if t not in args.vantage_fails}
    want |= {t: 0.0 for t in args.broken + args.vantage_fails}
    for labels, value in query(base, f"min_over_time(up{{{sel}}}[10m])"):
        if value != 1:
            fails.append(f"up was 0 at a scrape of {labels.get('instance')} from {args.vantage}")
    lo = {l["instance"]: v for l, v in query(base, f"min_over_time(probe_success{{{sel}}}[10m])")}
    hi = {l["instance"]: v for l, v in query(base, f"max_over_time(probe_success{{{sel}}}[10m])")}
    dump[f"probe_success{{{sel}}}"] = {t: [lo.get(t), hi.get(t)] for t in targets}
    for t in targets:
        got = {v for v in (lo.get(t), hi.get(t)) if v is not None}
        if got != {want[t]}:
            fails.append(f"probe_success of {t} from {args.vantage} took the values {sorted(got)}, "
                         f"expected only {want[t]:.0f}")
    for code in args.vantage_finding:
        rows = query(base, f'min_over_time(pasv_doctor_finding{{{sel},code="{code}"}}[10m])')
        got = {l["instance"]: v for l, v in rows}
        for t in args.vantage_fails:
            if got.get(t) != 1.0:
                fails.append(f'pasv_doctor_finding{{code="{code}"}} of {t} from {args.vantage} was not 1 '
                             f"at every scrape (min {got.get(t)})")
    # docs/serve.md, "Vantage points": the targets that fail from somewhere, work from elsewhere.
    documented = ("min by (instance) (probe_success) == 0 "
                  "and on(instance) max by (instance) (probe_success) == 1")
    named = sorted(l["instance"] for l, _ in query(base, documented))
    dump[documented] = named
    if named != sorted(args.vantage_fails):
        fails.append(f"the documented query {documented!r} names {named}, expected {sorted(args.vantage_fails)}")
    if args.vantage_log:
        try:
            with open(args.vantage_log, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            return fails + [f"cannot read {args.vantage_log}: {e}"]
        for t in targets:
            if f"check {t} " not in text:
                fails.append(f"the {args.vantage} exporter's log has no check of {t}")
    return fails


if __name__ == "__main__":
    sys.exit(main())
