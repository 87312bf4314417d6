/* Helpers shared by the PNG and JPEG shims; not part of the public header. */
#ifndef CVZ_SHIM_COMMON_H
#define CVZ_SHIM_COMMON_H

#include <isa-l/crc.h>
#include <stdint.h>
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

/* The PNG chunk CRC (CRC-32, as zlib's crc32 and gzip's), continued from
   `crc` (0 to start): ISA-L's carry-less-multiply version, many times
   faster than zlib 1.2's table-driven one, which on a 4096² image costs
   tens of milliseconds a pass. */
static inline uint32_t cvz_crc32(uint32_t crc, const void *bytes, size_t count) {
  return crc32_gzip_refl(crc, (const unsigned char *)bytes, (uint64_t)count);
}

#endif
