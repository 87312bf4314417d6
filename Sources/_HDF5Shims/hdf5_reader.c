// The child process's reading of an HDF5 file: every libhdf5 call on a
// file that convviz makes (see include/cvz_hdf5_shims.h for why).
#include "cvz_hdf5_shims.h"
#include "hdf5_library.h"
#include "hdf5_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// MARK: Calling libhdf5
//
// Only ever in the child process cvz_h5_read_in_child starts: it has one
// thread, so no lock; convviz's own process never calls libhdf5 on a file.

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
  // Variable-length strings arrive as pointers, fixed-length ones in place.
  size_t width = variable ? sizeof(char *) : H5Tget_size(type);
  if (width == 0 || width > limit || n > limit / width ||
      H5Tset_size(memory, variable ? H5T_VARIABLE : width) < 0) {
    snprintf(why->text, sizeof why->text, "attribute '%s' is too large", name);
    goto done;
  }
  void *buffer = calloc(n, width);
  if (!buffer) {
    allocation_failed = 1;
    goto done;
  }
  if (H5Aread(attribute, memory, buffer) < 0) {
    free(buffer);
    fail("cannot read an HDF5 attribute", why);
    goto done;
  }
  if (variable) {
    *text = gather(n, 0, NULL, buffer, limit, length);
    H5Dvlen_reclaim(memory, space, H5P_DEFAULT, buffer);
  } else {
    *text = gather(n, width, buffer, NULL, limit, length);
  }
  free(buffer);
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

// The name of attribute (or, unless `attribute`, link) `k` of `object` in
// name order, malloc'd; NULL with the reason in `why` when it cannot be
// read or is longer than MAXIMUM_NAME - 1 bytes.
static char *name_at(hid_t object, hsize_t k, int attribute, failure *why) {
  const char *what = attribute ? "cannot list an object's attributes" : "cannot list an HDF5 group";
  ssize_t length =
      attribute
          ? H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, k, NULL, 0, H5P_DEFAULT)
          : H5Lget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, k, NULL, 0, H5P_DEFAULT);
  if (length < 0) {
    fail(what, why);
    return NULL;
  }
  if (length >= MAXIMUM_NAME) {
    snprintf(why->text, sizeof why->text, "%s: a name is longer than %d bytes", what,
             MAXIMUM_NAME - 1);
    return NULL;
  }
  size_t capacity = (size_t)length + 1;
  char *name = malloc(capacity);
  if (!name) _exit(OUT_OF_MEMORY_STATUS);
  ssize_t read =
      attribute
          ? H5Aget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, k, name, capacity,
                               H5P_DEFAULT)
          : H5Lget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, k, name, capacity,
                               H5P_DEFAULT);
  if (read != length) {
    fail(what, why);
    free(name);
    return NULL;
  }
  return name;
}

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
    char *name = name_at(object, k, 1, &why);
    if (name) {
      names[named++] = name;
    } else if (!listing.text[0]) {
      listing = why;
    }
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
    char *name = name_at(group, k, 0, &why);
    if (!name) {
      // A link without a readable name: one no path can reach.
      put_text(out, "", 0);
      put_u8(out, 1);
      put_message(out, &why);
      continue;
    }
    put_text(out, name, strlen(name));
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

_Noreturn void cvz_h5_read_file(const void *bytes, size_t size, size_t tensor_limit, int fd,
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
