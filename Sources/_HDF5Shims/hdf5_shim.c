// Every libhdf5 call convviz makes; see include/cvz_hdf5_shims.h for why.
#include "cvz_hdf5_shims.h"

// Debian installs the serial build's headers under hdf5/serial/ (what its
// pkg-config file names); the library itself is opened at run time, below.
#if __has_include(<hdf5/serial/hdf5.h>)
#include <hdf5/serial/hdf5.h>
#else
#include <hdf5.h>
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// MARK: Loading libhdf5
//
// libhdf5 is opened (dlopen) on first use rather than linked: it pulls in
// libcurl, TLS and Kerberos (its S3 and HDFS drivers), about 40 libraries
// whose loading every convviz command paid at start-up, where only the
// Keras reader uses it. Every function and variable below is called
// through a pointer found then; the macros after the table make the code
// further down read as plain libhdf5 calls (HDF5's own macros, such as
// H5T_NATIVE_FLOAT, expand to these names too).

#define CVZ_H5_FUNCTIONS(X)                                                                  \
  X(H5Aclose) X(H5Aexists) X(H5Aget_name_by_idx) X(H5Aget_space) X(H5Aget_type) X(H5Aopen)    \
  X(H5Aread) X(H5Dclose) X(H5Dget_space) X(H5Dget_type) X(H5Dread) X(H5Dvlen_reclaim)         \
  X(H5Eclear2) X(H5Eset_auto2) X(H5Ewalk2) X(H5Fclose) X(H5Fopen) X(H5Gclose) X(H5Gget_info)  \
  X(H5Iget_type) X(H5Lexists) X(H5Lget_name_by_idx) X(H5Oclose) X(H5Oget_info2) X(H5Oopen)    \
  X(H5Pclose) X(H5Pcreate) X(H5Pset_fapl_core) X(H5Pset_fclose_degree) X(H5Pset_file_image)   \
  X(H5Sclose) X(H5Sget_simple_extent_dims) X(H5Sget_simple_extent_ndims)                      \
  X(H5Sget_simple_extent_npoints) X(H5Tclose) X(H5Tcopy) X(H5Tget_class) X(H5Tget_cset)       \
  X(H5Tget_size) X(H5Tis_variable_str) X(H5Tset_cset) X(H5Tset_size) X(H5check_version)      \
  X(H5open) X(H5get_libversion)

#define CVZ_H5_VARIABLES(X)                                                           \
  X(H5E_CANTALLOC_g) X(H5E_NOSPACE_g) X(H5E_RESOURCE_g) X(H5P_CLS_FILE_ACCESS_ID_g)  \
  X(H5T_C_S1_g) X(H5T_NATIVE_FLOAT_g)

#define CVZ_H5_DECLARE_FUNCTION(name) static __typeof__(&name) loaded_##name;
#define CVZ_H5_DECLARE_VARIABLE(name) static __typeof__(name) *loaded_##name;
CVZ_H5_FUNCTIONS(CVZ_H5_DECLARE_FUNCTION)
CVZ_H5_VARIABLES(CVZ_H5_DECLARE_VARIABLE)

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

// Every function that takes a message buffer starts with this, so that a
// caller that skipped cvz_h5_load gets the reason rather than a crash.
#define CVZ_H5_REQUIRE_LIBRARY(message, capacity) \
  if (cvz_h5_load(message, capacity) != 0) return -1;

#define H5Aclose loaded_H5Aclose
#define H5Aexists loaded_H5Aexists
#define H5Aget_name_by_idx loaded_H5Aget_name_by_idx
#define H5Aget_space loaded_H5Aget_space
#define H5Aget_type loaded_H5Aget_type
#define H5Aopen loaded_H5Aopen
#define H5Aread loaded_H5Aread
#define H5Dclose loaded_H5Dclose
#define H5Dget_space loaded_H5Dget_space
#define H5Dget_type loaded_H5Dget_type
#define H5Dread loaded_H5Dread
#define H5Dvlen_reclaim loaded_H5Dvlen_reclaim
#define H5Eclear2 loaded_H5Eclear2
#define H5Eset_auto2 loaded_H5Eset_auto2
#define H5Ewalk2 loaded_H5Ewalk2
#define H5Fclose loaded_H5Fclose
#define H5Fopen loaded_H5Fopen
#define H5Gclose loaded_H5Gclose
#define H5Gget_info loaded_H5Gget_info
#define H5Iget_type loaded_H5Iget_type
#define H5Lexists loaded_H5Lexists
#define H5Lget_name_by_idx loaded_H5Lget_name_by_idx
#define H5Oclose loaded_H5Oclose
#define H5Oget_info2 loaded_H5Oget_info2
#define H5Oopen loaded_H5Oopen
#define H5Pclose loaded_H5Pclose
#define H5Pcreate loaded_H5Pcreate
#define H5Pset_fapl_core loaded_H5Pset_fapl_core
#define H5Pset_fclose_degree loaded_H5Pset_fclose_degree
#define H5Pset_file_image loaded_H5Pset_file_image
#define H5Sclose loaded_H5Sclose
#define H5Sget_simple_extent_dims loaded_H5Sget_simple_extent_dims
#define H5Sget_simple_extent_ndims loaded_H5Sget_simple_extent_ndims
#define H5Sget_simple_extent_npoints loaded_H5Sget_simple_extent_npoints
#define H5Tclose loaded_H5Tclose
#define H5Tcopy loaded_H5Tcopy
#define H5Tget_class loaded_H5Tget_class
#define H5Tget_cset loaded_H5Tget_cset
#define H5Tget_size loaded_H5Tget_size
#define H5Tis_variable_str loaded_H5Tis_variable_str
#define H5Tset_cset loaded_H5Tset_cset
#define H5Tset_size loaded_H5Tset_size
#define H5check_version loaded_H5check_version
#define H5open loaded_H5open
#define H5E_CANTALLOC_g (*loaded_H5E_CANTALLOC_g)
#define H5E_NOSPACE_g (*loaded_H5E_NOSPACE_g)
#define H5E_RESOURCE_g (*loaded_H5E_RESOURCE_g)
#define H5P_CLS_FILE_ACCESS_ID_g (*loaded_H5P_CLS_FILE_ACCESS_ID_g)
#define H5T_C_S1_g (*loaded_H5T_C_S1_g)
#define H5T_NATIVE_FLOAT_g (*loaded_H5T_NATIVE_FLOAT_g)

// MARK: Calling libhdf5

// Debian's libhdf5 is the serial build: one caller at a time.
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

#if defined(__SANITIZE_ADDRESS__)
#define CVZ_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CVZ_ADDRESS_SANITIZER 1
#endif
#endif

// Set in the child process that reads a file first (cvz_h5_check_in_child)
// once libhdf5 (or the child's own reading) failed to allocate memory.
static int checking_in_child = 0;
static int allocation_failed = 0;

static herr_t note_allocation_failure(unsigned n, const H5E_error2_t *error, void *data) {
  if (error->maj_num == H5E_RESOURCE &&
      (error->min_num == H5E_NOSPACE || error->min_num == H5E_CANTALLOC)) {
    allocation_failed = 1;
  }
  (void)n;
  (void)data;
  return 0;
}

// libhdf5's automatic error handler: it prints nothing; in the checking
// child it looks for allocation failures on every failing call, since
// libhdf5 can treat a failed malloc as one more error and carry on.
static herr_t on_error(hid_t stack, void *data) {
  if (checking_in_child) H5Ewalk2(stack, H5E_WALK_DOWNWARD, note_allocation_failure, NULL);
  (void)data;
  return 0;
}

// Each in-memory file gets its own name: HDF5 hands back an already open
// file of the same name instead of opening the new image.
static unsigned long long images_opened = 0;

typedef struct walk_state {
  char first[160];
  char last[160];
  int count;
} walk_state;

static herr_t walk(unsigned n, const H5E_error2_t *error, void *data) {
  walk_state *state = data;
  const char *text = error->desc && error->desc[0] ? error->desc : error->func_name;
  if (!text) return 0;
  if (state->count == 0) snprintf(state->first, sizeof state->first, "%s", text);
  snprintf(state->last, sizeof state->last, "%s", text);
  state->count += 1;
  (void)n;
  return 0;
}

// Copies the library's words for the failure (the call that failed, then
// the innermost cause) into `message`, prefixed by what was being done
// (unless `what` is empty), and clears the stack.
static int fail(const char *what, char *message, size_t capacity) {
  walk_state state = {{0}, {0}, 0};
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk, &state);
  H5Eclear2(H5E_DEFAULT);
  if (message && capacity > 0) {
    if (!what[0]) {
      snprintf(message, capacity, "%s", state.count ? state.first : "libhdf5 failed");
      if (state.count > 1 && strcmp(state.first, state.last) != 0) {
        size_t used = strlen(message);
        snprintf(message + used, capacity - used, " (%s)", state.last);
      }
    } else if (state.count == 0) {
      snprintf(message, capacity, "%s", what);
    } else if (state.count == 1 || strcmp(state.first, state.last) == 0) {
      snprintf(message, capacity, "%s: %s", what, state.first);
    } else {
      snprintf(message, capacity, "%s: %s (%s)", what, state.first, state.last);
    }
  }
  return -1;
}

static void enter(void) {
  pthread_mutex_lock(&lock);
  H5Eset_auto2(H5E_DEFAULT, on_error, NULL);
}

static int leave(int result) {
  pthread_mutex_unlock(&lock);
  return result;
}

int cvz_h5_open_image(const void *bytes, size_t size, int64_t *file, char *message,
                      size_t capacity) {
  CVZ_H5_REQUIRE_LIBRARY(message, capacity)
  enter();
  *file = -1;
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) return leave(fail("cannot set up HDF5", message, capacity));
  if (H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 ||
      H5Pset_file_image(fapl, (void *)bytes, size) < 0 ||
      H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
    H5Pclose(fapl);
    return leave(fail("cannot set up HDF5", message, capacity));
  }
  char name[64];
  snprintf(name, sizeof name, "convviz-image-%llu", ++images_opened);
  hid_t opened = H5Fopen(name, H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  if (opened < 0) return leave(fail("", message, capacity));
  *file = opened;
  return leave(0);
}

void cvz_h5_close(int64_t handle) {
  if (handle < 0 || !library_loaded) return;
  enter();
  switch (H5Iget_type(handle)) {
  case H5I_FILE: H5Fclose(handle); break;
  case H5I_GROUP: H5Gclose(handle); break;
  case H5I_DATASET: H5Dclose(handle); break;
  default: H5Oclose(handle); break;
  }
  H5Eclear2(H5E_DEFAULT);
  leave(0);
}

int cvz_h5_open(int64_t parent, const char *path, int64_t *object, cvz_h5_kind *kind,
                char *message, size_t capacity) {
  CVZ_H5_REQUIRE_LIBRARY(message, capacity)
  enter();
  *object = -1;
  *kind = CVZ_H5_OTHER;
  // Check each link of the path, so that a missing one is "absent", not a
  // failure.
  size_t length = strlen(path);
  char *partial = malloc(length + 1);
  if (!partial) return leave(fail("out of memory", message, capacity));
  for (size_t end = 0; end <= length; end++) {
    if (end == length || path[end] == '/') {
      if (end == 0) continue;
      memcpy(partial, path, end);
      partial[end] = 0;
      htri_t exists = H5Lexists(parent, partial, H5P_DEFAULT);
      if (exists < 0) {
        free(partial);
        return leave(fail("cannot look up an HDF5 link", message, capacity));
      }
      if (exists == 0) {
        free(partial);
        H5Eclear2(H5E_DEFAULT);
        return leave(1);
      }
    }
  }
  free(partial);
  hid_t opened = H5Oopen(parent, path, H5P_DEFAULT);
  if (opened < 0) return leave(fail("cannot open an HDF5 object", message, capacity));
  switch (H5Iget_type(opened)) {
  case H5I_GROUP: *kind = CVZ_H5_GROUP; break;
  case H5I_DATASET: *kind = CVZ_H5_DATASET; break;
  default: *kind = CVZ_H5_OTHER; break;
  }
  *object = opened;
  return leave(0);
}

int cvz_h5_child_count(int64_t group, uint64_t *count, char *message, size_t capacity) {
  CVZ_H5_REQUIRE_LIBRARY(message, capacity)
  enter();
  H5G_info_t info;
  if (H5Gget_info(group, &info) < 0) {
    return leave(fail("cannot list an HDF5 group", message, capacity));
  }
  *count = info.nlinks;
  return leave(0);
}

int cvz_h5_child_name(int64_t group, uint64_t index, char *name, size_t name_capacity,
                      char *message, size_t capacity) {
  CVZ_H5_REQUIRE_LIBRARY(message, capacity)
  enter();
  ssize_t length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, index, name,
                                      name_capacity, H5P_DEFAULT);
  if (length < 0) return leave(fail("cannot list an HDF5 group", message, capacity));
  if ((size_t)length >= name_capacity) {
    snprintf(message, capacity, "an HDF5 link name is longer than %zu bytes", name_capacity - 1);
    return leave(-1);
  }
  return leave(0);
}

static cvz_h5_class class_of(hid_t type) {
  switch (H5Tget_class(type)) {
  case H5T_FLOAT: return CVZ_H5_CLASS_FLOAT;
  case H5T_INTEGER: return CVZ_H5_CLASS_INTEGER;
  case H5T_STRING: return CVZ_H5_CLASS_STRING;
  default: return CVZ_H5_CLASS_OTHER;
  }
}

int cvz_h5_dataset_shape(int64_t dataset, int *rank, uint64_t *dims, cvz_h5_class *element,
                         char *message, size_t capacity) {
  CVZ_H5_REQUIRE_LIBRARY(message, capacity)
  enter();
  hid_t space = H5Dget_space(dataset);
  if (space < 0) return leave(fail("cannot read a dataset's shape", message, capacity));
  int n = H5Sget_simple_extent_ndims(space);
  if (n < 0 || n > CVZ_H5_MAX_RANK) {
    H5Sclose(space);
    return leave(fail("cannot read a dataset's shape", message, capacity));
  }
  hsize_t extent[CVZ_H5_MAX_RANK];
  if (n > 0 && H5Sget_simple_extent_dims(space, extent, NULL) < 0) {
    H5Sclose(space);
    return leave(fail("cannot read a dataset's shape", message, capacity));
  }
  H5Sclose(space);
  hid_t type = H5Dget_type(dataset);
  if (type < 0) return leave(fail("cannot read a dataset's type", message, capacity));
  *element = class_of(type);
  H5Tclose(type);
  *rank = n;
  for (int k = 0; k < n; k++) dims[k] = extent[k];
  return leave(0);
}

int cvz_h5_dataset_read_float(int64_t dataset, float *values, size_t count, char *message,
                              size_t capacity) {
  CVZ_H5_REQUIRE_LIBRARY(message, capacity)
  enter();
  hid_t space = H5Dget_space(dataset);
  if (space < 0) return leave(fail("cannot read a dataset", message, capacity));
  hssize_t points = H5Sget_simple_extent_npoints(space);
  H5Sclose(space);
  if (points < 0 || (size_t)points != count) {
    H5Eclear2(H5E_DEFAULT);
    snprintf(message, capacity, "dataset holds %lld values, expected %zu", (long long)points,
             count);
    return leave(-1);
  }
  if (count == 0) return leave(0);
  if (H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0) {
    return leave(fail("cannot read a dataset", message, capacity));
  }
  return leave(0);
}

int cvz_h5_attribute_exists(int64_t object, const char *name, char *message, size_t capacity) {
  CVZ_H5_REQUIRE_LIBRARY(message, capacity)
  enter();
  htri_t exists = H5Aexists(object, name);
  if (exists < 0) return leave(fail("cannot look up an HDF5 attribute", message, capacity));
  return leave(exists > 0 ? 1 : 0);
}

// Appends `n` strings of at most `width` bytes each (ending at the first NUL)
// from `strings` (fixed-length) or `pointers` (variable-length).
static char *gather(size_t n, size_t width, const char *strings, char *const *pointers,
                    size_t limit, size_t *length) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    const char *s = pointers ? pointers[i] : strings + i * width;
    size_t len = s ? (pointers ? strlen(s) : strnlen(s, width)) : 0;
    if (len > limit || total > limit - len - 1) return NULL;
    total += len + 1;
  }
  char *text = malloc(total ? total : 1);
  if (!text) return NULL;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    const char *s = pointers ? pointers[i] : strings + i * width;
    size_t len = s ? (pointers ? strlen(s) : strnlen(s, width)) : 0;
    if (len) memcpy(text + at, s, len);
    text[at + len] = 0;
    at += len + 1;
  }
  *length = total;
  return text;
}

int cvz_h5_attribute_strings(int64_t object, const char *name, size_t limit, char **text,
                             size_t *length, size_t *count, char *message, size_t capacity) {
  CVZ_H5_REQUIRE_LIBRARY(message, capacity)
  enter();
  *text = NULL;
  *length = 0;
  *count = 0;
  hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
  if (attribute < 0) return leave(fail("cannot open an HDF5 attribute", message, capacity));
  hid_t type = -1, space = -1, memory = -1;
  int result = -1;
  space = H5Aget_space(attribute);
  type = H5Aget_type(attribute);
  if (space < 0 || type < 0) {
    fail("cannot read an HDF5 attribute", message, capacity);
    goto done;
  }
  hssize_t points = H5Sget_simple_extent_npoints(space);
  if (points < 0) {
    fail("cannot read an HDF5 attribute", message, capacity);
    goto done;
  }
  if (points == 0) {
    *text = malloc(1);
    result = *text ? 0 : -1;
    goto done;
  }
  if (H5Tget_class(type) != H5T_STRING) {
    snprintf(message, capacity, "attribute '%s' does not hold strings", name);
    goto done;
  }
  size_t n = (size_t)points;
  htri_t variable = H5Tis_variable_str(type);
  if (variable < 0) {
    fail("cannot read an HDF5 attribute", message, capacity);
    goto done;
  }
  // The same character set as stored: HDF5 converts none to another
  // (h5py writes Python strings as UTF-8).
  memory = H5Tcopy(H5T_C_S1);
  if (memory < 0 || H5Tset_cset(memory, H5Tget_cset(type)) < 0) {
    fail("cannot read an HDF5 attribute", message, capacity);
    goto done;
  }
  if (variable) {
    if (n > limit / sizeof(char *) || H5Tset_size(memory, H5T_VARIABLE) < 0) {
      snprintf(message, capacity, "attribute '%s' is too large", name);
      goto done;
    }
    char **pointers = calloc(n, sizeof(char *));
    if (!pointers) {
      snprintf(message, capacity, "out of memory");
      goto done;
    }
    if (H5Aread(attribute, memory, pointers) < 0) {
      free(pointers);
      fail("cannot read an HDF5 attribute", message, capacity);
      goto done;
    }
    *text = gather(n, 0, NULL, pointers, limit, length);
    H5Dvlen_reclaim(memory, space, H5P_DEFAULT, pointers);
    free(pointers);
  } else {
    size_t width = H5Tget_size(type);
    if (width == 0 || width > limit || n > limit / width || H5Tset_size(memory, width) < 0) {
      snprintf(message, capacity, "attribute '%s' is too large", name);
      goto done;
    }
    char *strings = malloc(n * width);
    if (!strings) {
      snprintf(message, capacity, "out of memory");
      goto done;
    }
    if (H5Aread(attribute, memory, strings) < 0) {
      free(strings);
      fail("cannot read an HDF5 attribute", message, capacity);
      goto done;
    }
    *text = gather(n, width, strings, NULL, limit, length);
    free(strings);
  }
  if (!*text) {
    snprintf(message, capacity, "attribute '%s' is too large", name);
    goto done;
  }
  *count = n;
  result = 0;
done:
  if (memory >= 0) H5Tclose(memory);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  H5Aclose(attribute);
  H5Eclear2(H5E_DEFAULT);
  return leave(result);
}

void cvz_h5_free(void *pointer) { free(pointer); }

// MARK: Reading in a child process

typedef struct walk_budget {
  size_t objects;
  size_t tensor_limit;
} walk_budget;

// Reads every attribute of `object` as strings, the way the reader does
// (only ever in the child: one thread, so no lock).
static void read_attributes(hid_t object) {
  char message[256];
  H5O_info_t info;
  if (H5Oget_info2(object, &info, H5O_INFO_NUM_ATTRS) < 0) return;
  for (hsize_t k = 0; k < info.num_attrs && k < 4096; k++) {
    char name[1024];
    ssize_t length = H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, k, name,
                                        sizeof name, H5P_DEFAULT);
    if (length < 0 || (size_t)length >= sizeof name) continue;
    char *text = NULL;
    size_t text_length = 0, count = 0;
    if (cvz_h5_attribute_strings(object, name, 64u << 20, &text, &text_length, &count, message,
                                 sizeof message) == 0) {
      free(text);
    }
  }
}

static void walk_group(hid_t group, int depth, walk_budget *budget) {
  char message[256];
  uint64_t count = 0;
  if (depth > 32 || cvz_h5_child_count(group, &count, message, sizeof message) < 0) return;
  for (uint64_t index = 0; index < count && budget->objects > 0; index++) {
    char name[4096];
    if (cvz_h5_child_name(group, index, name, sizeof name, message, sizeof message) < 0) continue;
    int64_t object = -1;
    cvz_h5_kind kind;
    if (cvz_h5_open(group, name, &object, &kind, message, sizeof message) != 0) continue;
    budget->objects -= 1;
    read_attributes(object);
    if (kind == CVZ_H5_GROUP) {
      walk_group(object, depth + 1, budget);
    } else if (kind == CVZ_H5_DATASET) {
      int rank = 0;
      uint64_t dims[CVZ_H5_MAX_RANK];
      cvz_h5_class element;
      if (cvz_h5_dataset_shape(object, &rank, dims, &element, message, sizeof message) == 0 &&
          (element == CVZ_H5_CLASS_FLOAT || element == CVZ_H5_CLASS_INTEGER)) {
        size_t points = 1;
        int fits = 1;
        for (int k = 0; k < rank; k++) {
          if (dims[k] != 0 && points > budget->tensor_limit / 4 / dims[k]) fits = 0;
          points *= fits ? dims[k] : 1;
        }
        if (fits) {
          float *values = malloc(points ? points * sizeof(float) : 1);
          if (values) {
            cvz_h5_dataset_read_float(object, values, points, message, sizeof message);
            free(values);
          } else {
            allocation_failed = 1;
          }
        }
      }
    }
    cvz_h5_close(object);
  }
}

// The bytes this process maps (/proc/self/statm's first field), or 0.
static size_t mapped_bytes(pid_t process, int field) {
  char path[64];
  if (process) {
    snprintf(path, sizeof path, "/proc/%d/statm", (int)process);
  } else {
    snprintf(path, sizeof path, "/proc/self/statm");
  }
  FILE *file = fopen(path, "r");
  if (!file) return 0;
  unsigned long long pages[2] = {0, 0};
  int read = fscanf(file, "%llu %llu", &pages[0], &pages[1]);
  fclose(file);
  if (read != 2) return 0;
  long page = sysconf(_SC_PAGESIZE);
  return (size_t)pages[field] * (size_t)(page > 0 ? page : 4096);
}

// The child's exit status when an allocation failed while it read.
enum { OUT_OF_MEMORY_STATUS = 3 };

static void describe_memory(char *message, size_t capacity, size_t memory_limit) {
  snprintf(message, capacity,
           "libhdf5 needed more than %zu MiB reading it: the file is corrupt",
           memory_limit >> 20);
}

int cvz_h5_check_in_child(const void *bytes, size_t size, size_t tensor_limit,
                          size_t memory_limit, char *message, size_t capacity) {
  CVZ_H5_REQUIRE_LIBRARY(message, capacity)
  // Crafted files can also send libhdf5 round a loop forever: the child
  // gets 30 s, plus a second for every 16 MiB to read.
  double limit = 30.0 + (double)size / (16 << 20);
  // The resident size the child starts from (it shares this process's
  // pages): the parent stops a child that grows past it plus the limit.
  size_t resident_at_fork = mapped_bytes(0, 1);
  pid_t parent = getpid();
  // Held across fork so that no other thread is inside libhdf5 then, and
  // released on both sides (the child's one thread is the forking one).
  pthread_mutex_lock(&lock);
  pid_t child = fork();
  if (child < 0) {
    pthread_mutex_unlock(&lock);
    snprintf(message, capacity, "cannot start a process to read the HDF5 file");
    return -1;
  }
  pthread_mutex_unlock(&lock);
  if (child == 0) {
    // A crash report (the Swift runtime's, a sanitizer's) is not the user's.
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDERR_FILENO);
    checking_in_child = 1;
    // Should this process die without stopping the child (SIGKILL), the
    // child must not loop on alone: it ends with its parent, and its
    // processor time is bounded like its waiting time below.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    struct rlimit seconds;
    if (getrlimit(RLIMIT_CPU, &seconds) == 0) {
      rlim_t wanted = (rlim_t)limit + 2;
      if (seconds.rlim_max == RLIM_INFINITY || wanted < seconds.rlim_max) {
        seconds.rlim_cur = wanted;
        seconds.rlim_max = seconds.rlim_max == RLIM_INFINITY ? wanted + 1 : seconds.rlim_max;
        setrlimit(RLIMIT_CPU, &seconds);
      }
    }
#ifndef CVZ_ADDRESS_SANITIZER
    // Crafted files can make libhdf5 allocate without bound: the child may
    // map at most `memory_limit` bytes more than it inherited. (Under
    // AddressSanitizer, which maps terabytes of shadow memory, the
    // parent's watch on the child's resident size below is the bound.)
    size_t mapped = mapped_bytes(0, 0);
    if (memory_limit > 0 && mapped > 0 && memory_limit < SIZE_MAX - mapped) {
      struct rlimit space;
      if (getrlimit(RLIMIT_AS, &space) == 0) {
        rlim_t wanted = (rlim_t)(mapped + memory_limit);
        if (space.rlim_max == RLIM_INFINITY || wanted < space.rlim_max) space.rlim_max = wanted;
        space.rlim_cur = space.rlim_max;
        setrlimit(RLIMIT_AS, &space);
      }
    }
#endif
    int64_t file = -1;
    char ignored[256];
    if (cvz_h5_open_image(bytes, size, &file, ignored, sizeof ignored) == 0) {
      walk_budget budget = {100000, tensor_limit};
      read_attributes(file);
      walk_group(file, 0, &budget);
      cvz_h5_close(file);
    }
    _exit(allocation_failed ? OUT_OF_MEMORY_STATUS : 0);
  }
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  double waited = 0;
  int status = 0;
  for (;;) {
    pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (done < 0 && errno != EINTR) {
      snprintf(message, capacity, "lost the process reading the HDF5 file");
      return -1;
    }
    int too_long = waited > limit;
    int too_large = memory_limit > 0 && resident_at_fork > 0 &&
                    mapped_bytes(child, 1) > resident_at_fork + memory_limit;
    if (too_long || too_large) {
      kill(child, SIGKILL);
      while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
      }
      if (too_large) {
        describe_memory(message, capacity, memory_limit);
      } else {
        snprintf(message, capacity,
                 "libhdf5 did not finish reading it in %.0f s: the file is corrupt", limit);
      }
      return -1;
    }
    struct timespec pause = {0, waited < 1 ? 1000000 : 20000000}, now;
    nanosleep(&pause, NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
    waited = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) * 1e-9;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  if (WIFEXITED(status) && WEXITSTATUS(status) == OUT_OF_MEMORY_STATUS) {
    describe_memory(message, capacity, memory_limit);
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU) {
    // Stopped by its processor-time limit (RLIMIT_CPU).
    snprintf(message, capacity,
             "libhdf5 did not finish reading it in %.0f s: the file is corrupt", limit);
  } else if (WIFSIGNALED(status)) {
    snprintf(message, capacity, "libhdf5 crashed reading it (signal %d): the file is corrupt",
             WTERMSIG(status));
  } else {
    snprintf(message, capacity, "libhdf5 failed reading it (exit status %d): the file is corrupt",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  return -1;
}
