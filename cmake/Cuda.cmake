# LB_CUDA=AUTO builds the CUDA backend when nvcc, cuBLAS, cuDNN and NCCL are
# all found; ON insists (a configure error names what is missing); OFF skips.
# The CUDA language is enabled only when the backend is built, so a machine
# without the toolkit configures and builds everything else unchanged.
#
# Sets LB_HAVE_CUDA and, when ON, the imported targets lb::cudnn and lb::nccl
# (CUDA::cudart, CUDA::cublas, CUDA::cublasLt come from FindCUDAToolkit).
# cuDNN and NCCL are searched beside the toolkit, under CUDNN_ROOT / NCCL_ROOT
# (environment or cache) and in the system paths (Debian's libcudnn9-dev and
# libnccl-dev install to /usr/include and /usr/lib/x86_64-linux-gnu).

# Finds header `header` and library `library` of a CUDA library called
# `what`; on success creates the imported target `target`, otherwise appends
# `what` to the list variable `missing_var`.
function(lb_find_cuda_library what header library target missing_var)
  string(TOUPPER ${library} upper)
  find_path(LB_${upper}_INCLUDE_DIR ${header}
            HINTS ${CUDAToolkit_INCLUDE_DIRS} ${${upper}_ROOT} ENV ${upper}_ROOT
            PATH_SUFFIXES include)
  find_library(LB_${upper}_LIBRARY ${library}
               HINTS ${CUDAToolkit_LIBRARY_DIR} ${${upper}_ROOT} ENV ${upper}_ROOT
               PATH_SUFFIXES lib lib64)
  if(NOT LB_${upper}_INCLUDE_DIR OR NOT LB_${upper}_LIBRARY)
    set(${missing_var} ${${missing_var}} "${what} (${header}, lib${library})" PARENT_SCOPE)
    return()
  endif()
  add_library(${target} UNKNOWN IMPORTED)
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION ${LB_${upper}_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${LB_${upper}_INCLUDE_DIR})
endfunction()

set(LB_HAVE_CUDA OFF)
if(NOT LB_CUDA STREQUAL "OFF")
  set(lb_cuda_missing "")
  include(CheckLanguage)
  check_language(CUDA)
  if(NOT CMAKE_CUDA_COMPILER)
    list(APPEND lb_cuda_missing "nvcc (the CUDA compiler; put it on PATH or set CUDACXX)")
  else()
    # The toolkit that belongs to the compiler that was found, not another
    # one that happens to be on PATH.
    if(NOT DEFINED CUDAToolkit_ROOT)
      get_filename_component(lb_nvcc_bin ${CMAKE_CUDA_COMPILER} DIRECTORY)
      get_filename_component(CUDAToolkit_ROOT ${lb_nvcc_bin} DIRECTORY)
    endif()
    find_package(CUDAToolkit QUIET)
    if(NOT TARGET CUDA::cublas OR NOT TARGET CUDA::cublasLt)
      list(APPEND lb_cuda_missing "cuBLAS (libcublas, libcublasLt)")
    endif()
    lb_find_cuda_library("cuDNN" cudnn.h cudnn lb::cudnn lb_cuda_missing)
    lb_find_cuda_library("NCCL" nccl.h nccl lb::nccl lb_cuda_missing)
  endif()
  if(lb_cuda_missing)
    list(JOIN lb_cuda_missing ", " lb_cuda_missing_text)
    if(LB_CUDA STREQUAL "ON")
      message(FATAL_ERROR "LB_CUDA=ON but the CUDA backend needs what was not found: "
                          "${lb_cuda_missing_text}. Set CUDNN_ROOT / NCCL_ROOT, or configure "
                          "with -DLB_CUDA=OFF.")
    endif()
    message(STATUS "largebatch CUDA backend skipped, not found: ${lb_cuda_missing_text}")
  else()
    set(LB_HAVE_CUDA ON)
    # A100 (sm_80) and H100/H200 (sm_90), each as machine code plus PTX.
    # Override with -DCMAKE_CUDA_ARCHITECTURES=...; every extra architecture
    # adds to the compile time of every kernel file.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80 90)
    endif()
    enable_language(CUDA)
    # CMake 3.25 knows nvcc's dialects only up to C++17 (nvcc has C++20 since
    # CUDA 12), and CUDA files take the C++ standard (20) of their target.
    if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
  endif()
endif()
message(STATUS "largebatch CUDA backend: ${LB_HAVE_CUDA}")
