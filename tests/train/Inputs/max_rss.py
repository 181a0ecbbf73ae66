"""max_rss.py MIB CODES CMD ARGS... - runs CMD (as expect_exit.py does:
it must exit with one of CODES, within 60 s) and fails unless its peak
resident memory stayed under MIB MiB. CMD's output passes through."""
import resource
import subprocess
import sys

limit = int(sys.argv[1])
codes = {int(c) for c in sys.argv[2].split(",")}
cmd = sys.argv[3:]
try:
    rc = subprocess.run(cmd, timeout=60).returncode
except subprocess.TimeoutExpired:
    sys.stderr.write("max_rss: %s timed out (hang?)\n" % cmd[0])
    sys.exit(1)
if rc not in codes:
    sys.stderr.write("max_rss: %s: exit status %d, expected %s\n" % (cmd[0], rc, sys.argv[2]))
    sys.exit(1)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024  # KiB on Linux
if peak >= limit:
    sys.stderr.write("max_rss: %s peaked at %d MiB, over %d\n" % (cmd[0], peak, limit))
    sys.exit(1)
