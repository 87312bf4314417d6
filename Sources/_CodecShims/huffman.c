/*
 * Huffman codes for the PNG encoder's deflate (deflate_runs.c): length-
 * limited code lengths from symbol frequencies, and deflate's canonical
 * codes from the lengths.
 */
#include <stdint.h>
#include <stdlib.h>

#include "huffman.h"

typedef struct symbol_weight {
  uint32_t weight;
  uint16_t symbol;
} symbol_weight;

static int by_weight(const void *a, const void *b) {
  const symbol_weight *x = a, *y = b;
  if (x->weight != y->weight) return x->weight < y->weight ? -1 : 1;
  return x->symbol < y->symbol ? -1 : x->symbol > y->symbol;
}

/*
 * Code lengths of at most `limit` bits for `count` symbols with the given
 * frequencies (0: unused, length 0). Optimal lengths by Moffat and
 * Katajainen's in-place algorithm, then, when the longest is over the
 * limit, the counts per length pushed under it and made a complete code
 * again (the method of miniz's tdefl_optimize_huffman_table). At least two
 * symbols always get a code, so that the code is complete.
 */
void cvz_huffman_code_lengths(const uint32_t *frequencies, int count, int limit,
                              uint8_t *lengths) {
  symbol_weight sorted[HUFFMAN_MAX_SYMBOLS];
  int used = 0;
  for (int s = 0; s < count; s++) {
    lengths[s] = 0;
    if (frequencies[s] > 0) sorted[used++] = (symbol_weight){frequencies[s], (uint16_t)s};
  }
  /* One symbol or none: add symbols of weight zero until two have codes. */
  for (int s = 0; used < 2 && s < count; s++) {
    if (frequencies[s] == 0) sorted[used++] = (symbol_weight){0, (uint16_t)s};
  }
  qsort(sorted, (size_t)used, sizeof *sorted, by_weight);
  uint32_t a[HUFFMAN_MAX_SYMBOLS];
  for (int i = 0; i < used; i++) a[i] = sorted[i].weight;
  /* Moffat & Katajainen, "In-place calculation of minimum-redundancy
     codes" (1995): a[i] becomes the length of the i-th lightest symbol. */
  const int n = used;
  a[0] += a[1];
  int root = 0, leaf = 2;
  for (int next = 1; next < n - 1; next++) {
    if (leaf >= n || a[root] < a[leaf]) {
      a[next] = a[root];
      a[root++] = (uint32_t)next;
    } else {
      a[next] = a[leaf++];
    }
    if (leaf >= n || (root < next && a[root] < a[leaf])) {
      a[next] += a[root];
      a[root++] = (uint32_t)next;
    } else {
      a[next] += a[leaf++];
    }
  }
  a[n - 2] = 0;
  for (int next = n - 3; next >= 0; next--) a[next] = a[a[next]] + 1;
  int available = 1, taken = 0, depth = 0;
  root = n - 2;
  int next = n - 1;
  while (available > 0) {
    while (root >= 0 && (int)a[root] == depth) {
      taken++;
      root--;
    }
    while (available > taken) {
      a[next--] = (uint32_t)depth;
      available--;
    }
    available = 2 * taken;
    depth++;
    taken = 0;
  }
  /* Counts per length, the long ones folded under the limit. */
  int per_length[32] = {0};
  for (int i = 0; i < n; i++) per_length[a[i] < 31 ? a[i] : 31]++;
  for (int bits = limit + 1; bits < 32; bits++) {
    per_length[limit] += per_length[bits];
    per_length[bits] = 0;
  }
  uint32_t kraft = 0;
  for (int bits = limit; bits > 0; bits--) kraft += (uint32_t)per_length[bits] << (limit - bits);
  while (kraft > (1u << limit)) {
    per_length[limit]--;
    for (int bits = limit - 1; bits > 0; bits--) {
      if (per_length[bits] > 0) {
        per_length[bits]--;
        per_length[bits + 1] += 2;
        break;
      }
    }
    kraft--;
  }
  /* The heaviest symbols get the shortest codes. */
  int i = n;
  for (int bits = 1; bits <= limit; bits++) {
    for (int k = per_length[bits]; k > 0; k--) lengths[sorted[--i].symbol] = (uint8_t)bits;
  }
}

/* Canonical codes for `lengths` (RFC 1951 3.2.2), bit-reversed because
   deflate sends a code's first bit first into the low end of each byte. */
void cvz_huffman_canonical_codes(const uint8_t *lengths, int count, uint16_t *codes) {
  uint16_t per_length[HUFFMAN_MAX_BITS + 1] = {0}, next[HUFFMAN_MAX_BITS + 2];
  for (int s = 0; s < count; s++) per_length[lengths[s]]++;
  per_length[0] = 0;
  uint16_t code = 0;
  for (int bits = 1; bits <= HUFFMAN_MAX_BITS; bits++) {
    code = (uint16_t)((code + per_length[bits - 1]) << 1);
    next[bits] = code;
  }
  for (int s = 0; s < count; s++) {
    const int bits = lengths[s];
    if (bits == 0) {
      codes[s] = 0;
      continue;
    }
    uint16_t value = next[bits]++, reversed = 0;
    for (int b = 0; b < bits; b++) reversed = (uint16_t)(reversed << 1 | ((value >> b) & 1));
    codes[s] = reversed;
  }
}
