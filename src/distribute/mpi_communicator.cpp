// connect_mpi: Open MPI's MPI_COMM_WORLD, for programs started by mpirun. MPI is initialised on the first
// call and finalised at exit; errors come back as codes (MPI_ERRORS_RETURN) and become UnavailableError.
// MPI has no timeouts: a call waits until its peers arrive. When a process dies, mpirun ends the whole job,
// so a lost peer does not hang the others for good; the communicator's timeout is kept but not enforced.
// The C API only: Open MPI's deprecated C++ bindings do not compile warning-free.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <mutex>

#include "distribute/collective_util.h"
#include "keel/core/error.h"
#include "keel/distribute/communicator.h"

namespace keel::distribute {

namespace {

std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<size_t>(length));
}

// `what`: "rank 1: all_reduce", "connect_mpi: MPI_Comm_dup".
void check_mpi(int code, const std::string& what) {
  KEEL_CHECK(code == MPI_SUCCESS, UnavailableError, what, " failed: ", mpi_error_string(code));
}

// Set by abort(): a process that gave up on its peers must not finalise, which waits for all of them; mpirun
// then sees it exit without finalising and ends the job.
std::atomic<bool> g_aborted{false};

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && !g_aborted) MPI_Finalize();
}

// Initialises MPI once per process, unless the program already did (then the program also finalises it).
void ensure_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return;
    // Calls are serialised by each communicator's mutex, which is what MPI_THREAD_SERIALIZED asks for.
    int provided = 0;
    const int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    KEEL_CHECK(code == MPI_SUCCESS, UnavailableError, "connect_mpi: MPI_Init_thread failed: ", mpi_error_string(code));
    KEEL_CHECK(provided >= MPI_THREAD_SERIALIZED, UnavailableError,
               "connect_mpi: this MPI library does not support MPI_THREAD_SERIALIZED (provided level ", provided, ")");
    std::atexit(finalize_at_exit);
  });
}

MPI_Datatype mpi_type(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return MPI_FLOAT;
    case DType::f64:
      return MPI_DOUBLE;
    case DType::i32:
      return MPI_INT32_T;
    case DType::i64:
      return MPI_INT64_T;
    default:
      return MPI_DATATYPE_NULL;
  }
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return MPI_SUM;
    case ReduceOp::kMin:
      return MPI_MIN;
    case ReduceOp::kMax:
      return MPI_MAX;
  }
  return MPI_OP_NULL;
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    ensure_initialized();
    // A communicator of our own: its error handler and its messages stay apart from the program's MPI use.
    check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "connect_mpi: MPI_Comm_dup");
    check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "connect_mpi: MPI_Comm_set_errhandler");
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    set_timeout(detail::collective_timeout(timeout()));
  }

  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && !g_aborted) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void all_reduce(Tensor& tensor, ReduceOp op) override {
    detail::check_host_tensor("all_reduce", rank_, tensor, /*reducible=*/true);
    std::lock_guard lock(mutex_);
    check_usable("all_reduce");
    // MPI counts are ints: larger tensors go in chunks of at most INT_MAX elements.
    auto* data = static_cast<char*>(tensor.data_ptr());
    const size_t element = dtype_size(tensor.dtype());
    for (int64_t done = 0, n = tensor.numel(); done < n;) {
      const int count = static_cast<int>(std::min<int64_t>(n - done, INT_MAX));
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, data + done * element, count, mpi_type(tensor.dtype()), mpi_op(op), comm_),
                what("all_reduce"));
      done += count;
    }
  }

  void broadcast(Tensor& tensor, int root) override {
    detail::check_host_tensor("broadcast", rank_, tensor, /*reducible=*/false);
    detail::check_root("broadcast", rank_, root, size_);
    std::lock_guard lock(mutex_);
    check_usable("broadcast");
    auto* data = static_cast<char*>(tensor.data_ptr());
    const size_t bytes = static_cast<size_t>(tensor.numel()) * dtype_size(tensor.dtype());
    for (size_t done = 0; done < bytes;) {
      const int count = static_cast<int>(std::min<size_t>(bytes - done, INT_MAX));
      check_mpi(MPI_Bcast(data + done, count, MPI_BYTE, root, comm_), what("broadcast"));
      done += static_cast<size_t>(count);
    }
  }

  Tensor all_gather(const Tensor& tensor) override {
    detail::check_host_tensor("all_gather", rank_, tensor, /*reducible=*/false);
    Tensor out = empty(detail::gathered_shape(tensor.shape(), size_), tensor.dtype(), Device::cpu());
    std::lock_guard lock(mutex_);
    check_usable("all_gather");
    const size_t bytes = static_cast<size_t>(tensor.numel()) * dtype_size(tensor.dtype());
    if (bytes == 0) return out;
    // MPI counts are ints: each rank's block is counted in elements of a contiguous type of one element.
    KEEL_CHECK(tensor.numel() <= INT_MAX, ValueError, "rank ", rank_, ": all_gather: ", tensor.numel(),
               " elements per rank; MPI takes at most ", INT_MAX);
    MPI_Datatype element = MPI_DATATYPE_NULL;
    check_mpi(MPI_Type_contiguous(static_cast<int>(dtype_size(tensor.dtype())), MPI_BYTE, &element),
              what("all_gather"));
    check_mpi(MPI_Type_commit(&element), what("all_gather"));
    const int count = static_cast<int>(tensor.numel());
    const int code = MPI_Allgather(tensor.data_ptr(), count, element, out.data_ptr(), count, element, comm_);
    MPI_Type_free(&element);
    check_mpi(code, what("all_gather"));
    return out;
  }

  void barrier() override {
    std::lock_guard lock(mutex_);
    check_usable("barrier");
    check_mpi(MPI_Barrier(comm_), what("barrier"));
  }

  void abort() override {
    // No MPI call can interrupt a peer's pending collective; this process stops taking part, and mpirun ends
    // the job once it exits (without finalising, see finalize_at_exit).
    aborted_ = true;
    g_aborted = true;
  }

 private:
  std::string what(const char* op) const { return ::keel::detail::cat("rank ", rank_, ": ", op); }

  void check_usable(const char* op) const {
    KEEL_CHECK(!aborted_, UnavailableError, "rank ", rank_, ": ", op, " failed: this communicator was aborted");
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::mutex mutex_;
  std::atomic<bool> aborted_{false};
};

}  // namespace

bool detail::have_mpi() { return true; }

std::unique_ptr<Communicator> connect_mpi() { return std::make_unique<MpiCommunicator>(); }

}  // namespace keel::distribute
