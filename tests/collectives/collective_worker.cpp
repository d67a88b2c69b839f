// One process of a multi-process collectives test. It joins the cluster its environment describes
// (RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT, or Open MPI's variables under mpirun) through connect_to_cluster
// and then, by mode:
//   ops      every collective with values from the rank formulas below, checked against results computed
//            here from the same formulas for every rank; prints "rank R backend B: all checks passed"
//   loop     all_reduce for ever (prints "rank R looping" first), until a peer is lost
//   connect  connects and returns
// Options: --timeout-ms N (rendezvous and every call), --backend auto|gloo|mpi.
// Exit status: 0 success, 1 a wrong result, 3 UnavailableError, 4 DeadlineExceededError, 5 another error;
// errors are printed as "<ErrorType>: <message>".
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/tensor.h"
#include "keel/distribute/cluster.h"

namespace {

using keel::DType;
using keel::Shape;
using keel::Tensor;
using keel::distribute::Communicator;
using keel::distribute::ReduceOp;

// Element i of rank r: small integers and quarters, so that any summation order gives the exact sum in
// float32 (up to 4 ranks) and float64.
double real_value(int rank, int64_t i) { return static_cast<double>((i * 7 + rank * 3) % 11) - 5.0 + 0.25 * rank; }
// For int64: needs all 64 bits.
int64_t int_value(int rank, int64_t i) { return ((i * 7 + rank * 3) % 11 - 5) * (int64_t{1} << 33) + rank; }

template <class T>
T value(int rank, int64_t i) {
  if constexpr (std::is_same_v<T, int64_t>) {
    return int_value(rank, i);
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(real_value(rank, i) * 4);  // whole numbers
  } else {
    return static_cast<T>(real_value(rank, i));
  }
}

template <class T>
Tensor rank_tensor(int rank, int64_t n) {
  std::vector<T> data(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) data[i] = value<T>(rank, i);
  return keel::from_vector(data, {n}, keel::Device::cpu());
}

int failures = 0;

void fail(int rank, const std::string& what) {
  std::cout << "rank " << rank << " MISMATCH: " << what << std::endl;
  ++failures;
}

template <class T>
void check_all_reduce(Communicator& comm, ReduceOp op, int64_t n, const char* name) {
  const int rank = comm.rank(), world = comm.size();
  Tensor t = rank_tensor<T>(rank, n);
  comm.all_reduce(t, op);
  const T* got = t.data<T>();
  for (int64_t i = 0; i < n; ++i) {
    T expected = value<T>(0, i);
    for (int r = 1; r < world; ++r) {
      const T x = value<T>(r, i);
      expected = op == ReduceOp::kSum   ? static_cast<T>(expected + x)
                 : op == ReduceOp::kMin ? std::min(expected, x)
                                        : std::max(expected, x);
    }
    if (got[i] != expected) {
      fail(rank, std::string("all_reduce ") + name + " of " + std::to_string(n) + " elements, element " +
                     std::to_string(i) + ": got " + std::to_string(got[i]) + ", expected " + std::to_string(expected));
      return;
    }
  }
}

template <class T>
void check_broadcast(Communicator& comm, int root, int64_t n) {
  const int rank = comm.rank();
  Tensor t = rank_tensor<T>(rank, n);
  comm.broadcast(t, root);
  const T* got = t.data<T>();
  for (int64_t i = 0; i < n; ++i) {
    if (got[i] != value<T>(root, i)) {
      fail(rank, "broadcast from root " + std::to_string(root) + " of " + std::to_string(n) + " elements, element " +
                     std::to_string(i));
      return;
    }
  }
}

void check_all_gather(Communicator& comm) {
  const int rank = comm.rank(), world = comm.size();
  Tensor mine = rank_tensor<int64_t>(rank, 10).reshape({2, 5});
  Tensor all = comm.all_gather(mine);
  if (all.shape() != Shape{2 * world, 5}) return fail(rank, "all_gather shape " + keel::shape_str(all.shape()));
  const int64_t* got = all.data<int64_t>();
  for (int r = 0; r < world; ++r) {
    for (int64_t i = 0; i < 10; ++i) {
      if (got[r * 10 + i] != value<int64_t>(r, i)) return fail(rank, "all_gather block of rank " + std::to_string(r));
    }
  }
  Tensor scalars = comm.all_gather(keel::scalar_tensor(real_value(rank, 0), DType::f32, keel::Device::cpu()));
  if (scalars.shape() != Shape{world})
    return fail(rank, "all_gather of a scalar: shape " + keel::shape_str(scalars.shape()));
  for (int r = 0; r < world; ++r) {
    if (scalars.data<float>()[r] != static_cast<float>(real_value(r, 0))) return fail(rank, "all_gather of a scalar");
  }
}

void run_ops(Communicator& comm) {
  for (int64_t n : {int64_t{1}, int64_t{1000}, int64_t{3'000'000}}) {
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMin, ReduceOp::kMax}) {
      const char* name = op == ReduceOp::kSum ? "sum" : op == ReduceOp::kMin ? "min" : "max";
      check_all_reduce<float>(comm, op, n, name);
      check_all_reduce<double>(comm, op, n, name);
      check_all_reduce<int64_t>(comm, op, n, name);
    }
  }
  check_all_reduce<int32_t>(comm, ReduceOp::kSum, 1000, "sum");
  for (int root = 0; root < comm.size(); ++root) check_broadcast<double>(comm, root, 1000);
  check_broadcast<float>(comm, comm.size() - 1, 3'000'000);
  check_all_gather(comm);
  for (int i = 0; i < 3; ++i) comm.barrier();
}

void run_loop(Communicator& comm) {
  Tensor t = keel::zeros({1000}, DType::f32, keel::Device::cpu());
  comm.all_reduce(t);
  std::cout << "rank " << comm.rank() << " looping" << std::endl;
  for (;;) comm.all_reduce(t);
}

int run(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  keel::distribute::ConnectOptions options;
  options.timeout = std::chrono::seconds(60);
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--timeout-ms")
      options.timeout = std::chrono::milliseconds(std::atoll(argv[i + 1]));
    else if (flag == "--backend")
      options.backend = argv[i + 1];
    else
      throw keel::ValueError("unknown option " + flag);
  }
  if (mode != "ops" && mode != "loop" && mode != "connect") {
    throw keel::ValueError("usage: keel_collective_worker ops|loop|connect [--timeout-ms N] [--backend B]");
  }
  const auto resolver = keel::distribute::ClusterResolver::from_environment();
  auto comm = keel::distribute::connect_to_cluster(resolver, options);
  std::cout << "rank " << comm->rank() << " of " << comm->size() << " connected, backend " << comm->backend()
            << std::endl;
  if (mode == "ops") {
    run_ops(*comm);
    if (failures != 0) return 1;
    std::cout << "rank " << comm->rank() << " backend " << comm->backend() << ": all checks passed" << std::endl;
  } else if (mode == "loop") {
    run_loop(*comm);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const keel::UnavailableError& e) {
    std::cout << "UnavailableError: " << e.what() << std::endl;
    return 3;
  } catch (const keel::DeadlineExceededError& e) {
    std::cout << "DeadlineExceededError: " << e.what() << std::endl;
    return 4;
  } catch (const std::exception& e) {
    std::cout << "Error: " << e.what() << std::endl;
    return 5;
  }
}
