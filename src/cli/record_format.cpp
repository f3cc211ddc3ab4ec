#include "cli/record_format.h"

namespace questlog::cli {

Result<RecordFormat> RecordFormat::parse(std::string_view format) {
  RecordFormat f;
  std::string text;
  auto flush = [&] {
    if (!text.empty()) f.pieces_.push_back(Piece{0, std::move(text)});
    text.clear();
  };
  for (size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c == '\\' && i + 1 < format.size()) {
      const char e = format[++i];
      if (e == 'n')
        text.push_back('\n');
      else if (e == 'r')
        text.push_back('\r');
      else if (e == 't')
        text.push_back('\t');
      else if (e == '\\')
        text.push_back('\\');
      else {
        text.push_back('\\');
        text.push_back(e);
      }
      continue;
    }
    if (c != '%') {
      text.push_back(c);
      continue;
    }
    if (i + 1 == format.size())
      return Status::error(Errc::invalid_argument, "-f: the format ends with a lone %");
    const char t = format[++i];
    if (t == '%') {
      text.push_back('%');
      continue;
    }
    static constexpr std::string_view kTokens = "sSkKopTt";
    if (kTokens.find(t) == std::string_view::npos)
      return Status::error(Errc::invalid_argument,
                           std::string("-f: unknown token %") + t +
                               " (known: %s value, %S its bytes, %k key, %K its bytes, %o offset, "
                               "%p partition, %T timestamp ms, %t topic, %%)");
    flush();
    f.pieces_.push_back(Piece{t, {}});
  }
  flush();
  return f;
}

void RecordFormat::write(const log::Record& r, std::string_view topic, std::string& out) const {
  for (const Piece& p : pieces_) {
    switch (p.token) {
      case 0:
        out.append(p.literal);
        break;
      case 's':
        out.append(r.value);
        break;
      case 'S':
        out.append(std::to_string(r.value.size()));
        break;
      case 'k':
        out.append(r.key);
        break;
      case 'K':  // kcat prints -1 for a record without a key
        out.append(r.key.empty() ? std::string("-1") : std::to_string(r.key.size()));
        break;
      case 'o':
        out.append(std::to_string(r.offset));
        break;
      case 'p':
        out.append(std::to_string(r.partition));
        break;
      case 'T':
        out.append(std::to_string(r.timestamp_ms));
        break;
      case 't':
        out.append(topic);
        break;
    }
  }
}

}  // namespace questlog::cli
