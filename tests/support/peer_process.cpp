#include "peer_process.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

namespace posthorn::test {

using namespace std::chrono;

std::string_view to_string(PeerImpl impl) {
  switch (impl) {
  case PeerImpl::TrysteroNode: return "TrysteroNode";
  case PeerImpl::TrysteroChromium: return "TrysteroChromium";
  case PeerImpl::Posthorn: return "Posthorn";
  }
  return "?";
}

std::string find_in_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::vector<std::string> peer_command(PeerImpl impl, const std::vector<std::string>& flags,
                                      const PeerPaths& paths) {
  std::vector<std::string> argv;
  switch (impl) {
  case PeerImpl::Posthorn: argv = {paths.posthorn_binary, "peer"}; break;
  case PeerImpl::TrysteroNode:
  case PeerImpl::TrysteroChromium: {
    const std::string node = paths.node.empty() ? find_in_path("node") : paths.node;
    if (node.empty()) throw std::runtime_error("node is not on PATH");
    argv = {node, paths.js_dir + "/trystero-peer.mjs", "--runtime",
            impl == PeerImpl::TrysteroNode ? "node" : "chromium"};
    break;
  }
  }
  argv.insert(argv.end(), flags.begin(), flags.end());
  // POSTHORN_INTEROP_LOG_LEVEL=debug: posthorn peers log at that level into their stderr log.
  if (const char* level = std::getenv("POSTHORN_INTEROP_LOG_LEVEL");
      impl == PeerImpl::Posthorn && level && *level)
    argv.insert(argv.end(), {"--log-level", level});
  return argv;
}

namespace {

// Runs argv with its stderr appended to `log` and `env` added to its environment
// (ChildProcess inherits both; `exec` in a shell and then env(1) change them without leaving
// an extra process behind: the pid is the peer's).
std::vector<std::string> wrapped_command(const std::filesystem::path& log,
                                         const std::vector<std::string>& env,
                                         const std::vector<std::string>& argv) {
  std::vector<std::string> wrapped = {"/bin/sh", "-c", "log=$1; shift; exec \"$@\" 2>>\"$log\"",
                                      "sh", log.string()};
  if (!env.empty()) {
    wrapped.push_back("/usr/bin/env");
    wrapped.insert(wrapped.end(), env.begin(), env.end());
  }
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

std::string abbreviate(const Event& e, std::size_t max = 300) {
  std::string s = e.dump();
  if (s.size() > max) s = s.substr(0, max) + "…";
  return s;
}

} // namespace

PeerProcess::PeerProcess(PeerImpl impl, std::string name, const std::vector<std::string>& flags,
                         const std::filesystem::path& log_dir, const PeerPaths& paths,
                         const std::vector<std::string>& env)
    : impl_(impl), name_(std::move(name)), stderr_path_(log_dir / (name_ + ".stderr.log")) {
  std::filesystem::create_directories(log_dir);
  const auto argv = peer_command(impl, flags, paths);
  {
    std::ofstream log(stderr_path_, std::ios::app);
    log << "# " << to_string(impl) << ":";
    for (const auto& e : env)
      log << ' ' << e;
    for (const auto& a : argv)
      log << ' ' << a;
    log << '\n';
  }
  child_ = std::make_unique<tools::ChildProcess>(wrapped_command(stderr_path_, env, argv));
}

PeerProcess::~PeerProcess() {
  close_input();
  // ChildProcess's destructor waits up to 3 s for the exit that stdin EOF causes, then kills.
  child_.reset();
  if (::testing::Test::HasFailure()) {
    std::cerr << "---- " << name_ << " (" << to_string(impl_) << ", id " << self_id_
              << ") recent events ----\n"
              << describe_recent() << "---- " << name_ << " stderr (" << stderr_path_.string()
              << ") ----\n"
              << stderr_tail() << "---- end of " << name_ << " ----\n";
  }
}

void PeerProcess::close_input() {
  if (child_) child_->close_stdin();
}

void PeerProcess::send(const nlohmann::json& command) {
  send_line(command.dump());
}

void PeerProcess::send_line(const std::string& line) {
  if (!child_->write_line(line))
    throw std::runtime_error(name_ + ": cannot write command (process gone?)\n" +
                             describe_recent() + stderr_tail());
}

std::optional<Event> PeerProcess::read_event(milliseconds timeout) {
  auto line = child_->read_line(timeout);
  if (!line) return std::nullopt;
  Event e = Event::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (!e.is_object() || !e.contains("event") || !e["event"].is_string()) {
    garbage_.push_back(*line);
    ADD_FAILURE() << name_ << " printed a line that is not a JSON event: " << *line;
    return std::nullopt;
  }
  history_.push_back(e);
  if (field(e, "event") == "ready" && !field(e, "self").empty()) self_id_ = field(e, "self");
  return e;
}

std::optional<Event> PeerProcess::poll_for(const EventPredicate& pred, milliseconds timeout) {
  for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
    if (pred(*it)) {
      Event e = std::move(*it);
      backlog_.erase(it);
      return e;
    }
  }
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {
    const auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0 || child_->eof()) return std::nullopt;
    auto e = read_event(left);
    if (!e) continue;
    if (pred(*e)) return e;
    backlog_.push_back(std::move(*e));
  }
}

Event PeerProcess::wait_for(const EventPredicate& pred, milliseconds timeout,
                            std::string_view label) {
  const auto start = steady_clock::now();
  if (auto e = poll_for(pred, timeout)) return std::move(*e);
  std::ostringstream msg;
  msg << name_ << " (" << to_string(impl_) << "): no '" << label << "' event "
      << (child_->eof() ? "before the process closed its output"
                        : "within " + std::to_string(timeout.count()) + " ms")
      << " (waited " << duration_cast<milliseconds>(steady_clock::now() - start).count()
      << " ms)\nrecent events:\n"
      << describe_recent() << "stderr (" << stderr_path_.string() << "):\n"
      << stderr_tail(4096);
  throw PeerTimeout(msg.str());
}

const std::string& PeerProcess::self_id() {
  if (self_id_.empty()) wait_for(is_event("ready"), seconds(60), "ready");
  return self_id_;
}

std::optional<int> PeerProcess::wait_exit(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {
    // Keep draining stdout: a child blocked on a full pipe would never exit.
    while (!child_->eof()) {
      auto e = read_event(milliseconds(20));
      if (!e) break;
      backlog_.push_back(std::move(*e));
    }
    if (auto status = child_->wait(milliseconds(0))) return status;
    if (steady_clock::now() >= deadline) return std::nullopt;
    if (child_->eof()) {
      return child_->wait(duration_cast<milliseconds>(deadline - steady_clock::now()));
    }
  }
}

std::optional<int> PeerProcess::leave_and_wait(milliseconds timeout) {
  send({{"cmd", "leave"}});
  return wait_exit(timeout);
}

std::string PeerProcess::stderr_tail(std::size_t max_bytes) const {
  std::ifstream in(stderr_path_, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (all.size() > max_bytes) all = "…" + all.substr(all.size() - max_bytes);
  return all;
}

std::string PeerProcess::describe_recent() const {
  std::ostringstream out;
  std::size_t progress = 0;
  std::vector<const Event*> recent;
  for (auto it = history_.rbegin(); it != history_.rend() && recent.size() < 20; ++it) {
    if ((*it)["event"] == "progress") {
      ++progress;
      continue;
    }
    recent.push_back(&*it);
  }
  std::reverse(recent.begin(), recent.end());
  for (const Event* e : recent)
    out << "  " << abbreviate(*e) << '\n';
  if (progress) out << "  (+" << progress << " progress events among them)\n";
  if (history_.empty()) out << "  (none)\n";
  return out.str();
}

std::string field(const Event& e, const char* key) {
  auto it = e.find(key);
  return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
}

EventPredicate is_event(std::string type) {
  return [type = std::move(type)](const Event& e) { return field(e, "event") == type; };
}

EventPredicate is_event_from(std::string type, std::string peer) {
  return [type = std::move(type), peer = std::move(peer)](const Event& e) {
    return field(e, "event") == type && field(e, "peer") == peer;
  };
}

EventPredicate is_event_with_id(std::string type, const nlohmann::json& id) {
  return [type = std::move(type), id](const Event& e) {
    return field(e, "event") == type && e.contains("id") && e["id"] == id;
  };
}

EventPredicate is_message(std::string action, std::string peer) {
  return [action = std::move(action), peer = std::move(peer)](const Event& e) {
    return field(e, "event") == "message" && field(e, "action") == action &&
           field(e, "peer") == peer;
  };
}

} // namespace posthorn::test
