"""expect_exit.py CODES CMD ARGS... - runs CMD and fails unless it exits
with one of CODES (comma-separated, e.g. 1 or 0,1). A signal (crash, abort,
sanitizer report under abort_on_error) or a run longer than 60 s always
fails. CMD's stdout and stderr pass through, for FileCheck.
"""
import subprocess
import sys

codes = {int(c) for c in sys.argv[1].split(",")}
cmd = sys.argv[2:]
try:
    rc = subprocess.run(cmd, timeout=60).returncode
except subprocess.TimeoutExpired:
    sys.stderr.write("expect_exit: %s timed out (hang?)\n" % cmd[0])
    sys.exit(1)
if rc not in codes:
    what = "killed by signal %d" % -rc if rc < 0 else "exit status %d" % rc
    sys.stderr.write("expect_exit: %s: %s, expected %s\n" % (cmd[0], what, sys.argv[1]))
    sys.exit(1)
sys.exit(0)
