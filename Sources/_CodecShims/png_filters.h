/* The PNG encoder's row filters (png_filters.c); not part of the public header. */
#ifndef CVZ_PNG_FILTERS_H
#define CVZ_PNG_FILTERS_H

#include <stddef.h>
#include <stdint.h>

enum { FILTER_NONE = 0, FILTER_SUB = 1, FILTER_UP = 2, FILTER_AVERAGE = 3, FILTER_PAETH = 4 };

/* Filters one row of `length` bytes with filter `type` (`previous` NULL for
   the top row) into `out`; `bpp` bytes a pixel. */
void cvz_png_filter_row(int type, const uint8_t *row, const uint8_t *previous, size_t length,
                        size_t bpp, uint8_t *out);

/* libpng's heuristic: the sum of the filtered bytes taken as signed. */
unsigned long cvz_png_row_cost(const uint8_t *bytes, size_t length);

/* Fills the table cvz_png_choose_by_entropy uses; call once before it (any
   number of times, from any thread). */
void cvz_png_entropy_prepare(void);

/* The filter of `filters` (bit i: type i) whose row a Huffman code would
   store in the fewest bits, estimated from sampled bytes; `above` is the row
   above, zeros for the top row. */
int cvz_png_choose_by_entropy(unsigned filters, const uint8_t *row, const uint8_t *above,
                              size_t length, size_t bpp);

#endif
