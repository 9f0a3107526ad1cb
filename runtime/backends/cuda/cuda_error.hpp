#pragma once
// Every CUDA runtime, cuBLAS, cuDNN and NCCL call goes through LB_CUDA_CHECK: a failure throws a
// typed exception whose what() reads "file:line: call: library: error string", so a report from a
// GPU machine names the failing call without a debugger.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <nccl.h>

#include <stdexcept>
#include <string>

#include "runtime/comm/communicator.hpp"  // CommError

namespace lb::cuda {

enum class Library { cuda, cublas, cudnn, nccl };
const char* to_string(Library library);

// Where a failed call was made, and what the library said.
struct CallSite {
  const char* call;
  const char* file;
  int line;
};

// A CUDA runtime, cuBLAS or cuDNN call failed (or a kernel launch did).
class CudaError : public std::runtime_error {
 public:
  CudaError(Library library, int code, const std::string& message, const CallSite& site);
  Library library() const { return library_; }
  int code() const { return code_; }  // the library's status value
  const std::string& file() const { return file_; }
  int line() const { return line_; }

 private:
  Library library_;
  int code_;
  std::string file_;
  int line_;
};

// An NCCL call failed: a collective did not complete, so it is a CommError
// as the comm/ layer's callers expect, with the NCCL status and call site.
class NcclError : public CommError {
 public:
  NcclError(ncclResult_t code, const std::string& message, const CallSite& site);
  ncclResult_t code() const { return code_; }

 private:
  ncclResult_t code_;
};

void check(cudaError_t status, const CallSite& site);
void check(cublasStatus_t status, const CallSite& site);
void check(cudnnStatus_t status, const CallSite& site);
void check(ncclResult_t status, const CallSite& site);

}  // namespace lb::cuda

#define LB_CUDA_CALL_SITE(call) (::lb::cuda::CallSite{#call, __FILE__, __LINE__})
// One macro for all four libraries: overload resolution on the status type
// picks the library, so a call cannot be checked against the wrong one.
#define LB_CUDA_CHECK(call) ::lb::cuda::check((call), LB_CUDA_CALL_SITE(call))
// After a kernel launch: launch errors (bad configuration, no device) are
// reported by cudaGetLastError, not by the launch itself.
#define LB_CUDA_CHECK_LAUNCH() LB_CUDA_CHECK(cudaGetLastError())
