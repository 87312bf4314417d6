// The child process's reading of an HDF5 file (hdf5_reader.c), which
// cvz_h5_read_in_child (hdf5_child.c) starts.
#ifndef CVZ_HDF5_READER_H
#define CVZ_HDF5_READER_H

#include <stddef.h>

// How the child ends when it could not finish (0 when it did).
enum { OUT_OF_MEMORY_STATUS = 3, SUMMARY_TOO_LARGE_STATUS = 4, WRITE_FAILED_STATUS = 5 };

// Reads the HDF5 file `bytes` and writes its summary (the format is
// described in hdf5_reader.c), at most `summary_limit` bytes, to `fd`;
// then ends the process.
_Noreturn void cvz_h5_read_file(const void *bytes, size_t size, size_t tensor_limit, int fd,
                                size_t summary_limit);

#endif
