/*
 * A deflate encoder for filtered PNG rows: literals and runs of the byte
 * before (matches at distance 1, what zlib's Z_RLE strategy finds), coded
 * with a Huffman table of their own per block. Filtered image rows have
 * little use for long-distance matches: most of what zlib's or igzip's
 * match finders spend their time on buys a few percent at best, and on
 * noisy rows (a photo's grain, a Laplacian's small responses) igzip's short
 * matches even cost more than literals would. Runs and a good table are
 * where the bytes are, and this finds them at several hundred MB/s a core.
 *
 * The output is standard deflate: dynamic-Huffman blocks (or stored ones
 * where those are smaller, as for noise), any inflater reads it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "deflate_runs.h"
#include "huffman.h"

enum {
  MIN_RUN = 3,
  MAX_RUN = 258,
  END_OF_BLOCK = 256,
  LITLEN_SYMBOLS = 286,
  /* Distance codes 0 (distance 1, the only one used) and 1, both given
     1 bit so that the distance code is complete: every inflater takes it. */
  DIST_SYMBOLS = 2,
  CODELEN_SYMBOLS = 19,
  MAX_BITS = 15,
  MAX_CODELEN_BITS = 7,
  STORED_MAX = 65535
};

/* Length 3...258 as symbol 257...285 and its extra bits (RFC 1951 3.2.5). */
static const uint16_t length_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,
                                         15, 17, 19, 23, 27, 31, 35, 43, 51,  59,
                                         67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t length_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                         2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};

/* length_symbol[length - 3]: the length code's index 0...28. */
static uint8_t length_symbol[MAX_RUN - MIN_RUN + 1];

static void fill_length_symbols(void) {
  for (int code = 0; code < 29; code++) {
    const int end = code == 28 ? MAX_RUN + 1 : length_base[code] + (1 << length_extra[code]);
    for (int length = length_base[code]; length < end && length <= MAX_RUN; length++) {
      length_symbol[length - MIN_RUN] = (uint8_t)code;
    }
  }
}

static const uint8_t codelen_order[CODELEN_SYMBOLS] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                                       11, 4,  12, 3, 13, 2, 14, 1, 15};

/* MARK: Bits out */

/* Deflate's bit order: the first bit in the lowest bit of each byte. The
   block writers check the room once per block (they know its size in
   bits before they start), so putting bits never checks. */
typedef struct bit_writer {
  uint8_t *out, *end;
  uint64_t bits;
  int count; /* bits held: under 32 between calls */
} bit_writer;

/* Puts the low `count` (at most 32) bits of `value`. */
static inline void put_bits(bit_writer *w, uint64_t value, int count) {
  w->bits |= value << w->count;
  w->count += count;
  if (w->count >= 32) {
    const uint32_t low = (uint32_t)w->bits;
    memcpy(w->out, &low, 4); /* little-endian hosts only: cvz_deflate_runs checks */
    w->out += 4;
    w->bits >>= 32;
    w->count -= 32;
  }
}

/* Pads to a byte boundary and writes out what is held. */
static void flush_bits(bit_writer *w) {
  while (w->count > 0) {
    *w->out++ = (uint8_t)w->bits;
    w->bits >>= 8;
    w->count = w->count > 8 ? w->count - 8 : 0;
  }
  w->bits = 0;
}

/* MARK: Runs */

/* A run of `length` (3...258) copies of the byte before it, from `start`. */
typedef struct run {
  uint32_t start;
  uint16_t length;
} run;

/* The length of the run at data[i] (which continues data[i - 1]), at most
   `most` bytes. */
static size_t run_length(const uint8_t *data, size_t i, size_t most) {
  const uint8_t before = data[i - 1];
  const uint64_t pattern = 0x0101010101010101ull * before;
  size_t length = 0;
  while (length + 8 <= most) {
    uint64_t word;
    memcpy(&word, data + i + length, 8);
    const uint64_t differ = word ^ pattern;
    if (differ != 0) return length + (size_t)__builtin_ctzll(differ) / 8;
    length += 8;
  }
  while (length < most && data[i + length] == before) length++;
  return length;
}

/* Bit k set when a run of at least MIN_RUN starts at data[i + k], for k in
   0...15 (data[i - 1 ... i + 17] readable). */
static inline uint32_t run_starts(const uint8_t *data, size_t i) {
#if defined(__SSE2__)
  const __m128i before = _mm_loadu_si128((const __m128i *)(data + i - 1));
  const __m128i at = _mm_loadu_si128((const __m128i *)(data + i));
  const __m128i next = _mm_loadu_si128((const __m128i *)(data + i + 1));
  const __m128i after = _mm_loadu_si128((const __m128i *)(data + i + 2));
  const __m128i same = _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(at, before),
                                                   _mm_cmpeq_epi8(next, at)),
                                     _mm_cmpeq_epi8(after, next));
  return (uint32_t)_mm_movemask_epi8(same);
#else
  uint32_t mask = 0;
  for (int k = 0; k < 16; k++) {
    const uint8_t *p = data + i + k;
    if (p[0] == p[-1] && p[1] == p[-1] && p[2] == p[-1]) mask |= 1u << k;
  }
  return mask;
#endif
}

/*
 * The runs of data[0..size), as zlib's deflate_rle takes them: at each
 * position, the bytes equal to the one before, when at least MIN_RUN (the
 * first byte of the stream has no byte before). Counts the run lengths'
 * symbols into `counts` and returns how many runs.
 */
static size_t find_runs(const uint8_t *data, size_t size, int has_previous, run *runs,
                        uint32_t *counts) {
  size_t i = has_previous ? 0 : 1, found = 0;
  while (i < size) {
    size_t start = SIZE_MAX;
    while (i + 18 <= size) {
      const uint32_t starts = run_starts(data, i);
      if (starts != 0) {
        start = i + (size_t)__builtin_ctz(starts);
        break;
      }
      i += 16;
    }
    if (start == SIZE_MAX) {
      /* The last few bytes, one at a time. */
      for (; i + MIN_RUN <= size; i++) {
        if (data[i] == data[i - 1] && data[i + 1] == data[i - 1] && data[i + 2] == data[i - 1]) {
          start = i;
          break;
        }
      }
      if (start == SIZE_MAX) break;
    }
    const size_t most = size - start < MAX_RUN ? size - start : MAX_RUN;
    const size_t length = run_length(data, start, most);
    runs[found++] = (run){(uint32_t)start, (uint16_t)length};
    counts[257 + length_symbol[length - MIN_RUN]]++;
    i = start + length;
  }
  return found;
}

/* Adds the bytes data[0..size) to the literal counts; four tables, so that
   repeated bytes do not wait on each other's increments. */
static void count_literals(const uint8_t *data, size_t size, uint32_t tables[4][256]) {
  size_t i = 0;
  for (; i + 4 <= size; i += 4) {
    tables[0][data[i]]++;
    tables[1][data[i + 1]]++;
    tables[2][data[i + 2]]++;
    tables[3][data[i + 3]]++;
  }
  for (; i < size; i++) tables[0][data[i]]++;
}

typedef struct block_codes {
  uint8_t litlen_lengths[LITLEN_SYMBOLS], dist_lengths[DIST_SYMBOLS];
  uint16_t litlen_codes[LITLEN_SYMBOLS], dist_codes[DIST_SYMBOLS];
  /* The code lengths as sent: code-length symbols, their extra bits. */
  uint8_t header_symbols[LITLEN_SYMBOLS + DIST_SYMBOLS];
  uint8_t header_extra[LITLEN_SYMBOLS + DIST_SYMBOLS];
  int header_count;
  uint8_t codelen_lengths[CODELEN_SYMBOLS];
  uint16_t codelen_codes[CODELEN_SYMBOLS];
  int hlit, hclen;
  int fixed; /* the fixed codes: no table sent */
  uint64_t bits; /* the whole block, header included */
} block_codes;

/* The run-length form of the code lengths (symbols 16, 17, 18). */
static void encode_lengths(block_codes *c, const uint8_t *all, int count) {
  c->header_count = 0;
  for (int i = 0; i < count;) {
    const uint8_t value = all[i];
    int run = 1;
    while (i + run < count && all[i + run] == value) run++;
    int left = run;
    if (value == 0) {
      while (left >= 11) {
        const int take = left < 138 ? left : 138;
        c->header_symbols[c->header_count] = 18;
        c->header_extra[c->header_count++] = (uint8_t)(take - 11);
        left -= take;
      }
      if (left >= 3) {
        c->header_symbols[c->header_count] = 17;
        c->header_extra[c->header_count++] = (uint8_t)(left - 3);
        left = 0;
      }
    } else {
      c->header_symbols[c->header_count] = value;
      c->header_extra[c->header_count++] = 0;
      left--;
      while (left >= 3) {
        const int take = left < 6 ? left : 6;
        c->header_symbols[c->header_count] = 16;
        c->header_extra[c->header_count++] = (uint8_t)(take - 3);
        left -= take;
      }
    }
    while (left-- > 0) {
      c->header_symbols[c->header_count] = value;
      c->header_extra[c->header_count++] = 0;
    }
    i += run;
  }
}

/* The block's codes from its symbol counts, and its size in bits. */
static void build_codes(block_codes *c, const uint32_t *litlen_counts, uint32_t runs) {
  c->fixed = 0;
  cvz_huffman_code_lengths(litlen_counts, LITLEN_SYMBOLS, MAX_BITS, c->litlen_lengths);
  c->dist_lengths[0] = c->dist_lengths[1] = 1;
  cvz_huffman_canonical_codes(c->litlen_lengths, LITLEN_SYMBOLS, c->litlen_codes);
  cvz_huffman_canonical_codes(c->dist_lengths, DIST_SYMBOLS, c->dist_codes);
  c->hlit = LITLEN_SYMBOLS;
  while (c->hlit > 257 && c->litlen_lengths[c->hlit - 1] == 0) c->hlit--;
  uint8_t all[LITLEN_SYMBOLS + DIST_SYMBOLS];
  memcpy(all, c->litlen_lengths, (size_t)c->hlit);
  memcpy(all + c->hlit, c->dist_lengths, DIST_SYMBOLS);
  encode_lengths(c, all, c->hlit + DIST_SYMBOLS);
  uint32_t codelen_counts[CODELEN_SYMBOLS] = {0};
  for (int i = 0; i < c->header_count; i++) codelen_counts[c->header_symbols[i]]++;
  cvz_huffman_code_lengths(codelen_counts, CODELEN_SYMBOLS, MAX_CODELEN_BITS, c->codelen_lengths);
  cvz_huffman_canonical_codes(c->codelen_lengths, CODELEN_SYMBOLS, c->codelen_codes);
  c->hclen = CODELEN_SYMBOLS;
  while (c->hclen > 4 && c->codelen_lengths[codelen_order[c->hclen - 1]] == 0) c->hclen--;
  static const uint8_t codelen_extra[CODELEN_SYMBOLS] = {[16] = 2, [17] = 3, [18] = 7};
  uint64_t bits = 3 + 5 + 5 + 4 + 3 * (uint64_t)c->hclen;
  for (int i = 0; i < c->header_count; i++) {
    const int s = c->header_symbols[i];
    bits += c->codelen_lengths[s] + codelen_extra[s];
  }
  for (int s = 0; s < LITLEN_SYMBOLS; s++) {
    uint64_t per_symbol = c->litlen_lengths[s];
    if (s > END_OF_BLOCK) per_symbol += length_extra[s - 257];
    bits += per_symbol * litlen_counts[s];
  }
  bits += (uint64_t)runs * c->dist_lengths[0];
  c->bits = bits;
}

/* Literals data[0..size): two codes (at most 30 bits) a put. */
static inline void put_literals(bit_writer *w, const block_codes *c, const uint8_t *data,
                                size_t size) {
  size_t i = 0;
  for (; i + 2 <= size; i += 2) {
    const uint8_t a = data[i], b = data[i + 1];
    put_bits(w, c->litlen_codes[a] | (uint64_t)c->litlen_codes[b] << c->litlen_lengths[a],
             c->litlen_lengths[a] + c->litlen_lengths[b]);
  }
  if (i < size) put_bits(w, c->litlen_codes[data[i]], c->litlen_lengths[data[i]]);
}

/* The fixed codes (RFC 1951 3.2.6) and the block's size in bits with
   them: cheaper than a table of its own for a few hundred bytes. */
static void fixed_codes(block_codes *c, const uint32_t *litlen_counts, uint32_t runs) {
  /* The fixed code has 288 symbols; 286 and 287 are never sent but take
     their place among the 8-bit codes, so the 9-bit ones come after them. */
  uint8_t lengths[288];
  uint16_t codes[288];
  for (int s = 0; s < 288; s++) lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
  cvz_huffman_canonical_codes(lengths, 288, codes);
  memcpy(c->litlen_lengths, lengths, sizeof c->litlen_lengths);
  memcpy(c->litlen_codes, codes, sizeof c->litlen_codes);
  /* Distance code 0 in the fixed 5-bit code is 00000. */
  c->dist_lengths[0] = c->dist_lengths[1] = 5;
  c->dist_codes[0] = 0;
  c->dist_codes[1] = 0x10; /* 00001, reversed */
  c->fixed = 1;
  uint64_t bits = 3;
  for (int s = 0; s < LITLEN_SYMBOLS; s++) {
    uint64_t per_symbol = c->litlen_lengths[s];
    if (s > END_OF_BLOCK) per_symbol += length_extra[s - 257];
    bits += per_symbol * litlen_counts[s];
  }
  c->bits = bits + 5 * (uint64_t)runs;
}

static void write_block(bit_writer *w, const block_codes *c, const uint8_t *data, size_t size,
                        const run *runs, size_t run_count, int final) {
  put_bits(w, (uint32_t)final | (c->fixed ? 1u : 2u) << 1, 3);
  if (!c->fixed) {
    put_bits(w, (uint32_t)(c->hlit - 257), 5);
    put_bits(w, DIST_SYMBOLS - 1, 5);
    put_bits(w, (uint32_t)(c->hclen - 4), 4);
    for (int i = 0; i < c->hclen; i++) put_bits(w, c->codelen_lengths[codelen_order[i]], 3);
    static const uint8_t codelen_extra[CODELEN_SYMBOLS] = {[16] = 2, [17] = 3, [18] = 7};
    for (int i = 0; i < c->header_count; i++) {
      const int s = c->header_symbols[i];
      put_bits(w, c->codelen_codes[s], c->codelen_lengths[s]);
      if (codelen_extra[s]) put_bits(w, c->header_extra[i], codelen_extra[s]);
    }
  }
  const uint32_t distance_code = c->dist_codes[0];
  const int distance_bits = c->dist_lengths[0];
  size_t position = 0;
  for (size_t r = 0; r < run_count; r++) {
    put_literals(w, c, data + position, runs[r].start - position);
    const int length = runs[r].length, code = length_symbol[length - MIN_RUN];
    const int symbol = 257 + code;
    /* A code of at most 15 bits, at most 5 extra bits, the distance's
       bit: 21 bits, one put. */
    const uint32_t value = c->litlen_codes[symbol] |
                           (uint32_t)(length - length_base[code]) << c->litlen_lengths[symbol];
    const int bits = c->litlen_lengths[symbol] + length_extra[code];
    put_bits(w, value | distance_code << bits, bits + distance_bits);
    position = runs[r].start + (size_t)length;
  }
  put_literals(w, c, data + position, size - position);
  put_bits(w, c->litlen_codes[END_OF_BLOCK], c->litlen_lengths[END_OF_BLOCK]);
}

/* Stored blocks of data[0..size) (room checked by the caller), the last
   final when `final`. */
static void write_stored(bit_writer *w, const uint8_t *data, size_t size, int final) {
  do {
    const size_t take = size < STORED_MAX ? size : STORED_MAX;
    size -= take;
    put_bits(w, (uint32_t)(final && size == 0), 3);
    flush_bits(w);
    w->out[0] = (uint8_t)take;
    w->out[1] = (uint8_t)(take >> 8);
    w->out[2] = (uint8_t)~take;
    w->out[3] = (uint8_t)(~take >> 8);
    memcpy(w->out + 4, data, take);
    w->out += 4 + take;
    data += take;
  } while (size > 0);
}

/* Bits of stored blocks for `size` bytes: each block's header rounded up
   to a byte (at most 8 bits), its 4 length bytes and its data. */
static uint64_t stored_bits(size_t size) {
  const uint64_t blocks = size == 0 ? 1 : (size + STORED_MAX - 1) / STORED_MAX;
  return 8 * ((uint64_t)size + 5 * blocks);
}

size_t cvz_deflate_runs_bound(size_t size, size_t block_bytes) {
  /* Stored blocks are the most any block costs (stored_bits: 5 bytes
     each), then the sync flush's empty block and the slack the room check
     asks for. */
  const size_t most = block_bytes > 0 && block_bytes < STORED_MAX ? block_bytes : STORED_MAX;
  return size + 5 * (size / most + 2) + 5 + 16;
}

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

size_t cvz_deflate_runs(const uint8_t *data, size_t size, int has_previous, size_t block_bytes,
                        int last, uint8_t *out, size_t capacity) {
  static const uint16_t endian_probe = 1;
  if (*(const uint8_t *)&endian_probe != 1) return 0; /* put_bits stores little-endian */
  pthread_once(&tables_once, fill_length_symbols);
  if (block_bytes == 0 || block_bytes > size) block_bytes = size > 0 ? size : 1;
  run *runs = malloc((block_bytes / MIN_RUN + 1) * sizeof *runs);
  block_codes *codes = malloc(2 * sizeof *codes);
  if (runs == NULL || codes == NULL) {
    free(runs);
    free(codes);
    return 0;
  }
  bit_writer w = {out, out + capacity, 0, 0};
  size_t offset = 0;
  int fits = 1;
  do {
    const size_t take = size - offset < block_bytes ? size - offset : block_bytes;
    const int final = last && offset + take == size;
    const uint8_t *block = data + offset;
    uint32_t counts[LITLEN_SYMBOLS] = {0};
    const size_t run_count = find_runs(block, take, has_previous || offset > 0, runs, counts);
    uint32_t literals[4][256] = {{0}};
    size_t position = 0;
    for (size_t r = 0; r < run_count; r++) {
      count_literals(block + position, runs[r].start - position, literals);
      position = runs[r].start + runs[r].length;
    }
    count_literals(block + position, take - position, literals);
    for (int v = 0; v < 256; v++) {
      counts[v] = literals[0][v] + literals[1][v] + literals[2][v] + literals[3][v];
    }
    counts[END_OF_BLOCK] = 1;
    build_codes(&codes[0], counts, (uint32_t)run_count);
    fixed_codes(&codes[1], counts, (uint32_t)run_count);
    const block_codes *coded = codes[1].bits < codes[0].bits ? &codes[1] : &codes[0];
    const int stored = stored_bits(take) <= coded->bits;
    /* The block, what the bit writer holds, and its last 4-byte store. */
    const uint64_t bits = stored ? stored_bits(take) : coded->bits;
    if ((uint64_t)(w.end - w.out) < bits / 8 + 16) {
      fits = 0;
      break;
    }
    if (stored) {
      write_stored(&w, block, take, final);
    } else {
      write_block(&w, coded, block, take, runs, run_count, final);
    }
    offset += take;
  } while (offset < size);
  if (fits) {
    if (!last) {
      /* The sync flush: an empty stored block puts the next band on a byte. */
      put_bits(&w, 0, 3);
      flush_bits(&w);
      if (w.end - w.out >= 4) {
        memcpy(w.out, "\x00\x00\xff\xff", 4);
        w.out += 4;
      } else {
        fits = 0;
      }
    } else {
      flush_bits(&w);
    }
  }
  free(runs);
  free(codes);
  return fits ? (size_t)(w.out - out) : 0;
}
