"""What the REPL's terminal tests share: a tmux server of their own, a
window named "repl" running a command, its screen, waiting for text on it
(capture-pane drops trailing spaces, so prompts are waited for without
theirs), and keys sent to it."""
import os
import subprocess
import sys
import time


class Terminal:
    def __init__(self, name):
        self.sock = "nnc-%s-%d" % (name, os.getpid())

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock, *args], check=True,
                              capture_output=True, text=True).stdout

    def start(self, command, height=30):
        self.tmux("new-session", "-d", "-s", "repl", "-x", "120", "-y", str(height), command)

    def kill(self):
        self.tmux("kill-session", "-t", "repl")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "repl", "-S", "-200")

    def wait_for(self, text, count=1):
        deadline = time.time() + 60  # generous: CI may run valgrind beside it
        while time.time() < deadline:
            if self.screen().count(text) >= count:
                return
            time.sleep(0.05)
        sys.exit("timed out waiting for %r; screen:\n%s" % (text, self.screen()))

    def send(self, *keys):
        self.tmux("send-keys", "-t", "repl", *keys)

    def close(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], capture_output=True)
