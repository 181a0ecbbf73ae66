"""Runs a command on a pseudo-terminal and prints everything it wrote there,
with the carriage returns and erase-line sequences a progress bar uses made
visible as <CR> and <EL>, each rewrite of the line on an output line of its
own. Exits with the command's status.

usage: on_terminal.py COMMAND [ARG]..."""
import os
import pty
import subprocess
import sys

master, slave = pty.openpty()
proc = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=slave, stderr=slave)
os.close(slave)
chunks = []
while True:
    try:
        data = os.read(master, 65536)
    except OSError:  # EIO: the command closed the terminal
        break
    if not data:
        break
    chunks.append(data)
status = proc.wait()
text = b"".join(chunks).decode("utf-8", "replace")
text = text.replace("\r\n", "\n").replace("\r", "\n<CR>").replace("\x1b[K", "<EL>")
sys.stdout.write(text)
sys.exit(status)
