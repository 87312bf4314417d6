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
