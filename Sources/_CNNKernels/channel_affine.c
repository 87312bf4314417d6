// Inference batch normalisation as a per-channel affine map; the Swift
// `batchNormalizationReference` defines the result.
#include "cvz_cnn_kernels.h"

void cvz_channel_affine(const float *x, const float *scale, const float *shift, float *y,
                        int batch, int channels, long plane) {
  for (int n = 0; n < batch; n++) {
    for (int c = 0; c < channels; c++) {
      const float a = scale[c], b = shift[c];
      const float *in = x + ((long)n * channels + c) * plane;
      float *out = y + ((long)n * channels + c) * plane;
      for (long i = 0; i < plane; i++) out[i] = in[i] * a + b;
    }
  }
}

void cvz_channel_affine_blocked(const float *x, const float *scale, const float *shift, float *y,
                                int batch, int channels, long plane, int block, int relu) {
  const long blocks = channels / block;
  for (long nb = 0; nb < (long)batch * blocks; nb++) {
    const float *a = scale + (nb % blocks) * block, *b = shift + (nb % blocks) * block;
    const float *in = x + nb * plane * block;
    float *out = y + nb * plane * block;
    for (long i = 0; i < plane; i++) {
      for (int l = 0; l < block; l++) {
        float v = in[i * block + l] * a[l] + b[l];
        out[i * block + l] = relu ? (v > 0 ? v : 0) : v;
      }
    }
  }
}
