// Opens libhdf5 at run time (see hdf5_library.h).
#include "cvz_hdf5_shims.h"
#include "hdf5_library.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

// The pointers hdf5_library.h declares, of the types declared there.
#define CVZ_H5_DEFINE(name) __typeof__(loaded_##name) loaded_##name;
CVZ_H5_FUNCTIONS(CVZ_H5_DEFINE)
CVZ_H5_VARIABLES(CVZ_H5_DEFINE)

// The shared library of the headers' version: Debian's serial build, then
// the names other builds (and the -dev package's link) use.
#if H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10
#define CVZ_H5_SONAME "libhdf5_serial.so.103"
#else
#define CVZ_H5_SONAME "libhdf5_serial.so"
#endif
static const char *const library_names[] = {CVZ_H5_SONAME, "libhdf5_serial.so", "libhdf5.so"};

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int library_loaded = 0;
static char load_failure[400] = "";

static void load_library(void) {
  void *library = NULL;
  for (size_t i = 0; i < sizeof library_names / sizeof *library_names && !library; i++) {
    library = dlopen(library_names[i], RTLD_NOW | RTLD_LOCAL);
  }
  if (!library) {
    const char *why = dlerror();
    snprintf(load_failure, sizeof load_failure,
             "libhdf5 (%s) cannot be loaded, needed for Keras files: %s (install %s)",
             CVZ_H5_SONAME, why ? why : "not found", "libhdf5-dev or libhdf5-103-1");
    return;
  }
  const char *missing = NULL;
#define CVZ_H5_LOOKUP(name) \
  if (!missing && !(loaded_##name = (__typeof__(loaded_##name))dlsym(library, #name))) missing = #name;
  CVZ_H5_FUNCTIONS(CVZ_H5_LOOKUP)
  CVZ_H5_VARIABLES(CVZ_H5_LOOKUP)
  if (missing) {
    snprintf(load_failure, sizeof load_failure, "libhdf5 (%s) has no %s", CVZ_H5_SONAME, missing);
    return;
  }
  // H5check_version aborts the process on a version mismatch: check first.
  unsigned major = 0, minor = 0, release = 0;
  if (loaded_H5get_libversion(&major, &minor, &release) < 0 || major != H5_VERS_MAJOR ||
      minor != H5_VERS_MINOR) {
    snprintf(load_failure, sizeof load_failure,
             "libhdf5 %u.%u.%u is installed, but convviz was built with the %d.%d headers", major,
             minor, release, H5_VERS_MAJOR, H5_VERS_MINOR);
    return;
  }
  __atomic_store_n(&library_loaded, 1, __ATOMIC_RELEASE);
}

int cvz_h5_load(char *message, size_t capacity) {
  pthread_once(&load_once, load_library);
  if (library_loaded) return 0;
  if (message && capacity > 0) snprintf(message, capacity, "%s", load_failure);
  return -1;
}

int cvz_h5_is_loaded(void) { return __atomic_load_n(&library_loaded, __ATOMIC_ACQUIRE); }
