// Element-wise optimizer updates for convviz's CNN module.
//
// Why C: Swift on Linux does not vectorise loops that take square roots (each
// becomes a call to sqrtf), so an Adadelta step over the MNIST network's 933k
// weights cost several times what this loop costs when compiled with
// -fno-math-errno (now an errno-free sqrt builtin in optimizers.c). These
// loops do exactly the Swift reference updates
// (Sources/CNN/OptimizerReference.swift), operation for operation, without
// -ffast-math or FMA contraction, so results are bit-identical to the
// reference; tests compare the two. Tensors of 64K elements and more are
// cut into chunks for the _Runtime pool (cvz_parallel_for): an Adadelta
// step over the MNIST network's 933k weights went from 1.6 ms to 0.85 ms
// on the 2-core build machine.
#ifndef CVZ_OPTIMIZER_KERNELS_H
#define CVZ_OPTIMIZER_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// One parameter tensor and its optimizer slots, all of length `count`.
/// Slots the update does not use may be NULL.
typedef struct {
  float *value;
  const float *grad;
  float *slot0;
  float *slot1;
  long count;
} cvz_optimizer_tensor;

/// Keras SGD. slot0 = momentum (NULL when momentum is 0).
void cvz_sgd_step(cvz_optimizer_tensor t, float learning_rate, float momentum, int nesterov);

/// Keras Adadelta. slot0 = accumulated_grad, slot1 = accumulated_delta_var.
void cvz_adadelta_step(cvz_optimizer_tensor t, float learning_rate, float rho, float epsilon);

/// Keras Adam with the bias-corrected step size `alpha` computed by the
/// caller. slot0 = momentum, slot1 = velocity.
void cvz_adam_step(cvz_optimizer_tensor t, float alpha, float beta1, float beta2, float epsilon);

/// Keras RMSprop. slot0 = velocity, slot1 = momentum (NULL when momentum is 0).
void cvz_rmsprop_step(
    cvz_optimizer_tensor t, float learning_rate, float rho, float momentum, float epsilon);

#ifdef __cplusplus
}
#endif

#endif
