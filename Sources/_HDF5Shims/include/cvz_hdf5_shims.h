/*
 * cvz_hdf5_shims: the only code in convviz that calls libhdf5, for the
 * Keras reader (Sources/ModelFormats/Keras).
 *
 * Why this shim exists: libhdf5's type constants (H5T_NATIVE_FLOAT,
 * H5P_FILE_ACCESS) are macros that call into the library, which Swift
 * cannot import; the library prints every error to stderr unless told not
 * to (H5Eset_auto); its error text lives on a per-library stack that must
 * be walked right after the failing call; and the serial build Debian
 * ships is not thread-safe; and Debian 12's 1.10 crashes, loops and
 * allocates without bound on crafted files. So every call happens here,
 * in a child process with its time and memory bounded and automatic
 * printing off, which reads the whole file and sends back a summary; a
 * failing call's words travel in the summary. Swift sees only `cvz_h5_*`
 * functions and the summary's bytes.
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

/* Reads the whole HDF5 file `bytes` in a child process (every group
 * reached from the root, every attribute as strings, every numeric
 * dataset of at most `tensor_limit` bytes as float32) and hands back what
 * it read: 0 with `*summary` (a read-only mapping of `*summary_size`
 * bytes, in the format described in hdf5_reader.c; free it with
 * cvz_h5_summary_free), or -1 with a one-line message when the child
 * crashed, failed, ran past its time limit (`seconds`, of waiting and of
 * processor time; it is killed) or its summary would pass `summary_limit`
 * bytes.
 *
 * convviz's own process never calls libhdf5 on a file: libhdf5 1.10
 * (Debian 12's) can crash on crafted files (found by fuzzing:
 * Tests/FuzzRegressions/keras/), and a crash in the child costs only the
 * child. Files it reads but finds corrupt return 0: the summary holds
 * libhdf5's words for each failure, which the reader reports when it
 * needs what failed. Depth and object count are bounded, each object is
 * read once however many links reach it, and links to other files are
 * never followed.
 *
 * Crafted files can also make libhdf5 allocate without bound
 * (Tests/FuzzRegressions/keras/libhdf5-memory-8gb.h5 asked for 8 GB):
 * unless `memory_limit` is 0, the child may map at most `memory_limit`
 * bytes more than it inherits (RLIMIT_AS; not under AddressSanitizer) and
 * is killed once its resident size grows by more than that; running out
 * (a failed allocation, even one libhdf5 survives) is the error
 * "libhdf5 needed more than N MiB reading it". */
int cvz_h5_read_in_child(const void *bytes, size_t size, double seconds, size_t tensor_limit,
                         size_t memory_limit, size_t summary_limit, const void **summary,
                         size_t *summary_size, char *message, size_t capacity);

void cvz_h5_summary_free(const void *summary, size_t size);

/* How many child processes cvz_h5_read_in_child has started in this
 * process, and how many files libhdf5 has opened in it (always 0 in the
 * process that calls cvz_h5_read_in_child); for tests. */
unsigned long long cvz_h5_children_started(void);
unsigned long long cvz_h5_files_opened(void);

#ifdef __cplusplus
}
#endif

#endif
