/* Huffman codes for deflate (huffman.c); not part of the public header. */
#ifndef CVZ_HUFFMAN_H
#define CVZ_HUFFMAN_H

#include <stdint.h>

/* Deflate's largest alphabet (literal/length, with its two unused codes)
   and longest code. */
enum { HUFFMAN_MAX_SYMBOLS = 288, HUFFMAN_MAX_BITS = 15 };

/* Code lengths of at most `limit` (≤ HUFFMAN_MAX_BITS) bits for `count`
   (≤ HUFFMAN_MAX_SYMBOLS) symbols with these frequencies; unused symbols
   get 0, and at least two symbols always get a code. */
void cvz_huffman_code_lengths(const uint32_t *frequencies, int count, int limit,
                              uint8_t *lengths);

/* Canonical codes for `lengths` (RFC 1951 3.2.2), bit-reversed for
   deflate's bit order. */
void cvz_huffman_canonical_codes(const uint8_t *lengths, int count, uint16_t *codes);

#endif
