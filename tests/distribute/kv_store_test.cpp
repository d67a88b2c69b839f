// The rendezvous key-value store: a server and its clients on threads of one process, over loopback on ports
// the kernel picks. set/get/wait/check, blocking gets, timeouts that name the address or the missing keys,
// connection retries, bind conflicts, a server that shuts down under a waiting client, a foreign service, the
// job secret, and which addresses the server listens on. Peers that attack it: kv_store_hostile_test.cpp.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "distribute/kv_store.h"
#include "keel/core/error.h"
#include "test_util.h"
#include "unused_port.h"

namespace keel::distribute {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

int unused_port() {
  const int port = keel::testing::unused_loopback_port();
  EXPECT_NE(port, 0) << "no free loopback port";
  return port;
}

std::vector<char> bytes(const std::string& s) { return {s.begin(), s.end()}; }

TEST(KvStore, SetGetCheckAndWait) {
  KvStoreServer server("127.0.0.1", 0);
  ASSERT_GT(server.port(), 0);
  KvStoreClient client("127.0.0.1", server.port(), 5s);
  EXPECT_EQ(client.where(), "127.0.0.1:" + std::to_string(server.port()));

  const std::vector<char> binary = {'a', '\0', '\xff', 'z'};
  client.set("rank/0", binary);
  client.set("empty", {});
  EXPECT_EQ(client.get("rank/0"), binary);
  EXPECT_TRUE(client.get("empty").empty());
  EXPECT_EQ(client.check({"rank/0", "rank/1", "empty"}), (std::vector<bool>{true, false, true}));
  client.wait({"rank/0", "empty"});
  client.set("rank/0", bytes("overwritten"));
  EXPECT_EQ(client.get("rank/0"), bytes("overwritten"));
}

TEST(KvStore, GetBlocksUntilAnotherClientSets) {
  KvStoreServer server("127.0.0.1", 0);
  KvStoreClient reader("127.0.0.1", server.port(), 10s);
  std::thread writer([&] {
    KvStoreClient client("127.0.0.1", server.port(), 10s);
    std::this_thread::sleep_for(200ms);
    client.set("late", bytes("value"));
  });
  const auto start = Clock::now();
  EXPECT_EQ(reader.get("late"), bytes("value"));
  EXPECT_GE(seconds_since(start), 0.15);
  writer.join();
}

TEST(KvStore, ManyClientsMeet) {
  KvStoreServer server("127.0.0.1", 0);
  constexpr int kClients = 8;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int r = 0; r < kClients; ++r) {
    threads.emplace_back([&, r] {
      KvStoreClient client("127.0.0.1", server.port(), 10s);
      client.set("rank/" + std::to_string(r), bytes("addr" + std::to_string(r)));
      std::vector<std::string> keys;
      for (int p = 0; p < kClients; ++p) keys.push_back("rank/" + std::to_string(p));
      client.wait(keys);
      bool all = true;
      for (int p = 0; p < kClients; ++p) all &= client.get(keys[p]) == bytes("addr" + std::to_string(p));
      ok += all ? 1 : 0;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, kClients);
}

TEST(KvStore, GetTimesOutNamingTheKey) {
  KvStoreServer server("127.0.0.1", 0);
  KvStoreClient client("127.0.0.1", server.port(), 300ms);
  const auto start = Clock::now();
  try {
    client.get("never/set");
    FAIL() << "get of a missing key returned";
  } catch (const DeadlineExceededError& e) {
    EXPECT_NE(std::string(e.what()).find("'never/set' was not set within 0.3 s"), std::string::npos) << e.what();
  }
  EXPECT_GE(seconds_since(start), 0.25);
  EXPECT_LT(seconds_since(start), 5.0);
}

TEST(KvStore, WaitNamesOnlyTheMissingKeys) {
  KvStoreServer server("127.0.0.1", 0);
  KvStoreClient client("127.0.0.1", server.port(), 5s);
  client.set("a", bytes("1"));
  const auto result = client.wait_for({"a", "b", "c"}, 200ms);
  EXPECT_EQ(result.missing, (std::vector<std::string>{"b", "c"}));
  EXPECT_FALSE(result.server_stopped);
  try {
    client.wait({"a", "b"}, 200ms);
    FAIL() << "wait for a missing key returned";
  } catch (const DeadlineExceededError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("keys 'b' were not set within 0.2 s"), std::string::npos) << message;
    EXPECT_EQ(message.find("'a'"), std::string::npos) << message;
  }
}

TEST(KvStore, ClientRetriesUntilTheServerStarts) {
  const int port = unused_port();
  std::unique_ptr<KvStoreServer> server;
  std::thread starter([&] {
    std::this_thread::sleep_for(300ms);
    server = std::make_unique<KvStoreServer>("127.0.0.1", port);
  });
  KvStoreClient client("127.0.0.1", port, 10s);
  starter.join();
  client.set("k", bytes("v"));
  EXPECT_EQ(client.get("k"), bytes("v"));
}

TEST(KvStore, UnreachableAddressTimesOutNamingIt) {
  const int port = unused_port();
  const auto start = Clock::now();
  try {
    KvStoreClient client("127.0.0.1", port, 500ms);
    FAIL() << "connected to a port nobody serves";
  } catch (const DeadlineExceededError& e) {
    const std::string expected = "could not reach the rendezvous at 127.0.0.1:" + std::to_string(port) +
                                 " after 0.5 s (is rank 0 running? is the address right?)";
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Connection refused"), std::string::npos) << e.what();
  }
  EXPECT_GE(seconds_since(start), 0.45);
  EXPECT_LT(seconds_since(start), 5.0);
}

TEST(KvStore, UnknownHostTimesOutNamingIt) {
  try {
    KvStoreClient client("no-such-host.invalid", 29500, 300ms);
    FAIL() << "resolved an .invalid name";
  } catch (const DeadlineExceededError& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-host.invalid:29500"), std::string::npos) << e.what();
  }
}

TEST(KvStore, PortInUseIsUnavailableNamingTheAddress) {
  KvStoreServer first("127.0.0.1", 0);
  try {
    KvStoreServer second("127.0.0.1", first.port());
    FAIL() << "two servers bound one port";
  } catch (const UnavailableError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("cannot serve the rendezvous at 127.0.0.1:" + std::to_string(first.port())),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("Address already in use"), std::string::npos) << message;
  }
}

TEST(KvStore, ServerShutdownAnswersAPendingWaitWithTheMissingKeys) {
  auto server = std::make_unique<KvStoreServer>("127.0.0.1", 0);
  KvStoreClient client("127.0.0.1", server->port(), 30s);
  client.set("here", {});
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    server.reset();
  });
  const auto start = Clock::now();
  try {
    client.wait({"here", "absent"});
    FAIL() << "wait returned";
  } catch (const UnavailableError& e) {
    EXPECT_NE(std::string(e.what()).find("the server stopped before keys 'absent' were set"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(seconds_since(start), 5.0);
  stopper.join();
}

TEST(KvStore, ServerShutdownEndsAPendingGet) {
  auto server = std::make_unique<KvStoreServer>("127.0.0.1", 0);
  KvStoreClient client("127.0.0.1", server->port(), 30s);
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    server.reset();
  });
  const auto start = Clock::now();
  EXPECT_THROW(client.get("never"), UnavailableError);
  EXPECT_LT(seconds_since(start), 5.0);
  stopper.join();
  // The connection is gone for good: later calls fail the same way, not with a hang.
  EXPECT_THROW(client.set("k", {}), UnavailableError);
}

TEST(KvStore, ForeignServiceIsNamed) {
  // A listener that answers with something other than the store's greeting.
  int listen_port = 0;
  const int fd = keel::testing::listen_on_loopback(listen_port);
  ASSERT_GE(fd, 0);
  std::thread service([fd] {
    const int conn = ::accept(fd, nullptr, nullptr);
    const char reply[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    (void)!::write(conn, reply, sizeof(reply) - 1);
    std::this_thread::sleep_for(200ms);
    ::close(conn);
  });
  try {
    KvStoreClient client("127.0.0.1", listen_port, 5s);
    FAIL() << "accepted a foreign service as the store";
  } catch (const UnavailableError& e) {
    EXPECT_NE(std::string(e.what()).find("is not Keel's rendezvous store"), std::string::npos) << e.what();
  }
  service.join();
  ::close(fd);
}

TEST(KvStore, ClientsWithTheServersSecretMeet) {
  const std::string secret = "a job secret of at least 16 characters";
  KvStoreServer server("127.0.0.1", 0, secret);
  KvStoreClient a("127.0.0.1", server.port(), 5s, secret);
  KvStoreClient b("127.0.0.1", server.port(), 5s, secret);
  a.set("k", bytes("v"));
  EXPECT_EQ(b.get("k"), bytes("v"));
}

// Whether a TCP connection to ip:port is refused (nothing listens there).
bool refuses(const std::string& ip, int port) {
  const int fd = ::socket(ip.find(':') != std::string::npos ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (ip.find(':') != std::string::npos) {
    auto& a6 = reinterpret_cast<sockaddr_in6&>(addr);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET6, ip.c_str(), &a6.sin6_addr);
    len = sizeof(a6);
  } else {
    auto& a4 = reinterpret_cast<sockaddr_in&>(addr);
    a4.sin_family = AF_INET;
    a4.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, ip.c_str(), &a4.sin_addr);
    len = sizeof(a4);
  }
  const bool refused = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno == ECONNREFUSED;
  ::close(fd);
  return refused;
}

// This host's address on its default route (what peers on other hosts reach), if it has one.
std::optional<std::string> routed_address() {
  auto routed = net::local_address_towards("192.0.2.1", 9);
  if (routed && is_loopback_address(*routed)) routed.reset();
  return routed;
}

TEST(KvStore, ServesOnlyTheAddressItIsGiven) {
  const auto routed = routed_address();
  if (!routed) GTEST_SKIP() << "this host has no default route, so no non-loopback address to serve";
  const std::string secret = "a job secret of at least 16 characters";
  KvStoreServer server(*routed, 0, secret);
  EXPECT_EQ(server.listening_on(), std::vector<std::string>{*routed});
  EXPECT_TRUE(refuses("127.0.0.1", server.port())) << "a server for " << *routed << " also listens on loopback";
  KvStoreClient client(*routed, server.port(), 5s, secret);
  client.set("k", {});
}

TEST(KvStore, HostNameMappedToLoopbackServesLoopbackAndTheRoutedAddressOnly) {
  // Debian maps a host's own name to 127.0.1.1; peers on other hosts resolve it to a routable address.
  char name[256] = {};
  ASSERT_EQ(::gethostname(name, sizeof(name) - 1), 0);
  const std::string secret = "a job secret of at least 16 characters";
  bool only_loopback_named = true;
  {
    net::AddrInfo info(name, 0, 0);
    // A machine without an /etc/hosts entry or DNS for its own name (a bare chroot, some containers).
    if (info.error != 0) GTEST_SKIP() << "this host's name " << name << " does not resolve here";
    for (const addrinfo* ai = info.list; ai != nullptr; ai = ai->ai_next) {
      only_loopback_named &= is_loopback_address(net::numeric_host(ai->ai_addr, ai->ai_addrlen));
    }
  }
  KvStoreServer server(name, 0, secret);
  ASSERT_FALSE(server.listening_on().empty());
  for (const auto& address : server.listening_on()) {
    EXPECT_NE(address, "0.0.0.0");
    EXPECT_NE(address, "::");
  }
  const auto routed = routed_address();
  if (only_loopback_named && routed) {
    EXPECT_NE(std::find(server.listening_on().begin(), server.listening_on().end(), *routed),
              server.listening_on().end())
        << name << " resolves to loopback only here, so its routed address " << *routed << " should be served too";
  }
  KvStoreClient client(name, server.port(), 5s, secret);
  client.set("k", {});
}

TEST(KvStore, AddressOfAnotherHostIsUnavailable) {
  // 198.51.100.0/24 (TEST-NET-2) belongs to no host.
  keel::testing::expect_error<UnavailableError>(
      [] { KvStoreServer server("198.51.100.7", 0, "a job secret of at least 16 characters"); },
      "cannot serve the rendezvous at 198.51.100.7:0: 198.51.100.7 resolves to 198.51.100.7, not an address of "
      "this host (MASTER_ADDR must name rank 0's host)");
}

TEST(KvStore, NonLoopbackAddressNeedsASecret) {
  keel::testing::expect_error<ValueError>([] { KvStoreServer server("198.51.100.7", 0); },
                                          "cannot serve the rendezvous at 198.51.100.7:0 without a job secret",
                                          "not a loopback address");
}

TEST(KvStore, RejectsBadArguments) {
  EXPECT_THROW(KvStoreServer("127.0.0.1", 70000), ValueError);
  EXPECT_THROW(KvStoreClient("127.0.0.1", 0, 1s), ValueError);
  EXPECT_THROW(KvStoreClient("127.0.0.1", 29500, 0ms), ValueError);
}

TEST(KvStore, LoopbackAddressesAndHostPort) {
  EXPECT_TRUE(is_loopback_address("127.0.0.1"));
  EXPECT_TRUE(is_loopback_address("127.0.1.1"));
  EXPECT_TRUE(is_loopback_address("::1"));
  EXPECT_TRUE(is_loopback_address("localhost"));
  EXPECT_FALSE(is_loopback_address("10.0.0.1"));
  EXPECT_FALSE(is_loopback_address("node1"));
  EXPECT_EQ(host_port("10.0.0.1", 29500), "10.0.0.1:29500");
  EXPECT_EQ(host_port("::1", 29500), "[::1]:29500");
}

}  // namespace
}  // namespace keel::distribute
