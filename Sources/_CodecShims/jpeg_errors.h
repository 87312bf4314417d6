/*
 * The error manager the JPEG decoder and encoder share (jpeg_errors.c):
 * libjpeg reports errors with longjmp, so every call into it sits behind a
 * setjmp on `jump` in this target's C, never in Swift.
 */
#ifndef CVZ_JPEG_ERRORS_H
#define CVZ_JPEG_ERRORS_H

#include <setjmp.h>
#include <stdio.h>

#include <jpeglib.h>
#include <jerror.h>

#include "shim_common.h"

/* libjpeg's error manager, extended with where to jump and what to fill. */
struct shim_error_mgr {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  cvz_error *error;
  /* Corrupt-data warnings are accepted (counted) rather than errors. */
  int lenient;
  int corrupt_warnings;
  char first_warning[JMSG_LENGTH_MAX];
};

/*
 * Replaces libjpeg's error_exit (whose default calls exit()) and its
 * message output, and makes errors fill `error`.
 */
void cvz_jpeg_install_error_mgr(struct shim_error_mgr *mgr, cvz_error *error);

#endif
