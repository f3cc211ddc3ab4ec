#include "parquet/output_file.h"

namespace questlog::parquet {

Result<OutputFile> OutputFile::create(io::FileSystem& fs, const std::filesystem::path& path) {
  auto file = fs.open(path, io::OpenMode::truncate);
  if (!file.ok()) return file.status();
  return OutputFile(std::move(file).value());
}

Status OutputFile::append(std::span<const uint8_t> bytes) {
  std::string_view data(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (Status s = file_->write_at(offset_, data); !s.ok()) return s;
  offset_ += bytes.size();
  return {};
}

Status OutputFile::sync_and_close() {
  if (Status s = file_->sync(); !s.ok()) return s;
  return file_->close();
}

}  // namespace questlog::parquet
