#include "distribute/kv_store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <optional>
#include <thread>

#include "distribute/collective_util.h"
#include "keel/core/error.h"

namespace keel::distribute {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Requests: op, key count, keys; SET adds the value, GET and WAIT the server-side wait in ms.
enum Op : unsigned char { kSet = 'S', kGet = 'G', kWait = 'W', kCheck = 'C' };
// Status of a GET or WAIT answer: 0 when every key is set, else why not.
enum Status : unsigned char { kTimedOut = 1, kStopped = 2 };
constexpr std::array<char, 8> kMagic = {'K', 'E', 'E', 'L', 'K', 'V', '1', '\n'};
// Sanity limits: a peer that sends more is not speaking this protocol.
constexpr uint32_t kMaxKeys = 1 << 16;
constexpr uint32_t kMaxKeyBytes = 4096;
constexpr uint64_t kMaxValueBytes = uint64_t{1} << 30;
// A GET or WAIT answer may take the whole server-side wait; the client allows this much more for the reply.
constexpr milliseconds kReplyGrace{10000};

enum class Io { kOk, kTimeout, kClosed, kError, kStopped };

// Waits until `fd` is ready for `events`, the deadline passes, or `stop_fd` (when >= 0) becomes readable.
Io wait_ready(int fd, short events, std::optional<Clock::time_point> deadline, int stop_fd) {
  for (;;) {
    int wait_ms = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<milliseconds>(*deadline - Clock::now()).count();
      if (left <= 0) return Io::kTimeout;
      wait_ms = static_cast<int>(std::min<long long>(left, 1 << 30));
    }
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    const int rv = ::poll(fds, stop_fd >= 0 ? 2 : 1, wait_ms);
    if (rv < 0) {
      if (errno == EINTR) continue;
      return Io::kError;
    }
    if (rv == 0) continue;  // the deadline check above ends the loop
    if (stop_fd >= 0 && fds[1].revents != 0) return Io::kStopped;
    return Io::kOk;  // readiness, hang-up or error: the following send/recv reports which
  }
}

Io send_all(int fd, const void* data, size_t size, std::optional<Clock::time_point> deadline, int stop_fd = -1) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    // MSG_NOSIGNAL: a peer that went away is an error to report, not a SIGPIPE that ends the process.
    const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      p += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return errno == EPIPE || errno == ECONNRESET ? Io::kClosed : Io::kError;
    if (const Io ready = wait_ready(fd, POLLOUT, deadline, stop_fd); ready != Io::kOk) return ready;
  }
  return Io::kOk;
}

Io recv_all(int fd, void* data, size_t size, std::optional<Clock::time_point> deadline, int stop_fd = -1) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::recv(fd, p, size, MSG_DONTWAIT);
    if (n > 0) {
      p += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return Io::kClosed;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno == ECONNRESET ? Io::kClosed : Io::kError;
    if (const Io ready = wait_ready(fd, POLLIN, deadline, stop_fd); ready != Io::kOk) return ready;
  }
  return Io::kOk;
}

// Little-endian fixed-width integers, so hosts of either byte order agree.
void put_u32(std::vector<char>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::vector<char>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get_le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

// Reads a little-endian integer of `bytes` bytes.
Io recv_le(int fd, uint64_t& value, int bytes, std::optional<Clock::time_point> deadline, int stop_fd = -1) {
  unsigned char buf[8];
  const Io io = recv_all(fd, buf, static_cast<size_t>(bytes), deadline, stop_fd);
  if (io == Io::kOk) value = get_le(buf, bytes);
  return io;
}

int set_nonblocking_cloexec(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -1;
  return ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

struct AddrInfo {
  addrinfo* list = nullptr;
  int error = 0;
  AddrInfo(const char* host, int port, int flags) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags | AI_NUMERICSERV;
    error = ::getaddrinfo(host, std::to_string(port).c_str(), &hints, &list);
  }
  ~AddrInfo() {
    if (list != nullptr) ::freeaddrinfo(list);
  }
  AddrInfo(const AddrInfo&) = delete;
  AddrInfo& operator=(const AddrInfo&) = delete;
};

}  // namespace

bool is_loopback_address(const std::string& host) {
  // Decided from the text, not from DNS: a host's own name may resolve to 127.0.1.1 here and to a routable
  // address on its peers.
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) || (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
  }
  std::string name = host;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::string suffix = ".localhost";
  return name == "localhost" || name == "localhost.localdomain" || name == "ip6-localhost" || name == "ip6-loopback" ||
         (name.size() > suffix.size() && name.ends_with(suffix));
}

std::string host_port(const std::string& host, int port) {
  // An IPv6 literal takes brackets, as in URLs, so the port stays readable.
  return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                             : host + ":" + std::to_string(port);
}

// --- server ---

struct KvStoreServer::Impl {
  std::string address;
  int port = 0;
  int listen_fd = -1;
  int stop_pipe[2] = {-1, -1};  // written once at shutdown; every poll of every thread watches its read end
  std::thread acceptor;

  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, std::vector<char>> values;
  bool stopping = false;
  std::vector<std::thread> handlers;

  void accept_loop();
  void serve(int fd);
  bool answer(int fd);
  bool all_set(const std::vector<std::string>& keys) const {
    return std::all_of(keys.begin(), keys.end(), [&](const std::string& k) { return values.count(k) != 0; });
  }
};

KvStoreServer::KvStoreServer(const std::string& address, int port) : impl_(std::make_unique<Impl>()) {
  KEEL_CHECK(port >= 0 && port <= 65535, ValueError, "rendezvous: port ", port, " is outside 0..65535");
  impl_->address = address;
  const std::string where = host_port(address, port);
  const bool loopback = is_loopback_address(address);
  // Loopback: that address only. Otherwise the wildcard address.
  AddrInfo info(loopback ? address.c_str() : nullptr, port, AI_PASSIVE);
  KEEL_CHECK(info.error == 0, UnavailableError, "cannot serve the rendezvous at ", where, ": ",
             ::gai_strerror(info.error));
  std::vector<const addrinfo*> candidates;
  for (const addrinfo* ai = info.list; ai != nullptr; ai = ai->ai_next) candidates.push_back(ai);
  // "localhost": IPv4 first, as the Gloo device uses 127.0.0.1; the wildcard: IPv6 first, which also serves IPv4.
  const int preferred = loopback ? AF_INET : AF_INET6;
  std::stable_sort(candidates.begin(), candidates.end(), [&](const addrinfo* a, const addrinfo* b) {
    return (a->ai_family == preferred) > (b->ai_family == preferred);
  });
  std::string last_error = "no address to bind";
  for (const addrinfo* ai : candidates) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    const int on = 1, off = 0;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ai->ai_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      last_error = std::string("bind: ") + std::strerror(errno);
      ::close(fd);
      continue;
    }
    if (::listen(fd, 1024) != 0 || set_nonblocking_cloexec(fd) != 0) {
      last_error = std::string("listen: ") + std::strerror(errno);
      ::close(fd);
      continue;
    }
    impl_->listen_fd = fd;
    break;
  }
  KEEL_CHECK(impl_->listen_fd >= 0, UnavailableError, "cannot serve the rendezvous at ", where, ": ", last_error,
             port != 0 ? " (is another job using this port? choose a free MASTER_PORT)" : "");
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(impl_->listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
  impl_->port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                  : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (::pipe2(impl_->stop_pipe, O_CLOEXEC) != 0) {
    ::close(impl_->listen_fd);
    throw UnavailableError(
        ::keel::detail::cat("cannot serve the rendezvous at ", where, ": pipe: ", std::strerror(errno)));
  }
  impl_->acceptor = std::thread([impl = impl_.get()] { impl->accept_loop(); });
}

KvStoreServer::~KvStoreServer() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->changed.notify_all();
  const char byte = 0;
  while (::write(impl_->stop_pipe[1], &byte, 1) < 0 && errno == EINTR) {
  }
  impl_->acceptor.join();
  std::vector<std::thread> handlers;
  {
    std::lock_guard lock(impl_->mutex);
    handlers.swap(impl_->handlers);
  }
  for (auto& t : handlers) t.join();
  ::close(impl_->listen_fd);
  ::close(impl_->stop_pipe[0]);
  ::close(impl_->stop_pipe[1]);
}

int KvStoreServer::port() const { return impl_->port; }
const std::string& KvStoreServer::address() const { return impl_->address; }

void KvStoreServer::Impl::accept_loop() {
  for (;;) {
    if (wait_ready(listen_fd, POLLIN, std::nullopt, stop_pipe[0]) != Io::kOk) return;
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) continue;  // the client gave up (ECONNABORTED) or a transient shortage; keep serving the others
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    std::lock_guard lock(mutex);
    if (stopping) {
      ::close(fd);
      return;
    }
    handlers.emplace_back([this, fd] { serve(fd); });
  }
}

void KvStoreServer::Impl::serve(int fd) {
  std::array<char, kMagic.size()> hello{};
  if (recv_all(fd, hello.data(), hello.size(), std::nullopt, stop_pipe[0]) == Io::kOk && hello == kMagic &&
      send_all(fd, kMagic.data(), kMagic.size(), std::nullopt, stop_pipe[0]) == Io::kOk) {
    while (answer(fd)) {
    }
  }
  ::close(fd);
}

// Reads one request and answers it; false when the connection is over (closed, malformed, or shutting down).
bool KvStoreServer::Impl::answer(int fd) {
  const int stop = stop_pipe[0];
  unsigned char op = 0;
  uint64_t count = 0;
  if (recv_all(fd, &op, 1, std::nullopt, stop) != Io::kOk) return false;
  if (op != kSet && op != kGet && op != kWait && op != kCheck) return false;
  if (recv_le(fd, count, 4, std::nullopt, stop) != Io::kOk || count > kMaxKeys) return false;
  std::vector<std::string> keys(count);
  for (auto& key : keys) {
    uint64_t size = 0;
    if (recv_le(fd, size, 4, std::nullopt, stop) != Io::kOk || size > kMaxKeyBytes) return false;
    key.resize(size);
    if (recv_all(fd, key.data(), size, std::nullopt, stop) != Io::kOk) return false;
  }
  std::vector<char> reply;
  if (op == kSet) {
    uint64_t size = 0;
    if (keys.size() != 1 || recv_le(fd, size, 8, std::nullopt, stop) != Io::kOk || size > kMaxValueBytes) return false;
    std::vector<char> value(size);
    if (recv_all(fd, value.data(), size, std::nullopt, stop) != Io::kOk) return false;
    {
      std::lock_guard lock(mutex);
      values[keys[0]] = std::move(value);
    }
    changed.notify_all();
    reply.push_back(0);
  } else if (op == kCheck) {
    std::lock_guard lock(mutex);
    for (const auto& key : keys) reply.push_back(values.count(key) != 0 ? 1 : 0);
  } else {
    uint64_t wait_ms = 0;
    if (recv_le(fd, wait_ms, 8, std::nullopt, stop) != Io::kOk) return false;
    if (op == kGet && keys.size() != 1) return false;
    std::unique_lock lock(mutex);
    const auto deadline = Clock::now() + milliseconds(std::min<uint64_t>(wait_ms, uint64_t{1} << 40));
    changed.wait_until(lock, deadline, [&] { return stopping || all_set(keys); });
    // A server that stops still answers its waiting clients, so that they can say what was missing.
    const unsigned char not_set = stopping ? kStopped : kTimedOut;
    if (op == kGet) {
      const auto it = values.find(keys[0]);
      if (it == values.end()) {
        reply.push_back(not_set);
      } else {
        reply.push_back(0);
        put_u64(reply, it->second.size());
        reply.insert(reply.end(), it->second.begin(), it->second.end());
      }
    } else {
      // WAIT answers with the indices of the keys still missing, so the client can name them.
      std::vector<uint32_t> missing;
      for (size_t i = 0; i < keys.size(); ++i) {
        if (values.count(keys[i]) == 0) missing.push_back(static_cast<uint32_t>(i));
      }
      reply.push_back(missing.empty() ? 0 : not_set);
      put_u32(reply, static_cast<uint32_t>(missing.size()));
      for (uint32_t i : missing) put_u32(reply, i);
    }
    if (stopping) {
      lock.unlock();
      send_all(fd, reply.data(), reply.size(), Clock::now() + milliseconds(100));
      return false;
    }
  }
  return send_all(fd, reply.data(), reply.size(), std::nullopt, stop) == Io::kOk;
}

// --- client ---

struct KvStoreClient::Reply {
  unsigned char status = 0;
  std::vector<char> value;        // GET
  std::vector<uint32_t> missing;  // WAIT
  std::vector<bool> present;      // CHECK
};

KvStoreClient::KvStoreClient(const std::string& address, int port, milliseconds timeout)
    : address_(address), port_(port), timeout_(timeout) {
  KEEL_CHECK(port >= 1 && port <= 65535, ValueError, "rendezvous: port ", port, " is outside 1..65535");
  KEEL_CHECK(timeout.count() > 0, ValueError, "rendezvous: the timeout must be positive, got ", timeout.count(), " ms");
  const auto deadline = Clock::now() + timeout;
  std::string last_error = "no attempt";
  auto backoff = milliseconds(20);
  for (;;) {
    AddrInfo info(address.c_str(), port, 0);
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
        if (wait_ready(fd, POLLOUT, attempt_deadline, -1) == Io::kOk) {
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
      std::array<char, kMagic.size()> hello{};
      if (error == 0 && send_all(fd, kMagic.data(), kMagic.size(), deadline) == Io::kOk) {
        const Io io = recv_all(fd, hello.data(), hello.size(), deadline);
        if (io == Io::kOk && hello == kMagic) {
          const int on = 1;
          ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
          fd_ = fd;
          break;
        }
        ::close(fd);
        KEEL_CHECK(io != Io::kOk, UnavailableError, "the service at ", where(),
                   " is not Keel's rendezvous store (is MASTER_PORT shared with another program?)");
        last_error = io == Io::kTimeout ? "no greeting from the server" : "the connection was closed";
        continue;
      }
      last_error = std::strerror(error != 0 ? error : ECONNRESET);
      ::close(fd);
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
  KEEL_CHECK(keys.size() <= kMaxKeys, ValueError, "rendezvous ", what, ": ", keys.size(), " keys; at most ", kMaxKeys);
  std::vector<char> request{static_cast<char>(op)};
  put_u32(request, static_cast<uint32_t>(keys.size()));
  for (const auto& key : keys) {
    KEEL_CHECK(key.size() <= kMaxKeyBytes, ValueError, "rendezvous ", what, ": key of ", key.size(), " bytes; at most ",
               kMaxKeyBytes);
    put_u32(request, static_cast<uint32_t>(key.size()));
    request.insert(request.end(), key.begin(), key.end());
  }
  if (value != nullptr) {
    KEEL_CHECK(value->size() <= kMaxValueBytes, ValueError, "rendezvous ", what, ": value of ", value->size(),
               " bytes; at most ", kMaxValueBytes);
    put_u64(request, value->size());
  }
  if (op == kGet || op == kWait) put_u64(request, static_cast<uint64_t>(std::max<int64_t>(wait.count(), 0)));

  std::lock_guard lock(mutex_);
  const auto deadline = Clock::now() + (op == kGet || op == kWait ? wait + kReplyGrace : timeout_);
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
  if (op == kCheck) {
    std::vector<unsigned char> flags(keys.size());
    if ((io = recv_all(fd_, flags.data(), flags.size(), deadline)) != Io::kOk) fail(io);
    for (unsigned char f : flags) reply.present.push_back(f != 0);
    return reply;
  }
  if ((io = recv_all(fd_, &reply.status, 1, deadline)) != Io::kOk) fail(io);
  if (op == kGet && reply.status == 0) {
    if ((io = recv_le(fd_, n, 8, deadline)) != Io::kOk) fail(io);
    KEEL_CHECK(n <= kMaxValueBytes, UnavailableError, "rendezvous at ", where(), ": malformed answer to ", what);
    reply.value.resize(n);
    if ((io = recv_all(fd_, reply.value.data(), n, deadline)) != Io::kOk) fail(io);
  } else if (op == kWait) {
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
  call("set", kSet, {key}, &value, milliseconds(0));
}

std::vector<char> KvStoreClient::get(const std::string& key) { return get(key, timeout_); }

std::vector<char> KvStoreClient::get(const std::string& key, milliseconds timeout) {
  Reply reply = call("get", kGet, {key}, nullptr, timeout);
  KEEL_CHECK(reply.status != kStopped, UnavailableError, "rendezvous at ", where(), ": the server stopped before key '",
             key, "' was set (did rank 0 give up or exit?)");
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
  const Reply reply = call("wait", kWait, keys, nullptr, timeout);
  WaitResult result;
  for (uint32_t i : reply.missing) result.missing.push_back(keys[i]);
  result.server_stopped = reply.status == kStopped;
  return result;
}

std::vector<bool> KvStoreClient::check(const std::vector<std::string>& keys) {
  if (keys.empty()) return {};
  return call("check", kCheck, keys, nullptr, milliseconds(0)).present;
}

}  // namespace keel::distribute
