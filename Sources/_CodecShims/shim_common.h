/* Helpers shared by the PNG and JPEG shims; not part of the public header. */
#ifndef CVZ_SHIM_COMMON_H
#define CVZ_SHIM_COMMON_H

#include <stdio.h>
#include <string.h>

#include "cvz_codec_shims.h"

static inline void cvz_set_error(cvz_error *error, cvz_error_kind kind, const char *message) {
  if (error == NULL) return;
  error->kind = kind;
  snprintf(error->message, sizeof error->message, "%s", message);
}

static inline void cvz_clear_error(cvz_error *error) {
  if (error == NULL) return;
  error->kind = CVZ_OK;
  error->message[0] = '\0';
}

#endif
