"""Drives `nnc repl` in a tmux terminal and presses Ctrl-C: while typing a
line (dropped, fresh prompt), in a continued input (dropped too), and during
a long :train (stops after the current step). After each the session must
go on with its bindings and weights. Prints the final screen.

usage: tmux_interrupt.py NNC WORKDIR"""
import os
import subprocess
import sys
import time

nnc, work = sys.argv[1], sys.argv[2]
sock = "nnc-repl-int-%d" % os.getpid()


def tmux(*args):
    return subprocess.run(["tmux", "-L", sock, *args], check=True, capture_output=True,
                          text=True).stdout


def screen():
    return tmux("capture-pane", "-p", "-t", "repl", "-S", "-200")


def wait_for(text, count=1, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if screen().count(text) >= count:
            return
        time.sleep(0.05)
    sys.exit("timed out waiting for %r; screen:\n%s" % (text, screen()))


def send(*keys):
    tmux("send-keys", "-t", "repl", *keys)


tmux("new-session", "-d", "-s", "repl", "-x", "120", "-y", "50",
     "cd %s && env NNC_HISTORY=%s/history TERM=xterm %s repl; echo ended; sleep 30"
     % (work, work, nnc))
try:
    wait_for("nnc>")
    send("let kept = [3, 4]", "Enter")
    wait_for("nnc>", 2)
    send("let lost = [1, 2")
    wait_for("nnc> let lost = [1, 2")
    send("C-c")
    wait_for("nnc>", 3)
    send("sum([1,", "Enter")
    wait_for("...>")
    send("C-c")
    wait_for("nnc>", 4)
    send(":load mlp.nn", "Enter")
    wait_for("defined DigitsMLP")
    send(":train DigitsMLP 100000000", "Enter")
    wait_for("step 1 loss")
    time.sleep(0.5)
    send("C-c")
    wait_for("interrupted after")
    send("kept * 2", "Enter")
    wait_for("[6, 8]")
    send("lost", "Enter")
    wait_for("unknown name 'lost'")
    send(":q", "Enter")
    wait_for("ended")
    print(screen())
finally:
    subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
