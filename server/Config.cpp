#include "server/Config.h"

#include "server/ConfigValues.h"
#include "server/HistoryPolicy.h"
#include "shared/Version.h"

#include <QCommandLineParser>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSettings>
#include <QThread>
#include <algorithm>
#include <functional>
#include <optional>

namespace herald {

int defaultWorkers() {
    // On one core a worker only adds a thread switch between the main thread and the sockets
    // (the first recipient of a broadcast waited 4 ms instead of 0.5 ms): none there.
    const int cores = QThread::idealThreadCount();
    return cores < 2 ? 0 : std::min(cores, 16);
}
namespace {

using namespace configvalues;

using Apply = std::function<std::optional<QString>(Config&, const QString&)>;
// A setting's value as a user would write it (for the help's "(default ...)").
using Show = std::function<QString(const Config&)>;

// How a setting is read, and (for the typed helpers below) shown: a default is stated once, in
// Config's member initialisers, and the help text reads it from there through {default}.
struct Field {
    Apply apply;
    Show show;
    template <typename F>
    Field(F f) // NOLINT: rows give plain lambdas
        : apply(std::move(f)) {}
    Field(Apply a, Show s)
        : apply(std::move(a))
        , show(std::move(s)) {}
};

// One row per setting: the file key, and from it the HERALD_<KEY> variable and --<key-name>
// option. A row without a value name is a boolean flag on the command line.
struct Setting {
    const char* key;
    const char* valueName;
    const char* help;
    Field field;

    QString helpText() const {
        QString text = QString::fromLatin1(help);
        if (field.show)
            text.replace(QLatin1String("{default}"), field.show(Config{}));
        return text;
    }
};

Field intSetting(int Config::*field, qint64 min, qint64 max) {
    return {[=](Config& c, const QString& v) -> std::optional<QString> {
                qint64 n = 0;
                if (auto e = parseInt(v, min, max, &n))
                    return e;
                c.*field = static_cast<int>(n);
                return std::nullopt;
            },
            [=](const Config& c) { return QString::number(c.*field); }};
}

Field bytesSetting(qint64 Config::*field, qint64 min, qint64 max) {
    return {[=](Config& c, const QString& v) -> std::optional<QString> {
                return parseInt(v, min, max, &(c.*field));
            },
            [=](const Config& c) { return QString::number(c.*field); }};
}

Field durationSetting(int Config::*field, qint64 minMs) {
    return {[=](Config& c, const QString& v) -> std::optional<QString> {
                qint64 ms = 0;
                if (auto e = parseDurationMs(v, &ms))
                    return e;
                if (ms < minMs)
                    return QStringLiteral("must be at least %1 ms").arg(minMs);
                c.*field = static_cast<int>(ms);
                return std::nullopt;
            },
            [=](const Config& c) { return showDuration(c.*field); }};
}

Field stringSetting(QString Config::*field) {
    return {[=](Config& c, const QString& v) -> std::optional<QString> {
                c.*field = v.trimmed();
                return std::nullopt;
            },
            [=](const Config& c) { return c.*field; }};
}

const QList<Setting>& settings() {
    static const QList<Setting> table = {
        {"listen", "ADDR:PORT", "Address and port for HTTP and WebSocket (default 0.0.0.0:8080).",
         [](Config& c, const QString& v) { return parseListen(v, c); }},
        {"node_id", "ID", "Name of this node in the cluster (default: generated).",
         stringSetting(&Config::nodeId)},
        {"log_level", "LEVEL", "debug, info, warning or error (default info).",
         [](Config& c, const QString& v) -> std::optional<QString> {
             const QString l = v.trimmed().toLower();
             if (!QStringList{QStringLiteral("debug"), QStringLiteral("info"),
                              QStringLiteral("warning"), QStringLiteral("error")}
                      .contains(l))
                 return QStringLiteral("expected debug, info, warning or error, got \"%1\"").arg(v);
             c.logLevel = l;
             return std::nullopt;
         }},
        {"dev", nullptr, "Development mode: loopback callers need no API or admin token.",
         [](Config& c, const QString& v) { return parseBool(v, &c.devMode); }},
        {"jwt_secret", "SECRET", "HS256 secret for client tokens on /private.",
         [](Config& c, const QString& v) -> std::optional<QString> {
             c.jwtSecret = v.toUtf8();
             return std::nullopt;
         }},
        {"jwt_secret_file", "FILE", "File holding the HS256 secret.",
         [](Config& c, const QString& v) { return readSecretFile(v, &c.jwtSecret); }},
        {"jwt_public_key_file", "FILE", "PEM public key (RSA for RS256, EC P-256 for ES256).",
         stringSetting(&Config::jwtPublicKeyFile)},
        {"jwt_algorithms", "LIST", "Allowed JWT algorithms, e.g. HS256,RS256 (default: by key).",
         [](Config& c, const QString& v) -> std::optional<QString> {
             c.jwtAlgorithms = v.split(QLatin1Char(','), Qt::SkipEmptyParts);
             for (QString& a : c.jwtAlgorithms)
                 a = a.trimmed();
             return std::nullopt;
         }},
        {"jwt_audience", "AUD", "Required \"aud\" claim of client tokens.",
         stringSetting(&Config::jwtAudience)},
        {"jwt_issuer", "ISS", "Required \"iss\" claim of client tokens.",
         stringSetting(&Config::jwtIssuer)},
        {"jwt_leeway", "SECONDS", "Clock leeway for exp/nbf (default {default}).",
         intSetting(&Config::jwtLeewaySeconds, 0, 3600)},
        {"jwt_require_exp", "BOOL",
         "Refuse client tokens without an \"exp\" claim (default true; such a token would "
         "never expire).",
         [](Config& c, const QString& v) { return parseBool(v, &c.jwtRequireExp); }},
        {"api_tokens", "LIST", "Comma-separated bearer tokens for the HTTP publish API.",
         [](Config& c, const QString& v) -> std::optional<QString> {
             c.apiTokens = splitTokens(v);
             return std::nullopt;
         }},
        {"admin_tokens", "LIST",
         "Comma-separated tokens for /admin, each \"token\" or \"name:token\" (the name "
         "appears in the audit log; they also work as API tokens).",
         [](Config& c, const QString& v) -> std::optional<QString> {
             c.adminTokens = splitTokens(v);
             return std::nullopt;
         }},
        {"max_message_bytes", "BYTES",
         "Largest incoming client message (default {default}; close 1009).",
         bytesSetting(&Config::maxMessageBytes, 256, 64 * 1024 * 1024)},
        {"max_subscriptions", "N", "Streams one connection may subscribe to (default {default}).",
         intSetting(&Config::maxSubscriptions, 1, 100000)},
        {"max_connections", "N", "WebSocket connections this node accepts (default {default}).",
         intSetting(&Config::maxConnections, 1, 1000000)},
        {"workers", "N",
         "Threads that own the WebSocket connections, 0 for none (default: one per core, at "
         "most 16; none on one core).",
         intSetting(&Config::workers, 0, 64)},
        {"listen_backlog", "N", "TCP listen backlog (default {default}).",
         intSetting(&Config::listenBacklog, 1, 65535)},
        {"handshake_timeout", "DURATION",
         "Time allowed for an HTTP request or WebSocket "
         "handshake (default {default}).",
         durationSetting(&Config::handshakeTimeoutMs, 100)},
        {"keepalive_interval", "DURATION", "WebSocket ping interval (default {default}).",
         durationSetting(&Config::keepaliveIntervalMs, 100)},
        {"idle_timeout", "DURATION",
         "Close a connection silent this long (default {default}; close 4008).",
         durationSetting(&Config::idleTimeoutMs, 200)},
        {"max_http_body_bytes", "BYTES", "Largest HTTP API request body (default {default}).",
         bytesSetting(&Config::maxHttpBodyBytes, 1024, 256 * 1024 * 1024)},
        {"max_outbound_bytes", "BYTES",
         "Unsent bytes queued for one connection before it is "
         "closed as a slow consumer (default {default}).",
         bytesSetting(&Config::maxOutboundBytes, 4096, 1024LL * 1024 * 1024)},
        {"online_interval", "DURATION",
         "How often the online counts are pushed (default {default}).",
         durationSetting(&Config::onlineIntervalMs, 50)},
        {"shutdown_grace", "DURATION",
         "Time given to clients to close on SIGTERM (default {default}).",
         durationSetting(&Config::shutdownGraceMs, 0)},
        {"drain_period", "DURATION",
         "An admin drain closes this node's clients (1012) evenly over this "
         "period (default {default}).",
         durationSetting(&Config::drainPeriodMs, 0)},
        {"shutdown_drain", "DURATION",
         "On SIGTERM, first drain for this long: /readyz 503, new WebSockets refused (1012), "
         "clients asked to reconnect elsewhere (1012) evenly over the period; then stop as "
         "usual (default {default}: close everyone at once with 1001).",
         durationSetting(&Config::shutdownDrainMs, 0)},
        {"publish_timeout", "DURATION",
         "How long a publish may wait for the broker's confirmation "
         "before it is answered 503 (default {default}).",
         durationSetting(&Config::publishTimeoutMs, 10)},
        {"allowed_origins", "LIST",
         "Browser origins that may open WebSockets: exact (https://app.example.com), patterns "
         "(https://*.example.com) or * (default: the node's own host; with --dev also pages "
         "from loopback). Others get HTTP 403.",
         [](Config& c, const QString& v) -> std::optional<QString> {
             c.allowedOrigins = v.split(QLatin1Char(','), Qt::SkipEmptyParts);
             for (QString& o : c.allowedOrigins) {
                 o = o.trimmed();
                 if (o != QLatin1String("*") && !o.contains(QLatin1String("://")))
                     return QStringLiteral("an origin is scheme://host[:port] or *, got \"%1\"")
                         .arg(o);
             }
             return std::nullopt;
         }},
        {"ip_max_connections", "N",
         "Open WebSockets allowed per source address, 0 for no limit (default {default}; close "
         "4029).",
         intSetting(&Config::ipMaxConnections, 0, 1000000)},
        {"ip_connect_rate", "N",
         "New WebSockets per second per source address, bursts of twice that, 0 for no limit "
         "(default {default}; close 4029).",
         intSetting(&Config::ipConnectRate, 0, 1000000)},
        {"auth_failure_limit", "N",
         "Failed authentications from one address within 10 s before it must wait, 1 s "
         "doubling up to 60 s (default {default}; 0: never; close 4029).",
         intSetting(&Config::authFailureLimit, 0, 1000000)},
        {"ip_limit_exempt", "LIST",
         "Subnets the per-address limits never apply to, e.g. 10.0.0.0/8 for a trusted proxy.",
         [](Config& c, const QString& v) -> std::optional<QString> {
             c.ipLimitExempt = v.split(QLatin1Char(','), Qt::SkipEmptyParts);
             for (QString& s : c.ipLimitExempt) {
                 s = s.trimmed();
                 if (QHostAddress::parseSubnet(s).first.isNull())
                     return QStringLiteral("expected an address or subnet, got \"%1\"").arg(s);
             }
             return std::nullopt;
         }},
        {"tls_cert", "FILE",
         "PEM certificate (optionally followed by its chain): the port then speaks https:// "
         "and wss:// only. Reloaded with tls_key and tls_ca on SIGHUP.",
         stringSetting(&Config::tlsCert)},
        {"tls_key", "FILE", "PEM private key of tls_cert (not encrypted).",
         stringSetting(&Config::tlsKey)},
        {"tls_ca", "FILE", "PEM intermediate certificates sent after tls_cert (a chain file).",
         stringSetting(&Config::tlsChain)},
        {"web_root", "DIR", "Serve the demo page from this directory instead of the built-in one.",
         stringSetting(&Config::webRoot)},
        {"redis_url", "URL",
         "redis://[:password@]host:port[/db], or rediss:// (TLS) with "
         "?ca=FILE&cert=FILE&key=FILE; redis-cluster://host:port,host:port (rediss-cluster:// "
         "for TLS) for a Redis Cluster; redis-sentinel://host:port[,...]?master=NAME to follow "
         "the master Sentinel names; empty runs a single node.",
         stringSetting(&Config::redisUrl)},
        {"redis_prefix", "PREFIX", "Prefix of Herald's Redis channels (default {default}).",
         stringSetting(&Config::redisPrefix)},
        {"redis_bridges", "LIST",
         "Raw Redis channels delivered as streams, e.g. "
         "change-notifier=public.config,other=public.x.",
         stringSetting(&Config::redisBridges)},
        {"history",
         "RULES",
         "What streams keep for clients that resume: pattern:count:age, comma-separated "
         "(default {default}); empty keeps nothing.",
         {[](Config& c, const QString& v) -> std::optional<QString> {
              auto policy = HistoryPolicy::parse(v);
              if (auto* error = std::get_if<QString>(&policy))
                  return *error;
              c.history = v.trimmed();
              return std::nullopt;
          },
          [](const Config& c) { return c.history; }}},
        {"heartbeat_interval", "DURATION",
         "How often nodes announce themselves (default {default}); a node "
         "silent for 3 intervals is dropped.",
         durationSetting(&Config::heartbeatIntervalMs, 50)},
    };
    return table;
}

QString optionName(const char* key) {
    return QString::fromLatin1(key).replace(QLatin1Char('_'), QLatin1Char('-'));
}
QString envName(const char* key) {
    return QStringLiteral("HERALD_") + QString::fromLatin1(key).toUpper();
}

const Setting* findSetting(const QString& key) {
    for (const Setting& s : settings())
        if (key == QLatin1String(s.key))
            return &s;
    return nullptr;
}

std::optional<QString> applyOne(Config& c, const Setting& s, const QString& value,
                                const QString& source) {
    if (auto e = s.field.apply(c, value))
        return QStringLiteral("%1: %2").arg(source, *e);
    return std::nullopt;
}

} // namespace

std::variant<ConfigOutcome, QString> loadConfig(const ConfigRequest& request) {
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Herald live-notification node: WebSocket fan-out with an HTTP publish API.\n"
        "Settings come from defaults <- --config FILE <- HERALD_<KEY> environment "
        "<- command line."));
    const QCommandLineOption helpOption({QStringLiteral("h"), QStringLiteral("help")},
                                        QStringLiteral("Show this help."));
    const QCommandLineOption versionOption({QStringLiteral("v"), QStringLiteral("version")},
                                           QStringLiteral("Show the version."));
    const QCommandLineOption configOption(
        QStringLiteral("config"),
        QStringLiteral("INI or JSON file with settings (also HERALD_CONFIG)."),
        QStringLiteral("FILE"));
    parser.addOption(helpOption);
    parser.addOption(versionOption);
    parser.addOption(configOption);
    QList<QCommandLineOption> options; // aligned with settings()
    for (const Setting& s : settings()) {
        QCommandLineOption option(optionName(s.key), s.helpText());
        if (s.valueName)
            option.setValueName(QString::fromLatin1(s.valueName));
        option.setDescription(s.helpText() + QStringLiteral(" [") + envName(s.key) +
                              QLatin1Char(']'));
        parser.addOption(option);
        options.append(option);
    }
    if (!parser.parse(request.arguments))
        return parser.errorText() + QStringLiteral(" (see --help)");
    if (!parser.positionalArguments().isEmpty())
        return QStringLiteral("unexpected argument \"%1\" (see --help)")
            .arg(parser.positionalArguments().first());

    ConfigOutcome outcome;
    if (parser.isSet(helpOption)) {
        outcome.action = ConfigOutcome::Action::PrintAndExit;
        outcome.text = parser.helpText();
        return outcome;
    }
    if (parser.isSet(versionOption)) {
        outcome.action = ConfigOutcome::Action::PrintAndExit;
        outcome.text = QStringLiteral("herald-server %1 (protocol %2)\n")
                           .arg(QLatin1String(kVersion))
                           .arg(kProtocolVersion);
        return outcome;
    }

    QHash<QString, QString> env;
    for (const QString& entry : request.environment) {
        const qsizetype eq = entry.indexOf(QLatin1Char('='));
        if (eq > 0 && entry.startsWith(QLatin1String("HERALD_")))
            env.insert(entry.left(eq), entry.mid(eq + 1));
    }

    Config& config = outcome.config;
    const QString configFile = parser.isSet(configOption)
                                   ? parser.value(configOption)
                                   : env.value(QStringLiteral("HERALD_CONFIG"));
    if (!configFile.isEmpty()) {
        auto entries = readConfigFile(configFile);
        if (auto* error = std::get_if<QString>(&entries))
            return *error;
        for (const auto& [key, value] : std::get<QList<QPair<QString, QString>>>(entries)) {
            const Setting* s = findSetting(key);
            if (!s)
                return QStringLiteral("%1: unknown setting \"%2\"").arg(configFile, key);
            if (auto e = applyOne(config, *s, value, configFile + QStringLiteral(": ") + key))
                return *e;
        }
    }
    for (const Setting& s : settings()) {
        const auto it = env.constFind(envName(s.key));
        if (it != env.cend())
            if (auto e = applyOne(config, s, *it, envName(s.key)))
                return *e;
    }
    for (qsizetype i = 0; i < settings().size(); ++i) {
        const Setting& s = settings()[i];
        const QCommandLineOption& option = options[i];
        if (!parser.isSet(option))
            continue;
        const QString value = s.valueName ? parser.value(option) : QStringLiteral("true");
        if (auto e = applyOne(config, s, value, QStringLiteral("--") + optionName(s.key)))
            return *e;
    }
    if (config.idleTimeoutMs <= config.keepaliveIntervalMs)
        return QStringLiteral("idle_timeout (%1 ms) must be longer than keepalive_interval (%2 ms)")
            .arg(config.idleTimeoutMs)
            .arg(config.keepaliveIntervalMs);
    return outcome;
}

} // namespace herald
