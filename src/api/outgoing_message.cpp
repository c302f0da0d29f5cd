#include "api/outgoing_message.hpp"

#include "room/frame.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace posthorn::detail {
namespace {

class MemorySource final : public ByteSource {
public:
  explicit MemorySource(Bytes bytes) : bytes_(std::move(bytes)) {}
  std::uint64_t size() const override { return bytes_.size(); }
  result<ByteView> read(std::uint64_t offset, std::size_t length) override {
    return ByteView(bytes_).subspan(static_cast<std::size_t>(offset), length);
  }

private:
  Bytes bytes_;
};

/// Reads a file chunk by chunk with pread, so a 200 MiB send holds one chunk in memory.
class FileSource final : public ByteSource {
public:
  FileSource(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  ~FileSource() override { ::close(fd_); }
  std::uint64_t size() const override { return size_; }
  result<ByteView> read(std::uint64_t offset, std::size_t length) override {
    buffer_.resize(length);
    std::size_t done = 0;
    while (done < length) {
      const auto n =
          ::pread(fd_, buffer_.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return error_code(errno, boost::system::system_category());
      if (n == 0) return make_error_code(boost::system::errc::io_error); // truncated meanwhile
      done += static_cast<std::size_t>(n);
    }
    return ByteView(buffer_);
  }

private:
  int fd_;
  std::uint64_t size_;
  Bytes buffer_;
};

} // namespace

std::shared_ptr<ByteSource> make_memory_source(Bytes bytes) {
  return std::make_shared<MemorySource>(std::move(bytes));
}

result<std::shared_ptr<ByteSource>> make_file_source(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error_code(errno, boost::system::system_category());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error_code(boost::system::errc::invalid_argument);
  }
  return std::shared_ptr<ByteSource>(
      std::make_shared<FileSource>(fd, static_cast<std::uint64_t>(st.st_size)));
}

result<void> OutgoingMessage::write_framed_chunk(Bytes& out, std::size_t index) {
  room::append_room_frame_header(out, token);
  const auto range = plan.chunk_range(index);
  ByteView body;
  if (range.metadata) {
    body = ByteView(reinterpret_cast<const std::uint8_t*>(metadata->data()), metadata->size());
  } else if (range.length > 0) {
    auto bytes = source->read(range.offset, range.length);
    if (!bytes) return bytes.error();
    body = *bytes;
  }
  plan.write_chunk(out, index, body);
  return {};
}

} // namespace posthorn::detail
