int cvz_conv_kernels_placeholder(void);
