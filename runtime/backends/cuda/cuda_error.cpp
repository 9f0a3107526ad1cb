#include "runtime/backends/cuda/cuda_error.hpp"

namespace lb::cuda {
namespace {

std::string describe(Library library, const std::string& message, const CallSite& site) {
  return std::string(site.file) + ":" + std::to_string(site.line) + ": " + site.call + ": " +
         to_string(library) + ": " + message;
}

}  // namespace

const char* to_string(Library library) {
  switch (library) {
    case Library::cuda:
      return "CUDA";
    case Library::cublas:
      return "cuBLAS";
    case Library::cudnn:
      return "cuDNN";
    case Library::nccl:
      return "NCCL";
  }
  return "?";
}

CudaError::CudaError(Library library, int code, const std::string& message, const CallSite& site)
    : std::runtime_error(describe(library, message, site)),
      library_(library),
      code_(code),
      file_(site.file),
      line_(site.line) {}

NcclError::NcclError(ncclResult_t code, const std::string& message, const CallSite& site)
    : CommError(describe(Library::nccl, message, site)), code_(code) {}

void check(cudaError_t status, const CallSite& site) {
  if (status == cudaSuccess) return;
  const std::string message =
      std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")";
  throw CudaError(Library::cuda, static_cast<int>(status), message, site);
}

void check(cublasStatus_t status, const CallSite& site) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  const std::string message =
      std::string(cublasGetStatusName(status)) + " (" + cublasGetStatusString(status) + ")";
  throw CudaError(Library::cublas, static_cast<int>(status), message, site);
}

void check(cudnnStatus_t status, const CallSite& site) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  // cuDNN 9 keeps a more specific message for the last error of this thread.
  char last[1024] = {};
  cudnnGetLastErrorString(last, sizeof last);
  std::string message = cudnnGetErrorString(status);
  if (last[0] != '\0') message += std::string(" (") + last + ")";
  throw CudaError(Library::cudnn, static_cast<int>(status), message, site);
}

void check(ncclResult_t status, const CallSite& site) {
  if (status == ncclSuccess) return;
  throw NcclError(status, ncclGetErrorString(status), site);
}

}  // namespace lb::cuda
