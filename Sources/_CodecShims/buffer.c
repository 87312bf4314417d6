#include <stdlib.h>

#include "cvz_codec_shims.h"

void cvz_buffer_free(cvz_buffer *buffer) {
  if (buffer == NULL) return;
  free(buffer->data);
  buffer->data = NULL;
  buffer->size = 0;
}
