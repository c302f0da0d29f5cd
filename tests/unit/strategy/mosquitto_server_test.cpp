// The test broker itself: it must listen on loopback only (mosquitto 2.0.11's WebSocket listener
// binds every interface unless told otherwise), and survive a restart on the same ports.
#include "support/mosquitto_server.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace posthorn::test {
namespace {

/// Local addresses (hex, as the kernel prints them) of the listening sockets on `port`, from
/// /proc/net/tcp or /proc/net/tcp6.
std::vector<std::string> listeners(const char* table, std::uint16_t port) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line); // header
  std::vector<std::string> out;
  char want[8];
  std::snprintf(want, sizeof want, "%04X", port);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    const auto colon = local.rfind(':');
    if (state == "0A" && local.substr(colon + 1) == want) out.push_back(local.substr(0, colon));
  }
  return out;
}

class MosquittoServerTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (!MosquittoServer::available()) GTEST_SKIP() << "mosquitto is not installed";
  }
};

TEST_F(MosquittoServerTest, ListensOnLoopbackOnly) {
  MosquittoServer broker;
  for (auto port : {broker.tcp_port(), broker.ws_port()}) {
    EXPECT_EQ(listeners("/proc/net/tcp", port), std::vector<std::string>{"0100007F"})
        << "port " << port << "\n"
        << broker.log();
    EXPECT_TRUE(listeners("/proc/net/tcp6", port).empty()) << "port " << port;
  }
  EXPECT_EQ(broker.ws_url(), "ws://127.0.0.1:" + std::to_string(broker.ws_port()) + "/mqtt");
  EXPECT_EQ(broker.tcp_url(), "mqtt://127.0.0.1:" + std::to_string(broker.tcp_port()));
}

TEST_F(MosquittoServerTest, RestartsOnTheSamePorts) {
  MosquittoServer broker;
  const auto tcp = broker.tcp_port();
  broker.stop();
  EXPECT_FALSE(broker.running());
  EXPECT_TRUE(listeners("/proc/net/tcp", tcp).empty());
  broker.start();
  EXPECT_TRUE(broker.running());
  EXPECT_EQ(broker.tcp_port(), tcp);
  EXPECT_EQ(listeners("/proc/net/tcp", tcp).size(), 1u);
}

} // namespace
} // namespace posthorn::test
