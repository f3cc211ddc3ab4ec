#include "extract/job.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <filesystem>
#include <set>
#include <utility>

#include "extract/column_names.h"
#include "io/file_system.h"
#include "util/toml_file.h"

namespace questlog::extract {
namespace {

// Builds the job and remembers where it came from, for messages.
class Parser {
 public:
  Parser(const std::string& source, Job& job) : source_(source), job_(job) {}

  Status parse(const toml::table& doc);

 private:
  Status error(const toml::node& at, const std::string& what) const {
    return toml_error(source_, at.source().begin.line, what);
  }
  Status error(const toml::key& at, const std::string& what) const {
    return toml_error(source_, at.source().begin.line, what);
  }

  Status parse_source(const toml::node& node);
  Status parse_offsets(const toml::node& v, const std::string& key, bool starting);
  Status parse_transform(const toml::node& node);
  Status parse_table(const toml::node& node);
  Result<Literal> literal(const toml::node& v, const std::string& what) const;
  Result<FieldId> field(const toml::node& at, std::string_view name, const std::string& what);
  Status parse_where(const toml::node& v, Filter& out);
  Result<std::string> table_path(const toml::node& v) const;

  // Sets `out` to the value `v` names, from a table of {name, value}; otherwise
  // "KEY must be "a", "b" or "c"" naming the first `listed` names (the rest are
  // aliases the message does not offer).
  template <typename E, size_t N>
  Status pick(const toml::node& v, const char* key, const std::pair<const char*, E> (&names)[N],
              E& out, size_t listed = N) const {
    const auto s = v.value<std::string>();
    for (const auto& [name, value] : names) {
      if (s == name) {
        out = value;
        return {};
      }
    }
    std::string what = fmt::format("{} must be ", key);
    for (size_t i = 0; i < listed; ++i) {
      if (i > 0) what += i + 1 == listed ? " or " : ", ";
      what += fmt::format("\"{}\"", names[i].first);
    }
    return error(v, what);
  }

  const std::string& source_;
  Job& job_;
};

Status Parser::parse(const toml::table& doc) {
  for (auto&& [k, v] : doc) {
    std::string_view key = k.str();
    if (key == "source") {
      if (Status s = parse_source(v); !s.ok()) return s;
    } else if (key == "transforms") {
      auto arr = v.as_array();
      if (!arr || !arr->is_array_of_tables())
        return error(v, "transforms must be [[transforms]] tables");
    } else if (key == "tables") {
      auto arr = v.as_array();
      if (!arr || !arr->is_array_of_tables()) return error(v, "tables must be [[tables]] tables");
    } else {
      return error(
          k, fmt::format("unknown key '{}' (expected [source], [[transforms]], [[tables]])", key));
    }
  }
  // Transforms in file order (toml++ keeps arrays of tables in order).
  if (auto arr = doc["transforms"].as_array()) {
    for (auto&& node : *arr)
      if (Status s = parse_transform(node); !s.ok()) return s;
  }
  auto tables = doc["tables"].as_array();
  if (!tables || tables->empty())
    return Status::error(
        Errc::invalid_argument,
        fmt::format("{}:1: no [[tables]]: a job fills at least one table", source_));
  std::set<std::string> names;
  std::vector<std::pair<std::string, const toml::node*>> paths;
  for (auto&& node : *tables) {
    if (Status s = parse_table(node); !s.ok()) return s;
    const TableSpec& t = job_.tables.back();
    if (!names.insert(t.name).second)
      return error(node, fmt::format("a second table named '{}'", t.name));
    if (t.path.empty()) continue;
    for (const auto& [other, where] : paths) {
      // One table inside another would be swapped out or read as its rows.
      auto inside = [](const std::string& a, const std::string& b) {
        return a == b ||
               (b.size() > a.size() && b.compare(0, a.size(), a) == 0 && b[a.size()] == '/');
      };
      if (inside(other, t.path) || inside(t.path, other))
        return error(node, fmt::format("path '{}' overlaps the path '{}' of an earlier table",
                                       t.path, other));
    }
    paths.emplace_back(t.path, &node);
  }
  return {};
}

Status Parser::parse_offsets(const toml::node& v, const std::string& key, bool starting) {
  OffsetSpec spec;
  if (auto i = v.as_integer()) {
    if (i->get() < 0) return error(v, fmt::format("{} must not be negative", key));
    spec = {OffsetSpec::Kind::at, i->get()};
  } else if (auto s = v.as_string(); s && s->get() == "earliest" && starting) {
    spec = {OffsetSpec::Kind::earliest, 0};
  } else if (s && s->get() == "latest") {
    spec = {OffsetSpec::Kind::latest, 0};
  } else {
    return error(v, fmt::format("{} must be {}", key,
                                starting ? "\"earliest\", \"latest\" or an offset"
                                         : "\"latest\" or an offset"));
  }
  (starting ? job_.starting : job_.ending) = spec;
  return {};
}

Status Parser::parse_source(const toml::node& node) {
  auto t = node.as_table();
  if (!t) return error(node, "source must be a table: [source]");
  for (auto&& [k, v] : *t) {
    std::string_view key = k.str();
    if (key == "topic") {
      auto s = v.value<std::string>();
      if (!s || s->empty()) return error(v, "topic must be a topic name");
      job_.topic = *s;
    } else if (key == "starting_offsets") {
      if (Status s = parse_offsets(v, "starting_offsets", true); !s.ok()) return s;
    } else if (key == "ending_offsets") {
      if (Status s = parse_offsets(v, "ending_offsets", false); !s.ok()) return s;
    } else {
      return error(k, fmt::format("unknown key '{}' in [source] (expected topic, starting_offsets, "
                                  "ending_offsets)",
                                  key));
    }
  }
  if (job_.starting.kind == OffsetSpec::Kind::at && job_.ending.kind == OffsetSpec::Kind::at &&
      job_.ending.offset < job_.starting.offset)
    return error(node, "ending_offsets is before starting_offsets");
  return {};
}

Result<Literal> Parser::literal(const toml::node& v, const std::string& what) const {
  Literal lit;
  if (auto s = v.as_string()) {
    lit.kind = Kind::string;
    lit.text = s->get();
  } else if (auto i = v.as_integer()) {
    lit.kind = Kind::int64;
    lit.int64 = i->get();
  } else if (auto f = v.as_floating_point()) {
    lit.kind = Kind::float64;
    lit.float64 = f->get();
  } else if (auto b = v.as_boolean()) {
    lit.kind = Kind::boolean;
    lit.boolean = b->get();
  } else {
    return error(v, fmt::format("{} must be a string, number or boolean", what));
  }
  return lit;
}

Result<FieldId> Parser::field(const toml::node& at, std::string_view name,
                              const std::string& what) {
  if (name.empty()) return error(at, fmt::format("{}: a field name must not be empty", what));
  if (name == "timestamp")
    return error(
        at, fmt::format("{}: 'timestamp' is the record's ingest time, not an event field", what));
  return job_.names->intern(name);
}

// where = { key = "value" | [values] | { exists = bool }, ... }
Status Parser::parse_where(const toml::node& v, Filter& out) {
  auto t = v.as_table();
  if (!t) return error(v, "where must be a table: where = { event_type = \"purchase_sword\" }");
  for (auto&& [k, cond] : *t) {
    std::string label = fmt::format("where '{}'", k.str());
    auto id = field(cond, k.str(), label);
    if (!id.ok()) return id.status();
    Condition c;
    c.field = *id;
    if (auto arr = cond.as_array()) {
      if (arr->empty()) return error(cond, fmt::format("{}: the list of values is empty", label));
      c.op = Condition::Op::one_of;
      for (auto&& item : *arr) {
        auto lit = literal(item, fmt::format("{}: each value", label));
        if (!lit.ok()) return lit.status();
        c.values.push_back(std::move(lit).value());
      }
    } else if (auto inner = cond.as_table()) {
      auto exists = (*inner)["exists"].as_boolean();
      if (!exists || inner->size() != 1)
        return error(
            cond,
            fmt::format("{}: a table condition is {{ exists = true }} or {{ exists = false }}",
                        label));
      c.op = exists->get() ? Condition::Op::exists : Condition::Op::absent;
    } else {
      auto lit = literal(cond, label);
      if (!lit.ok()) return lit.status();
      c.op = Condition::Op::equals;
      c.values.push_back(std::move(lit).value());
    }
    out.add(std::move(c));
  }
  return {};
}

Status Parser::parse_transform(const toml::node& node) {
  auto t = node.as_table();
  if (!t) return error(node, "each [[transforms]] must be a table");
  auto type_node = t->get("type");
  if (!type_node)
    return error(node, "[[transforms]] needs a type: \"set\", \"drop\", \"rename\" or \"filter\"");
  auto type = type_node->value<std::string>();
  Transform tr;
  std::string_view wanted;  // the one key this type takes
  if (type == "set") {
    tr.type = Transform::Type::set;
    wanted = "fields";
  } else if (type == "drop") {
    tr.type = Transform::Type::drop;
    wanted = "fields";
  } else if (type == "rename") {
    tr.type = Transform::Type::rename;
    wanted = "renames";
  } else if (type == "filter") {
    tr.type = Transform::Type::filter;
    wanted = "where";
  } else {
    return error(*type_node, "transform type must be \"set\", \"drop\", \"rename\" or \"filter\"");
  }
  for (auto&& [k, v] : *t) {
    if (k.str() != "type" && k.str() != wanted)
      return error(k, fmt::format("unknown key '{}' in a {} transform (expected {})", k.str(),
                                  *type, wanted));
  }
  const toml::node* body = t->get(wanted);
  if (!body) return error(node, fmt::format("a {} transform needs {}", *type, wanted));
  const std::string label = fmt::format("{} transform", *type);
  switch (tr.type) {
    case Transform::Type::set: {
      auto fields = body->as_table();
      if (!fields || fields->empty())
        return error(*body, "set: fields must be a table: fields = { Host = \"moe\" }");
      for (auto&& [k, v] : *fields) {
        auto id = field(v, k.str(), fmt::format("set '{}'", k.str()));
        if (!id.ok()) return id.status();
        auto lit = literal(v, fmt::format("set '{}'", k.str()));
        if (!lit.ok()) return lit.status();
        tr.set.emplace_back(*id, std::move(lit).value());
      }
      break;
    }
    case Transform::Type::drop: {
      auto arr = body->as_array();
      if (!arr || arr->empty())
        return error(*body, "drop: fields must be a list of names: fields = [\"User-Agent\"]");
      for (auto&& item : *arr) {
        auto name = item.value<std::string>();
        if (!name) return error(item, "drop: each field must be a name (a string)");
        auto id = field(item, *name, "drop");
        if (!id.ok()) return id.status();
        tr.drop.push_back(*id);
      }
      break;
    }
    case Transform::Type::rename: {
      auto renames = body->as_table();
      if (!renames || renames->empty())
        return error(*body, "rename: renames must be a table: renames = { old = \"new\" }");
      for (auto&& [k, v] : *renames) {
        auto to = v.value<std::string>();
        if (!to)
          return error(v, fmt::format("rename '{}': the new name must be a string", k.str()));
        auto from_id = field(v, k.str(), "rename");
        if (!from_id.ok()) return from_id.status();
        auto to_id = field(v, *to, fmt::format("rename '{}'", k.str()));
        if (!to_id.ok()) return to_id.status();
        tr.renames.emplace_back(*from_id, *to_id);
      }
      break;
    }
    case Transform::Type::filter:
      if (Status s = parse_where(*body, tr.where); !s.ok()) return s;
      break;
  }
  job_.transforms.push_back(std::move(tr));
  return {};
}

Result<std::string> Parser::table_path(const toml::node& v) const {
  auto s = v.value<std::string>();
  if (!s || s->empty()) return error(v, "path must be a directory name under the lake");
  const std::string& p = *s;
  if (p.front() == '/')
    return error(v, fmt::format("path '{}' must be relative: tables live under --lake", p));
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string_view part(p.data() + start, end - start);
    if (part.empty() || part.front() == '.' || part.front() == '_')
      return error(v, fmt::format("path '{}': each directory name must be non-empty and not start "
                                  "with '.' or '_' (readers skip those)",
                                  p));
    if (part.find('=') != std::string_view::npos)
      return error(v, fmt::format("path '{}': '=' would read as a partition directory", p));
    start = end + 1;
  }
  if (p.find('\0') != std::string::npos) return error(v, "path must not contain NUL");
  return p;
}

Status Parser::parse_table(const toml::node& node) {
  auto t = node.as_table();
  if (!t) return error(node, "each [[tables]] must be a table");
  TableSpec spec;
  bool has_name = false;
  for (auto&& [k, v] : *t) {
    std::string_view key = k.str();
    if (key == "name") {
      auto s = v.value<std::string>();
      if (!s || s->empty()) return error(v, "name must be a non-empty string");
      if (*s == "_rejected")
        return error(v, "the name '_rejected' is reserved for rejected records");
      spec.name = *s;
      has_name = true;
    } else if (key == "path") {
      auto p = table_path(v);
      if (!p.ok()) return p.status();
      spec.path = *p;
    } else if (key == "where") {
      if (Status s = parse_where(v, spec.where); !s.ok()) return s;
    } else if (key == "mode") {
      static constexpr std::pair<const char*, Mode> kModes[] = {{"overwrite", Mode::overwrite},
                                                                {"append", Mode::append},
                                                                {"incremental", Mode::incremental}};
      if (Status s = pick(v, "mode", kModes, spec.mode); !s.ok()) return s;
    } else if (key == "partition_by") {
      auto arr = v.as_array();
      if (!arr || arr->empty())
        return error(v, "partition_by must be a list of field names: [\"event_type\"]");
      for (auto&& item : *arr) {
        auto name = item.value<std::string>();
        if (!name) return error(item, "partition_by: each entry must be a field name");
        auto id = field(item, *name, "partition_by");
        if (!id.ok()) return id.status();
        for (FieldId seen : spec.partition_by)
          if (seen == *id) return error(item, fmt::format("partition_by names '{}' twice", *name));
        spec.partition_by.push_back(*id);
      }
    } else if (key == "show") {
      auto i = v.as_integer();
      if (!i || i->get() < 0) return error(v, "show must be a number of rows (0: none)");
      spec.show = i->get();
    } else if (key == "print_schema") {
      auto b = v.as_boolean();
      if (!b) return error(v, "print_schema must be true or false");
      spec.print_schema = b->get();
    } else if (key == "codec") {
      static constexpr std::pair<const char*, parquet::Codec> kCodecs[] = {
          {"snappy", parquet::Codec::snappy},
          {"zstd", parquet::Codec::zstd},
          {"uncompressed", parquet::Codec::uncompressed},
          {"none", parquet::Codec::uncompressed}};
      if (Status s = pick(v, "codec", kCodecs, spec.codec, 3); !s.ok()) return s;
    } else if (key == "format") {
      static constexpr std::pair<const char*, TableFormat> kFormats[] = {
          {"parquet", TableFormat::parquet}, {"delta", TableFormat::delta}};
      if (Status s = pick(v, "format", kFormats, spec.format); !s.ok()) return s;
    } else {
      return error(k, fmt::format("unknown key '{}' in [[tables]] (expected name, path, where, "
                                  "mode, partition_by, show, print_schema, codec, format)",
                                  key));
    }
  }
  if (!has_name) return error(node, "[[tables]] needs a name");
  if (spec.path.empty()) {
    if (spec.mode != Mode::overwrite || !spec.partition_by.empty())
      return error(node, fmt::format("table '{}': mode and partition_by need a path to write to",
                                     spec.name));
    if (spec.format != TableFormat::parquet)
      return error(node, fmt::format("table '{}': format needs a path to write to", spec.name));
  }
  // A Delta table's other columns are renamed (column_names.h); a partition
  // column is the job's own choice, named in its directories.
  if (spec.format == TableFormat::delta) {
    for (FieldId id : spec.partition_by) {
      if (job_.names->name(id).find_first_of(kDeltaForbidden) != std::string_view::npos)
        return error(node, fmt::format("table '{}': partition column '{}' has a character Delta "
                                       "does not allow in a column name (a space or any of "
                                       ",;{{}}()=, a line break, a tab); rename it with a "
                                       "[[transforms]] rename",
                                       spec.name, job_.names->name(id)));
    }
  }
  job_.tables.push_back(std::move(spec));
  return {};
}

}  // namespace

std::string job_stem(const std::string& source) {
  std::string stem = std::filesystem::path(source).filename().string();
  if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".toml") == 0)
    stem.resize(stem.size() - 5);
  return stem;
}

Result<Job> parse_job(std::string_view text, const std::string& source) {
  auto doc = parse_toml(text, source);
  if (!doc.ok()) return doc.status();
  Job job;
  job.source = source;
  job.stem = job_stem(source);
  job.names = std::make_unique<FieldNames>();
  Parser parser(source, job);
  if (Status s = parser.parse(*doc); !s.ok()) return s;
  return job;
}

Result<Job> load_job(const std::string& path) {
  auto text = io::read_file(io::local_file_system(), path);
  if (!text.ok()) return text.status();
  return parse_job(*text, path);
}

}  // namespace questlog::extract
