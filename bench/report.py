#!/usr/bin/python3
"""report.py RUN_DIR --out DIR --stamp STAMP [--meta TEXT]

Reads the medians that bench/bench.sh and the peers' scripts appended to RUN_DIR/*.summary
(one "key=value ..." line per figure, label=ours|peer|peersha), prints one table (ours, and
when the peers ran: peer, ratio us/peer, the issue's target and whether it is met) and writes
DIR/STAMP-bench.csv. Pure parsing and arithmetic; the measuring is done by bench.sh."""
import argparse
import csv
import glob
import os
import sys

# figure, unit, better ("hi" or "lo"), what it is
FIGURES = [
    ("smtp_s1", "msg/s", "hi", "SMTP local delivery 4 KB, 1 session (e2e until in new/)"),
    ("smtp_s20", "msg/s", "hi", "SMTP local delivery 4 KB, 20 sessions"),
    ("smtp_s200", "msg/s", "hi", "SMTP local delivery 4 KB, 200 sessions"),
    ("lat_s1", "ms p50/p99", "lo", "end of DATA -> 250, 1 session"),
    ("lat_s20", "ms p50/p99", "lo", "end of DATA -> 250, 20 sessions"),
    ("lat_s200", "ms p50/p99", "lo", "end of DATA -> 250, 200 sessions"),
    ("mem_idle", "MB PSS", "lo", "daemons idle (SMTP + POP3)"),
    ("mem_s200", "MB PSS", "lo", "SMTP daemon peak at 200 sessions"),
    ("idle_1000", "MB PSS", "lo", "SMTP daemon with 1,000 idle connections held"),
    ("idle_10000", "MB PSS", "lo", "SMTP daemon with 10,000 idle connections held"),
    ("auth_scram", "auth/s", "hi", "AUTH SCRAM-SHA-256, concurrency 10"),
    ("auth_cram", "auth/s", "hi", "AUTH CRAM-MD5, concurrency 10"),
    ("auth_plain", "auth/s", "hi", "AUTH PLAIN, concurrency 10"),
    ("pop3_bulk", "s", "lo", "POP3 LIST+RETR+DELE of all messages, one session (total)"),
    ("pop3_retr", "msg/s", "hi", "POP3 RETR+DELE rate in that session"),
    ("pop3_login", "login/s", "hi", "POP3 USER/PASS logins, concurrency 10"),
    ("subm_tls", "sess/s", "hi", "submission: STARTTLS, AUTH PLAIN, 20 KB, QUIT; 50 clients"),
    ("subm_tls_p99", "ms", "lo", "that session's p99 (connect to 221)"),
    ("subm_tls_cpu", "CPU s cl/srv", "lo", "client / server CPU seconds of that run"),
    ("pop3_tls", "sess/s", "hi", "POP3 STLS, login, UIDL, RETR+DELE 20 x 20 KB, QUIT; 20 users"),
    ("pop3_tls_p99", "ms", "lo", "that session's p99"),
    ("pop3_tls_cpu", "CPU s cl/srv", "lo", "client / server CPU seconds of that run"),
    ("pop3s", "sess/s", "hi", "the same over POP3S (implicit TLS, 2995)"),
    ("pop3s_p99", "ms", "lo", "that session's p99"),
    ("relay", "s", "lo", "20,000 x 4 KB for a remote domain, first MAIL -> last at the smtp-sink"),
    ("relay_cpu", "CPU s cl/srv", "lo", "client / server CPU seconds of that run"),
    ("relay_slow", "s", "lo", "the same while another domain's next hop is silent"),
    ("office_cpu", "CPU s", "lo", "office: CPU of the daemons' trees (SMTP + POP3) for the same work"),
    ("office_pss", "MB PSS", "lo", "office: peak PSS of the daemons' trees"),
    ("office_errors", "count", "lo", "office: failed sessions"),
    ("office_client", "CPU s", "lo", "office: the client's CPU"),
    ("idle_tls_10000", "MB PSS", "lo", "SMTP daemon holding 10,000 sessions after STARTTLS"),
    # bench_mx.sh: our own rows, each compared with our own baseline row (BASELINES)
    ("mx_plain", "msg/s", "hi", "MX instance, remote client, 20 sessions, no checks"),
    ("mx_checks", "msg/s", "hi", "the same with the anti-spam checks"),
    ("mxlat_plain", "ms p50/p99", "lo", "end of DATA -> 250 there, no checks"),
    ("mxlat_checks", "ms p50/p99", "lo", "end of DATA -> 250 there, with the checks"),
    ("sign_none", "msg/s", "hi", "relay LAN -> queue -> sink, From: domain without keys"),
    ("sign_rsa", "msg/s", "hi", "the same, DKIM-signed with RSA-2048"),
    ("sign_ed25519", "msg/s", "hi", "the same, RSA-2048 + Ed25519"),
    ("signl_none", "msg/s", "hi", "local delivery from the LAN, no keys"),
    ("signl_rsa", "msg/s", "hi", "the same, DKIM-signed with RSA-2048"),
    ("signl_ed25519", "msg/s", "hi", "the same, RSA-2048 + Ed25519"),
]

# figure: (peer figure, peer label, minimum ratio, note); idle_10000 is an absolute target
TARGETS = {
    "smtp_s20": ("smtp_s20", "peer", 2.0, ">= 2x Postfix"),
    "smtp_s200": ("smtp_s200", "peer", 2.0, ">= 2x Postfix (maxproc 500)"),
    "auth_cram": ("auth_cram", "peer", 2.0, ">= 2x peer CRAM-MD5"),
    "auth_scram": ("auth_cram", "peer", 2.0, ">= 2x peer CRAM-MD5"),
    "auth_plain": ("auth_plain", "peersha", 1.0, ">= 1x peer PLAIN, SHA512-CRYPT"),
    "pop3_bulk": ("pop3_bulk", "peer", 1.5, ">= 1.5x Dovecot (time)"),
    "pop3_login": ("pop3_login", "peer", 2.0, ">= 2x Dovecot, process reuse"),
    "subm_tls": ("subm_tls", "peer", 2.0, ">= 2x Postfix + Dovecot SASL"),
    "pop3_tls": ("pop3_tls", "peer", 2.0, ">= 2x Dovecot, process reuse"),
    "pop3s": ("pop3s", "peer", 2.0, ">= 2x Dovecot, process reuse"),
    "relay": ("relay", "peer", 2.0, ">= 2x Postfix (time)"),
}
TIMES = ("pop3_bulk", "relay")       # ratio = peer time / our time, the speed-up
IDLE_LIMIT_MB = 64.0
IDLE_TLS_LIMIT_MB = 256.0
SLOW_LIMIT = 1.25                    # relay_slow within 1.25x of relay: the others unaffected

# figure: (our baseline figure, minimum ratio or None, target text); the ratio is to our own row
BASELINES = {
    "mx_checks": ("mx_plain", 0.80, "/mx_plain >= 0.80 (cost < 20%)"),
    "mxlat_checks": ("mxlat_plain", None, "p99 /mxlat_plain"),
    "sign_rsa": ("sign_none", 0.85, "/sign_none >= 0.85 (cost < 15%)"),
    "sign_ed25519": ("sign_none", None, "/sign_none"),
    "signl_rsa": ("signl_none", 0.85, "/signl_none >= 0.85 (cost < 15%)"),
    "signl_ed25519": ("signl_none", None, "/signl_none"),
}


def parse_line(line):
    out = {}
    for tok in line.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def num(d, key):
    try:
        v = float(d.get(key, "nan"))
    except ValueError:
        return None
    return None if v != v else v


def collect(run_dir):
    """{label: {figure: value}}; latencies are (p50, p99) tuples; the last line wins."""
    res = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "*.summary"))):
        name = os.path.basename(path)
        with open(path) as f:
            for line in f:
                d = parse_line(line)
                label = d.get("label")
                if not label:
                    continue
                fig = res.setdefault(label, {})
                absorb(name, d, fig)
    return res


def absorb(name, d, fig):
    if name.startswith("mem-") and d.get("what") == "idle":
        set_mb(fig, "mem_idle", num(d, "pss_kb"))
    elif name.startswith("smtp-source-"):
        s = d.get("sessions")
        fig["smtp_s" + s] = num(d, "median_e2e_per_s")
        if s == "200":
            set_mb(fig, "mem_s200", num(d, "median_srv_peak_pss_kb"))
    elif name.startswith("deliver-"):
        fig["lat_s" + d.get("sessions", "?")] = (num(d, "median_p50_ms"), num(d, "median_p99_ms"))
    elif name.startswith("idle-conns-"):
        set_mb(fig, "idle_" + d.get("n", "?"), num(d, "median_srv_pss_kb_held"))
        fig["held_" + d.get("n", "?")] = num(d, "median_held")
    elif name.startswith("auth-"):
        mech = {"SCRAM-SHA-256": "auth_scram", "CRAM-MD5": "auth_cram", "PLAIN": "auth_plain",
                "LOGIN": "auth_login"}.get(d.get("mech", ""))
        if mech:
            fig[mech] = num(d, "median_auth_per_s")
    elif name.startswith("tls-"):
        absorb_tls(d, fig)
    elif name.startswith(("mx-", "sign-")) and d.get("row"):
        row = d["row"]
        fig[row] = num(d, "median_rate_per_s")
        if row.startswith("mx_"):
            fig["mxlat_" + row[3:]] = (num(d, "median_p50_ms"), num(d, "median_p99_ms"))
        if d.get("checks"):
            fig["mx_checks_set"] = d["checks"]
    elif name.startswith("pop3-"):
        if "median_total_s" in d:
            fig["pop3_bulk"] = num(d, "median_total_s")
            fig["pop3_retr"] = num(d, "median_retr_dele_per_s")
        if "median_logins_per_s" in d:
            fig["pop3_login"] = num(d, "median_logins_per_s")


def absorb_tls(d, fig):
    """the round-two loads (bench/loads_tls.sh): one summary line per load"""
    load = d.get("load", "")
    if load in ("subm_tls", "pop3_tls", "pop3s"):
        fig[load] = num(d, "median_rate_per_s")
        fig[load + "_p99"] = num(d, "median_p99_ms")
        fig[load + "_cpu"] = (num(d, "median_client_cpu_s"), num(d, "median_srv_cpu_s"))
    elif load in ("relay", "relay_slow"):
        fig[load] = num(d, "median_seconds")
        fig[load + "_cpu"] = (num(d, "median_client_cpu_s"), num(d, "median_srv_cpu_s"))
    elif load == "office":
        fig["office_cpu"] = num(d, "median_srv_cpu_s")
        set_mb(fig, "office_pss", num(d, "median_srv_peak_pss_kb"))
        fig["office_errors"] = num(d, "median_errors")
        fig["office_client"] = num(d, "median_client_cpu_s")
        load = "office"
    elif load == "idle_tls":
        set_mb(fig, "idle_tls_" + d.get("n", "?"), num(d, "median_srv_pss_kb"))
        load = "idle_tls_" + d.get("n", "?")
    fig["missing_" + load] = num(d, "median_missing")


def set_mb(fig, key, kb):
    fig[key] = None if kb is None else kb / 1024.0


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, tuple):
        return "/".join(fmt(x) for x in v)
    if v >= 100:
        return "%.0f" % v
    return "%.2f" % v if v < 10 else "%.1f" % v


def ratio(fig_name, ours, peers):
    """(ratio, target text, met) for a figure, or (None, text, None)."""
    if fig_name in BASELINES:
        return own_ratio(fig_name, ours)
    if fig_name == "idle_10000":
        v = ours.get(fig_name)
        held = ours.get("held_10000")
        met = v is not None and v < IDLE_LIMIT_MB and held is not None and held >= 10000
        return None, "< %.0f MB, all held" % IDLE_LIMIT_MB, (met if v is not None else None)
    if fig_name == "idle_tls_10000":
        v = ours.get(fig_name)
        met = v is not None and v < IDLE_TLS_LIMIT_MB and not ours.get("missing_" + fig_name)
        return None, "< %.0f MB, all held" % IDLE_TLS_LIMIT_MB, (met if v is not None else None)
    if fig_name == "relay_slow":
        a, b = ours.get("relay_slow"), ours.get("relay")
        peer = peers.get("peer", {}).get("relay_slow")
        r = peer / a if a and peer else None
        met = None if not a or not b else (a <= SLOW_LIMIT * b and not ours.get("missing_relay_slow"))
        return r, "<= %.2fx our relay (unaffected)" % SLOW_LIMIT, met
    if fig_name == "office_errors":
        v = ours.get(fig_name)
        return None, "0, every message found", (None if v is None else
                                                  (v == 0 and not ours.get("missing_office")))
    if fig_name not in TARGETS:
        a, b = ours.get(fig_name), peers.get("peer", {}).get(fig_name)
        if isinstance(a, tuple) and isinstance(b, tuple):     # latency: the p50s; CPU: the servers'
            k = 1 if fig_name.endswith("_cpu") else 0
            a, b = a[k], b[k]
        if a is None or b is None or a == 0 or b == 0:
            return None, "", None
        return a / b, "", None
    pfig, plabel, need, text = TARGETS[fig_name]
    a, b = ours.get(fig_name), peers.get(plabel, {}).get(pfig)
    if a is None or b is None or a == 0 or b == 0:
        return None, text, None
    r = b / a if fig_name in TIMES else a / b     # a time: peer/us = speed-up
    if ours.get("missing_" + fig_name):
        return r, text + " (messages missing)", False
    return r, text, r >= need


def own_ratio(fig_name, ours):
    """A bench_mx.sh row against our own baseline row (latencies: the p99s)."""
    base, need, text = BASELINES[fig_name]
    a, b = ours.get(fig_name), ours.get(base)
    if isinstance(a, tuple) and isinstance(b, tuple):
        a, b = a[1], b[1]
    if a is None or b is None or a == 0 or b == 0:
        return None, text, None
    return a / b, text, (None if need is None else a / b >= need)


def table(res):
    ours = res.get("ours", {})
    have_peer = "peer" in res
    rows = []
    for name, unit, _better, what in FIGURES:
        peer_v = res.get("peer", {}).get(name)
        if name == "auth_plain" and "peersha" in res:
            peer_v = res["peersha"].get(name)
        r, target, met = ratio(name, ours, res)
        if name == "mx_checks" and ours.get("mx_checks_set"):
            what += ": " + ours["mx_checks_set"]
        rows.append({"figure": name, "unit": unit, "what": what, "ours": ours.get(name),
                     "peer": peer_v if have_peer else None, "ratio": r, "target": target,
                     "met": "" if met is None else ("yes" if met else "NO")})
    return rows


def print_table(rows, have_peer, out=sys.stdout):
    head = "%-13s %-11s %10s" % ("figure", "unit", "ours")
    if have_peer:
        head += " %10s %7s  %-32s %s" % ("peer", "us/peer", "target", "met")
    else:
        head += "  %-32s %s" % ("target", "met")
    print(head, file=out)
    print("-" * len(head), file=out)
    for r in rows:
        line = "%-13s %-11s %10s" % (r["figure"], r["unit"], fmt(r["ours"]))
        if have_peer:
            rr = "-" if r["ratio"] is None else "%.2f" % r["ratio"]
            line += " %10s %7s  %-32s %s" % (fmt(r["peer"]), rr, r["target"], r["met"])
        elif r["figure"] in ("idle_10000", "idle_tls_10000", "relay_slow", "office_errors"):
            line += "  %-32s %s" % (r["target"], r["met"])
        elif r["figure"] in BASELINES and r["ratio"] is not None:    # our own baseline's ratio
            line += "  %-32s %s" % ("%.2f %s" % (r["ratio"], r["target"]), r["met"])
        print(line, file=out)


def write_csv(rows, path, meta):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["figure", "unit", "ours", "peer", "ratio_us_over_peer", "target", "met", "what", "meta"])
        for r in rows:
            def cell(v):
                if v is None:
                    return ""
                if isinstance(v, tuple):
                    return "/".join(cell(x) for x in v)
                return "%.3f" % v
            w.writerow([r["figure"], r["unit"], cell(r["ours"]), cell(r["peer"]), cell(r["ratio"]),
                        r["target"], r["met"], r["what"], meta])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--out", required=True)
    ap.add_argument("--stamp", required=True)
    ap.add_argument("--meta", default="")
    a = ap.parse_args()
    res = collect(a.run_dir)
    if "ours" not in res:
        print("report: no figures for our server in %s" % a.run_dir, file=sys.stderr)
        return 1
    rows = table(res)
    have_peer = "peer" in res
    print("\nmedians, %s (%s)" % (a.stamp, a.meta))
    if have_peer:
        print("us/peer: rates and times as they are (pop3_bulk: peer time / our time, the speed-up);"
              " for memory and latency below 1 is better; mx_/sign_ rows: to our own baseline row")
    print_table(rows, have_peer)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "%s-%s.csv" % (a.stamp, "compare" if have_peer else "bench"))
    write_csv(rows, path, a.meta)
    print("\nwritten: %s (raw runs: %s)" % (path, a.run_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
