/*
 * cvz_codec_shims: the only code in convviz that calls libpng and libjpeg.
 *
 * Why this shim exists: both libraries report errors by longjmp() out of an
 * error callback. A longjmp that crosses a Swift frame skips Swift's cleanup
 * (reference counts, defers) and is undefined behaviour, and libjpeg's default
 * error_exit() even calls exit(). So every call into the libraries happens
 * here, in C, under a setjmp() taken by the shim function itself. Error
 * handlers copy the library's message into the caller's `cvz_error`, never
 * call back into Swift, and the shim function frees what it allocated and
 * returns -1 (or NULL). Swift sees only the plain structs and `cvz_`
 * functions below.
 *
 * Decoding is two-step so the caller can check the pixel count from the
 * header before it allocates the pixel buffer: `*_open` reads the header,
 * `*_read` decodes into the caller's buffer, `*_close` frees the decoder
 * (always call it, also after an error).
 *
 * Streaming: the decoders also read from a file descriptor
 * (`*_open_fd`, 64 KiB at a time) and hand out rows in order
 * (`*_read_rows`, then `*_finish`, which checks what follows the image
 * data); the encoders (`*_writer_*`) take rows in order and leave their
 * output in a buffer that the caller drains between calls. Each of these
 * functions takes its own setjmp, exactly like the whole-image ones, which
 * are built on them.
 */
#ifndef CVZ_CODEC_SHIMS_H
#define CVZ_CODEC_SHIMS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What kind of failure a shim function reported. */
typedef enum cvz_error_kind {
  CVZ_OK = 0,
  /* The data breaks the format; `message` has the library's words. */
  CVZ_ERROR_CORRUPT = 1,
  /* The data ends before the image is complete. */
  CVZ_ERROR_TRUNCATED = 2,
  /* Valid data this build cannot decode (e.g. 12-bit JPEG). */
  CVZ_ERROR_UNSUPPORTED = 3,
  /* malloc failed. */
  CVZ_ERROR_NO_MEMORY = 4,
  /* An encoder failed (the message says why). */
  CVZ_ERROR_ENCODE = 5,
  /*
   * The library could go on only by guessing over damaged data (libjpeg's
   * corrupt-data warnings); a lenient decoder accepts it instead.
   */
  CVZ_ERROR_CORRUPT_DATA = 6
} cvz_error_kind;

enum { CVZ_MESSAGE_CAPACITY = 200 };

/* Filled by a shim function that returns -1 or NULL. */
typedef struct cvz_error {
  cvz_error_kind kind;
  char message[CVZ_MESSAGE_CAPACITY];
} cvz_error;

/*
 * The decoded image the header promises. Samples are interleaved, top row
 * first, rows packed without padding; 16-bit samples are in host byte order.
 */
typedef struct cvz_image_info {
  uint32_t width;
  uint32_t height;
  /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  int channels;
  /* 8 or 16. */
  int bit_depth;
} cvz_image_info;

/* A buffer allocated by the shim's encoders; free with cvz_buffer_free. */
typedef struct cvz_buffer {
  uint8_t *data;
  size_t size;
} cvz_buffer;

void cvz_buffer_free(cvz_buffer *buffer);

/* MARK: PNG */

typedef struct cvz_png_decoder cvz_png_decoder;

/*
 * Reads the PNG signature and every chunk up to the image data. The result
 * describes the expanded image: palette becomes RGB (RGBA with tRNS), tRNS on
 * gray/RGB becomes alpha, gray below 8 bits is scaled to 0...255. Gamma chunks
 * are not applied: samples are returned as stored. `data` must stay valid
 * until cvz_png_close. Returns NULL on error (nothing to close then).
 */
cvz_png_decoder *cvz_png_open(const uint8_t *data, size_t size, cvz_image_info *info,
                              cvz_error *error);

/*
 * Decodes the image into `pixels` (width * height * channels samples of
 * bit_depth bits), then checks the chunks after the image data.
 * Returns 0, or -1 with `error` filled. Only one call per decoder.
 */
int cvz_png_read(cvz_png_decoder *decoder, void *pixels, size_t pixels_size, cvz_error *error);

void cvz_png_close(cvz_png_decoder *decoder);

/* cvz_png_open reading from `fd` (which must stay open until close). A file
   that ends early is CVZ_ERROR_TRUNCATED, as in memory. */
cvz_png_decoder *cvz_png_open_fd(int fd, cvz_image_info *info, cvz_error *error);

/* 1 when the image is Adam7-interlaced (its rows cannot be read in order). */
int cvz_png_interlaced(const cvz_png_decoder *decoder);

/* Decodes the next `count` rows (not interlaced) into `pixels`, one every
   `row_stride` bytes. Returns 0 or -1. */
int cvz_png_read_rows(cvz_png_decoder *decoder, void *pixels, size_t row_stride, uint32_t count,
                      cvz_error *error);

/* After the last row: reads and checks the chunks after the image data. */
int cvz_png_finish(cvz_png_decoder *decoder, cvz_error *error);

/* 1 when libpng has seen an eXIf chunk so far (after cvz_png_finish: anywhere). */
int cvz_png_has_exif(const cvz_png_decoder *decoder);

/* PNG row filter types as bits of a filter set (PNG's filter type i is bit i). */
enum {
  CVZ_PNG_FILTER_NONE = 1,
  CVZ_PNG_FILTER_SUB = 2,
  CVZ_PNG_FILTER_UP = 4,
  CVZ_PNG_FILTER_AVERAGE = 8,
  CVZ_PNG_FILTER_PAETH = 16,
  CVZ_PNG_FILTER_ALL = 31
};

/*
 * The reference PNG encoder, one stream through libpng: `pixels`
 * (interleaved, host byte order for 16-bit) with zlib `zlib_level` 0...9 and
 * `zlib_strategy` (Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE),
 * each row filtered with the filter of `filters` (CVZ_PNG_FILTER_* bits)
 * whose output has the smallest sum of absolute signed bytes. On success `out`
 * owns a new buffer.
 */
int cvz_png_encode(const void *pixels, uint32_t width, uint32_t height, int channels,
                   int bit_depth, int zlib_level, int zlib_strategy, unsigned filters,
                   cvz_buffer *out, cvz_error *error);

/* cvz_png_encode_bands' strategy for ISA-L's igzip in place of zlib, at
   `zlib_level` 0...3 (igzip's levels): several times faster than zlib's
   level 1, files a little larger. */
enum { CVZ_PNG_STRATEGY_IGZIP = -1 };

/* cvz_png_encode_bands' strategy for convviz's own deflate of literals and
   runs of the byte before (zlib's Z_RLE matches), a Huffman table a block
   (deflate_runs.c); `zlib_level` is ignored. */
enum { CVZ_PNG_STRATEGY_RUNS = -2 };

/*
 * The fast PNG encoder: the same settings as cvz_png_encode (the row's
 * filter chosen by the same measure; ties may go another way than in
 * libpng, so the bytes differ but the pixels never), compressed as bands of about 1 MiB in parallel on the _Runtime
 * pool and joined into one zlib stream (see png_encoder.c). The output
 * depends on the image and the settings only, never on the thread count.
 */
int cvz_png_encode_bands(const void *pixels, uint32_t width, uint32_t height, int channels,
                         int bit_depth, int zlib_level, int zlib_strategy, unsigned filters,
                         cvz_buffer *out, cvz_error *error);

/* The streaming form of cvz_png_encode_bands: the same bytes. Rows go in
   in order; every band whose rows are all in waits until the caller
   compresses it: begin_compress takes the waiting bands (returns their
   count), compress(i) compresses the i-th of them (one call per i, on any
   threads at once, also while rows are written), end_compress appends
   their IDAT chunks in order. finish compresses what still waits. */
typedef struct cvz_png_writer cvz_png_writer;

cvz_png_writer *cvz_png_writer_open(uint32_t width, uint32_t height, int channels, int bit_depth,
                                    int zlib_level, int zlib_strategy, unsigned filters,
                                    cvz_error *error);
/* The next `count` rows, one every `row_stride` bytes. Returns 0 or -1. */
int cvz_png_writer_write(cvz_png_writer *writer, const void *pixels, size_t row_stride,
                         uint32_t count, cvz_error *error);
int cvz_png_writer_begin_compress(cvz_png_writer *writer);
void cvz_png_writer_compress(cvz_png_writer *writer, int index);
int cvz_png_writer_end_compress(cvz_png_writer *writer, cvz_error *error);
/* After the last row: compresses what waits, appends the Adler-32 and IEND.
   Returns 0 or -1. */
int cvz_png_writer_finish(cvz_png_writer *writer, cvz_error *error);
/* The encoded bytes not yet consumed; valid until the next call. */
void cvz_png_writer_output(const cvz_png_writer *writer, const uint8_t **bytes, size_t *size);
void cvz_png_writer_consume(cvz_png_writer *writer);
void cvz_png_writer_close(cvz_png_writer *writer);

/* MARK: JPEG */

typedef struct cvz_jpeg_decoder cvz_jpeg_decoder;

/*
 * Reads the JPEG header. Gray files decode to 1 channel; YCbCr, RGB, CMYK and
 * YCCK files to 3 (RGB; CMYK is converted, Adobe-inverted or plain). Always
 * 8-bit. libjpeg only warns about damaged data and fills what is missing with
 * gray; here a "premature end of JPEG file" is always an error
 * (CVZ_ERROR_TRUNCATED), and every corrupt-data warning ("premature end of
 * data segment", "N extraneous bytes before marker", a bad Huffman code) is
 * CVZ_ERROR_CORRUPT_DATA unless `flags` has CVZ_JPEG_LENIENT; a lenient decoder
 * counts them instead (cvz_jpeg_warnings). The other flags choose libjpeg's
 * settings: chroma upsampling (fancy, libjpeg's default, or the faster box
 * "merged" kind) and the inverse DCT (accurate integer, the default; fast
 * integer; floating point).
 */
enum {
  CVZ_JPEG_LENIENT = 1,
  CVZ_JPEG_FAST_UPSAMPLING = 2,
  CVZ_JPEG_DCT_FAST = 4,
  CVZ_JPEG_DCT_FLOAT = 8,
};
cvz_jpeg_decoder *cvz_jpeg_open(const uint8_t *data, size_t size, int flags,
                                cvz_image_info *info, cvz_error *error);

/* Decodes into `pixels` (width * height * channels bytes). Returns 0 or -1. */
int cvz_jpeg_read(cvz_jpeg_decoder *decoder, uint8_t *pixels, size_t pixels_size,
                  cvz_error *error);

void cvz_jpeg_close(cvz_jpeg_decoder *decoder);

/* cvz_jpeg_open reading from `fd` (which must stay open until close). */
cvz_jpeg_decoder *cvz_jpeg_open_fd(int fd, int flags, cvz_image_info *info,
                                   cvz_error *error);

/* 1 for a progressive file (libjpeg then holds all coefficients). */
int cvz_jpeg_progressive(const cvz_jpeg_decoder *decoder);

/* Row by row: start once, read every row in order (`count` at a time, one
   every `row_stride` bytes), then finish. cvz_jpeg_read is these three. */
int cvz_jpeg_start(cvz_jpeg_decoder *decoder, cvz_error *error);
int cvz_jpeg_read_rows(cvz_jpeg_decoder *decoder, uint8_t *pixels, size_t row_stride,
                       uint32_t count, cvz_error *error);
int cvz_jpeg_finish(cvz_jpeg_decoder *decoder, cvz_error *error);

/* The corrupt-data warnings a lenient decoder accepted so far. */
typedef struct cvz_warnings {
  int count;
  /* The first warning's message. */
  char first[CVZ_MESSAGE_CAPACITY];
} cvz_warnings;

void cvz_jpeg_warnings(const cvz_jpeg_decoder *decoder, cvz_warnings *out);

/*
 * Encodes 8-bit `pixels` with `channels` 1 (gray), 3 (RGB) or 4 (RGBA, alpha
 * ignored) at `quality` 1...100, 4:2:0 subsampling for color. `flags` may
 * hold CVZ_JPEG_DCT_FAST or CVZ_JPEG_DCT_FLOAT (the forward DCT; accurate
 * integer otherwise).
 */
int cvz_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                    int quality, int flags, cvz_buffer *out, cvz_error *error);

/* The streaming encoder cvz_jpeg_encode is built on: the same settings,
   rows in order, output drained by the caller between calls. */
typedef struct cvz_jpeg_writer cvz_jpeg_writer;

cvz_jpeg_writer *cvz_jpeg_writer_open(uint32_t width, uint32_t height, int channels,
                                      int quality, int flags, cvz_error *error);
int cvz_jpeg_writer_write(cvz_jpeg_writer *writer, const uint8_t *pixels, size_t row_stride,
                          uint32_t count, cvz_error *error);
int cvz_jpeg_writer_finish(cvz_jpeg_writer *writer, cvz_error *error);
void cvz_jpeg_writer_output(const cvz_jpeg_writer *writer, const uint8_t **bytes, size_t *size);
void cvz_jpeg_writer_consume(cvz_jpeg_writer *writer);
void cvz_jpeg_writer_close(cvz_jpeg_writer *writer);

#ifdef __cplusplus
}
#endif

#endif
