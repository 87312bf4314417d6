// Every libhdf5 call convviz makes; see include/cvz_hdf5_shims.h for why.
// memfd_create
#define _GNU_SOURCE
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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
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
  X(H5Aclose) X(H5Aget_name_by_idx) X(H5Aget_space) X(H5Aget_type) X(H5Aopen) X(H5Aread)      \
  X(H5Dclose) X(H5Dget_space) X(H5Dget_type) X(H5Dread) X(H5Dvlen_reclaim) X(H5Eclear2)       \
  X(H5Eset_auto2) X(H5Ewalk2) X(H5Fclose) X(H5Fopen) X(H5Gclose) X(H5Gget_info)               \
  X(H5Iget_type) X(H5Lget_info_by_idx) X(H5Lget_name_by_idx) X(H5Oclose) X(H5Oget_info2)      \
  X(H5Oopen_by_idx) X(H5Pclose) X(H5Pcreate) X(H5Pset_fapl_core) X(H5Pset_fclose_degree)      \
  X(H5Pset_file_image) X(H5Sclose) X(H5Sget_simple_extent_dims)                               \
  X(H5Sget_simple_extent_ndims) X(H5Sget_simple_extent_npoints) X(H5Tclose) X(H5Tcopy)        \
  X(H5Tget_class) X(H5Tget_cset) X(H5Tget_size) X(H5Tis_variable_str) X(H5Tset_cset)          \
  X(H5Tset_size) X(H5check_version) X(H5get_libversion) X(H5open)

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
#define H5Lget_info_by_idx loaded_H5Lget_info_by_idx
#define H5Lget_name_by_idx loaded_H5Lget_name_by_idx
#define H5Oclose loaded_H5Oclose
#define H5Oget_info2 loaded_H5Oget_info2
#define H5Oopen_by_idx loaded_H5Oopen_by_idx
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
//
// Only ever in the child process cvz_h5_read_in_child starts: it has one
// thread, so no lock; convviz's own process never calls libhdf5 on a file.

#if defined(__SANITIZE_ADDRESS__)
#define CVZ_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CVZ_ADDRESS_SANITIZER 1
#endif
#endif

#ifdef CVZ_ADDRESS_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

// Set once libhdf5 (or the child's own reading) failed to allocate memory.
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

// libhdf5's automatic error handler: it prints nothing, and looks for
// allocation failures on every failing call, since libhdf5 can treat a
// failed malloc as one more error and carry on.
static herr_t on_error(hid_t stack, void *data) {
  H5Ewalk2(stack, H5E_WALK_DOWNWARD, note_allocation_failure, NULL);
  (void)data;
  return 0;
}

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

// A message buffer for one failure.
typedef struct failure {
  char text[400];
} failure;

// Copies the library's words for the failure (the call that failed, then
// the innermost cause) into `why`, prefixed by what was being done (unless
// `what` is empty), and clears the stack. Returns -1.
static int fail(const char *what, failure *why) {
  walk_state state = {{0}, {0}, 0};
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk, &state);
  H5Eclear2(H5E_DEFAULT);
  char *message = why->text;
  size_t capacity = sizeof why->text;
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
  return -1;
}

// Files opened in this process: in convviz's own process it stays 0.
static _Atomic unsigned long long files_opened = 0;

unsigned long long cvz_h5_files_opened(void) { return files_opened; }

static hid_t open_image(const void *bytes, size_t size, failure *why) {
  files_opened += 1;
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) return fail("cannot set up HDF5", why);
  if (H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 ||
      H5Pset_file_image(fapl, (void *)bytes, size) < 0 ||
      H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
    H5Pclose(fapl);
    return fail("cannot set up HDF5", why);
  }
  hid_t opened = H5Fopen("convviz-image", H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  if (opened < 0) return fail("", why);
  return opened;
}

static void close_handle(hid_t handle) {
  switch (H5Iget_type(handle)) {
  case H5I_FILE: H5Fclose(handle); break;
  case H5I_GROUP: H5Gclose(handle); break;
  case H5I_DATASET: H5Dclose(handle); break;
  default: H5Oclose(handle); break;
  }
  H5Eclear2(H5E_DEFAULT);
}

static cvz_h5_class class_of(hid_t type) {
  switch (H5Tget_class(type)) {
  case H5T_FLOAT: return CVZ_H5_CLASS_FLOAT;
  case H5T_INTEGER: return CVZ_H5_CLASS_INTEGER;
  case H5T_STRING: return CVZ_H5_CLASS_STRING;
  default: return CVZ_H5_CLASS_OTHER;
  }
}

static int dataset_shape(hid_t dataset, int *rank, hsize_t *dims, cvz_h5_class *element,
                         failure *why) {
  hid_t space = H5Dget_space(dataset);
  if (space < 0) return fail("cannot read a dataset's shape", why);
  int n = H5Sget_simple_extent_ndims(space);
  if (n < 0 || n > CVZ_H5_MAX_RANK ||
      (n > 0 && H5Sget_simple_extent_dims(space, dims, NULL) < 0)) {
    H5Sclose(space);
    return fail("cannot read a dataset's shape", why);
  }
  H5Sclose(space);
  hid_t type = H5Dget_type(dataset);
  if (type < 0) return fail("cannot read a dataset's type", why);
  *element = class_of(type);
  H5Tclose(type);
  *rank = n;
  return 0;
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

// Reads the string attribute `name` of `object` (a scalar or an array;
// fixed-length or variable-length strings; an array of no elements of any
// type counts as no strings): a malloc'd buffer of `*count` strings, each
// followed by a NUL, `*length` bytes in all. Attributes over `limit`
// bytes are refused unread.
static int attribute_strings(hid_t object, const char *name, size_t limit, char **text,
                             size_t *length, size_t *count, failure *why) {
  *text = NULL;
  *length = 0;
  *count = 0;
  hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
  if (attribute < 0) return fail("cannot open an HDF5 attribute", why);
  hid_t type = -1, space = -1, memory = -1;
  int result = -1;
  space = H5Aget_space(attribute);
  type = H5Aget_type(attribute);
  if (space < 0 || type < 0) {
    fail("cannot read an HDF5 attribute", why);
    goto done;
  }
  hssize_t points = H5Sget_simple_extent_npoints(space);
  if (points < 0) {
    fail("cannot read an HDF5 attribute", why);
    goto done;
  }
  if (points == 0) {
    *text = malloc(1);
    result = *text ? 0 : -1;
    if (!*text) allocation_failed = 1;
    goto done;
  }
  if (H5Tget_class(type) != H5T_STRING) {
    snprintf(why->text, sizeof why->text, "attribute '%s' does not hold strings", name);
    goto done;
  }
  size_t n = (size_t)points;
  htri_t variable = H5Tis_variable_str(type);
  if (variable < 0) {
    fail("cannot read an HDF5 attribute", why);
    goto done;
  }
  // The same character set as stored: HDF5 converts none to another
  // (h5py writes Python strings as UTF-8).
  memory = H5Tcopy(H5T_C_S1);
  if (memory < 0 || H5Tset_cset(memory, H5Tget_cset(type)) < 0) {
    fail("cannot read an HDF5 attribute", why);
    goto done;
  }
  if (variable) {
    if (n > limit / sizeof(char *) || H5Tset_size(memory, H5T_VARIABLE) < 0) {
      snprintf(why->text, sizeof why->text, "attribute '%s' is too large", name);
      goto done;
    }
    char **pointers = calloc(n, sizeof(char *));
    if (!pointers) {
      allocation_failed = 1;
      goto done;
    }
    if (H5Aread(attribute, memory, pointers) < 0) {
      free(pointers);
      fail("cannot read an HDF5 attribute", why);
      goto done;
    }
    *text = gather(n, 0, NULL, pointers, limit, length);
    H5Dvlen_reclaim(memory, space, H5P_DEFAULT, pointers);
    free(pointers);
  } else {
    size_t width = H5Tget_size(type);
    if (width == 0 || width > limit || n > limit / width || H5Tset_size(memory, width) < 0) {
      snprintf(why->text, sizeof why->text, "attribute '%s' is too large", name);
      goto done;
    }
    char *strings = malloc(n * width);
    if (!strings) {
      allocation_failed = 1;
      goto done;
    }
    if (H5Aread(attribute, memory, strings) < 0) {
      free(strings);
      fail("cannot read an HDF5 attribute", why);
      goto done;
    }
    *text = gather(n, width, strings, NULL, limit, length);
    free(strings);
  }
  if (!*text) {
    snprintf(why->text, sizeof why->text, "attribute '%s' is too large", name);
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
  return result;
}

// MARK: The summary the child sends back
//
// The child writes what it read to a memory file (memfd) in this format,
// every number little-endian (x86-64's and arm64's order), and the parent
// maps it; HDF5File.swift reads it back. A "text" is a u64 byte count and
// that many bytes.
//
//   "CVZH5SUM"  8 bytes
//   u8          0: the file opened, node records follow
//               1: it did not: text (libhdf5's words), then the end
//   node record, any number, each an object of the file reached from the
//   root (group 0) through its links, once however many links reach it:
//     u64 index, u8 kind (cvz_h5_kind)
//     attributes: u8 0 ok / 1 listing them failed: text; then u64 count,
//       each text name, u8 0: u64 string count, text (the strings, each
//       followed by a NUL) / 1: text (why it cannot be read)
//     group:   u8 0: u64 link count, each text name, u8 0: u64 node index
//              / 1: text (why the object cannot be opened)
//              / 1 (listing failed): text
//     dataset: u8 0: u32 rank, u64 dims[rank], u8 class (cvz_h5_class)
//              / 1: text; then
//              u8 0: u64 count, count float32 values / 1: text / 2: not read
//              (not numbers, or over the tensor limit)
//   u64 2^64-1  the end
//
// Depth, object count, names and strings are bounded; a summary that would
// pass `summary_limit` bytes ends the child with SUMMARY_TOO_LARGE_STATUS.

enum { OUT_OF_MEMORY_STATUS = 3, SUMMARY_TOO_LARGE_STATUS = 4, WRITE_FAILED_STATUS = 5 };

typedef struct summary {
  int fd;
  size_t written;
  size_t limit;
  size_t used;
  unsigned char buffer[1 << 16];
} summary;

static void flush(summary *out) {
  size_t at = 0;
  while (at < out->used) {
    ssize_t n = write(out->fd, out->buffer + at, out->used - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(WRITE_FAILED_STATUS);
    at += (size_t)n;
  }
  out->used = 0;
}

static void put(summary *out, const void *bytes, size_t count) {
  if (count > out->limit - out->written) _exit(SUMMARY_TOO_LARGE_STATUS);
  out->written += count;
  const unsigned char *from = bytes;
  while (count > 0) {
    if (out->used == sizeof out->buffer) flush(out);
    size_t part = sizeof out->buffer - out->used;
    if (part > count) part = count;
    memcpy(out->buffer + out->used, from, part);
    out->used += part;
    from += part;
    count -= part;
  }
}

static void put_u8(summary *out, uint8_t value) { put(out, &value, 1); }
static void put_u32(summary *out, uint32_t value) { put(out, &value, 4); }
static void put_u64(summary *out, uint64_t value) { put(out, &value, 8); }

static void put_text(summary *out, const char *text, size_t length) {
  put_u64(out, length);
  put(out, text, length);
}

static void put_message(summary *out, const failure *why) {
  put_text(out, why->text, strlen(why->text));
}

// MARK: Reading in the child

// Bounds on what the child reads of a crafted file.
enum {
  MAXIMUM_OBJECTS = 100000,
  MAXIMUM_DEPTH = 64,
  MAXIMUM_ATTRIBUTES = 4096,
  MAXIMUM_NAME = 1 << 16,
  MAXIMUM_ATTRIBUTE_BYTES = 64 << 20,
};

// The objects seen so far, by their address in the file.
typedef struct seen_objects {
  haddr_t *addresses;
  uint64_t *indices;
  size_t capacity;
  size_t count;
} seen_objects;

static size_t slot(const seen_objects *seen, haddr_t address) {
  size_t at = (size_t)(address * 0x9E3779B97F4A7C15ull) & (seen->capacity - 1);
  while (seen->indices[at] != UINT64_MAX && seen->addresses[at] != address) {
    at = (at + 1) & (seen->capacity - 1);
  }
  return at;
}

// The node index of the object at `address`, and whether it is new
// (numbered `*next`, which then advances).
static uint64_t number(seen_objects *seen, haddr_t address, uint64_t *next, int *is_new) {
  if (seen->count * 2 >= seen->capacity) {
    size_t capacity = seen->capacity ? seen->capacity * 2 : 1024;
    seen_objects grown = {malloc(capacity * sizeof(haddr_t)), malloc(capacity * sizeof(uint64_t)),
                          capacity, seen->count};
    if (!grown.addresses || !grown.indices) _exit(OUT_OF_MEMORY_STATUS);
    memset(grown.indices, 0xFF, capacity * sizeof(uint64_t));
    for (size_t k = 0; k < seen->capacity; k++) {
      if (seen->indices[k] == UINT64_MAX) continue;
      size_t at = slot(&grown, seen->addresses[k]);
      grown.addresses[at] = seen->addresses[k];
      grown.indices[at] = seen->indices[k];
    }
    free(seen->addresses);
    free(seen->indices);
    *seen = grown;
  }
  size_t at = slot(seen, address);
  if (seen->indices[at] != UINT64_MAX) {
    *is_new = 0;
    return seen->indices[at];
  }
  seen->addresses[at] = address;
  seen->indices[at] = (*next)++;
  seen->count += 1;
  *is_new = 1;
  return seen->indices[at];
}

typedef struct reading {
  summary *out;
  seen_objects seen;
  uint64_t next;
  size_t tensor_limit;
} reading;

// Every attribute of `object`, as strings where they are strings.
static void put_attributes(reading *state, hid_t object) {
  summary *out = state->out;
  failure why = {{0}};
  H5O_info_t info;
  if (H5Oget_info2(object, &info, H5O_INFO_NUM_ATTRS) < 0) {
    put_u8(out, 1);
    fail("cannot list an object's attributes", &why);
    put_message(out, &why);
    put_u64(out, 0);
    return;
  }
  // Names first (an attribute whose name cannot be read is left out, and
  // said once).
  size_t count = info.num_attrs < MAXIMUM_ATTRIBUTES ? (size_t)info.num_attrs : MAXIMUM_ATTRIBUTES;
  char **names = calloc(count ? count : 1, sizeof(char *));
  if (!names) _exit(OUT_OF_MEMORY_STATUS);
  size_t named = 0;
  failure listing = {{0}};
  for (size_t k = 0; k < count; k++) {
    ssize_t length = H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, k, NULL, 0,
                                        H5P_DEFAULT);
    if (length < 0 || length >= MAXIMUM_NAME) {
      if (!listing.text[0]) {
        if (length < 0) {
          fail("cannot list an object's attributes", &listing);
        } else {
          snprintf(listing.text, sizeof listing.text, "an attribute name is longer than %d bytes",
                   MAXIMUM_NAME - 1);
        }
      }
      H5Eclear2(H5E_DEFAULT);
      continue;
    }
    char *name = malloc((size_t)length + 1);
    if (!name) _exit(OUT_OF_MEMORY_STATUS);
    if (H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, k, name, (size_t)length + 1,
                           H5P_DEFAULT) != length) {
      if (!listing.text[0]) fail("cannot list an object's attributes", &listing);
      free(name);
      continue;
    }
    names[named++] = name;
  }
  if (listing.text[0]) {
    put_u8(out, 1);
    put_message(out, &listing);
  } else {
    put_u8(out, 0);
  }
  put_u64(out, named);
  for (size_t k = 0; k < named; k++) {
    put_text(out, names[k], strlen(names[k]));
    char *text = NULL;
    size_t length = 0, strings = 0;
    if (attribute_strings(object, names[k], MAXIMUM_ATTRIBUTE_BYTES, &text, &length, &strings,
                          &why) == 0) {
      put_u8(out, 0);
      put_u64(out, strings);
      put_text(out, text, length);
      free(text);
    } else {
      if (allocation_failed) _exit(OUT_OF_MEMORY_STATUS);
      put_u8(out, 1);
      put_message(out, &why);
    }
    free(names[k]);
  }
  free(names);
}

static void put_dataset(reading *state, hid_t dataset) {
  summary *out = state->out;
  failure why = {{0}};
  int rank = 0;
  hsize_t dims[CVZ_H5_MAX_RANK];
  cvz_h5_class element = CVZ_H5_CLASS_OTHER;
  if (dataset_shape(dataset, &rank, dims, &element, &why) != 0) {
    put_u8(out, 1);
    put_message(out, &why);
    put_u8(out, 2);
    return;
  }
  put_u8(out, 0);
  put_u32(out, (uint32_t)rank);
  size_t points = 1;
  int fits = 1;
  for (int k = 0; k < rank; k++) {
    put_u64(out, dims[k]);
    if (dims[k] != 0 && points > state->tensor_limit / 4 / dims[k]) fits = 0;
    points *= fits ? dims[k] : 1;
  }
  put_u8(out, (uint8_t)element);
  if (!fits || (element != CVZ_H5_CLASS_FLOAT && element != CVZ_H5_CLASS_INTEGER)) {
    put_u8(out, 2);
    return;
  }
  hid_t space = H5Dget_space(dataset);
  hssize_t stored = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
  if (space >= 0) H5Sclose(space);
  if (stored < 0 || (size_t)stored != points) {
    if (stored < 0) {
      fail("cannot read a dataset", &why);
    } else {
      snprintf(why.text, sizeof why.text, "dataset holds %lld values, expected %zu",
               (long long)stored, points);
    }
    put_u8(out, 1);
    put_message(out, &why);
    return;
  }
  float *values = malloc(points ? points * sizeof(float) : 1);
  if (!values) _exit(OUT_OF_MEMORY_STATUS);
  if (points > 0 && H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0) {
    if (allocation_failed) _exit(OUT_OF_MEMORY_STATUS);
    fail("cannot read a dataset", &why);
    put_u8(out, 1);
    put_message(out, &why);
  } else {
    put_u8(out, 0);
    put_u64(out, points);
    put(out, values, points * sizeof(float));
  }
  free(values);
}

static void put_node(reading *state, hid_t object, uint64_t index, int depth);

static void put_group(reading *state, hid_t group, int depth) {
  summary *out = state->out;
  failure why = {{0}};
  H5G_info_t info;
  if (H5Gget_info(group, &info) < 0) {
    put_u8(out, 1);
    fail("cannot list an HDF5 group", &why);
    put_message(out, &why);
    return;
  }
  if (info.nlinks > MAXIMUM_OBJECTS) {
    put_u8(out, 1);
    snprintf(why.text, sizeof why.text, "a group has %llu members",
             (unsigned long long)info.nlinks);
    put_message(out, &why);
    return;
  }
  // Each link's name and the object it leads to; the objects met here for
  // the first time are read after this group's record.
  size_t count = (size_t)info.nlinks;
  hid_t *opened = malloc((count ? count : 1) * sizeof(hid_t));
  uint64_t *indices = malloc((count ? count : 1) * sizeof(uint64_t));
  if (!opened || !indices) _exit(OUT_OF_MEMORY_STATUS);
  put_u8(out, 0);
  put_u64(out, count);
  for (size_t k = 0; k < count; k++) {
    opened[k] = -1;
    ssize_t length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, k, NULL, 0,
                                        H5P_DEFAULT);
    char *name = NULL;
    if (length >= 0 && length < MAXIMUM_NAME && (name = malloc((size_t)length + 1)) &&
        H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, k, name, (size_t)length + 1,
                           H5P_DEFAULT) == length) {
      put_text(out, name, (size_t)length);
    } else {
      // A link without a readable name: one no path can reach.
      if (length >= 0 && length < MAXIMUM_NAME && !name) _exit(OUT_OF_MEMORY_STATUS);
      H5Eclear2(H5E_DEFAULT);
      put_text(out, "", 0);
      put_u8(out, 1);
      snprintf(why.text, sizeof why.text, "an HDF5 link name cannot be read");
      put_message(out, &why);
      free(name);
      continue;
    }
    free(name);
    H5L_info_t link;
    if (H5Lget_info_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, k, &link, H5P_DEFAULT) < 0) {
      put_u8(out, 1);
      fail("cannot look up an HDF5 link", &why);
      put_message(out, &why);
      continue;
    }
    if (link.type != H5L_TYPE_HARD && link.type != H5L_TYPE_SOFT) {
      // External links name other files: never followed.
      put_u8(out, 1);
      snprintf(why.text, sizeof why.text, "a link to another file");
      put_message(out, &why);
      continue;
    }
    hid_t object = H5Oopen_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, k, H5P_DEFAULT);
    H5O_info_t where;
    if (object < 0 || H5Oget_info2(object, &where, H5O_INFO_BASIC) < 0) {
      put_u8(out, 1);
      fail("cannot open an HDF5 object", &why);
      put_message(out, &why);
      if (object >= 0) close_handle(object);
      continue;
    }
    int is_new = 0;
    if (state->seen.count >= MAXIMUM_OBJECTS || depth >= MAXIMUM_DEPTH) {
      put_u8(out, 1);
      snprintf(why.text, sizeof why.text, "the file holds more than %d objects or %d levels",
               MAXIMUM_OBJECTS, MAXIMUM_DEPTH);
      put_message(out, &why);
      close_handle(object);
      continue;
    }
    indices[k] = number(&state->seen, where.addr, &state->next, &is_new);
    put_u8(out, 0);
    put_u64(out, indices[k]);
    if (is_new) {
      opened[k] = object;
    } else {
      close_handle(object);
    }
  }
  for (size_t k = 0; k < count; k++) {
    if (opened[k] < 0) continue;
    put_node(state, opened[k], indices[k], depth + 1);
    close_handle(opened[k]);
  }
  free(opened);
  free(indices);
}

static void put_node(reading *state, hid_t object, uint64_t index, int depth) {
  summary *out = state->out;
  cvz_h5_kind kind;
  switch (H5Iget_type(object)) {
  case H5I_FILE:
  case H5I_GROUP: kind = CVZ_H5_GROUP; break;
  case H5I_DATASET: kind = CVZ_H5_DATASET; break;
  default: kind = CVZ_H5_OTHER; break;
  }
  put_u64(out, index);
  put_u8(out, (uint8_t)kind);
  put_attributes(state, object);
  if (kind == CVZ_H5_GROUP) put_group(state, object, depth);
  if (kind == CVZ_H5_DATASET) put_dataset(state, object);
}

// The child: reads the file and writes the summary to `fd`.
static void read_file(const void *bytes, size_t size, size_t tensor_limit, int fd,
                      size_t summary_limit) {
  summary *out = malloc(sizeof(summary));
  if (!out) _exit(OUT_OF_MEMORY_STATUS);
  out->fd = fd;
  out->written = 0;
  out->limit = summary_limit;
  out->used = 0;
  put(out, "CVZH5SUM", 8);
  H5Eset_auto2(H5E_DEFAULT, on_error, NULL);
  failure why = {{0}};
  hid_t file = open_image(bytes, size, &why);
  if (file < 0) {
    if (allocation_failed) _exit(OUT_OF_MEMORY_STATUS);
    put_u8(out, 1);
    put_message(out, &why);
  } else {
    put_u8(out, 0);
    reading state = {out, {NULL, NULL, 0, 0}, 0, tensor_limit};
    H5O_info_t root;
    uint64_t index = 0;
    int is_new = 0;
    if (H5Oget_info2(file, &root, H5O_INFO_BASIC) >= 0) {
      index = number(&state.seen, root.addr, &state.next, &is_new);
    } else {
      H5Eclear2(H5E_DEFAULT);
      state.next = 1;
    }
    put_node(&state, file, index, 0);
    close_handle(file);
  }
  put_u64(out, UINT64_MAX);
  flush(out);
  _exit(allocation_failed ? OUT_OF_MEMORY_STATUS : 0);
}

// MARK: The parent

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

static void describe_memory(char *message, size_t capacity, size_t memory_limit) {
  snprintf(message, capacity,
           "libhdf5 needed more than %zu MiB reading it: the file is corrupt",
           memory_limit >> 20);
}

static _Atomic unsigned long long children_started = 0;

unsigned long long cvz_h5_children_started(void) { return children_started; }

int cvz_h5_read_in_child(const void *bytes, size_t size, double seconds, size_t tensor_limit,
                         size_t memory_limit, size_t summary_limit, const void **summary_bytes,
                         size_t *summary_size, char *message, size_t capacity) {
  CVZ_H5_REQUIRE_LIBRARY(message, capacity)
  *summary_bytes = NULL;
  *summary_size = 0;
  // Crafted files can also send libhdf5 round a loop forever: the child
  // gets `seconds`, of waiting and of processor time.
  double limit = seconds > 0 ? seconds : 1;
  int fd = memfd_create("convviz-hdf5-summary", MFD_CLOEXEC);
  if (fd < 0) {
    snprintf(message, capacity, "cannot make a memory file for the HDF5 reader: %s",
             strerror(errno));
    return -1;
  }
  // The resident size the child starts from (it shares this process's
  // pages): the parent stops a child that grows past it plus the limit.
  size_t resident_at_fork = mapped_bytes(0, 1);
  pid_t parent = getpid();
  children_started += 1;
  pid_t child = fork();
  if (child < 0) {
    close(fd);
    snprintf(message, capacity, "cannot start a process to read the HDF5 file");
    return -1;
  }
  if (child == 0) {
    // A crash report (the Swift runtime's, a sanitizer's) is not the user's,
    // nor is a fuzzer's crash artifact: a crash here only ends the child.
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDERR_FILENO);
    const int deadly[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP};
    for (size_t k = 0; k < sizeof deadly / sizeof *deadly; k++) signal(deadly[k], SIG_DFL);
#ifdef CVZ_ADDRESS_SANITIZER
    __sanitizer_set_death_callback(NULL);
#endif
    // Should this process die without stopping the child (SIGKILL), the
    // child must not loop on alone: it ends with its parent, and its
    // processor time is bounded like its waiting time below.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    struct rlimit seconds;
    if (getrlimit(RLIMIT_CPU, &seconds) == 0) {
      rlim_t wanted = (rlim_t)limit + 1;
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
    read_file(bytes, size, tensor_limit, fd, summary_limit);
  }
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  double waited = 0;
  int status = 0;
  for (;;) {
    pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (done < 0 && errno != EINTR) {
      close(fd);
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
      close(fd);
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
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    close(fd);
    if (WIFEXITED(status) && WEXITSTATUS(status) == OUT_OF_MEMORY_STATUS) {
      describe_memory(message, capacity, memory_limit);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == SUMMARY_TOO_LARGE_STATUS) {
      if (summary_limit >= (1u << 20)) {
        snprintf(message, capacity, "its contents need more than %zu MiB, more than allowed",
                 summary_limit >> 20);
      } else {
        snprintf(message, capacity, "its contents need more than %zu KiB, more than allowed",
                 summary_limit >> 10);
      }
    } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU) {
      // Stopped by its processor-time limit (RLIMIT_CPU).
      snprintf(message, capacity,
               "libhdf5 did not finish reading it in %.0f s: the file is corrupt", limit);
    } else if (WIFSIGNALED(status)) {
      snprintf(message, capacity, "libhdf5 crashed reading it (signal %d): the file is corrupt",
               WTERMSIG(status));
    } else {
      snprintf(message, capacity,
               "libhdf5 failed reading it (exit status %d): the file is corrupt",
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return -1;
  }
  struct stat about;
  if (fstat(fd, &about) != 0 || about.st_size <= 0) {
    close(fd);
    snprintf(message, capacity, "the process reading the HDF5 file sent nothing back");
    return -1;
  }
  void *mapped = mmap(NULL, (size_t)about.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (mapped == MAP_FAILED) {
    snprintf(message, capacity, "cannot map what the HDF5 reader sent back: %s", strerror(errno));
    return -1;
  }
  *summary_bytes = mapped;
  *summary_size = (size_t)about.st_size;
  return 0;
}

void cvz_h5_summary_free(const void *summary_bytes, size_t size) {
  if (summary_bytes) munmap((void *)summary_bytes, size);
}
