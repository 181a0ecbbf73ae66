/* toolchain.c - where the runtime library and its headers are (see
 * toolchain.h). The build-tree paths and the link flags come from
 * <build>/gen/nnc_toolchain.h, which CMake generates. */
#include "toolchain.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nnc_toolchain.h"

static char exe_dir[PATH_MAX];
static bool have_exe_dir, in_build_tree, installed;
static char libdir[PATH_MAX], includedir[PATH_MAX];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* realpath(dir/rel) into out if it exists; false otherwise. */
static bool resolve(char out[PATH_MAX], const char *dir, const char *rel) {
  char path[PATH_MAX];
  int n = snprintf(path, sizeof path, "%s/%s", dir, rel);
  return n > 0 && (size_t)n < sizeof path && realpath(path, out) != NULL;
}

static void copy(char out[PATH_MAX], const char *s) { snprintf(out, PATH_MAX, "%s", s); }

static void init(void) {
  ssize_t n = readlink("/proc/self/exe", exe_dir, sizeof exe_dir - 1);
  if (n > 0) {
    exe_dir[n] = '\0';
    char *slash = strrchr(exe_dir, '/');
    if (slash) {
      slash[slash == exe_dir] = '\0'; /* "/nnc" -> "/" */
      have_exe_dir = true;
    }
  }
  char build_bindir[PATH_MAX];
  in_build_tree = have_exe_dir && realpath(NNC_TC_BUILD_BINDIR, build_bindir) &&
                  strcmp(build_bindir, exe_dir) == 0;

  char probe[PATH_MAX];
  if (have_exe_dir && !in_build_tree &&
      resolve(probe, exe_dir, NNC_TC_INSTALL_LIBDIR_REL "/libnnrt.a")) {
    /* An installed tree: lib/ and include/nnc next to bin/. */
    installed = true;
    resolve(libdir, exe_dir, NNC_TC_INSTALL_LIBDIR_REL);
    if (!resolve(includedir, exe_dir, NNC_TC_INSTALL_INCLUDEDIR_REL))
      copy(includedir, NNC_TC_BUILD_INCLUDEDIR);
  } else {
    copy(libdir, NNC_TC_BUILD_LIBDIR);
    copy(includedir, NNC_TC_BUILD_INCLUDEDIR);
  }
}

bool toolchain_in_build_tree(void) {
  pthread_once(&once, init);
  return in_build_tree;
}

const char *toolchain_runtime_libdir(void) {
  pthread_once(&once, init);
  return libdir;
}

const char *toolchain_runtime_includedir(void) {
  pthread_once(&once, init);
  return includedir;
}

const char *toolchain_runtime_cc(void) {
  pthread_once(&once, init);
  return installed ? "cc" : NNC_TC_BUILD_CC;
}

const char *toolchain_runtime_link_flags(void) { return NNC_TC_RUNTIME_LDFLAGS; }
