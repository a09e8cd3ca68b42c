#pragma once

#include "server/RedisUrl.h"

#include <QSslConfiguration>
#include <QString>
#include <variant>

namespace herald {

// The TLS settings of a rediss:// URL as a client configuration: the CA file replaces the
// system's CAs (a private CA should be the only one trusted for this link), the client
// certificate and key are loaded for Redis's tls-auth-clients, and verify=none disables
// verification. Reads the files (small, local) on every call, so a fixed or rotated file is
// used by the next connection attempt. An error names the file and what is wrong with it.
std::variant<QSslConfiguration, QString> redisTlsConfiguration(const RedisUrl& url);

} // namespace herald
