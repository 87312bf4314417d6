int cvz_cnn_kernels_placeholder(void);
