#include "extract/lake_listing.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <functional>

#include "extract/delta_log.h"
#include "parquet/footer_reader.h"

namespace questlog::extract {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool is_delta_table(const std::vector<io::FileStatus>& entries) {
  for (const io::FileStatus& e : entries)
    if (e.kind == io::FileKind::directory && e.name == "_delta_log") return true;
  return false;
}

bool is_table(const std::vector<io::FileStatus>& entries) {
  if (is_delta_table(entries)) return true;
  for (const io::FileStatus& e : entries) {
    if (e.kind == io::FileKind::regular && (e.name == "_SUCCESS" || ends_with(e.name, ".parquet")))
      return true;
    if (e.kind == io::FileKind::directory && e.name.find('=') != std::string::npos) return true;
  }
  return false;
}

// Adds the files of the table directory `dir` (and its partitions) to `t`.
Status summarize(io::FileSystem& lake, const fs::path& dir,
                 const std::vector<io::FileStatus>& entries, TableListing& t) {
  for (const io::FileStatus& e : entries) {
    const fs::path path = dir / e.name;
    if (e.kind == io::FileKind::directory) {
      // As Spark lists a table: not ".x" nor "_x" (_temporary), but "_x=1" is a partition.
      if (e.name.starts_with('.') ||
          (e.name.starts_with('_') && e.name.find('=') == std::string::npos))
        continue;
      auto sub = lake.list_status(path);
      if (!sub.ok()) {
        if (sub.status().code() == Errc::not_found) continue;  // removed meanwhile
        return sub.status();
      }
      if (Status s = summarize(lake, path, *sub, t); !s.ok()) return s;
      continue;
    }
    if (e.kind != io::FileKind::regular) continue;
    t.last_write_ms = std::max(t.last_write_ms, e.modified_ms);
    if (!ends_with(e.name, ".parquet") || e.name.starts_with('.') || e.name.starts_with('_'))
      continue;
    t.files += 1;
    t.bytes += e.size;
    auto file = lake.open(path, io::OpenMode::read);
    Result<parquet::FooterInfo> footer = file.ok() ? parquet::read_footer(**file, e.size)
                                                   : Result<parquet::FooterInfo>(file.status());
    if (footer.ok()) {
      t.rows += static_cast<uint64_t>(footer->num_rows);
    } else {
      if (footer.status().code() == Errc::not_found) continue;  // removed meanwhile
      t.unreadable.push_back(footer.status().message());
    }
  }
  return {};
}

// Adds the files of the Delta table at `dir` to `t`: those its log's latest
// version holds, not every file in the directory (removed ones stay until a
// VACUUM, and a killed run's files were never added).
Status summarize_delta(io::FileSystem& lake, const fs::path& dir, TableListing& t) {
  delta::Snapshot snapshot;
  if (Status s = delta::update(lake, dir, snapshot); !s.ok()) {
    t.unreadable.push_back(s.message());
    return {};
  }
  auto commits = lake.list_status(delta::log_dir(dir));
  if (commits.ok())
    for (const io::FileStatus& e : *commits)
      if (e.name.ends_with(".json")) t.last_write_ms = std::max(t.last_write_ms, e.modified_ms);
  for (const auto& [uri, f] : snapshot.files) {
    const std::string path = delta::decode_path(uri);
    t.files += 1;
    t.bytes += static_cast<uint64_t>(f.size);
    auto file = lake.open(dir / path, io::OpenMode::read);
    Result<parquet::FooterInfo> footer =
        file.ok() ? parquet::read_footer(**file, static_cast<uint64_t>(f.size))
                  : Result<parquet::FooterInfo>(file.status());
    if (footer.ok())
      t.rows += static_cast<uint64_t>(footer->num_rows);
    else
      t.unreadable.push_back(footer.status().message());
  }
  return {};
}

Status visit(io::FileSystem& lake, const fs::path& dir, std::vector<TableListing>& out) {
  auto entries = lake.list_status(dir);
  if (!entries.ok()) return entries.status();
  if (!dir.empty() && is_table(*entries)) {
    TableListing t;
    t.path = dir.generic_string();
    Status s = is_delta_table(*entries) ? summarize_delta(lake, dir, t)
                                        : summarize(lake, dir, *entries, t);
    if (!s.ok()) return s;
    out.push_back(std::move(t));
    return {};
  }
  for (const io::FileStatus& e : *entries) {
    if (e.kind != io::FileKind::directory || e.name.starts_with('.')) continue;
    Status s = visit(lake, dir / e.name, out);
    if (!s.ok() && s.code() != Errc::not_found) return s;
  }
  return {};
}

std::string local_minute(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (::localtime_r(&t, &tm) == nullptr) return "-";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

}  // namespace

Result<std::vector<TableListing>> list_tables(io::FileSystem& lake) {
  auto there = lake.kind(fs::path());
  if (!there.ok()) return there.status();
  if (!*there)
    return Status::error(Errc::not_found,
                         fmt::format("{}: no such directory", lake.describe(fs::path())));
  if (**there != io::FileKind::directory)
    return Status::error(Errc::invalid_argument,
                         fmt::format("{}: not a directory", lake.describe(fs::path())));
  std::vector<TableListing> out;
  if (Status s = visit(lake, fs::path(), out); !s.ok()) return s;
  std::sort(out.begin(), out.end(),
            [](const TableListing& a, const TableListing& b) { return a.path < b.path; });
  return out;
}

std::string format_listing(const std::vector<TableListing>& tables,
                           const std::function<std::string(const std::string&)>& name) {
  std::vector<std::array<std::string, 5>> rows;
  rows.push_back({"rows", "files", "bytes", "last write", "table"});
  for (const TableListing& t : tables)
    rows.push_back({t.unreadable.empty() ? fmt::to_string(t.rows) : "?", fmt::to_string(t.files),
                    fmt::to_string(t.bytes),
                    t.last_write_ms > 0 ? local_minute(t.last_write_ms) : "-", name(t.path)});
  std::array<size_t, 4> width{};
  for (const auto& r : rows)
    for (size_t i = 0; i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out = fmt::format("Found {} table{}\n", tables.size(), tables.size() == 1 ? "" : "s");
  for (const auto& r : rows)
    out += fmt::format("{:>{}}  {:>{}}  {:>{}}  {:<{}}  {}\n", r[0], width[0], r[1], width[1], r[2],
                       width[2], r[3], width[3], r[4]);
  return out;
}

}  // namespace questlog::extract
