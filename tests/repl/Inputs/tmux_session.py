"""Drives `nnc repl` in a tmux terminal: history (Up arrow), tab completion,
the continuation prompt, and history again in a second session
(capture-pane drops trailing spaces, so prompts are waited for without
theirs). Prints the final screen, then the history file.

usage: tmux_session.py NNC HISTORY_FILE"""
import os
import subprocess
import sys
import time

nnc, hist = sys.argv[1], sys.argv[2]
sock = "nnc-repl-test-%d" % os.getpid()


def tmux(*args):
    return subprocess.run(["tmux", "-L", sock, *args], check=True, capture_output=True,
                          text=True).stdout


def screen():
    return tmux("capture-pane", "-p", "-t", "repl")


def wait_for(text, count=1):
    deadline = time.time() + 60  # generous: CI may run valgrind beside it
    while time.time() < deadline:
        if screen().count(text) >= count:
            return
        time.sleep(0.05)
    sys.exit("timed out waiting for %r; screen:\n%s" % (text, screen()))


def send(*keys):
    tmux("send-keys", "-t", "repl", *keys)


def start():
    env = "env NNC_HISTORY=%s TERM=xterm" % hist
    tmux("new-session", "-d", "-s", "repl", "-x", "120", "-y", "30",
         "%s %s repl; echo ended; sleep 30" % (env, nnc))


start()
try:
    wait_for("nnc>")
    send("let abcdef = [1, 2]", "Enter")
    wait_for("nnc>", 2)
    send("abc", "Tab")
    # Completion appends a space, as after any completed word; waiting for
    # the completed prompt line keeps the next keys from racing the Tab.
    wait_for("nnc> abcdef")
    send("* 2", "Enter")
    wait_for("[2, 4]")
    send("Up", "Enter")  # the previous input again
    wait_for("[2, 4]", 2)
    send("sum([1,", "Enter")
    wait_for("...>")
    send("2])", "Enter")
    wait_for("f32\n3")
    send(":q", "Enter")
    wait_for("ended")
    print(screen())
    tmux("kill-session", "-t", "repl")
    # A new session recalls the last session's inputs.
    start()
    wait_for("nnc>")
    send("Up", "Up")
    wait_for("nnc> sum([1,")
    send("Enter")
    wait_for("f32\n3")
    print("second session:")
    print(screen())
finally:
    subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
print("history:")
with open(hist) as f:
    print(f.read())
