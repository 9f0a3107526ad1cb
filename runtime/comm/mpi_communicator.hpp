#pragma once
// The MPI backend. Every wait is a polling loop with a deadline
// (comm.timeout_s), so a stalled or dead peer becomes a CommError naming it
// instead of a hang.
#include <mpi.h>

#include <string>
#include <vector>

#include "runtime/comm/communicator.hpp"

namespace lb {

// True when this process was started by mpirun (OpenMPI, or a PMI/PMIx
// launcher). A process started directly runs as one rank without MPI: OpenMPI's
// singleton start-up forks a daemon and costs about a second per launch.
bool launched_by_mpirun();

// Ends the process after `main` caught an error: prints `line` and returns
// `code` for main to return. In a job of several ranks the line starts with
// the rank that failed ("rank 2: ...") and the whole job is aborted with
// `code` (MPI_Abort; mpirun exits with it), so that no rank waits in a
// collective for one that is gone. Ranks other than 0 print and abort only
// after kErrorGraceS: when every rank fails alike (the same spec, the same
// data), rank 0's abort ends them first and the error is one line, not one
// per rank.
inline constexpr double kErrorGraceS = 3;
int end_job_with_error(const std::string& line, int code);

// Initialises MPI (with thread support for a communication thread) on
// construction and finalises it on destruction; does nothing unless
// launched_by_mpirun() or `always`.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv, bool always = false);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

class MpiCommunicator : public Communicator {
 public:
  // Wraps `comm` (not owned unless `owned`).
  MpiCommunicator(MPI_Comm comm, double timeout_s, bool owned = false);
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int ranks_per_node() const override { return ranks_per_node_; }
  void sendrecv(std::span<const std::byte> send, int dest, std::span<std::byte> recv, int src,
                const char* what) override;
  void send(std::span<const std::byte> bytes, int dest, const char* what) override;
  void recv(std::span<std::byte> bytes, int src, const char* what) override;
  void native_allreduce_sum(std::span<float> data) override;
  void broadcast(std::span<std::byte> bytes, int root) override;
  void barrier() override;
  std::unique_ptr<Communicator> split(int color, int key) override;

 private:
  // Waits for `count` requests until the deadline; on expiry cancels nothing
  // (the job is ending) and throws a CommError naming `peer` and `what`.
  void wait(MPI_Request* requests, int count, int peer, const char* what);
  // Posts a non-blocking send or receive of `bytes`, split into messages of
  // at most kMaxMessageBytes (posted in order, so they match up in order).
  void post(std::span<std::byte> bytes, int peer, bool is_send, std::vector<MPI_Request>& requests);

  MPI_Comm comm_;
  double timeout_s_;
  bool owned_;
  int rank_ = 0, size_ = 1, ranks_per_node_ = 1;
};

// Checks an MPI return code; throws CommError with file:line on failure.
#define LB_MPI_CHECK(call) ::lb::mpi_check((call), #call, __FILE__, __LINE__)
void mpi_check(int code, const char* call, const char* file, int line);

}  // namespace lb
