// Dropout masks from xoshiro256** draws, on every core with the bits of one
// sequential pass.
//
// The mask takes one draw per element from the layer's generator, in
// storage order (SeededGenerator.nextUnitFloat(), so the Swift reference and
// a checkpoint's generator state agree). Drawn one after the other that is
// ~1 ns an element on one core while the others wait: ~1 ms of a CIFAR-10
// step of 46. But the generator's step is linear over GF(2) (xors, shifts
// and a rotation of its 256 state bits; only the output is scrambled), so
// the state n draws ahead is Mⁿ·s for the 256×256 bit matrix M of one step. With M^(2^j) kept (its columns, 8 KB a level),
// any jump is at most one matrix-vector product per set bit of n. Each
// chunk jumps to its first element (chunks begin at multiples of 2^B, so
// few bits are set) and draws from there, so every element gets the draw
// the sequential pass would have given it.
#include <pthread.h>
#include <stdint.h>

#include "cvz_cnn_kernels.h"

static inline uint64_t rotate_left(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/// One xoshiro256** step of s (its linear part; the output is separate).
static inline void step(uint64_t s[4]) {
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotate_left(s[3], 45);
}

/// The uniform in [0, 1) of the draw from state s: xoshiro256**'s output,
/// its top 24 bits, as nextUnitFloat().
static inline float uniform(const uint64_t s[4]) {
  return (float)((rotate_left(s[1] * 5, 7) * 9) >> 40) * (1.0f / 16777216.0f);
}

// MARK: Jumps

enum { LEVELS = 48 };  // jumps of up to 2^48 − 1 draws

typedef uint64_t columns[256][4];
/// Level j: column k is M^(2^j) applied to the state with only bit k set.
static columns *levels;
static int levels_ready;
static pthread_mutex_t levels_lock = PTHREAD_MUTEX_INITIALIZER;

/// out = the matrix with columns c applied to the state v (out may be v).
static void apply(const columns c, const uint64_t v[4], uint64_t out[4]) {
  uint64_t r[4] = {0, 0, 0, 0};
  for (int k = 0; k < 256; k++) {
    const uint64_t take = 0 - ((v[k >> 6] >> (k & 63)) & 1);
    for (int w = 0; w < 4; w++) r[w] ^= c[k][w] & take;
  }
  for (int w = 0; w < 4; w++) out[w] = r[w];
}

/// Makes levels 0 ..< needed; 0 without memory. Levels, once made, never
/// change, so chunks read them without the lock.
static int make_levels(int needed) {
  pthread_mutex_lock(&levels_lock);
  if (!levels) levels = cvz_alloc(sizeof(columns) * LEVELS);
  for (int j = levels_ready; levels && j < needed; j++)
    for (int k = 0; k < 256; k++) {
      if (j == 0) {
        uint64_t e[4] = {0, 0, 0, 0};
        e[k >> 6] = 1ull << (k & 63);
        step(e);
        for (int w = 0; w < 4; w++) levels[0][k][w] = e[w];
      } else {
        apply(levels[j - 1], levels[j - 1][k], levels[j][k]);
      }
    }
  if (levels && levels_ready < needed) levels_ready = needed;
  const int ok = levels != NULL;
  pthread_mutex_unlock(&levels_lock);
  return ok;
}

/// s advanced by n draws (levels up to n's highest bit made).
static void jump(uint64_t s[4], uint64_t n) {
  for (int j = 0; n; j++, n >>= 1)
    if (n & 1) apply(levels[j], s, s);
}

static int bits_for(uint64_t n) { return n ? 64 - __builtin_clzll(n) : 0; }

// MARK: Masks

typedef struct {
  uint64_t state[4];
  float keep, scale;
  const float *input;
  float *mask, *output;
  long count;
  int block_bits, blocks;
} dropout_job;

/// Elements begin..<end from state s (at element begin), one after another.
static void run_sequentially(const dropout_job *j, uint64_t s[4], long begin, long end) {
  // Locals and restrict: the stores must not be thought to reach j or s.
  const float *restrict x = j->input;
  float *restrict y = j->output, *restrict m = j->mask;
  const float keep = j->keep, scale = j->scale;
  uint64_t t[4] = {s[0], s[1], s[2], s[3]};
  for (long i = begin; i < end; i++) {
    m[i] = uniform(t) < keep ? scale : 0.0f;
    y[i] = x[i] * m[i];
    step(t);
  }
  for (int w = 0; w < 4; w++) s[w] = t[w];
}

static int dropout_chunk(void *context, int chunk) {
  const dropout_job *j = context;
  long first, last;
  cvz_chunk_range(j->blocks, CVZ_CHUNKS, chunk, &first, &last);
  const long begin = first << j->block_bits;
  const long end = last << j->block_bits < j->count ? last << j->block_bits : j->count;
  if (begin >= end) return CVZ_STATUS_OK;
  uint64_t s[4] = {j->state[0], j->state[1], j->state[2], j->state[3]};
  jump(s, (uint64_t)begin);
  run_sequentially(j, s, begin, end);
  return CVZ_STATUS_OK;
}

void cvz_dropout_forward(uint64_t state[4], float keep, float scale, const float *input,
                         float *mask, float *output, long count) {
  dropout_job j = {{state[0], state[1], state[2], state[3]}, keep, scale, input, mask, output,
                   count};
  // Chunks of whole blocks of 2^B elements, B ≥ 12, 32 to 64 blocks in a
  // large batch.
  j.block_bits = bits_for((uint64_t)count / 64);
  if (j.block_bits < 12) j.block_bits = 12;
  j.blocks = (int)((count + (1l << j.block_bits) - 1) >> j.block_bits);
  if (count < (1l << 16) || (uint64_t)count >> LEVELS ||
      !make_levels(bits_for((uint64_t)count))) {
    // Small (or, without memory for the jumps, any) batch: one pass.
    run_sequentially(&j, state, 0, count);
    return;
  }
  cvz_parallel_for(CVZ_CHUNKS, dropout_chunk, &j);
  jump(state, (uint64_t)count);
}
