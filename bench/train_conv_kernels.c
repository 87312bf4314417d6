// Side by side, op by op: cifar-cnn's and mnist-cnn's training convolutions
// on the hand-written kernels (_CNNKernels) and on oneDNN (cvz_dnnl_train.h,
// direct and Winograd), batch 100. Prints, per layer, the milliseconds of a
// forward (with the fused ReLU) and of a backward (input and weight
// gradients; weights only for a first layer), the best of REPS runs, and
// the largest difference from the hand-written results relative to their
// scale. Built and run by bench/train_conv_kernels.sh.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cvz_dnnl_train.h"

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *random_floats(size_t n, float low, float high) {
  float *p = malloc(n * sizeof *p);
  for (size_t i = 0; i < n; i++) p[i] = low + (high - low) * (rand() / (float)RAND_MAX);
  return p;
}

static double difference(const float *a, const float *b, size_t n) {
  double largest = 0, scale = 1;
  for (size_t i = 0; i < n; i++) {
    largest = fmax(largest, fabs(a[i] - b[i]));
    scale = fmax(scale, fabs(b[i]));
  }
  return largest / scale;
}

typedef struct {
  const char *name;
  int cin, cout, size, pad, first;
} layer;

int main(int argc, char **argv) {
  const int batch = 100, reps = argc > 1 ? atoi(argv[1]) : 5;
  cvz_set_threads(argc > 2 ? atoi(argv[2]) : 2);
  const layer layers[] = {
      {"cifar conv1", 3, 32, 32, 1, 1},  {"cifar conv2", 32, 32, 32, 0, 0},
      {"cifar conv3", 32, 64, 15, 1, 0}, {"cifar conv4", 64, 64, 15, 0, 0},
      {"mnist conv1", 1, 32, 28, 0, 1},  {"mnist conv2", 32, 32, 26, 0, 0},
  };
  printf("oneDNN training kernels: %s; %d threads; ms per batch of %d, best of %d\n",
         cvz_dnnl_train_isa(), cvz_threads(), batch, reps);
  printf("%-12s %-10s %9s %9s %9s  %s\n", "layer", "path", "forward", "backward", "total",
         "max difference (y, dx, dk)");
  for (size_t l = 0; l < sizeof layers / sizeof *layers; l++) {
    const layer *L = &layers[l];
    int out = L->size + 2 * L->pad - 2;
    cvz_conv_geometry g = {batch, L->cin, L->size, L->size, L->cout, 3, 3, 1, 1,
                           L->pad, L->pad, out, out};
    size_t xs = (size_t)batch * L->cin * L->size * L->size, ys = (size_t)batch * L->cout * out * out,
           ks = 9 * (size_t)L->cin * L->cout;
    float *x = random_floats(xs, 0, 1), *k = random_floats(ks, -0.3f, 0.3f),
          *b = random_floats(L->cout, -0.1f, 0.1f), *dy = random_floats(ys, -1, 1);
    float *y[2], *dx[2], *dk[2], *db[2];
    for (int p = 0; p < 2; p++) {
      y[p] = malloc(ys * sizeof(float));
      dx[p] = malloc(xs * sizeof(float));
      dk[p] = calloc(ks, sizeof(float));
      db[p] = calloc(L->cout, sizeof(float));
    }
    size_t saved_floats = cvz_conv2d_saved_input_floats(&g);
    float *saved = saved_floats ? malloc(saved_floats * sizeof(float)) : NULL;
    // Hand-written: the reference.
    double best_f = 1e9, best_b = 1e9;
    for (int r = 0; r <= reps; r++) {
      double t0 = seconds();
      cvz_conv2d_forward(&g, x, k, b, 1, y[0], saved);
      double t1 = seconds();
      cvz_conv2d_backward(&g, x, saved, k, dy, y[0], L->first ? NULL : dx[0], dk[0], db[0]);
      double t2 = seconds();
      if (r) best_f = fmin(best_f, t1 - t0), best_b = fmin(best_b, t2 - t1);
    }
    printf("%-12s %-10s %9.2f %9.2f %9.2f\n", L->name, "hand", best_f * 1e3, best_b * 1e3,
           (best_f + best_b) * 1e3);
    for (int winograd = 0; winograd < 2; winograd++) {
      cvz_dnnl_train_conv *c = cvz_dnnl_train_conv_create(&g, 1, winograd, !L->first);
      if (!c) {
        printf("%-12s %-10s not made\n", L->name, winograd ? "winograd" : "direct");
        continue;
      }
      best_f = best_b = 1e9;
      for (int r = 0; r <= reps; r++) {
        for (size_t i = 0; i < ks; i++) dk[1][i] = 0;
        for (int i = 0; i < L->cout; i++) db[1][i] = 0;
        double t0 = seconds();
        cvz_dnnl_train_conv_forward(c, NULL, x, k, b, 0, y[1]);
        double t1 = seconds();
        // The hand-written path's ReLU mask, so that both backward the same.
        cvz_dnnl_train_conv_backward(c, NULL, x, k, NULL, dy, y[0], L->first ? NULL : dx[1], dk[1],
                                     db[1]);
        double t2 = seconds();
        if (r) best_f = fmin(best_f, t1 - t0), best_b = fmin(best_b, t2 - t1);
      }
      // The hand-written gradients were added up reps + 1 times.
      for (size_t i = 0; i < ks; i++) dk[1][i] *= reps + 1;
      printf("%-12s %-10s %9.2f %9.2f %9.2f  %.1e %.1e %.1e  (%s; %s; %s)\n", L->name,
             winograd ? "winograd" : "direct", best_f * 1e3, best_b * 1e3, (best_f + best_b) * 1e3,
             difference(y[1], y[0], ys), L->first ? 0.0 : difference(dx[1], dx[0], xs),
             difference(dk[1], dk[0], ks), cvz_dnnl_train_conv_implementation(c, 0),
             L->first ? "-" : cvz_dnnl_train_conv_implementation(c, 1),
             cvz_dnnl_train_conv_implementation(c, 2));
      cvz_dnnl_train_conv_destroy(c);
    }
  }
  return 0;
}
