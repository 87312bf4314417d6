/* The PNG encoder's own deflate (deflate_runs.c); not part of the public header. */
#ifndef CVZ_DEFLATE_RUNS_H
#define CVZ_DEFLATE_RUNS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Compresses data[0..size) as raw deflate into `out` (room `capacity`):
 * literals and runs of the byte before (distance 1), a Huffman table per
 * block of `block_bytes` input bytes (0: one block), a stored block where
 * that is smaller. `has_previous`: data[-1] is the byte before in the
 * stream (a run may continue it). The last block is final when `last`;
 * otherwise the output ends with a sync flush (an empty stored block), so
 * that another stream's blocks can follow on the next byte. Returns the
 * bytes written, 0 when `capacity` was too small or memory ran out.
 */
size_t cvz_deflate_runs(const uint8_t *data, size_t size, int has_previous, size_t block_bytes,
                        int last, uint8_t *out, size_t capacity);

/* Room that cvz_deflate_runs always fits in, for `size` input bytes in
   blocks of `block_bytes`. */
size_t cvz_deflate_runs_bound(size_t size, size_t block_bytes);

#endif
