#pragma once

#include "shared/Limits.h"

#include <QByteArrayList>
#include <QHostAddress>
#include <QString>
#include <QStringList>
#include <variant>

namespace herald {

// Everything a node is told at start. Filled once by loadConfig() from defaults <- --config FILE
// <- HERALD_* environment <- command line, then passed by const reference; never global.
// One worker per core, at most 16, and none on a single core (server/WorkerPool.h).
int defaultWorkers();

struct Config {
    QString nodeId; // empty: generated at start
    QHostAddress listenAddress{QHostAddress::Any};
    quint16 listenPort = 8080; // 0: any free port (printed on stdout)
    int listenBacklog = 1024;
    QString logLevel = QStringLiteral("info");
    bool devMode = false; // loopback callers need no API/admin token

    // Client authentication (JWT on /private).
    QByteArray jwtSecret;
    QString jwtPublicKeyFile;
    QStringList jwtAlgorithms;
    QString jwtAudience;
    QString jwtIssuer;
    int jwtLeewaySeconds = 30;
    bool jwtRequireExp = true; // a client token without "exp" is refused

    // Static credentials for the HTTP API and the /admin endpoint.
    QByteArrayList apiTokens;
    QByteArrayList adminTokens; // "token" or "name:token" (the name is shown in the audit log)

    // Limits.
    qint64 maxMessageBytes = kDefaultMaxMessageBytes;
    int maxSubscriptions = kDefaultMaxSubscriptions;
    int maxConnections = 10000;
    // Threads that own the WebSocket connections (reading, decoding, writing); the main thread
    // keeps sessions, routing, HTTP and the broker. 0: the main thread does it all.
    int workers = defaultWorkers();
    int handshakeTimeoutMs = 10'000;
    int keepaliveIntervalMs = 25'000;
    int idleTimeoutMs = 70'000;
    qint64 maxHttpBodyBytes = kDefaultMaxHttpBodyBytes;
    qint64 maxOutboundBytes = 4 * 1024 * 1024;
    int onlineIntervalMs = 1000;
    int shutdownGraceMs = 2000;
    int drainPeriodMs = 10'000;  // an admin drain closes the node's clients evenly over this
    int shutdownDrainMs = 0;     // SIGTERM first drains the node for this long (0: at once)
    int publishTimeoutMs = 5000; // a publish the broker has not confirmed by then is a 503

    // Who may open a WebSocket (server/EdgePolicy.h).
    QStringList allowedOrigins; // empty: the node's own host (+ loopback pages with --dev)
    int ipMaxConnections = 0;   // per source address; 0: no limit
    int ipConnectRate = 0;      // new connections per second per source address; 0: no limit
    int authFailureLimit = 20;  // failed authentications per 10 s before an address backs off
    QStringList ipLimitExempt;  // subnets the three limits above never apply to

    QString webRoot; // empty: the demo page built into the binary

    // TLS on the node's port (server/TlsCredentials.h reads them; SIGHUP reads them again).
    QString tlsCert;  // PEM certificate, optionally followed by its chain; empty: no TLS
    QString tlsKey;   // its PEM private key, not encrypted
    QString tlsChain; // optional PEM intermediates sent after it (setting tls_ca)
    bool tlsEnabled() const {
        return !tlsCert.isEmpty() || !tlsKey.isEmpty() || !tlsChain.isEmpty();
    }

    // Cluster (Redis); empty URL: embedded in-process broker.
    QString redisUrl;
    QString redisPrefix = QStringLiteral("herald:");
    QString redisBridges;           // "raw-channel=routing.key,..." (checked when the node starts)
    int heartbeatIntervalMs = 1000; // a node silent for 3 intervals leaves the cluster totals

    // What each stream keeps for clients that resume (server/HistoryPolicy.h; checked at load).
    QString history = QStringLiteral("public.*:100:1h,private.*:100:1h");
};

struct ConfigRequest {
    QStringList arguments;   // argv, including the program name
    QStringList environment; // "KEY=value" entries, as QProcessEnvironment::toStringList()
};

// What main() should do after parsing.
struct ConfigOutcome {
    enum class Action { Run, PrintAndExit };
    Action action = Action::Run;
    Config config;
    QString text; // for PrintAndExit: --help or --version output
};

// Parses all sources. An error is a readable message; main() prints it and exits with 2.
std::variant<ConfigOutcome, QString> loadConfig(const ConfigRequest& request);

} // namespace herald
