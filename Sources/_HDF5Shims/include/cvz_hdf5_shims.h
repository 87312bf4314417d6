/*
 * cvz_hdf5_shims: the only code in convviz that calls libhdf5, for the
 * Keras reader (Sources/ModelFormats/Keras).
 *
 * Why this shim exists: libhdf5's type constants (H5T_NATIVE_FLOAT,
 * H5P_FILE_ACCESS) are macros that call into the library, which Swift
 * cannot import; the library prints every error to stderr unless told not
 * to (H5Eset_auto); its error text lives on a per-library stack that must
 * be walked right after the failing call; and the serial build Debian
 * ships is not thread-safe. So every call happens here, under one mutex,
 * with automatic printing off; a failing function copies the library's
 * words into the caller's `message` and returns -1. Swift sees only
 * `cvz_h5_*` functions and int64_t handles (HDF5's hid_t), which it
 * closes with `cvz_h5_close`.
 *
 * Files are opened from memory (the core driver with a file image), so a
 * `model.weights.h5` inside a `.keras` zip and a `.h5` file read from disk
 * take the same path, and nothing is written.
 */
#ifndef CVZ_HDF5_SHIMS_H
#define CVZ_HDF5_SHIMS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What an object in a file is. */
typedef enum cvz_h5_kind {
  CVZ_H5_OTHER = 0,
  CVZ_H5_GROUP = 1,
  CVZ_H5_DATASET = 2,
} cvz_h5_kind;

/* The element class of a dataset. */
typedef enum cvz_h5_class {
  CVZ_H5_CLASS_OTHER = 0,
  CVZ_H5_CLASS_FLOAT = 1,
  CVZ_H5_CLASS_INTEGER = 2,
  CVZ_H5_CLASS_STRING = 3,
} cvz_h5_class;

/* Opens libhdf5 (dlopen, once; it is not linked, so that commands that
 * read no Keras file never load it and the ~40 libraries it pulls in).
 * Returns 0, or -1 with a one-line reason in `message` (the library is
 * missing, lacks a function, or is not the version of the headers). Every
 * other function here needs it and fails with the same reason without. */
int cvz_h5_load(char *message, size_t capacity);

/* 1 when cvz_h5_load has loaded libhdf5 in this process, else 0; it never
 * loads the library itself. */
int cvz_h5_is_loaded(void);

/* The most dimensions a dataset may have (HDF5's own limit). */
#define CVZ_H5_MAX_RANK 32

/* Opens the HDF5 file whose bytes are `bytes` (copied; the caller may free
 * them once this returns) for reading. Returns 0 and the file's handle. */
int cvz_h5_open_image(const void *bytes, size_t size, int64_t *file, char *message,
                      size_t capacity);

/* Closes a handle from any function here (file, group or dataset). */
void cvz_h5_close(int64_t handle);

/* Opens `path` (a name or a/b/c) below `parent`: 0 with the handle and its
 * kind, 1 when no such link exists (nothing opened), -1 on failure. */
int cvz_h5_open(int64_t parent, const char *path, int64_t *object, cvz_h5_kind *kind,
                char *message, size_t capacity);

/* The number of links in a group. */
int cvz_h5_child_count(int64_t group, uint64_t *count, char *message, size_t capacity);

/* The name of link `index` in name order, NUL-terminated in `name` (at
 * most `name_capacity` bytes with the NUL; longer names fail). */
int cvz_h5_child_name(int64_t group, uint64_t index, char *name, size_t name_capacity,
                      char *message, size_t capacity);

/* A dataset's rank, dimensions (up to CVZ_H5_MAX_RANK) and element class. */
int cvz_h5_dataset_shape(int64_t dataset, int *rank, uint64_t *dims, cvz_h5_class *element,
                         char *message, size_t capacity);

/* Reads all `count` elements of a float or integer dataset, converted to
 * float32; `count` must be the product of its dimensions. */
int cvz_h5_dataset_read_float(int64_t dataset, float *values, size_t count, char *message,
                              size_t capacity);

/* Whether `object` has attribute `name`: 1 yes, 0 no, -1 failure. */
int cvz_h5_attribute_exists(int64_t object, const char *name, char *message, size_t capacity);

/* Reads a string attribute (a scalar or an array; fixed-length or
 * variable-length strings; an array of no elements of any type counts as
 * no strings). On success `*text` is a malloc'd buffer holding `*count`
 * strings, each followed by a NUL, `*length` bytes in all; free it with
 * `cvz_h5_free`. Attributes over `limit` bytes are refused unread. */
int cvz_h5_attribute_strings(int64_t object, const char *name, size_t limit, char **text,
                             size_t *length, size_t *count, char *message, size_t capacity);

void cvz_h5_free(void *pointer);

/* Reads the whole HDF5 file `bytes` in a child process, as the functions
 * above would (every group, every attribute as strings, every numeric
 * dataset of at most `tensor_limit` bytes as floats), and returns 0 when
 * the child ended normally, -1 with a message when it crashed, failed or
 * ran past its time limit (30 s plus 1 s per 16 MiB; it is killed).
 * libhdf5 1.10 (Debian 12's) can crash on crafted files (found by
 * fuzzing: Tests/FuzzRegressions/keras/); a crash in the child costs only
 * the child. Files it reads but finds corrupt return 0: the reading proper
 * reports those as errors. Depth and object count are bounded, since hard
 * links can make a group contain itself.
 *
 * Crafted files can also make libhdf5 allocate without bound
 * (Fuzz/libhdf5-hangs/memory-8gb.h5 asked for 8 GB): unless
 * `memory_limit` is 0, the child may map at most `memory_limit` bytes
 * more than it inherits (RLIMIT_AS; not under AddressSanitizer) and is
 * killed once its resident size grows by more than that; running out
 * (a failed allocation, even one libhdf5 survives) is the error
 * "libhdf5 needed more than N MiB reading it". */
int cvz_h5_check_in_child(const void *bytes, size_t size, size_t tensor_limit,
                          size_t memory_limit, char *message, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif
