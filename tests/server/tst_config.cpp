// Configuration precedence (defaults <- file <- environment <- command line) and clear errors.

#include "server/Config.h"

#include <QTemporaryDir>
#include <QTest>

using namespace herald;

namespace {
std::variant<ConfigOutcome, QString> load(QStringList args, QStringList env = {}) {
    args.prepend(QStringLiteral("herald-server"));
    return loadConfig({args, env});
}

Config ok(const std::variant<ConfigOutcome, QString>& r) {
    if (const auto* e = std::get_if<QString>(&r))
        qFatal("unexpected config error: %s", qPrintable(*e));
    return std::get<ConfigOutcome>(r).config;
}

QString writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& text) {
    const QString path = dir.filePath(name);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        qFatal("cannot write %s", qPrintable(path));
    f.write(text);
    return path;
}
} // namespace

class ConfigTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void defaults() {
        const Config c = ok(load({}));
        QCOMPARE(c.listenPort, quint16(8080));
        QCOMPARE(c.maxMessageBytes, 64 * 1024);
        QCOMPARE(c.maxConnections, 10000);
        QCOMPARE(c.listenBacklog, 1024);
        QCOMPARE(c.redisPrefix, QStringLiteral("herald:"));
        QVERIFY(!c.devMode);
    }

    void precedenceFileThenEnvThenCommandLine() {
        QTemporaryDir dir;
        const QString ini = writeFile(
            dir, QStringLiteral("h.ini"),
            "[server]\nlisten = 127.0.0.1:9001\nmax_connections = 11\n"
            "max_subscriptions = 12\nnode_id = from-file\n[auth]\napi_tokens = \"a,b\"\n");
        const QStringList env{QStringLiteral("HERALD_MAX_SUBSCRIPTIONS=22"),
                              QStringLiteral("HERALD_NODE_ID=from-env"),
                              QStringLiteral("HERALD_UNRELATED=ignored"),
                              QStringLiteral("PATH=/bin")};
        const Config c = ok(load({QStringLiteral("--config"), ini, QStringLiteral("--node-id"),
                                  QStringLiteral("from-cli")},
                                 env));
        QCOMPARE(c.listenAddress, QHostAddress(QStringLiteral("127.0.0.1")));
        QCOMPARE(c.listenPort, quint16(9001));          // file
        QCOMPARE(c.maxConnections, 11);                 // file
        QCOMPARE(c.maxSubscriptions, 22);               // env over file
        QCOMPARE(c.nodeId, QStringLiteral("from-cli")); // command line over env
        QCOMPARE(c.apiTokens, (QByteArrayList{"a", "b"}));
    }

    void configFileFromEnvironmentAndJson() {
        QTemporaryDir dir;
        const QString json = writeFile(
            dir, QStringLiteral("h.json"),
            R"({"admin_tokens": ["x", "y"], "idle_timeout": "90s", "dev": true, "max_message_bytes": 1024})");
        const Config c = ok(load({}, {QStringLiteral("HERALD_CONFIG=") + json}));
        QCOMPARE(c.adminTokens, (QByteArrayList{"x", "y"}));
        QCOMPARE(c.idleTimeoutMs, 90000);
        QVERIFY(c.devMode);
        QCOMPARE(c.maxMessageBytes, 1024);
    }

    void valueForms() {
        const Config c = ok(load({QStringLiteral("--listen"), QStringLiteral(":0"),
                                  QStringLiteral("--handshake-timeout"), QStringLiteral("1500ms"),
                                  QStringLiteral("--keepalive-interval"), QStringLiteral("1m"),
                                  QStringLiteral("--idle-timeout"), QStringLiteral("120"),
                                  QStringLiteral("--dev")}));
        QCOMPARE(c.listenPort, quint16(0));
        QCOMPARE(c.listenAddress, QHostAddress(QHostAddress::Any));
        QCOMPARE(c.handshakeTimeoutMs, 1500);
        QCOMPARE(c.keepaliveIntervalMs, 60000);
        QCOMPARE(c.idleTimeoutMs, 120000);
        QCOMPARE(ok(load({QStringLiteral("--drain-period"), QStringLiteral("30s")})).drainPeriodMs,
                 30000);
        QCOMPARE(
            ok(load({}, {QStringLiteral("HERALD_HEARTBEAT_INTERVAL=250ms")})).heartbeatIntervalMs,
            250);
        QCOMPARE(ok(load({QStringLiteral("--redis-url"), QStringLiteral("redis://h:1")})).redisUrl,
                 QStringLiteral("redis://h:1"));
        QVERIFY(c.devMode);
        QCOMPARE(ok(load({QStringLiteral("--listen"), QStringLiteral("[::1]:7000")})).listenAddress,
                 QHostAddress(QStringLiteral("::1")));
    }

    void secretFromFile() {
        QTemporaryDir dir;
        const QString secret = writeFile(dir, QStringLiteral("secret"), "s3cret\n");
        QCOMPARE(ok(load({QStringLiteral("--jwt-secret-file"), secret})).jwtSecret,
                 QByteArray("s3cret"));
    }

    void errors_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QStringList>("env");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("bad listen")
            << QStringList{QStringLiteral("--listen"), QStringLiteral("host:99999")}
            << QStringList{} << "ADDR:PORT";
        QTest::newRow("bad address")
            << QStringList{QStringLiteral("--listen"), QStringLiteral("nohost:80")} << QStringList{}
            << "IP address";
        QTest::newRow("not a number")
            << QStringList{QStringLiteral("--max-connections"), QStringLiteral("many")}
            << QStringList{} << "--max-connections";
        QTest::newRow("out of range")
            << QStringList{QStringLiteral("--max-message-bytes"), QStringLiteral("10")}
            << QStringList{} << "256";
        QTest::newRow("bad duration")
            << QStringList{QStringLiteral("--idle-timeout"), QStringLiteral("soon")}
            << QStringList{} << "duration";
        QTest::newRow("bad env") << QStringList{}
                                 << QStringList{QStringLiteral("HERALD_MAX_CONNECTIONS=-1")}
                                 << "HERALD_MAX_CONNECTIONS";
        QTest::newRow("bad bool env")
            << QStringList{} << QStringList{QStringLiteral("HERALD_DEV=maybe")} << "true or false";
        QTest::newRow("unknown option")
            << QStringList{QStringLiteral("--bogus")} << QStringList{} << "bogus";
        QTest::newRow("positional")
            << QStringList{QStringLiteral("extra")} << QStringList{} << "extra";
        QTest::newRow("missing file")
            << QStringList{QStringLiteral("--config"), QStringLiteral("/nonexistent.ini")}
            << QStringList{} << "nonexistent";
        QTest::newRow("log level")
            << QStringList{QStringLiteral("--log-level"), QStringLiteral("loud")} << QStringList{}
            << "debug, info";
        QTest::newRow("idle below keepalive")
            << QStringList{QStringLiteral("--idle-timeout"), QStringLiteral("1s"),
                           QStringLiteral("--keepalive-interval"), QStringLiteral("2s")}
            << QStringList{} << "idle_timeout";
    }
    void errors() {
        QFETCH(QStringList, args);
        QFETCH(QStringList, env);
        QFETCH(QString, mentions);
        const auto r = load(args, env);
        QVERIFY(std::holds_alternative<QString>(r));
        QVERIFY2(std::get<QString>(r).contains(mentions), qPrintable(std::get<QString>(r)));
    }

    void unknownFileKeyIsAnError() {
        QTemporaryDir dir;
        const QString ini = writeFile(dir, QStringLiteral("h.ini"), "max_conections = 5\n");
        const auto r = load({QStringLiteral("--config"), ini});
        QVERIFY(std::holds_alternative<QString>(r));
        QVERIFY(std::get<QString>(r).contains(QStringLiteral("max_conections")));
    }

    void shippedExampleLoads() {
        const QString example = qEnvironmentVariable("HERALD_SOURCE_DIR") +
                                QStringLiteral("/resources/examples/herald.ini");
        const Config c = ok(load({QStringLiteral("--config"), example}));
        QCOMPARE(c.nodeId, QStringLiteral("web-1"));
        QCOMPARE(c.apiTokens, QByteArrayList{"change-me-api"});
        QCOMPARE(c.idleTimeoutMs, 70000);
    }

    void helpAndVersion() {
        const auto help = std::get<ConfigOutcome>(load({QStringLiteral("--help")}));
        QCOMPARE(help.action, ConfigOutcome::Action::PrintAndExit);
        QVERIFY(help.text.contains(QStringLiteral("--max-connections")));
        QVERIFY(help.text.contains(QStringLiteral("HERALD_REDIS_URL")));
        // Defaults are read from Config's initialisers, never written twice.
        QVERIFY(!help.text.contains(QLatin1String("{default}")));
        const QString flat = help.text.simplified();
        QVERIFY2(
            flat.contains(QStringLiteral("(default %1; close 1009)").arg(Config{}.maxMessageBytes)),
            qPrintable(flat));
        QVERIFY(flat.contains(QStringLiteral("ping interval (default 25s)")));
        QVERIFY(flat.contains(QStringLiteral("channels (default herald:)")));
        const auto version = std::get<ConfigOutcome>(load({QStringLiteral("--version")}));
        QVERIFY(version.text.startsWith(QStringLiteral("herald-server ")));
    }
};

QTEST_GUILESS_MAIN(ConfigTest)
#include "tst_config.moc"
