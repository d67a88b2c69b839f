// KvStoreServer: one thread polls the listening sockets and every connection (all non-blocking), so a flood
// of connections costs descriptors up to a bound, never threads. This file accepts, reads, writes and enforces
// the time bounds; what the bytes mean (greeting, requests, memory budget) is kv_server_requests.cpp. Nothing
// thrown inside the loop leaves it: a connection whose handling throws is dropped, and a failure of the loop
// itself stops the server (its clients then see the store go away), never the process.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "distribute/kv_server_impl.h"
#include "keel/core/error.h"

namespace keel::distribute {

using kv::Clock;
using kv::Conn;
using std::chrono::milliseconds;

namespace {

// accept() out of descriptors (EMFILE, ENFILE) or kernel memory: the listening sockets rest this long, since
// the connection still pending would make poll() return at once forever; open connections are served meanwhile.
constexpr milliseconds kAcceptBackoff{100};
// At most this many accepts per turn of the loop, so a flood of connections cannot starve the open ones.
constexpr int kAcceptBatch = 64;
// At shutdown, waiting clients get their answers (which keys were missing) for at most this long.
constexpr milliseconds kShutdownFlush{100};

}  // namespace

// --- connections ---

void KvStoreServer::Impl::accept_some(int listener, Clock::time_point now) {
  for (int i = 0; i < kAcceptBatch; ++i) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      if (error == EAGAIN || error == EWOULDBLOCK) return;  // none left
      // Errors of that one connection (the client gave up, or its network failed: accept(2) says to go on).
      if (error == EINTR || error == ECONNABORTED || error == EPROTO || error == EPERM || error == ENETDOWN ||
          error == ENOPROTOOPT || error == EHOSTDOWN || error == ENONET || error == EHOSTUNREACH ||
          error == EOPNOTSUPP || error == ENETUNREACH) {
        continue;
      }
      // Out of descriptors (EMFILE, ENFILE) or memory, or anything unexpected: the pending connection would make
      // poll() return at once forever, so rest the listening sockets.
      accept_paused_until = now + kAcceptBackoff;
      return;
    }
    if (conns.size() >= limits.max_connections) {
      // Full: make room by evicting the oldest connection still in its greeting (a legitimate client finishes
      // it within a round trip); when every connection is authenticated, refuse the newcomer.
      auto oldest = std::find_if(conns.begin(), conns.end(), [](const auto& e) { return !e.second->authenticated; });
      if (oldest == conns.end()) {
        ::close(fd);
        continue;
      }
      close_conn(*oldest->second);
      conns.erase(oldest);
    }
    auto conn = std::make_unique<Conn>();
    conn->fd = fd;
    conn->id = next_id++;
    conn->since = now;
    if (!kv::random_nonce(conn->server_nonce)) {
      ::close(fd);  // no entropy: no greeting that could be predicted
      continue;
    }
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    Conn& c = *conn;
    conns.emplace(c.id, std::move(conn));
    std::vector<char> hello(kv::kMagic.begin(), kv::kMagic.end());
    hello.insert(hello.end(), c.server_nonce.begin(), c.server_nonce.end());
    answer(c, std::move(hello));
    flush(c, now);
  }
}

void KvStoreServer::Impl::close_conn(Conn& c) noexcept {
  if (c.fd < 0) return;
  try {
    if (c.waiting) unregister_wait(c);
  } catch (...) {
    // unregister_wait only erases; nothing to undo
  }
  release(c);
  ::close(c.fd);
  c.fd = -1;
  c.dead = true;
}

void KvStoreServer::Impl::sweep() noexcept {
  for (auto it = conns.begin(); it != conns.end();) {
    if (it->second->dead) {
      close_conn(*it->second);
      it = conns.erase(it);
    } else {
      ++it;
    }
  }
  connection_count.store(conns.size(), std::memory_order_relaxed);
}

// --- reading ---

void KvStoreServer::Impl::on_readable(Conn& c, Clock::time_point now) {
  // Before the greeting is done, read no further than the client's hello: nothing of a stranger is buffered.
  const size_t want = c.authenticated ? chunk.size() : kv::kClientHelloBytes - c.hello_have;
  const ssize_t n = ::recv(c.fd, chunk.data(), want, MSG_DONTWAIT);
  if (n == 0) return drop(c);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) drop(c);
    return;
  }
  const size_t used_bytes = consume(c, chunk.data(), static_cast<size_t>(n), now);
  // Bytes past a request whose answer is pending: the client sent its next request without waiting for the
  // answer, which the protocol does not allow (so nothing needs buffering here).
  if (used_bytes < static_cast<size_t>(n)) drop(c);
}

// --- writing ---

void KvStoreServer::Impl::answer(Conn& c, std::vector<char> head, std::shared_ptr<const std::vector<char>> value) {
  c.out = std::move(head);
  c.out_sent = 0;
  c.out_value = std::move(value);
  c.value_sent = 0;
  c.send_progress = Clock::now();
}

void KvStoreServer::Impl::flush(Conn& c, Clock::time_point now) {
  while (c.sending()) {
    const bool head = c.out_sent < c.out.size();
    const char* p = head ? c.out.data() + c.out_sent : c.out_value->data() + c.value_sent;
    const size_t size = head ? c.out.size() - c.out_sent : c.out_value->size() - c.value_sent;
    // MSG_NOSIGNAL: a client that went away is dropped, not a SIGPIPE that ends the process.
    const ssize_t n = ::send(c.fd, p, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) drop(c);
      return;  // the socket is full: poll for POLLOUT
    }
    (head ? c.out_sent : c.value_sent) += static_cast<size_t>(n);
    c.send_progress = now;
  }
  c.out.clear();
  c.out_sent = 0;
  c.out_value.reset();
  c.value_sent = 0;
  if (c.close_after_send) drop(c);
}

// --- the loop ---

void KvStoreServer::Impl::expire(Clock::time_point now) {
  for (auto& [id, conn] : conns) {
    Conn& c = *conn;
    if (c.dead) continue;
    if ((c.partial && now >= c.since + limits.read_timeout) ||
        (c.sending() && now >= c.send_progress + limits.read_timeout)) {
      drop(c);  // stalled mid-greeting, mid-message, or not reading its answer
    } else if (c.waiting && now >= c.wait_deadline) {
      finish_wait(c, kv::kTimedOut);
      flush(c, now);
    }
  }
}

std::optional<Clock::time_point> KvStoreServer::Impl::next_deadline() const {
  std::optional<Clock::time_point> next;
  auto consider = [&](Clock::time_point t) { next = next ? std::min(*next, t) : t; };
  if (accept_paused_until != Clock::time_point{}) consider(accept_paused_until);
  for (const auto& [id, conn] : conns) {
    const Conn& c = *conn;
    if (c.partial) consider(c.since + limits.read_timeout);
    if (c.sending()) consider(c.send_progress + limits.read_timeout);
    if (c.waiting) consider(c.wait_deadline);
  }
  return next;
}

void KvStoreServer::Impl::serve() {
  std::vector<pollfd> fds;
  std::vector<Conn*> polled;
  for (;;) {
    auto now = Clock::now();
    expire(now);
    sweep();
    if (accept_paused_until != Clock::time_point{} && now >= accept_paused_until) accept_paused_until = {};
    const bool accepting = accept_paused_until == Clock::time_point{};

    fds.clear();
    polled.clear();
    fds.push_back({stop_pipe[0], POLLIN, 0});
    if (accepting) {
      for (int fd : listeners) fds.push_back({fd, POLLIN, 0});
    }
    for (auto& [id, conn] : conns) {
      Conn& c = *conn;
      // A busy connection is not read: one request at a time, so its answers cannot pile up. POLLRDHUP still
      // tells when a waiting client goes away.
      const short events = c.sending() ? POLLOUT : c.waiting ? POLLRDHUP : POLLIN | POLLRDHUP;
      fds.push_back({c.fd, events, 0});
      polled.push_back(&c);
    }
    int wait_ms = -1;
    if (const auto next = next_deadline()) {
      wait_ms =
          static_cast<int>(std::clamp<long long>(std::chrono::ceil<milliseconds>(*next - now).count(), 0, 1 << 30));
    }
    if (::poll(fds.data(), fds.size(), wait_ms) < 0) {
      if (errno != EINTR) std::this_thread::sleep_for(milliseconds(10));  // ENOMEM: try again, without spinning
      continue;
    }
    if (fds[0].revents != 0) return;
    now = Clock::now();
    const size_t first_conn = 1 + (accepting ? listeners.size() : 0);
    for (size_t i = 0; i < polled.size(); ++i) {
      Conn& c = *polled[i];
      const short revents = fds[first_conn + i].revents;
      if (revents == 0 || c.dead) continue;
      try {
        if (revents & (POLLERR | POLLNVAL)) {
          drop(c);
        } else if (c.sending() && (revents & (POLLOUT | POLLHUP))) {
          flush(c, now);
        } else if (c.waiting && (revents & (POLLRDHUP | POLLHUP))) {
          drop(c);  // the client went away while it waited
        } else if (revents & (POLLIN | POLLHUP | POLLRDHUP)) {
          on_readable(c, now);
          if (!c.dead && c.sending()) flush(c, now);
        }
      } catch (...) {
        drop(c);  // out of memory while serving this client: drop it, serve the others
      }
    }
    if (accepting) {
      for (size_t i = 0; i < listeners.size(); ++i) {
        if (fds[1 + i].revents == 0) continue;
        try {
          sweep();  // the dead do not count against max_connections
          accept_some(listeners[i], now);
        } catch (...) {
          accept_paused_until = now + kAcceptBackoff;  // out of memory for a new connection: back off
        }
      }
    }
  }
}

void KvStoreServer::Impl::shut_down() noexcept {
  try {
    // A server that stops still answers its waiting clients, so that they can say what was missing.
    auto now = Clock::now();
    for (auto& [id, conn] : conns) {
      if (!conn->dead && conn->waiting) {
        conn->close_after_send = true;
        finish_wait(*conn, kv::kStopped);
        flush(*conn, now);
      }
    }
    const auto deadline = now + kShutdownFlush;
    std::vector<pollfd> fds;
    std::vector<Conn*> polled;
    while ((now = Clock::now()) < deadline) {
      fds.clear();
      polled.clear();
      for (auto& [id, conn] : conns) {
        if (conn->dead || !conn->sending()) continue;
        fds.push_back({conn->fd, POLLOUT, 0});
        polled.push_back(conn.get());
      }
      if (fds.empty()) break;
      const int wait_ms = static_cast<int>(std::chrono::ceil<milliseconds>(deadline - now).count());
      if (::poll(fds.data(), fds.size(), std::max(wait_ms, 1)) <= 0) continue;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents & (POLLERR | POLLNVAL | POLLHUP)) {
          drop(*polled[i]);
        } else if (fds[i].revents != 0) {
          flush(*polled[i], now);
        }
      }
    }
  } catch (...) {
    // Closing below needs nothing that can fail.
  }
  for (auto& [id, conn] : conns) close_conn(*conn);
  conns.clear();
  connection_count.store(0, std::memory_order_relaxed);
}

void KvStoreServer::Impl::run() noexcept {
  try {
    serve();
  } catch (...) {
    // The loop itself failed (out of memory): stop serving. Clients see their connections close and report
    // it; nothing escapes the thread, which would end the process.
  }
  shut_down();
}

// --- setup ---

namespace {

// A listening socket bound to exactly `addr`; -1 with `error` and `code` (errno) set: EADDRNOTAVAIL when the
// address is not one of this host's.
int listen_on(const sockaddr* addr, socklen_t len, std::string& error, int& code) {
  const int fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    code = errno;
    error = std::string("socket: ") + std::strerror(code);
    return -1;
  }
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  // An IPv6 socket serves its own address only, not the IPv4 ones too.
  if (addr->sa_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  if (::bind(fd, addr, len) != 0 || ::listen(fd, 1024) != 0) {
    code = errno;
    error = std::string("bind: ") + std::strerror(code);
    ::close(fd);
    return -1;
  }
  return fd;
}

sockaddr_storage copy_address(const sockaddr* addr, socklen_t len) {
  sockaddr_storage out{};
  std::memcpy(&out, addr, std::min<size_t>(len, sizeof(out)));
  return out;
}

void set_port(sockaddr_storage& addr, int port) {
  if (addr.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6&>(addr).sin6_port = htons(static_cast<uint16_t>(port));
  } else {
    reinterpret_cast<sockaddr_in&>(addr).sin_port = htons(static_cast<uint16_t>(port));
  }
}

}  // namespace

KvStoreServer::KvStoreServer(const std::string& address, int port, std::string secret, Limits limits)
    : impl_(std::make_unique<Impl>()) {
  KEEL_CHECK(port >= 0 && port <= 65535, ValueError, "rendezvous: port ", port, " is outside 0..65535");
  KEEL_CHECK(limits.max_connections >= 1 && limits.read_timeout.count() > 0, ValueError,
             "rendezvous: max_connections and read_timeout must be positive");
  const std::string where = host_port(address, port);
  KEEL_CHECK(!secret.empty() || is_loopback_address(address), ValueError, "cannot serve the rendezvous at ", where,
             " without a job secret: it is not a loopback address, so anyone who can reach it could join the job");
  Impl& impl = *impl_;
  impl.address = address;
  impl.secret = std::move(secret);
  impl.limits = limits;
  auto close_all = [&] {
    for (int fd : impl.listeners) ::close(fd);
    impl.listeners.clear();
  };

  // The addresses the name resolves to that belong to this host (bind fails with EADDRNOTAVAIL for the
  // others), each on its own socket: never the wildcard, which would serve every interface.
  net::AddrInfo info(address.c_str(), port, 0);
  KEEL_CHECK(info.error == 0, UnavailableError, "cannot serve the rendezvous at ", where, ": ",
             ::gai_strerror(info.error));
  std::vector<std::string> foreign;
  auto bind_address = [&](sockaddr_storage addr, socklen_t len) {
    const std::string name = net::numeric_host(reinterpret_cast<const sockaddr*>(&addr), len);
    if (std::find(impl.listening_on.begin(), impl.listening_on.end(), name) != impl.listening_on.end()) return;
    set_port(addr, impl.port);
    std::string error;
    int code = 0;
    const int fd = listen_on(reinterpret_cast<const sockaddr*>(&addr), len, error, code);
    if (fd < 0 && (code == EADDRNOTAVAIL || code == EAFNOSUPPORT)) {
      if (std::find(foreign.begin(), foreign.end(), name) == foreign.end()) foreign.push_back(name);
      return;
    }
    if (fd < 0) {
      close_all();
      throw UnavailableError(::keel::detail::cat("cannot serve the rendezvous at ", where, " on ", name, ": ", error,
                                                 impl.port != 0 ? " (is another job using this port? choose a free "
                                                                  "MASTER_PORT)"
                                                                : ""));
    }
    impl.listeners.push_back(fd);
    impl.listening_on.push_back(name);
    if (impl.port == 0) impl.port = net::bound_port(fd);  // port 0: the others take the port the first got
  };
  impl.port = port;
  for (const addrinfo* ai = info.list; ai != nullptr; ai = ai->ai_next) {
    bind_address(copy_address(ai->ai_addr, ai->ai_addrlen), ai->ai_addrlen);
  }
  std::string foreign_list;
  for (const auto& name : foreign) foreign_list += (foreign_list.empty() ? "" : ", ") + name;
  KEEL_CHECK(!impl.listeners.empty(), UnavailableError, "cannot serve the rendezvous at ", where, ": ", address,
             " resolves to ", foreign_list, ", not an address of this host (MASTER_ADDR must name rank 0's host)");
  // Debian maps a host's own name to 127.0.1.1 in /etc/hosts, while its peers resolve the name (through DNS)
  // to a routable address. When a name that is not a loopback name reaches only loopback here, serve the
  // address of the default route as well, the one peers most likely resolve the name to (the Gloo device
  // makes the same choice). Any other interface stays closed; a host whose peers reach it elsewhere names that
  // address in MASTER_ADDR.
  const bool only_loopback = std::all_of(impl.listening_on.begin(), impl.listening_on.end(),
                                         [](const std::string& name) { return is_loopback_address(name); });
  if (only_loopback && !is_loopback_address(address)) {
    if (auto routed = net::local_address_towards("192.0.2.1", 9); routed && !is_loopback_address(*routed)) {
      net::AddrInfo extra(routed->c_str(), impl.port, AI_NUMERICHOST);
      if (extra.error == 0)
        bind_address(copy_address(extra.list->ai_addr, extra.list->ai_addrlen), extra.list->ai_addrlen);
    }
  }
  if (impl.secret.empty()) {
    for (const auto& name : impl.listening_on) {
      if (is_loopback_address(name)) continue;
      close_all();
      throw ValueError(::keel::detail::cat("cannot serve the rendezvous at ", where, " without a job secret: ", address,
                                           " resolves to ", name,
                                           ", which is not a loopback address, so anyone who can reach it could "
                                           "join the job"));
    }
  }
  if (::pipe2(impl.stop_pipe, O_CLOEXEC) != 0) {
    close_all();
    throw UnavailableError(
        ::keel::detail::cat("cannot serve the rendezvous at ", where, ": pipe: ", std::strerror(errno)));
  }
  try {
    impl.loop_thread = std::thread([&impl] { impl.run(); });
  } catch (const std::system_error& e) {
    close_all();
    ::close(impl.stop_pipe[0]);
    ::close(impl.stop_pipe[1]);
    throw UnavailableError(::keel::detail::cat("cannot serve the rendezvous at ", where, ": ", e.what()));
  }
}

KvStoreServer::~KvStoreServer() {
  const char byte = 0;
  while (::write(impl_->stop_pipe[1], &byte, 1) < 0 && errno == EINTR) {
  }
  impl_->loop_thread.join();
  // Closed only now, so that once the destructor returns the port refuses connections.
  for (int fd : impl_->listeners) ::close(fd);
  ::close(impl_->stop_pipe[0]);
  ::close(impl_->stop_pipe[1]);
}

int KvStoreServer::port() const { return impl_->port; }
const std::string& KvStoreServer::address() const { return impl_->address; }
const std::vector<std::string>& KvStoreServer::listening_on() const { return impl_->listening_on; }

KvStoreServer::Stats KvStoreServer::stats() const {
  return {impl_->connection_count.load(std::memory_order_relaxed), impl_->used.load(std::memory_order_relaxed)};
}

}  // namespace keel::distribute
