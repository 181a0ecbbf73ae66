/* toolchain.h - where the runtime library and its headers are, for linking
 * ahead-of-time compiled models (`nnc model.nn -o model` runs a C compiler).
 *
 * nnc is either the one in its build tree or an installed one
 * (`cmake --install`), which may have been moved with its prefix:
 *   installed  <exe dir>/../lib/libnnrt.a exists and the executable is not
 *              the build tree's: lib and include/nnc next to its bin/
 *   build      the build tree's libnnrt.a and the source tree's runtime/
 * The executable is /proc/self/exe with symlinks resolved, so a symlink to
 * an installed nnc (say /usr/local/bin/nnc -> /opt/nnc/bin/nnc) finds
 * /opt/nnc/lib.
 *
 * The strings are computed once and live until exit. Thread-safe. */
#ifndef NNC_TOOLCHAIN_H
#define NNC_TOOLCHAIN_H

#include <stdbool.h>

/* True when the running executable is the nnc of its build tree (then the
 * installed-tree lookups, of the runtime and of the standard library, are
 * skipped: a build must not pick up an older installation next to it). */
bool toolchain_in_build_tree(void);

/* The directory holding libnnrt.a (and libnnrt.so). */
const char *toolchain_runtime_libdir(void);

/* The directory holding nnrt.h and nnrt_model.h (include/nnc installed,
 * runtime/ in the source tree). */
const char *toolchain_runtime_includedir(void);

/* The C compiler to link with: "cc" for an installed tree, else the one
 * that built the runtime (a sanitizer build needs that compiler's
 * sanitizer runtime). */
const char *toolchain_runtime_cc(void);

/* What follows libnnrt.a on a link line: OpenBLAS, cJSON, zlib, pthread and libm
 * (and the sanitizers in a sanitizer build), as one string of cc arguments
 * separated by spaces, e.g.
 * "-L/usr/lib/x86_64-linux-gnu/openblas-pthread/ -lopenblas -lcjson -lz -lpthread -lm". */
const char *toolchain_runtime_link_flags(void);

#endif
