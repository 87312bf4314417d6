#include "cvz_optimizer_kernels.h"

#include <cvz_runtime.h>

#include <math.h>
#include <stddef.h>

// Keep a*b+c as two roundings on every target so results match the Swift
// reference bit for bit.
#pragma STDC FP_CONTRACT OFF

// sqrt without errno (what -fno-math-errno gave): a plain sqrtf call may set
// errno, which keeps these loops from vectorising. Same correctly rounded
// result.
#if __has_builtin(__builtin_elementwise_sqrt)
#define SQRT(x) __builtin_elementwise_sqrt(x)
#else
#define SQRT(x) sqrtf(x)
#endif

typedef enum { SGD, ADADELTA, ADAM, RMSPROP } kind;

typedef struct {
  kind kind;
  cvz_optimizer_tensor t;
  float p0, p1, p2, p3;
} update;

static void sgd(const update *u, long begin, long end) {
  float *restrict w = u->t.value;
  const float *restrict g = u->t.grad;
  float *restrict m = u->t.slot0;
  const float lr = u->p0, mu = u->p1;
  if (m == NULL) {
    for (long i = begin; i < end; i++) w[i] -= g[i] * lr;
  } else if (u->p2 != 0) {
    for (long i = begin; i < end; i++) {
      m[i] = m[i] * mu - g[i] * lr;
      w[i] += m[i] * mu - g[i] * lr;
    }
  } else {
    for (long i = begin; i < end; i++) {
      m[i] = m[i] * mu - g[i] * lr;
      w[i] += m[i];
    }
  }
}

static void adadelta(const update *u, long begin, long end) {
  float *restrict w = u->t.value;
  const float *restrict g = u->t.grad;
  float *restrict a = u->t.slot0;
  float *restrict d = u->t.slot1;
  const float lr = u->p0, rho = u->p1, eps = u->p2;
  for (long i = begin; i < end; i++) {
    a[i] = rho * a[i] + (1 - rho) * (g[i] * g[i]);
    float delta = -(SQRT(d[i] + eps) * g[i]) / SQRT(a[i] + eps);
    d[i] = rho * d[i] + (1 - rho) * (delta * delta);
    w[i] += lr * delta;
  }
}

static void adam(const update *u, long begin, long end) {
  float *restrict w = u->t.value;
  const float *restrict g = u->t.grad;
  float *restrict m = u->t.slot0;
  float *restrict v = u->t.slot1;
  const float alpha = u->p0, one_minus_beta1 = 1 - u->p1, one_minus_beta2 = 1 - u->p2;
  const float eps = u->p3;
  for (long i = begin; i < end; i++) {
    m[i] += (g[i] - m[i]) * one_minus_beta1;
    v[i] += (g[i] * g[i] - v[i]) * one_minus_beta2;
    w[i] -= (m[i] * alpha) / (SQRT(v[i]) + eps);
  }
}

static void rmsprop(const update *u, long begin, long end) {
  float *restrict w = u->t.value;
  const float *restrict g = u->t.grad;
  float *restrict v = u->t.slot0;
  float *restrict m = u->t.slot1;
  const float lr = u->p0, rho = u->p1, mu = u->p2, eps = u->p3;
  if (m == NULL) {
    for (long i = begin; i < end; i++) {
      v[i] = rho * v[i] + (1 - rho) * (g[i] * g[i]);
      w[i] -= (lr * g[i]) / SQRT(v[i] + eps);
    }
  } else {
    for (long i = begin; i < end; i++) {
      v[i] = rho * v[i] + (1 - rho) * (g[i] * g[i]);
      m[i] = mu * m[i] + (lr * g[i]) / SQRT(v[i] + eps);
      w[i] -= m[i];
    }
  }
}

static void run_range(const update *u, long begin, long end) {
  switch (u->kind) {
  case SGD: sgd(u, begin, end); break;
  case ADADELTA: adadelta(u, begin, end); break;
  case ADAM: adam(u, begin, end); break;
  case RMSPROP: rmsprop(u, begin, end); break;
  }
}

static int run_chunk(void *context, int chunk) {
  const update *u = context;
  long begin, end;
  cvz_chunk_range(u->t.count, CVZ_CHUNKS, chunk, &begin, &end);
  run_range(u, begin, end);
  return CVZ_STATUS_OK;
}

// Element-wise, so the chunks give the same bits as one pass.
static void run(update u) {
  if (u.t.count < (1 << 16)) {
    run_range(&u, 0, u.t.count);
  } else {
    cvz_parallel_for(CVZ_CHUNKS, run_chunk, &u);
  }
}

void cvz_sgd_step(cvz_optimizer_tensor t, float learning_rate, float momentum, int nesterov) {
  run((update){SGD, t, learning_rate, momentum, nesterov ? 1.0f : 0.0f, 0});
}

void cvz_adadelta_step(cvz_optimizer_tensor t, float learning_rate, float rho, float epsilon) {
  run((update){ADADELTA, t, learning_rate, rho, epsilon, 0});
}

void cvz_adam_step(cvz_optimizer_tensor t, float alpha, float beta1, float beta2, float epsilon) {
  run((update){ADAM, t, alpha, beta1, beta2, epsilon});
}

void cvz_rmsprop_step(
    cvz_optimizer_tensor t, float learning_rate, float rho, float momentum, float epsilon) {
  run((update){RMSPROP, t, learning_rate, rho, momentum, epsilon});
}
