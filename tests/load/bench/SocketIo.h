// The Socket.IO dialect: what a Socket.IO v4 client says over a plain WebSocket (Engine.IO
// protocol 4, Socket.IO protocol 5), just the part the latency case needs. Each WebSocket text
// frame is one Engine.IO packet whose first character is its type; a "4" (message) carries a
// Socket.IO packet whose next character is its own type, then an optional namespace and JSON:
//   server "0{sid,pingInterval,...}"  Engine.IO open   -> client "40" (connect to namespace "/")
//   server "40{sid}"                  connected         -> the client may emit events
//   server "44{message}"              connect refused
//   server "2"                        Engine.IO ping    -> client "3" (pong)
//   either "42[\"name\",args...]"     an event
#pragma once

#include <string>
#include <string_view>

namespace bench::sio {

// The WebSocket transport straight away, with no HTTP long-polling first.
inline constexpr std::string_view kPath = "/socket.io/?EIO=4&transport=websocket";
inline constexpr std::string_view kConnect = "40";
inline constexpr std::string_view kPong = "3";

enum class Packet { Open, Ping, Connected, ConnectRefused, Event, Other };

Packet classify(std::string_view frame);
// 42["name",<argJson>]: argJson must already be JSON (a quoted string, an object...).
std::string event(std::string_view name, std::string_view argJson);
// Whether frame is the event `name` (42["name",...] or 42["name"]).
bool isEvent(std::string_view frame, std::string_view name);

} // namespace bench::sio
