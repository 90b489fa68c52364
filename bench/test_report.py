#!/usr/bin/python3
"""Tests of bench/report.py (parsing the medians, ratios, targets, CSV).
Run: /usr/bin/python3 -m unittest bench/test_report.py"""
import csv
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402

SUMMARIES = {
    "smtp-source-ours.summary":
        "label=ours target=127.0.0.1:2525 sessions=20 count=20000 median_accept_per_s=1500 "
        "median_e2e_per_s=1500.0 median_srv_peak_pss_kb=8192\n"
        "label=ours target=127.0.0.1:2525 sessions=200 count=20000 median_e2e_per_s=900 "
        "median_srv_peak_pss_kb=20480\n",
    "smtp-source-peer.summary":
        "label=peer target=127.0.0.1:2525 sessions=20 median_e2e_per_s=700\n"
        "label=peer target=127.0.0.1:2525 sessions=200 median_e2e_per_s=500\n",
    "deliver-ours.summary": "label=ours sessions=20 reps=3 median_p50_ms=2.5 median_p99_ms=9.0\n",
    "idle-conns-ours.summary":
        "label=ours target=x n=10000 reps=3 median_held=10000 median_srv_pss_kb_held=40960\n",
    "auth-ours.summary":
        "label=ours mech=CRAM-MD5 median_auth_per_s=7000\n"
        "label=ours mech=SCRAM-SHA-256 median_auth_per_s=5000\n"
        "label=ours mech=PLAIN median_auth_per_s=300\n",
    "auth-peer.summary": "label=peer mech=CRAM-MD5 median_auth_per_s=3000\n",
    "auth-peersha.summary": "label=peersha mech=PLAIN median_auth_per_s=400\n",
    "pop3-ours.summary":
        "label=ours target=x bulk messages=10000 median_total_s=1.0 median_retr_dele_per_s=12000\n"
        "label=ours target=x login conc=10 median_logins_per_s=50\n",
    "pop3-peer.summary":
        "label=peer target=x bulk messages=10000 median_total_s=2.0 median_retr_dele_per_s=9000\n"
        "label=peer target=x login conc=10 median_logins_per_s=1000\n",
    "mem-ours.summary": "label=ours what=idle nproc=3 rss_kb=20000 pss_kb=6144\n",
    "tls-ours.summary":
        "label=ours load=subm_tls reps=3 median_rate_per_s=600 median_p99_ms=150 median_client_cpu_s=1.5 "
        "median_srv_cpu_s=4.0 median_missing=0\n"
        "label=ours load=pop3_tls reps=3 median_rate_per_s=70 median_p99_ms=500 median_missing=3\n"
        "label=ours load=relay reps=3 median_seconds=20 median_client_cpu_s=2 median_srv_cpu_s=30 "
        "median_missing=0\n"
        "label=ours load=relay_slow reps=3 median_seconds=30 median_missing=0\n"
        "label=ours load=office secs=300 reps=3 median_errors=0 median_srv_cpu_s=50 "
        "median_srv_peak_pss_kb=40960 median_client_cpu_s=3 median_missing=0\n"
        "label=ours load=idle_tls n=10000 reps=3 median_srv_pss_kb=204800 median_held=10000 median_missing=0\n",
    "tls-peer.summary":
        "label=peer load=subm_tls reps=3 median_rate_per_s=200 median_p99_ms=800 median_client_cpu_s=1.4 "
        "median_srv_cpu_s=12.0 median_missing=0\n"
        "label=peer load=pop3_tls reps=3 median_rate_per_s=30 median_missing=0\n"
        "label=peer load=relay reps=3 median_seconds=50 median_missing=0\n"
        "label=peer load=relay_slow reps=3 median_seconds=55 median_missing=0\n"
        "label=peer load=office secs=300 reps=3 median_errors=0 median_srv_cpu_s=150 median_missing=0\n",
    "mx-ours.summary":
        "label=ours row=mx_plain sessions=20 reps=3 client=192.0.2.2 median_rate_per_s=1000 "
        "median_p50_ms=2.0 median_p99_ms=8.0 median_fail=0\n"
        "label=ours row=mx_checks sessions=20 reps=3 client=192.0.2.2 checks=dnsbl,spf "
        "median_rate_per_s=850 median_p50_ms=2.5 median_p99_ms=12.0 median_fail=0\n",
    "sign-ours.summary":
        "label=ours row=sign_none sessions=20 reps=3 path=relay median_rate_per_s=800\n"
        "label=ours row=signl_none sessions=20 reps=3 path=local median_rate_per_s=1000\n"
        "label=ours row=sign_rsa sessions=20 reps=3 path=relay median_rate_per_s=600\n"
        "label=ours row=signl_rsa sessions=20 reps=3 path=local median_rate_per_s=900\n"
        "label=ours row=sign_ed25519 sessions=20 reps=3 path=relay median_rate_per_s=nan\n",
}


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        for name, text in SUMMARIES.items():
            with open(os.path.join(self.tmp.name, name), "w") as f:
                f.write(text)
        self.res = report.collect(self.tmp.name)
        self.rows = {r["figure"]: r for r in report.table(self.res)}

    def tearDown(self):
        self.tmp.cleanup()

    def test_values_parsed(self):
        ours = self.res["ours"]
        self.assertEqual(ours["smtp_s20"], 1500.0)
        self.assertEqual(ours["mem_s200"], 20.0)          # kB -> MB
        self.assertEqual(ours["mem_idle"], 6.0)
        self.assertEqual(ours["lat_s20"], (2.5, 9.0))
        self.assertEqual(ours["auth_scram"], 5000.0)
        self.assertEqual(ours["pop3_login"], 50.0)

    def test_ratios_and_targets(self):
        self.assertAlmostEqual(self.rows["smtp_s20"]["ratio"], 1500 / 700)
        self.assertEqual(self.rows["smtp_s20"]["met"], "yes")
        self.assertAlmostEqual(self.rows["smtp_s200"]["ratio"], 900 / 500)
        self.assertEqual(self.rows["smtp_s200"]["met"], "NO")
        # SCRAM is held against the peer's CRAM-MD5, PLAIN against the SHA512-CRYPT peer
        self.assertAlmostEqual(self.rows["auth_scram"]["ratio"], 5000 / 3000)
        self.assertEqual(self.rows["auth_scram"]["met"], "NO")
        self.assertAlmostEqual(self.rows["auth_plain"]["ratio"], 300 / 400)
        self.assertEqual(self.rows["auth_plain"]["peer"], 400.0)
        # a time: the ratio is the speed-up
        self.assertAlmostEqual(self.rows["pop3_bulk"]["ratio"], 2.0)
        self.assertEqual(self.rows["pop3_bulk"]["met"], "yes")
        self.assertEqual(self.rows["pop3_login"]["met"], "NO")

    def test_idle_absolute_target(self):
        self.assertEqual(self.rows["idle_10000"]["met"], "yes")    # 40 MB, all 10,000 held
        self.res["ours"]["held_10000"] = 9000.0
        rows = {r["figure"]: r for r in report.table(self.res)}
        self.assertEqual(rows["idle_10000"]["met"], "NO")

    def test_tls_loads(self):
        ours = self.res["ours"]
        self.assertEqual(ours["subm_tls_cpu"], (1.5, 4.0))
        self.assertAlmostEqual(self.rows["subm_tls"]["ratio"], 3.0)
        self.assertEqual(self.rows["subm_tls"]["met"], "yes")
        self.assertAlmostEqual(self.rows["subm_tls_cpu"]["ratio"], 4.0 / 12.0)   # the servers' CPU
        # a run that lost messages never meets its target, whatever its rate
        self.assertAlmostEqual(self.rows["pop3_tls"]["ratio"], 70 / 30)
        self.assertEqual(self.rows["pop3_tls"]["met"], "NO")
        # relay is a time: peer / us
        self.assertAlmostEqual(self.rows["relay"]["ratio"], 2.5)
        self.assertEqual(self.rows["relay"]["met"], "yes")
        # relay_slow: against our own relay time (30 > 1.25 x 20: the others were held up)
        self.assertEqual(self.rows["relay_slow"]["met"], "NO")
        self.res["ours"]["relay_slow"] = 24.0
        rows = {r["figure"]: r for r in report.table(self.res)}
        self.assertEqual(rows["relay_slow"]["met"], "yes")
        self.assertEqual(self.rows["office_errors"]["met"], "yes")
        self.assertAlmostEqual(self.rows["office_cpu"]["ratio"], 50 / 150)
        self.assertEqual(self.rows["office_pss"]["ours"], 40.0)
        self.assertEqual(self.rows["idle_tls_10000"]["met"], "yes")             # 200 MB < 256
        self.res["ours"]["missing_idle_tls_10000"] = 5.0
        rows = {r["figure"]: r for r in report.table(self.res)}
        self.assertEqual(rows["idle_tls_10000"]["met"], "NO")
    def test_own_baseline_rows(self):
        """bench_mx.sh's rows are held against our own baseline row, not the peer."""
        self.assertEqual(self.res["ours"]["mxlat_checks"], (2.5, 12.0))
        self.assertAlmostEqual(self.rows["mx_checks"]["ratio"], 0.85)
        self.assertEqual(self.rows["mx_checks"]["met"], "yes")
        self.assertIn("dnsbl,spf", self.rows["mx_checks"]["what"])
        self.assertAlmostEqual(self.rows["mxlat_checks"]["ratio"], 1.5)     # the p99s
        self.assertEqual(self.rows["mxlat_checks"]["met"], "")
        self.assertAlmostEqual(self.rows["sign_rsa"]["ratio"], 0.75)
        self.assertEqual(self.rows["sign_rsa"]["met"], "NO")
        self.assertAlmostEqual(self.rows["signl_rsa"]["ratio"], 0.9)
        self.assertEqual(self.rows["signl_rsa"]["met"], "yes")
        self.assertIsNone(self.rows["sign_ed25519"]["ratio"])               # no figure (nan)
        self.assertIsNone(self.rows["mx_plain"]["ratio"])                   # a baseline itself

    def test_missing_figures_stay_empty(self):
        self.assertIsNone(self.rows["smtp_s1"]["ours"])
        self.assertIsNone(self.rows["smtp_s1"]["ratio"])
        self.assertEqual(self.rows["smtp_s1"]["met"], "")

    def test_csv(self):
        path = os.path.join(self.tmp.name, "out.csv")
        report.write_csv(list(self.rows.values()), path, "mode=test")
        with open(path) as f:
            got = {r["figure"]: r for r in csv.DictReader(f)}
        self.assertEqual(got["smtp_s20"]["ours"], "1500.000")
        self.assertEqual(got["lat_s20"]["ours"], "2.500/9.000")
        self.assertEqual(got["auth_cram"]["met"], "yes")
        self.assertEqual(got["smtp_s1"]["ours"], "")


if __name__ == "__main__":
    unittest.main()
