#pragma once
// Tests use the broker launcher the benchmarks use (src/tools/mosquitto_broker.hpp) under the name
// they have always known it by.
#include "tools/mosquitto_broker.hpp"

namespace posthorn::test {
using MosquittoServer = tools::MosquittoBroker;
} // namespace posthorn::test
