// libhdf5 opened at run time (hdf5_library.c): the table of every libhdf5
// function and variable convviz uses, and macros that make code including
// this header read as plain libhdf5 calls.
#ifndef CVZ_HDF5_LIBRARY_H
#define CVZ_HDF5_LIBRARY_H

// Debian installs the serial build's headers under hdf5/serial/ (what its
// pkg-config file names); the library itself is opened at run time.
#if __has_include(<hdf5/serial/hdf5.h>)
#include <hdf5/serial/hdf5.h>
#else
#include <hdf5.h>
#endif

// MARK: Loading libhdf5
//
// libhdf5 is opened (dlopen) on first use rather than linked: it pulls in
// libcurl, TLS and Kerberos (its S3 and HDFS drivers), about 40 libraries
// whose loading every convviz command paid at start-up, where only the
// Keras reader uses it. Every function and variable below is called
// through a pointer found then; the macros below make the code that
// includes this header read as plain libhdf5 calls (HDF5's own macros, such as
// H5T_NATIVE_FLOAT, expand to these names too).

#define CVZ_H5_FUNCTIONS(X)                                                                  \
  X(H5Aclose) X(H5Aget_name_by_idx) X(H5Aget_space) X(H5Aget_type) X(H5Aopen) X(H5Aread)      \
  X(H5Dclose) X(H5Dget_space) X(H5Dget_type) X(H5Dread) X(H5Dvlen_reclaim) X(H5Eclear2)       \
  X(H5Eset_auto2) X(H5Ewalk2) X(H5Fclose) X(H5Fopen) X(H5Gclose) X(H5Gget_info)               \
  X(H5Iget_type) X(H5Lget_info_by_idx) X(H5Lget_name_by_idx) X(H5Oclose) X(H5Oget_info2)      \
  X(H5Oopen_by_idx) X(H5Pclose) X(H5Pcreate) X(H5Pset_fapl_core) X(H5Pset_fclose_degree)      \
  X(H5Pset_file_image) X(H5Sclose) X(H5Sget_simple_extent_dims)                               \
  X(H5Sget_simple_extent_ndims) X(H5Sget_simple_extent_npoints) X(H5Tclose) X(H5Tcopy)        \
  X(H5Tget_class) X(H5Tget_cset) X(H5Tget_size) X(H5Tis_variable_str) X(H5Tset_cset)          \
  X(H5Tset_size) X(H5check_version) X(H5get_libversion) X(H5open)

#define CVZ_H5_VARIABLES(X)                                                           \
  X(H5E_CANTALLOC_g) X(H5E_NOSPACE_g) X(H5E_RESOURCE_g) X(H5P_CLS_FILE_ACCESS_ID_g)  \
  X(H5T_C_S1_g) X(H5T_NATIVE_FLOAT_g)

#define CVZ_H5_DECLARE_FUNCTION(name) extern __typeof__(&name) loaded_##name;
#define CVZ_H5_DECLARE_VARIABLE(name) extern __typeof__(name) *loaded_##name;
CVZ_H5_FUNCTIONS(CVZ_H5_DECLARE_FUNCTION)
CVZ_H5_VARIABLES(CVZ_H5_DECLARE_VARIABLE)

// Every function that takes a message buffer starts with this, so that a
// caller that skipped cvz_h5_load gets the reason rather than a crash.
#define CVZ_H5_REQUIRE_LIBRARY(message, capacity) \
  if (cvz_h5_load(message, capacity) != 0) return -1;
#define H5Aclose loaded_H5Aclose
#define H5Aget_name_by_idx loaded_H5Aget_name_by_idx
#define H5Aget_space loaded_H5Aget_space
#define H5Aget_type loaded_H5Aget_type
#define H5Aopen loaded_H5Aopen
#define H5Aread loaded_H5Aread
#define H5Dclose loaded_H5Dclose
#define H5Dget_space loaded_H5Dget_space
#define H5Dget_type loaded_H5Dget_type
#define H5Dread loaded_H5Dread
#define H5Dvlen_reclaim loaded_H5Dvlen_reclaim
#define H5Eclear2 loaded_H5Eclear2
#define H5Eset_auto2 loaded_H5Eset_auto2
#define H5Ewalk2 loaded_H5Ewalk2
#define H5Fclose loaded_H5Fclose
#define H5Fopen loaded_H5Fopen
#define H5Gclose loaded_H5Gclose
#define H5Gget_info loaded_H5Gget_info
#define H5Iget_type loaded_H5Iget_type
#define H5Lget_info_by_idx loaded_H5Lget_info_by_idx
#define H5Lget_name_by_idx loaded_H5Lget_name_by_idx
#define H5Oclose loaded_H5Oclose
#define H5Oget_info2 loaded_H5Oget_info2
#define H5Oopen_by_idx loaded_H5Oopen_by_idx
#define H5Pclose loaded_H5Pclose
#define H5Pcreate loaded_H5Pcreate
#define H5Pset_fapl_core loaded_H5Pset_fapl_core
#define H5Pset_fclose_degree loaded_H5Pset_fclose_degree
#define H5Pset_file_image loaded_H5Pset_file_image
#define H5Sclose loaded_H5Sclose
#define H5Sget_simple_extent_dims loaded_H5Sget_simple_extent_dims
#define H5Sget_simple_extent_ndims loaded_H5Sget_simple_extent_ndims
#define H5Sget_simple_extent_npoints loaded_H5Sget_simple_extent_npoints
#define H5Tclose loaded_H5Tclose
#define H5Tcopy loaded_H5Tcopy
#define H5Tget_class loaded_H5Tget_class
#define H5Tget_cset loaded_H5Tget_cset
#define H5Tget_size loaded_H5Tget_size
#define H5Tis_variable_str loaded_H5Tis_variable_str
#define H5Tset_cset loaded_H5Tset_cset
#define H5Tset_size loaded_H5Tset_size
#define H5check_version loaded_H5check_version
#define H5open loaded_H5open
#define H5E_CANTALLOC_g (*loaded_H5E_CANTALLOC_g)
#define H5E_NOSPACE_g (*loaded_H5E_NOSPACE_g)
#define H5E_RESOURCE_g (*loaded_H5E_RESOURCE_g)
#define H5P_CLS_FILE_ACCESS_ID_g (*loaded_H5P_CLS_FILE_ACCESS_ID_g)
#define H5T_C_S1_g (*loaded_H5T_C_S1_g)
#define H5T_NATIVE_FLOAT_g (*loaded_H5T_NATIVE_FLOAT_g)

#endif
