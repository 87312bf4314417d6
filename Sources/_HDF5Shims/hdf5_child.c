// Starts the child process that reads an HDF5 file (hdf5_reader.c), bounds
// its time and memory, and maps the summary it sends back.
// memfd_create
#define _GNU_SOURCE
#include "cvz_hdf5_shims.h"
#include "hdf5_library.h"
#include "hdf5_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define CVZ_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CVZ_ADDRESS_SANITIZER 1
#endif
#endif

#ifdef CVZ_ADDRESS_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

// The bytes this process maps (/proc/self/statm's first field), or 0.
static size_t mapped_bytes(pid_t process, int field) {
  char path[64];
  if (process) {
    snprintf(path, sizeof path, "/proc/%d/statm", (int)process);
  } else {
    snprintf(path, sizeof path, "/proc/self/statm");
  }
  FILE *file = fopen(path, "r");
  if (!file) return 0;
  unsigned long long pages[2] = {0, 0};
  int read = fscanf(file, "%llu %llu", &pages[0], &pages[1]);
  fclose(file);
  if (read != 2) return 0;
  long page = sysconf(_SC_PAGESIZE);
  return (size_t)pages[field] * (size_t)(page > 0 ? page : 4096);
}

static void describe_memory(char *message, size_t capacity, size_t memory_limit) {
  snprintf(message, capacity,
           "libhdf5 needed more than %zu MiB reading it: the file is corrupt",
           memory_limit >> 20);
}

static _Atomic unsigned long long children_started = 0;

unsigned long long cvz_h5_children_started(void) { return children_started; }

int cvz_h5_read_in_child(const void *bytes, size_t size, double seconds, size_t tensor_limit,
                         size_t memory_limit, size_t summary_limit, const void **summary_bytes,
                         size_t *summary_size, char *message, size_t capacity) {
  CVZ_H5_REQUIRE_LIBRARY(message, capacity)
  *summary_bytes = NULL;
  *summary_size = 0;
  // Crafted files can also send libhdf5 round a loop forever: the child
  // gets `seconds`, of waiting and of processor time.
  double limit = seconds > 0 ? seconds : 1;
  int fd = memfd_create("convviz-hdf5-summary", MFD_CLOEXEC);
  if (fd < 0) {
    snprintf(message, capacity, "cannot make a memory file for the HDF5 reader: %s",
             strerror(errno));
    return -1;
  }
  // The resident size the child starts from (it shares this process's
  // pages): the parent stops a child that grows past it plus the limit.
  size_t resident_at_fork = mapped_bytes(0, 1);
  pid_t parent = getpid();
  children_started += 1;
  pid_t child = fork();
  if (child < 0) {
    close(fd);
    snprintf(message, capacity, "cannot start a process to read the HDF5 file");
    return -1;
  }
  if (child == 0) {
    // A crash report (the Swift runtime's, a sanitizer's) is not the user's,
    // nor is a fuzzer's crash artifact: a crash here only ends the child.
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDERR_FILENO);
    const int deadly[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP};
    for (size_t k = 0; k < sizeof deadly / sizeof *deadly; k++) signal(deadly[k], SIG_DFL);
#ifdef CVZ_ADDRESS_SANITIZER
    __sanitizer_set_death_callback(NULL);
#endif
    // Should this process die without stopping the child (SIGKILL), the
    // child must not loop on alone: it ends with its parent, and its
    // processor time is bounded like its waiting time below.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    struct rlimit seconds;
    if (getrlimit(RLIMIT_CPU, &seconds) == 0) {
      rlim_t wanted = (rlim_t)limit + 1;
      if (seconds.rlim_max == RLIM_INFINITY || wanted < seconds.rlim_max) {
        seconds.rlim_cur = wanted;
        seconds.rlim_max = seconds.rlim_max == RLIM_INFINITY ? wanted + 1 : seconds.rlim_max;
        setrlimit(RLIMIT_CPU, &seconds);
      }
    }
#ifndef CVZ_ADDRESS_SANITIZER
    // Crafted files can make libhdf5 allocate without bound: the child may
    // map at most `memory_limit` bytes more than it inherited. (Under
    // AddressSanitizer, which maps terabytes of shadow memory, the
    // parent's watch on the child's resident size below is the bound.)
    size_t mapped = mapped_bytes(0, 0);
    if (memory_limit > 0 && mapped > 0 && memory_limit < SIZE_MAX - mapped) {
      struct rlimit space;
      if (getrlimit(RLIMIT_AS, &space) == 0) {
        rlim_t wanted = (rlim_t)(mapped + memory_limit);
        if (space.rlim_max == RLIM_INFINITY || wanted < space.rlim_max) space.rlim_max = wanted;
        space.rlim_cur = space.rlim_max;
        setrlimit(RLIMIT_AS, &space);
      }
    }
#endif
    cvz_h5_read_file(bytes, size, tensor_limit, fd, summary_limit);
  }
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  double waited = 0;
  int status = 0;
  for (;;) {
    pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (done < 0 && errno != EINTR) {
      close(fd);
      snprintf(message, capacity, "lost the process reading the HDF5 file");
      return -1;
    }
    int too_long = waited > limit;
    int too_large = memory_limit > 0 && resident_at_fork > 0 &&
                    mapped_bytes(child, 1) > resident_at_fork + memory_limit;
    if (too_long || too_large) {
      kill(child, SIGKILL);
      while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
      }
      close(fd);
      if (too_large) {
        describe_memory(message, capacity, memory_limit);
      } else {
        snprintf(message, capacity,
                 "libhdf5 did not finish reading it in %.0f s: the file is corrupt", limit);
      }
      return -1;
    }
    struct timespec pause = {0, waited < 1 ? 1000000 : 20000000}, now;
    nanosleep(&pause, NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
    waited = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) * 1e-9;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    close(fd);
    if (WIFEXITED(status) && WEXITSTATUS(status) == OUT_OF_MEMORY_STATUS) {
      describe_memory(message, capacity, memory_limit);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == SUMMARY_TOO_LARGE_STATUS) {
      if (summary_limit >= (1u << 20)) {
        snprintf(message, capacity, "its contents need more than %zu MiB, more than allowed",
                 summary_limit >> 20);
      } else {
        snprintf(message, capacity, "its contents need more than %zu KiB, more than allowed",
                 summary_limit >> 10);
      }
    } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU) {
      // Stopped by its processor-time limit (RLIMIT_CPU).
      snprintf(message, capacity,
               "libhdf5 did not finish reading it in %.0f s: the file is corrupt", limit);
    } else if (WIFSIGNALED(status)) {
      snprintf(message, capacity, "libhdf5 crashed reading it (signal %d): the file is corrupt",
               WTERMSIG(status));
    } else {
      snprintf(message, capacity,
               "libhdf5 failed reading it (exit status %d): the file is corrupt",
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return -1;
  }
  struct stat about;
  if (fstat(fd, &about) != 0 || about.st_size <= 0) {
    close(fd);
    snprintf(message, capacity, "the process reading the HDF5 file sent nothing back");
    return -1;
  }
  void *mapped = mmap(NULL, (size_t)about.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (mapped == MAP_FAILED) {
    snprintf(message, capacity, "cannot map what the HDF5 reader sent back: %s", strerror(errno));
    return -1;
  }
  *summary_bytes = mapped;
  *summary_size = (size_t)about.st_size;
  return 0;
}

void cvz_h5_summary_free(const void *summary_bytes, size_t size) {
  if (summary_bytes) munmap((void *)summary_bytes, size);
}
