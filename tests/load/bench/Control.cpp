#include "Control.h"

#include <cerrno>
#include <charconv>
#include <sys/socket.h>
#include <vector>

namespace bench {

ControlMessage& ControlMessage::set(const std::string& key, const std::string& value) {
    std::string clean = value;
    for (char& c : clean)
        if (c == ' ' || c == '\n')
            c = '_';
    fields[key] = clean.empty() ? "-" : clean;
    return *this;
}

ControlMessage& ControlMessage::set(const std::string& key, int64_t value) {
    fields[key] = std::to_string(value);
    return *this;
}

int64_t ControlMessage::number(std::string_view key, int64_t fallback) const {
    const auto it = fields.find(key);
    if (it == fields.end())
        return fallback;
    int64_t v = fallback;
    std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    return v;
}

std::string ControlMessage::text(std::string_view key) const {
    const auto it = fields.find(key);
    return it == fields.end() ? std::string() : it->second;
}

std::string ControlMessage::encode() const {
    std::string out = verb;
    for (const auto& [k, v] : fields) {
        out += ' ';
        out += k;
        out += '=';
        out += v;
    }
    return out;
}

ControlMessage ControlMessage::decode(std::string_view datagram) {
    ControlMessage m;
    size_t pos = datagram.find(' ');
    m.verb = std::string(datagram.substr(0, pos));
    while (pos != std::string_view::npos) {
        const size_t start = pos + 1;
        pos = datagram.find(' ', start);
        const std::string_view item = datagram.substr(start, pos - start);
        const size_t eq = item.find('=');
        if (eq != std::string_view::npos)
            m.fields[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
    }
    return m;
}

bool sendControl(int fd, const ControlMessage& message) {
    const std::string bytes = message.encode();
    // Blocking is fine here: the datagrams are small and the other side always reads.
    return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size());
}

bool receiveControl(int fd, ControlMessage* out, bool* gone) {
    // Messages are few (a handful per scenario), so a fresh buffer each time costs nothing.
    std::vector<char> buffer(1 << 20);
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return false;
    if (n <= 0) {
        *gone = true;
        return false;
    }
    *out = ControlMessage::decode(std::string_view(buffer.data(), size_t(n)));
    return true;
}

} // namespace bench
