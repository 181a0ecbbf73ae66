"""expect_exit.py [--timeout S] CODES CMD ARGS... - runs CMD and fails
unless it exits with one of CODES (comma-separated, e.g. 1 or 0,1). A signal
(crash, abort, sanitizer report under abort_on_error) or a run longer than
S seconds (default 60; a hang) always fails. CMD's stdout and stderr pass
through, for FileCheck. Runs under valgrind take --timeout 600: JIT
compilation under valgrind took 63 s on a loaded 2-core machine.
"""
import subprocess
import sys

args = sys.argv[1:]
timeout = 60
if args[:1] == ["--timeout"]:
    timeout = float(args[1])
    args = args[2:]
codes = {int(c) for c in args[0].split(",")}
cmd = args[1:]
try:
    rc = subprocess.run(cmd, timeout=timeout).returncode
except subprocess.TimeoutExpired:
    sys.stderr.write("expect_exit: %s timed out (hang?)\n" % cmd[0])
    sys.exit(1)
if rc not in codes:
    what = "killed by signal %d" % -rc if rc < 0 else "exit status %d" % rc
    sys.stderr.write("expect_exit: %s: %s, expected %s\n" % (cmd[0], what, args[0]))
    sys.exit(1)
sys.exit(0)
