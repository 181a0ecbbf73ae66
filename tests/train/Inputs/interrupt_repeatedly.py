"""Usage: interrupt_repeatedly.py DELAY OUT COMMAND...

Runs COMMAND with stdout to OUT, waits DELAY seconds, then sends SIGINT
over and over until it exits, and exits with its status (128 + signal if a
signal killed it). timeout(1) and terminals can deliver more SIGINTs right
after the first; the clean shutdown the first one starts must survive them.
The child gets SIGINT's default action, as from a terminal, even where the
caller (a shell's background job, a test runner) passes it down ignored.
"""
import signal
import subprocess
import sys
import time

delay, out, cmd = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
with open(out, "wb") as f:
    child = subprocess.Popen(
        cmd, stdout=f, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )
    time.sleep(delay)
    while child.poll() is None:
        child.send_signal(signal.SIGINT)
        time.sleep(0.0005)
status = child.returncode
sys.exit(128 - status if status < 0 else status)
