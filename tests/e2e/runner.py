"""Runs one end-to-end test module with unittest and prints 'E2E_RESULT passed failed'."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

def main():
    name = sys.argv[1]
    suite = unittest.defaultTestLoader.loadTestsFromName("tests.e2e." + name)
    res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    bad = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    good = res.testsRun - bad - len(res.skipped)
    print("E2E_RESULT %d %d" % (good, bad))
    sys.exit(1 if bad else 0)

if __name__ == "__main__":
    main()
