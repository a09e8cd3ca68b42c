#include "SocketIo.h"

namespace bench::sio {

Packet classify(std::string_view frame) {
    if (frame.empty())
        return Packet::Other;
    switch (frame[0]) {
    case '0':
        return Packet::Open;
    case '2':
        return frame.size() == 1 ? Packet::Ping : Packet::Other; // "2probe" belongs to upgrades
    case '4':
        if (frame.size() < 2)
            return Packet::Other;
        // Only the main namespace is used, so no "/nsp," comes between type and payload.
        return frame[1] == '0'   ? Packet::Connected
               : frame[1] == '4' ? Packet::ConnectRefused
               : frame[1] == '2' ? Packet::Event
                                 : Packet::Other;
    default:
        return Packet::Other;
    }
}

std::string event(std::string_view name, std::string_view argJson) {
    std::string out = "42[\"";
    out.append(name);
    out += "\",";
    out.append(argJson);
    out += ']';
    return out;
}

bool isEvent(std::string_view frame, std::string_view name) {
    // 42[" + name + " then , or ]
    if (frame.size() < name.size() + 6 || frame.substr(0, 4) != "42[\"" ||
        frame.substr(4, name.size()) != name || frame[4 + name.size()] != '"')
        return false;
    const char after = frame[5 + name.size()];
    return after == ',' || after == ']';
}

} // namespace bench::sio
