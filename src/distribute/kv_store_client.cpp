// KvStoreClient: one connection to the rendezvous store, opened with the greeting of kv_protocol.h (retried
// until the timeout while rank 0 is not serving yet, refused at once when the secrets differ), then one request
// at a time, every wait bounded by poll() timeouts.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

#include "distribute/collective_util.h"
#include "distribute/kv_protocol.h"
#include "distribute/kv_store.h"
#include "keel/core/error.h"

namespace keel::distribute {

namespace {

using Clock = std::chrono::steady_clock;
using net::Io;
using net::recv_all;
using net::send_all;
using std::chrono::milliseconds;

// A GET or WAIT answer may take the whole server-side wait; the client allows this much more for the reply.
constexpr milliseconds kReplyGrace{10000};

// Reads a little-endian integer of `bytes` bytes.
Io recv_le(int fd, uint64_t& value, int bytes, std::optional<Clock::time_point> deadline) {
  unsigned char buf[8];
  const Io io = recv_all(fd, buf, static_cast<size_t>(bytes), deadline);
  if (io == Io::kOk) value = kv::get_le(buf, bytes);
  return io;
}

// The client's side of the greeting on a connected socket. Returns an empty string once both sides have proved
// they know the secret, else why this attempt failed (worth retrying: the server may be starting or full);
// throws UnavailableError when retrying cannot help.
std::string greet(int fd, const std::string& secret, const std::string& where, Clock::time_point deadline) {
  auto failed = [](Io io) {
    return io == Io::kTimeout ? "no greeting from the server" : "the connection was closed during the greeting";
  };
  std::array<unsigned char, kv::kServerHelloBytes> hello{};
  if (const Io io = recv_all(fd, hello.data(), kv::kMagic.size(), deadline); io != Io::kOk) return failed(io);
  if (!std::equal(kv::kMagic.begin(), kv::kMagic.end(), hello.begin())) {
    const bool other_version =
        std::equal(kv::kMagic.begin(), kv::kMagic.begin() + kv::kMagicVersionByte, hello.begin());
    KEEL_CHECK(!other_version, UnavailableError, "the rendezvous at ", where, " speaks version '",
               static_cast<char>(hello[kv::kMagicVersionByte]), "' of the store protocol and this process version '",
               kv::kMagic[kv::kMagicVersionByte], "' (do all ranks run the same Keel?)");
    throw UnavailableError(::keel::detail::cat("the service at ", where,
                                               " is not Keel's rendezvous store (is MASTER_PORT shared with another "
                                               "program?)"));
  }
  if (const Io io = recv_all(fd, hello.data() + kv::kMagic.size(), kv::kNonceBytes, deadline); io != Io::kOk) {
    return failed(io);
  }
  kv::Nonce server_nonce{}, client_nonce{};
  std::memcpy(server_nonce.data(), hello.data() + kv::kMagic.size(), kv::kNonceBytes);
  KEEL_CHECK(kv::random_nonce(client_nonce), UnavailableError, "rendezvous at ", where,
             ": OpenSSL could not draw a random nonce");
  const auto proof = kv::client_proof(secret, server_nonce, client_nonce);
  const auto expected = kv::server_proof(secret, server_nonce, client_nonce);
  KEEL_CHECK(proof && expected, UnavailableError, "rendezvous at ", where, ": OpenSSL could not compute HMAC-SHA256");
  std::vector<unsigned char> answer(kv::kMagic.begin(), kv::kMagic.end());
  answer.insert(answer.end(), client_nonce.begin(), client_nonce.end());
  answer.insert(answer.end(), proof->begin(), proof->end());
  if (const Io io = send_all(fd, answer.data(), answer.size(), deadline); io != Io::kOk) return failed(io);
  unsigned char verdict = 0;
  if (const Io io = recv_all(fd, &verdict, 1, deadline); io != Io::kOk) return failed(io);
  KEEL_CHECK(verdict != kv::kRefused, UnavailableError, "the rendezvous at ", where,
             " refused this process: its job secret differs from rank 0's (every rank needs the same "
             "KEEL_CLUSTER_SECRET; keel-launch gives all its ranks one)");
  kv::Mac server_proof{};
  const Io io = verdict == kv::kAccepted ? recv_all(fd, server_proof.data(), server_proof.size(), deadline) : Io::kOk;
  if (io != Io::kOk) return failed(io);
  // A server that accepts without proving it knows the secret could be anyone's: refuse to tell it anything.
  KEEL_CHECK(verdict == kv::kAccepted && kv::macs_equal(server_proof, *expected), UnavailableError, "the service at ",
             where,
             " did not prove that it knows the job secret, so it is not this job's rank 0 (is MASTER_PORT used by "
             "another job? do all ranks have the same KEEL_CLUSTER_SECRET?)");
  return {};
}

}  // namespace

// --- client ---

struct KvStoreClient::Reply {
  unsigned char status = 0;
  std::vector<char> value;        // GET
  std::vector<uint32_t> missing;  // WAIT
  std::vector<bool> present;      // CHECK
};

KvStoreClient::KvStoreClient(const std::string& address, int port, milliseconds timeout, std::string secret)
    : address_(address), port_(port), timeout_(timeout), secret_(std::move(secret)) {
  KEEL_CHECK(port >= 1 && port <= 65535, ValueError, "rendezvous: port ", port, " is outside 1..65535");
  KEEL_CHECK(timeout.count() > 0, ValueError, "rendezvous: the timeout must be positive, got ", timeout.count(), " ms");
  const auto deadline = Clock::now() + timeout;
  std::string last_error = "no attempt";
  auto backoff = milliseconds(20);
  for (;;) {
    net::AddrInfo info(address.c_str(), port, 0);
    if (info.error != 0) last_error = ::gai_strerror(info.error);
    for (const addrinfo* ai = info.error == 0 ? info.list : nullptr; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
      const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) {
        last_error = std::string("socket: ") + std::strerror(errno);
        continue;
      }
      int rv = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
      int error = rv == 0 ? 0 : errno;
      bool cut_short = false;  // by the overall deadline: then the previous attempt's error says more
      if (error == EINPROGRESS) {
        // Give one attempt at most a second, so a silently dropped SYN does not use up the whole timeout.
        const auto attempt_deadline = std::min(deadline, Clock::now() + milliseconds(1000));
        if (net::wait_ready(fd, POLLOUT, attempt_deadline, -1) == Io::kOk) {
          socklen_t len = sizeof(error);
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
        } else {
          error = ETIMEDOUT;
          cut_short = Clock::now() >= deadline;
        }
      }
      if (cut_short && last_error != "no attempt") {
        ::close(fd);
        continue;
      }
      if (error != 0) {
        last_error = std::strerror(error);
        ::close(fd);
        continue;
      }
      std::string greeting_error;
      try {
        greeting_error = greet(fd, secret_, where(), deadline);
      } catch (...) {
        ::close(fd);
        throw;
      }
      if (!greeting_error.empty()) {
        last_error = greeting_error;
        ::close(fd);
        continue;
      }
      const int on = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
      fd_ = fd;
    }
    if (fd_ >= 0) return;
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) break;
    std::this_thread::sleep_for(std::min<Clock::duration>(backoff, left));
    backoff = std::min(backoff * 2, milliseconds(500));
  }
  throw DeadlineExceededError(::keel::detail::cat("could not reach the rendezvous at ", where(), " after ",
                                                  detail::format_seconds(timeout),
                                                  " (is rank 0 running? is the address right?): ", last_error));
}

KvStoreClient::~KvStoreClient() {
  if (fd_ >= 0) ::close(fd_);
}

std::string KvStoreClient::where() const { return host_port(address_, port_); }

KvStoreClient::Reply KvStoreClient::call(const char* what, unsigned char op, const std::vector<std::string>& keys,
                                         const std::vector<char>* value, milliseconds wait) {
  KEEL_CHECK(keys.size() <= kv::kMaxKeys, ValueError, "rendezvous ", what, ": ", keys.size(), " keys; at most ",
             kv::kMaxKeys);
  std::vector<char> request{static_cast<char>(op)};
  kv::put_u32(request, static_cast<uint32_t>(keys.size()));
  for (const auto& key : keys) {
    KEEL_CHECK(key.size() <= kv::kMaxKeyBytes, ValueError, "rendezvous ", what, ": key of ", key.size(),
               " bytes; at most ", kv::kMaxKeyBytes);
    kv::put_u32(request, static_cast<uint32_t>(key.size()));
    request.insert(request.end(), key.begin(), key.end());
  }
  if (value != nullptr) {
    KEEL_CHECK(value->size() <= kv::kMaxValueBytes, ValueError, "rendezvous ", what, ": value of ", value->size(),
               " bytes; at most ", kv::kMaxValueBytes);
    kv::put_u64(request, value->size());
  }
  if (op == kv::kGet || op == kv::kWait)
    kv::put_u64(request, static_cast<uint64_t>(std::max<int64_t>(wait.count(), 0)));

  std::lock_guard lock(mutex_);
  const auto deadline = Clock::now() + (op == kv::kGet || op == kv::kWait ? wait + kReplyGrace : timeout_);
  auto fail = [&](Io io) {
    if (io == Io::kTimeout) {
      throw DeadlineExceededError(::keel::detail::cat("rendezvous at ", where(), ": no answer to ", what, " within ",
                                                      detail::format_seconds(timeout_)));
    }
    throw UnavailableError(::keel::detail::cat("lost the connection to the rendezvous at ", where(), " during ", what,
                                               " (", io == Io::kClosed ? "closed by the server" : std::strerror(errno),
                                               "; did rank 0 exit?)"));
  };
  Io io = send_all(fd_, request.data(), request.size(), deadline);
  if (io == Io::kOk && value != nullptr) io = send_all(fd_, value->data(), value->size(), deadline);
  if (io != Io::kOk) fail(io);

  Reply reply;
  uint64_t n = 0;
  if (op == kv::kCheck) {
    std::vector<unsigned char> flags(keys.size());
    if ((io = recv_all(fd_, flags.data(), flags.size(), deadline)) != Io::kOk) fail(io);
    for (unsigned char f : flags) reply.present.push_back(f != 0);
    return reply;
  }
  if ((io = recv_all(fd_, &reply.status, 1, deadline)) != Io::kOk) fail(io);
  if (op == kv::kGet && reply.status == 0) {
    if ((io = recv_le(fd_, n, 8, deadline)) != Io::kOk) fail(io);
    KEEL_CHECK(n <= kv::kMaxValueBytes, UnavailableError, "rendezvous at ", where(), ": malformed answer to ", what);
    reply.value.resize(n);
    if ((io = recv_all(fd_, reply.value.data(), n, deadline)) != Io::kOk) fail(io);
  } else if (op == kv::kWait) {
    if ((io = recv_le(fd_, n, 4, deadline)) != Io::kOk) fail(io);
    KEEL_CHECK(n <= keys.size(), UnavailableError, "rendezvous at ", where(), ": malformed answer to ", what);
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t index = 0;
      if ((io = recv_le(fd_, index, 4, deadline)) != Io::kOk) fail(io);
      KEEL_CHECK(index < keys.size(), UnavailableError, "rendezvous at ", where(), ": malformed answer to ", what);
      reply.missing.push_back(static_cast<uint32_t>(index));
    }
  }
  return reply;
}

void KvStoreClient::set(const std::string& key, const std::vector<char>& value) {
  call("set", kv::kSet, {key}, &value, milliseconds(0));
}

std::vector<char> KvStoreClient::get(const std::string& key) { return get(key, timeout_); }

std::vector<char> KvStoreClient::get(const std::string& key, milliseconds timeout) {
  Reply reply = call("get", kv::kGet, {key}, nullptr, timeout);
  KEEL_CHECK(reply.status != kv::kStopped, UnavailableError, "rendezvous at ", where(),
             ": the server stopped before key '", key, "' was set (did rank 0 give up or exit?)");
  KEEL_CHECK(reply.status == 0, DeadlineExceededError, "rendezvous at ", where(), ": key '", key,
             "' was not set within ", detail::format_seconds(timeout));
  return std::move(reply.value);
}

void KvStoreClient::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void KvStoreClient::wait(const std::vector<std::string>& keys, milliseconds timeout) {
  const WaitResult result = wait_for(keys, timeout);
  if (result.missing.empty()) return;
  std::string names;
  for (const auto& key : result.missing) names += (names.empty() ? "'" : ", '") + key + "'";
  KEEL_CHECK(!result.server_stopped, UnavailableError, "rendezvous at ", where(), ": the server stopped before keys ",
             names, " were set (did rank 0 give up or exit?)");
  throw DeadlineExceededError(::keel::detail::cat("rendezvous at ", where(), ": keys ", names, " were not set within ",
                                                  detail::format_seconds(timeout)));
}

KvStoreClient::WaitResult KvStoreClient::wait_for(const std::vector<std::string>& keys, milliseconds timeout) {
  if (keys.empty()) return {};
  const Reply reply = call("wait", kv::kWait, keys, nullptr, timeout);
  WaitResult result;
  for (uint32_t i : reply.missing) result.missing.push_back(keys[i]);
  result.server_stopped = reply.status == kv::kStopped;
  return result;
}

std::vector<bool> KvStoreClient::check(const std::vector<std::string>& keys) {
  if (keys.empty()) return {};
  return call("check", kv::kCheck, keys, nullptr, milliseconds(0)).present;
}

}  // namespace keel::distribute
