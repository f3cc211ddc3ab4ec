#include "io/file_system.h"

namespace questlog::io {

Status File::append(std::string_view data) {
  Status s = write_at(append_position_, data);
  if (s.ok()) append_position_ += data.size();
  return s;
}

Result<std::string> read_file(FileSystem& fs, const std::filesystem::path& path) {
  auto file = fs.open(path, OpenMode::read);
  if (!file.ok()) return file.status();
  constexpr size_t kChunk = 64 << 10;
  std::string out;
  for (;;) {
    const size_t have = out.size();
    out.resize(have + kChunk);
    auto got = (*file)->read_at(have, out.data() + have, kChunk);
    if (!got.ok()) return got.status();
    out.resize(have + *got);
    if (*got < kChunk) return out;
  }
}

}  // namespace questlog::io
