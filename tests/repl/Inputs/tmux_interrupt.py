"""Drives `nnc repl` in a tmux terminal and presses Ctrl-C: while typing a
line (dropped, fresh prompt), in a continued input (dropped too), and during
a long :train (stops after the current step). After each the session must
go on with its bindings and weights. Prints the final screen.

usage: tmux_interrupt.py NNC WORKDIR"""
import sys
import time

from tmux_repl import Terminal

nnc, work = sys.argv[1], sys.argv[2]
term = Terminal("repl-int")
term.start("cd %s && env NNC_HISTORY=%s/history TERM=xterm %s repl; echo ended; sleep 30"
           % (work, work, nnc), height=50)
try:
    term.wait_for("nnc>")
    term.send("let kept = [3, 4]", "Enter")
    term.wait_for("nnc>", 2)
    term.send("let lost = [1, 2")
    term.wait_for("nnc> let lost = [1, 2")
    term.send("C-c")
    term.wait_for("nnc>", 3)
    term.send("sum([1,", "Enter")
    term.wait_for("...>")
    term.send("C-c")
    term.wait_for("nnc>", 4)
    term.send(":load mlp.nn", "Enter")
    term.wait_for("defined DigitsMLP")
    term.send(":train DigitsMLP 100000000", "Enter")
    term.wait_for("step 1 loss")
    time.sleep(0.5)
    term.send("C-c")
    term.wait_for("interrupted after")
    term.send("kept * 2", "Enter")
    term.wait_for("[6, 8]")
    term.send("lost", "Enter")
    term.wait_for("unknown name 'lost'")
    term.send(":q", "Enter")
    term.wait_for("ended")
    print(term.screen())
finally:
    term.close()
