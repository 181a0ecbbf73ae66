"""Drives `nnc repl` in a tmux terminal: history (Up arrow), tab completion,
the continuation prompt, and history again in a second session. Prints the
final screen, then the history file.

usage: tmux_session.py NNC HISTORY_FILE"""
import sys

from tmux_repl import Terminal

nnc, hist = sys.argv[1], sys.argv[2]
term = Terminal("repl-test")
command = "env NNC_HISTORY=%s TERM=xterm %s repl; echo ended; sleep 30" % (hist, nnc)

term.start(command)
try:
    term.wait_for("nnc>")
    term.send("let abcdef = [1, 2]", "Enter")
    term.wait_for("nnc>", 2)
    term.send("abc", "Tab")
    # Completion appends a space, as after any completed word; waiting for
    # the completed prompt line keeps the next keys from racing the Tab.
    term.wait_for("nnc> abcdef")
    term.send("* 2", "Enter")
    term.wait_for("[2, 4]")
    term.send("Up", "Enter")  # the previous input again
    term.wait_for("[2, 4]", 2)
    term.send("sum([1,", "Enter")
    term.wait_for("...>")
    term.send("2])", "Enter")
    term.wait_for("f32\n3")
    term.send(":q", "Enter")
    term.wait_for("ended")
    print(term.screen())
    term.kill()
    # A new session recalls the last session's inputs.
    term.start(command)
    term.wait_for("nnc>")
    term.send("Up", "Up")
    term.wait_for("nnc> sum([1,")
    term.send("Enter")
    term.wait_for("f32\n3")
    print("second session:")
    print(term.screen())
finally:
    term.close()
print("history:")
with open(hist) as f:
    print(f.read())
