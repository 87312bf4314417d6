int cvz_codec_shims_placeholder(void) { return 0; }
