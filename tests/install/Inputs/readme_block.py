"""Prints the shell commands of README.md's embedding block (between the
readme-embed-begin and -end markers, without the code fence), so that
readme.test runs exactly what the README says. Fails when the block is
missing or empty."""
import sys

text = open(sys.argv[1]).read()
begin, end = "<!-- readme-embed-begin -->", "<!-- readme-embed-end -->"
if begin not in text or end not in text:
    sys.exit("README.md has no %s ... %s block" % (begin, end))
block = text.split(begin, 1)[1].split(end, 1)[0].strip().splitlines()
if len(block) < 3 or not block[0].startswith("```") or block[-1] != "```":
    sys.exit("the README block is not one fenced code block")
print("\n".join(block[1:-1]))
