/*
 * The streaming PNG writer: png_encoder.c's bands, compressed as their rows
 * arrive instead of from a whole image in memory.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cvz_runtime.h"
#include "png_encoder.h"
#include "shim_common.h"

/*
 * The same bands, fed row by row: each band's rows (with the `before` rows
 * its dictionary reaches back to, and the row above those, which their
 * filter reads) collect in a band entry of their own. A full entry waits in
 * `incoming`; cvz_png_writer_begin_compress moves the waiting entries to
 * `working`, where cvz_png_writer_compress may compress them on any
 * threads at once (each touches only its entry), and
 * cvz_png_writer_end_compress appends their chunks in band order. The
 * bytes are those of cvz_png_encode_bands.
 */
typedef struct band_entry {
  png_job job; /* the writer's, with pixels = rows from job.first_row */
  uint8_t *rows;
  uint8_t *chunk;
  size_t chunk_size;
  uLong adler;
  int band;
  int status;
} band_entry;

typedef struct entry_list {
  band_entry **items;
  int count, capacity;
} entry_list;

struct cvz_png_writer {
  png_job job;
  uint32_t capacity;   /* rows an entry holds: before + 1 + rows_per_band */
  band_entry *filling; /* the entry receiving rows */
  uint32_t buffered;   /* rows in it */
  uint32_t next_row;   /* the next image row to arrive */
  int next_band;
  entry_list incoming, working;
  uLong adler;
  int compressed_bands;
  uint8_t *out;
  size_t out_size, out_capacity;
};

static int reserve_output(cvz_png_writer *writer, size_t more) {
  if (more <= writer->out_capacity - writer->out_size) return 0;
  size_t capacity = writer->out_capacity < 4096 ? 4096 : writer->out_capacity;
  while (more > capacity - writer->out_size) {
    if (capacity > SIZE_MAX / 2) return -1;
    capacity *= 2;
  }
  uint8_t *grown = realloc(writer->out, capacity);
  if (grown == NULL) return -1;
  writer->out = grown;
  writer->out_capacity = capacity;
  return 0;
}

static void free_entry(band_entry *entry) {
  if (entry == NULL) return;
  free(entry->rows);
  free(entry->chunk);
  free(entry);
}

/* A new entry whose rows start at image row `first_row`. */
static band_entry *new_entry(const cvz_png_writer *writer, uint32_t first_row) {
  band_entry *entry = calloc(1, sizeof *entry);
  if (entry == NULL) return NULL;
  entry->rows = malloc((size_t)writer->capacity * writer->job.row_bytes);
  if (entry->rows == NULL) {
    free(entry);
    return NULL;
  }
  entry->job = writer->job;
  entry->job.pixels = entry->rows;
  entry->job.first_row = first_row;
  return entry;
}

static int push_entry(entry_list *list, band_entry *entry) {
  if (list->count == list->capacity) {
    const int capacity = list->capacity < 8 ? 8 : list->capacity * 2;
    band_entry **grown = realloc(list->items, (size_t)capacity * sizeof *grown);
    if (grown == NULL) return -1;
    list->items = grown;
    list->capacity = capacity;
  }
  list->items[list->count++] = entry;
  return 0;
}

cvz_png_writer *cvz_png_writer_open(uint32_t width, uint32_t height, int channels, int bit_depth,
                                    int zlib_level, int zlib_strategy, unsigned filters,
                                    cvz_error *error) {
  cvz_clear_error(error);
  cvz_png_writer *writer = calloc(1, sizeof *writer);
  if (writer == NULL) {
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    return NULL;
  }
  if (cvz_png_setup_job(&writer->job, width, height, channels, bit_depth, zlib_level,
                        zlib_strategy, filters, error) != 0) {
    free(writer);
    return NULL;
  }
  const size_t stride = writer->job.row_bytes + 1;
  const uint32_t before = (uint32_t)((WINDOW + stride - 1) / stride);
  writer->capacity = before + 1 + writer->job.rows_per_band;
  writer->filling = new_entry(writer, 0);
  if (writer->filling == NULL || reserve_output(writer, HEADER_BYTES) != 0) {
    cvz_png_writer_close(writer);
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    return NULL;
  }
  uint8_t *cursor = writer->out;
  cvz_png_write_header(&writer->job, channels, bit_depth, &cursor);
  writer->out_size = HEADER_BYTES;
  return writer;
}

/* The filling entry holds a whole band: queue it, and start the next
   entry with the rows the next band's dictionary and filter read. */
static int queue_band(cvz_png_writer *writer) {
  band_entry *full = writer->filling;
  full->band = writer->next_band++;
  writer->filling = NULL;
  if (push_entry(&writer->incoming, full) != 0) {
    free_entry(full);
    return -1;
  }
  if (writer->next_row == writer->job.height) return 0;
  const size_t stride = writer->job.row_bytes + 1;
  uint32_t keep = (uint32_t)((WINDOW + stride - 1) / stride) + 1;
  if (keep > writer->buffered) keep = writer->buffered;
  band_entry *next = new_entry(writer, writer->next_row - keep);
  if (next == NULL) return -1;
  memcpy(next->rows, full->rows + (size_t)(writer->buffered - keep) * writer->job.row_bytes,
         (size_t)keep * writer->job.row_bytes);
  writer->filling = next;
  writer->buffered = keep;
  return 0;
}

int cvz_png_writer_write(cvz_png_writer *writer, const void *pixels, size_t row_stride,
                         uint32_t count, cvz_error *error) {
  cvz_clear_error(error);
  png_job *job = &writer->job;
  if (count > job->height - writer->next_row) {
    cvz_set_error(error, CVZ_ERROR_ENCODE, "rows written past the end of the image");
    return -1;
  }
  for (uint32_t y = 0; y < count; y++) {
    memcpy(writer->filling->rows + (size_t)writer->buffered * job->row_bytes,
           (const uint8_t *)pixels + (size_t)y * row_stride, job->row_bytes);
    writer->buffered++;
    writer->next_row++;
    uint32_t first, end;
    cvz_png_band_rows(job, writer->next_band, &first, &end);
    if (writer->next_row == end && queue_band(writer) != 0) {
      cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
      return -1;
    }
  }
  return 0;
}

int cvz_png_writer_begin_compress(cvz_png_writer *writer) {
  entry_list swap = writer->working;
  writer->working = writer->incoming;
  writer->incoming = swap;
  writer->incoming.count = 0;
  return writer->working.count;
}

void cvz_png_writer_compress(cvz_png_writer *writer, int index) {
  band_entry *entry = writer->working.items[index];
  const size_t room = cvz_png_chunk_capacity(&entry->job, entry->band);
  entry->chunk = malloc(room);
  entry->status = entry->chunk == NULL ? -1
                  : cvz_png_compress_band(&entry->job, entry->band, entry->chunk, room,
                                          &entry->chunk_size, &entry->adler);
  /* The rows are done with; only the chunk waits for its turn. */
  free(entry->rows);
  entry->rows = NULL;
}

int cvz_png_writer_end_compress(cvz_png_writer *writer, cvz_error *error) {
  cvz_clear_error(error);
  int status = 0;
  for (int i = 0; i < writer->working.count; i++) {
    band_entry *entry = writer->working.items[i];
    if (status == 0 && (entry->status != 0 || reserve_output(writer, entry->chunk_size) != 0)) {
      cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory while compressing");
      status = -1;
    }
    if (status == 0) {
      memcpy(writer->out + writer->out_size, entry->chunk, entry->chunk_size);
      writer->out_size += entry->chunk_size;
      writer->adler = entry->band == 0 ? entry->adler
                      : adler32_combine(writer->adler, entry->adler,
                                        cvz_png_band_length(&writer->job, entry->band));
    }
    free_entry(entry);
  }
  writer->working.count = 0;
  return status;
}

int cvz_png_writer_finish(cvz_png_writer *writer, cvz_error *error) {
  cvz_clear_error(error);
  if (writer->next_row < writer->job.height) {
    cvz_set_error(error, CVZ_ERROR_ENCODE, "image ends before its last row");
    return -1;
  }
  const int pending = cvz_png_writer_begin_compress(writer);
  for (int i = 0; i < pending; i++) cvz_png_writer_compress(writer, i);
  if (cvz_png_writer_end_compress(writer, error) != 0) return -1;
  if (reserve_output(writer, TRAILER_BYTES) != 0) {
    cvz_set_error(error, CVZ_ERROR_NO_MEMORY, "out of memory");
    return -1;
  }
  uint8_t *cursor = writer->out + writer->out_size;
  cvz_png_write_trailer(writer->adler, &cursor);
  writer->out_size += TRAILER_BYTES;
  return 0;
}

void cvz_png_writer_output(const cvz_png_writer *writer, const uint8_t **bytes, size_t *size) {
  *bytes = writer->out;
  *size = writer->out_size;
}

void cvz_png_writer_consume(cvz_png_writer *writer) { writer->out_size = 0; }

void cvz_png_writer_close(cvz_png_writer *writer) {
  if (writer == NULL) return;
  free_entry(writer->filling);
  for (int i = 0; i < writer->incoming.count; i++) free_entry(writer->incoming.items[i]);
  for (int i = 0; i < writer->working.count; i++) free_entry(writer->working.items[i]);
  free(writer->incoming.items);
  free(writer->working.items);
  free(writer->out);
  free(writer);
}
