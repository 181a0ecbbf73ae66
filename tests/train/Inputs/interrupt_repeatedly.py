"""Usage: interrupt_repeatedly.py [--once] DELAY OUT COMMAND...

Runs COMMAND with stdout to OUT, waits until training has logged its first
epoch to OUT (so its handler is in place: a sanitizer build under load can
take longer than any fixed delay to compile) and DELAY seconds more, then
sends SIGINT over and over until it exits, and exits with its status
(128 + signal if a signal killed it). With --once it sends a single SIGINT,
as a user's Ctrl-C would. timeout(1) and terminals can deliver more SIGINTs right
after the first; the clean shutdown the first one starts must survive them.
The child gets SIGINT's default action, as from a terminal, even where the
caller (a shell's background job, a test runner) passes it down ignored.
"""
import signal
import subprocess
import sys
import time

args = sys.argv[1:]
once = args[0] == "--once"
if once:
    args = args[1:]
delay, out, cmd = float(args[0]), args[1], args[2:]
with open(out, "wb") as f:
    child = subprocess.Popen(
        cmd, stdout=f, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )
    deadline = time.monotonic() + 300
    while child.poll() is None and time.monotonic() < deadline:
        with open(out, "rb") as log:
            if b"epoch " in log.read():
                break
        time.sleep(0.05)
    time.sleep(delay)
    while child.poll() is None:
        child.send_signal(signal.SIGINT)
        if once:
            child.wait()
        time.sleep(0.0005)
status = child.returncode
sys.exit(128 - status if status < 0 else status)
