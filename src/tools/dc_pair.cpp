#include "tools/dc_pair.hpp"

#include <nlohmann/json.hpp>

#include <poll.h>

#include <climits>
#include <stdexcept>

namespace posthorn::tools {

std::vector<std::string> dc_command(const std::string& binary, const DcPeerArgs& a) {
  std::vector<std::string> argv = {
      binary,   "dc",        "--role",         a.role,
      "--mode", a.mode,      "--bytes",        std::to_string(a.bytes),
      "--bind", "127.0.0.1", "--message-size", std::to_string(a.message_size)};
  if (a.quiet) argv.push_back("--quiet");
  for (const auto& url : a.turn) {
    argv.push_back("--turn");
    argv.push_back(url);
  }
  if (!a.turn_user.empty()) argv.insert(argv.end(), {"--turn-user", a.turn_user});
  if (!a.turn_pass.empty()) argv.insert(argv.end(), {"--turn-pass", a.turn_pass});
  if (a.relay_only) argv.push_back("--relay-only");
  argv.insert(argv.end(), a.extra.begin(), a.extra.end());
  return argv;
}

DcPair::DcPair(const std::vector<std::string>& offer_argv,
               const std::vector<std::string>& answer_argv, const DcPairOptions& options) {
  answerer_ = std::make_unique<ChildProcess>(answer_argv);
  if (options.wait_answerer_ready) {
    if (!answerer_->write_line(R"({"type":"ready-probe"})"))
      throw std::runtime_error("dc pair: the answerer exited before reading its stdin");
    const auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto line = left.count() > 0 ? answerer_->read_line(left) : std::nullopt;
      if (!line) throw std::runtime_error("dc pair: the answerer did not answer the ready probe");
      auto j = nlohmann::json::parse(*line, nullptr, false);
      // The refusal of the probe; anything else before it (none expected) is dropped.
      if (j.is_object() && j.value("type", std::string()) == "error") break;
    }
  }
  started_ = std::chrono::steady_clock::now();
  offerer_ = std::make_unique<ChildProcess>(offer_argv);
}

std::optional<DcEvent> DcPair::handle_line(Side from, const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  DcEvent e;
  e.side = from;
  e.line = line;
  e.at = std::chrono::steady_clock::now();
  if (j.is_discarded() || !j.is_object()) {
    e.type = "garbage";
    return e;
  }
  e.type = j.value("type", std::string());
  if (e.type == "offer" || e.type == "answer" || e.type == "candidate") {
    if (relayed_++ == 0) first_signal_at_ = e.at;
    process(from == Side::Offerer ? Side::Answerer : Side::Offerer).write_line(line);
    return std::nullopt;
  }
  if (j.contains("bytes") && j["bytes"].is_number_unsigned())
    e.bytes = j["bytes"].get<std::uint64_t>();
  e.sha256 = j.value("sha256", std::string());
  e.error = j.value("error", std::string());
  return e;
}

std::optional<DcEvent> DcPair::run_until(const std::function<bool(const DcEvent&)>& until,
                                         std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (Side s : {Side::Offerer, Side::Answerer}) {
      while (auto line = process(s).take_buffered_line()) {
        if (auto e = handle_line(s, *line)) {
          if (observe_) observe_(*e);
          if (until(*e)) return e;
        }
      }
    }
    if (offerer_->eof() && answerer_->eof()) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd fds[2] = {
        {offerer_->stdout_fd(), static_cast<short>(offerer_->eof() ? 0 : POLLIN), 0},
        {answerer_->stdout_fd(), static_cast<short>(answerer_->eof() ? 0 : POLLIN), 0}};
    ::poll(fds, 2, static_cast<int>(std::min<long>(left.count(), INT_MAX)));
    offerer_->pump_stdout();
    answerer_->pump_stdout();
  }
}

} // namespace posthorn::tools
