# -*- Python -*-
# lit configuration of nnc's test suite.
#
# Normally lit is pointed at the build's tests directory (build/tests), whose
# generated lit.site.cfg.py sets the paths and then loads this file. Running
# lit straight on the source tree (lit tests/parse) also works: the build
# directory is then taken from `--param nnc_build=DIR` (default: ./build).
#
# Every *.nn and *.test file under tests/ is a test, except in tests/fuzz and
# in any Inputs/ directory (files that tests import or read go there).
#
# Substitutions:
#   %nnc       the compiler built in this build directory
#   FileCheck  LLVM 19's FileCheck          not   LLVM 19's not
#   %python    /usr/bin/python3 (Debian's, with NumPy)
#   %stdlib    <source>/stdlib              %examples  <source>/examples
#   %src       the source tree root
#   %S, %s, %t, %T  lit's usual ones

import os
import subprocess
import shutil

import lit.formats

config.name = "nnc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".nn", ".test"]
config.excludes = ["Inputs", "fuzz", "CMakeLists.txt", "README.md",
                   "lit.cfg.py", "lit.site.cfg.py", "lit.site.cfg.py.in"]

# --- paths: from lit.site.cfg.py, or guessed when lit runs on the sources ---
src_root = getattr(config, "nnc_src_root", None)
if src_root is None:
    src_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    obj_root = os.path.abspath(lit_config.params.get(
        "nnc_build", os.path.join(src_root, "build")))
    config.nnc_obj_root = obj_root
    config.nnc_tools_dir = os.path.join(obj_root, "tests", "tools")
    config.nnc_python = "/usr/bin/python3"
    config.filecheck = "/usr/lib/llvm-19/bin/FileCheck"
    config.not_tool = "/usr/lib/llvm-19/bin/not"
    config.nnc_sanitized = False
obj_root = config.nnc_obj_root

config.test_source_root = os.path.join(src_root, "tests")
config.test_exec_root = os.path.join(obj_root, "tests")

nnc_exe = os.path.join(obj_root, "nnc")
if not os.path.exists(nnc_exe):
    lit_config.warning("nnc not built yet: %s does not exist" % nnc_exe)

# --- tools: FileCheck, not and split-file by absolute path, also on PATH as a fallback ---
tools_dir = config.nnc_tools_dir
os.makedirs(tools_dir, exist_ok=True)
# split-file (inline input files in one .test) ships beside FileCheck.
split_file = os.path.join(os.path.dirname(config.filecheck), "split-file")
for name, target in (("FileCheck", config.filecheck), ("not", config.not_tool),
                     ("split-file", split_file)):
    if not os.path.exists(target):
        lit_config.fatal("%s not found at %s (Debian: llvm-19-tools)" % (name, target))
    link = os.path.join(tools_dir, name)
    if os.path.realpath(link) != os.path.realpath(target):
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(target, link)
config.environment["PATH"] = os.pathsep.join(
    [tools_dir, config.environment.get("PATH", os.environ.get("PATH", ""))])

# Only whole words in command position, so "not" inside an argument or a
# check pattern, and "FileCheck" inside a path, are left alone. lit prefixes
# each RUN line with "%dbg(RUN: at line N) " before substituting. (lit's
# internal shell also runs a plain `not` itself; `not --crash` needs the
# binary, found through PATH too.)
cmd_start = r"(^\s*|^%dbg\([^)]*\)\s*|[|;&(]\s*|\bnot\s+)"
config.substitutions.append(("%nnc", nnc_exe))
config.substitutions.append(("%python", config.nnc_python))
config.substitutions.append(("%stdlib", os.path.join(src_root, "stdlib")))
config.substitutions.append(("%examples", os.path.join(src_root, "examples")))
config.substitutions.append(("%src", src_root))
config.substitutions.append(
    (cmd_start + r"FileCheck(?=\s|$)", r"\g<1>" + config.filecheck))
config.substitutions.append(
    (cmd_start + r"not(?=\s)", r"\g<1>" + config.not_tool))

# --- environment ---
# Deterministic output: C locale.
config.environment["LC_ALL"] = "C"
for var in ("HOME", "TMPDIR", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
            "ASAN_SYMBOLIZER_PATH", "OPENBLAS_NUM_THREADS"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
# Two cores: one BLAS thread per test; lit runs tests in parallel already.
config.environment.setdefault("OPENBLAS_NUM_THREADS", "1")

if config.nnc_sanitized:
    # A sanitizer report must fail the test even under `not` (which accepts
    # any non-zero exit): make reports abort, i.e. look like a crash.
    config.environment.setdefault(
        "ASAN_OPTIONS", "abort_on_error=1:detect_leaks=1:strict_string_checks=1")
    config.environment.setdefault(
        "UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:abort_on_error=1")
    config.environment.setdefault("LSAN_OPTIONS", "abort_on_error=1")
    symbolizer = "/usr/lib/llvm-19/bin/llvm-symbolizer"
    if os.path.exists(symbolizer):
        config.environment.setdefault("ASAN_SYMBOLIZER_PATH", symbolizer)
    config.available_features.add("sanitizer")

# --- features for REQUIRES: / UNSUPPORTED: ---
if os.path.exists(config.nnc_python):
    config.available_features.add("python")
    # PyTorch is a benchmark dependency (python3-torch), not a test one:
    # the tests that compare with it run where it is installed.
    if subprocess.run([config.nnc_python, "-c", "import torch"], capture_output=True).returncode == 0:
        config.available_features.add("torch")
# The host's vector ISA, for checks of the generated code (nnc targets the
# host CPU).
try:
    with open("/proc/cpuinfo") as f:
        cpu_flags = f.read().split()
except OSError:
    cpu_flags = []
if "avx512f" in cpu_flags:
    config.available_features.add("avx512")
if "avx2" in cpu_flags:
    config.available_features.add("avx2")
if shutil.which("tmux"):
    config.available_features.add("tmux")
if shutil.which("valgrind"):
    config.available_features.add("valgrind")
    # Third-party static initialisers (libLLVM's dependencies) that never
    # free; see valgrind.supp.
    config.environment["VALGRIND_OPTS"] = "--suppressions=" + os.path.join(
        src_root, "tests", "valgrind.supp")
