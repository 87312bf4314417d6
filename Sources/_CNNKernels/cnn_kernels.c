int cvz_cnn_kernels_placeholder(void) { return 0; }
