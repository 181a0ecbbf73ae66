"""Usage: elf_header.py FILE

Prints what the ELF header of FILE says: class, byte order, type and
machine, e.g. "ELF64 little-endian relocatable aarch64". Reads the header
itself (no binutils), so a test can check a cross-compiled object.
"""
import struct
import sys

MACHINES = {3: "i386", 62: "x86_64", 183: "aarch64", 243: "riscv"}
TYPES = {1: "relocatable", 2: "executable", 3: "shared", 4: "core"}

with open(sys.argv[1], "rb") as f:
    ident = f.read(16)
    if ident[:4] != b"\x7fELF":
        sys.exit("%s: not an ELF file" % sys.argv[1])
    bits = {1: "ELF32", 2: "ELF64"}.get(ident[4], "ELF?")
    little = ident[5] == 1
    e_type, e_machine = struct.unpack("<HH" if little else ">HH", f.read(4))
print(bits, "little-endian" if little else "big-endian", TYPES.get(e_type, "type%d" % e_type),
      MACHINES.get(e_machine, "machine%d" % e_machine))
