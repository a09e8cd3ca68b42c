// heraldctl against a real herald-server: every command run as a child process, its effect
// checked with real WebSocket clients and the HTTP API.

#include "shared/Version.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"
#include "tests/integration/CtlRunner.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QTcpServer>
#include <QTest>
#include <memory>

using herald::test::cleanEnvironment;
using herald::test::CtlProcess;
using herald::test::CtlRun;
using herald::test::runCtl;
using herald::test::ServerProcess;
using herald::test::WsClient;

namespace {

using herald::test::kRunTimeoutMs;
const QString kApiToken = QStringLiteral("api-secret");
const QString kAdminToken = QStringLiteral("admin-secret");
const QString kJwtSecret = QStringLiteral("jwt-secret");

// The data of a JSON argument, as the test expects to receive it.
QJsonValue jsonValue(const QString& text) {
    return QJsonDocument::fromJson(QByteArray("[") + text.toUtf8() + "]").array().first();
}

} // namespace

class TstHeraldctl : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void helpAndVersion();
    void usageErrors();
    void publishReachesPublicClient();
    void publishWithUserReachesOnlyThatUser();
    void broadcastReachesPublicClient();
    void stickyBroadcastListAndWithdraw();
    void statsShowsConnections();
    void tailPrintsMessagesInOrder();
    void tailAdminSeesPrivateStream();
    void tailRefusedSubscription();
    void tailStopsOnSignalAndOnServerExit();
    void wrongTokenIsUnauthorized();
    void unreachableServer();

private:
    QStringList ctl(const QStringList& args, const QString& token = kApiToken) const {
        QStringList all{QStringLiteral("--server"), server_->httpUrl(QString()).toString()};
        if (!token.isEmpty())
            all << QStringLiteral("--token") << token;
        return all + args;
    }
    // Waits until the server reports exactly `n` open connections (closes are asynchronous).
    bool waitForConnections(qint64 n) const {
        return QTest::qWaitFor(
            [&] {
                const auto r = herald::test::httpGet(
                    server_->httpUrl(QStringLiteral("/api/cluster")), kApiToken.toUtf8(), 2000);
                return r.json()
                           .value(QLatin1String("node"))
                           .toObject()
                           .value(QLatin1String("connections"))
                           .toInteger(-1) == n;
            },
            kRunTimeoutMs);
    }

    std::unique_ptr<ServerProcess> server_;
};

void TstHeraldctl::initTestCase() {
    server_ = std::make_unique<ServerProcess>(
        QStringList{QStringLiteral("--api-tokens"), kApiToken, QStringLiteral("--admin-tokens"),
                    kAdminToken, QStringLiteral("--jwt-secret"), kJwtSecret});
    QString error;
    QVERIFY2(server_->start(&error), qPrintable(error));
}

void TstHeraldctl::helpAndVersion() {
    CtlRun run = runCtl({QStringLiteral("--help")});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains(QLatin1String("Usage: heraldctl")) &&
                 run.out.contains(QLatin1String("tail STREAM")),
             qPrintable(run.describe()));
    run = runCtl({QStringLiteral("help"), QStringLiteral("publish")});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains(QLatin1String("heraldctl publish STREAM JSON")),
             qPrintable(run.describe()));
    run = runCtl({QStringLiteral("tail"), QStringLiteral("--help")});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains(QLatin1String("--count N")), qPrintable(run.describe()));
    run = runCtl({QStringLiteral("--version")});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains(QLatin1String(herald::kVersion)), qPrintable(run.describe()));
}

void TstHeraldctl::usageErrors() {
    CtlRun run = runCtl({QStringLiteral("frobnicate")});
    QVERIFY2(run.exitCode == 2 && run.err.contains(QLatin1String("unknown command")) &&
                 run.err.contains(QLatin1String("--help")) && run.out.isEmpty(),
             qPrintable(run.describe()));
    run = runCtl(
        ctl({QStringLiteral("publish"), QStringLiteral("news"), QStringLiteral("{\"a\": 1")}));
    QVERIFY2(run.exitCode == 2 && run.err.contains(QLatin1String("not valid JSON")),
             qPrintable(run.describe()));
    run = runCtl(
        ctl({QStringLiteral("publish"), QStringLiteral("news"), QStringLiteral("plain words")}));
    QVERIFY2(run.exitCode == 2, qPrintable(run.describe()));
    run = runCtl(ctl({QStringLiteral("publish"), QStringLiteral("news")}));
    QVERIFY2(run.exitCode == 2 && run.err.contains(QLatin1String("JSON")),
             qPrintable(run.describe()));
    // --user with a stream that already names its owner would be ignored by the server.
    run = runCtl(ctl({QStringLiteral("publish"), QStringLiteral("public.news"), QStringLiteral("1"),
                      QStringLiteral("--user"), QStringLiteral("u42")}));
    QVERIFY2(run.exitCode == 2 && run.err.contains(QLatin1String("bare stream name")),
             qPrintable(run.describe()));
    run = runCtl(ctl({QStringLiteral("stats"), QStringLiteral("--bogus")}));
    QVERIFY2(run.exitCode == 2 && run.err.contains(QLatin1String("--bogus")),
             qPrintable(run.describe()));
    run = runCtl(ctl({QStringLiteral("broadcast"), QStringLiteral("x"), QStringLiteral("--level"),
                      QStringLiteral("loud")}));
    QVERIFY2(run.exitCode == 2 && run.err.contains(QLatin1String("--level")),
             qPrintable(run.describe()));
    run = runCtl(
        {QStringLiteral("token"), QStringLiteral("--user"), QStringLiteral("u1")}); // no secret
    QVERIFY2(run.exitCode == 2 && run.err.contains(QLatin1String("--secret")),
             qPrintable(run.describe()));
}

void TstHeraldctl::publishReachesPublicClient() {
    WsClient client;
    QVERIFY(client.open(server_->wsUrl(QStringLiteral("/public"))));
    client.subscribe({QStringLiteral("news")});
    QVERIFY(!client.waitFor(QStringLiteral("subscribed")).isEmpty());

    const QString data = QStringLiteral(
        R"({"title":"Grüße ✓","n":[1,2.5,-3],"ok":true,"none":null,"nested":{"s":"a\"b"}})");
    const CtlRun run = runCtl(ctl({QStringLiteral("publish"), QStringLiteral("news"), data}));
    QVERIFY2(run.exitCode == 0, qPrintable(run.describe()));
    QVERIFY2(run.out.startsWith(QLatin1String("published ")) &&
                 run.out.contains(QLatin1String(" to public.news")),
             qPrintable(run.describe()));
    const QString id = run.out.section(QLatin1Char(' '), 1, 1);

    const QJsonObject message = client.waitFor(QStringLiteral("message"));
    QVERIFY2(!message.isEmpty(), "the public client received nothing");
    QCOMPARE(message.value(QLatin1String("stream")).toString(), QStringLiteral("public.news"));
    QCOMPARE(message.value(QLatin1String("id")).toString(), id);
    QCOMPARE(message.value(QLatin1String("data")), jsonValue(data));

    // Scalars are JSON too; --json prints the server's answer.
    const CtlRun scalar = runCtl(ctl({QStringLiteral("--json"), QStringLiteral("publish"),
                                      QStringLiteral("public.news"), QStringLiteral("-42")}));
    QVERIFY2(scalar.exitCode == 0, qPrintable(scalar.describe()));
    const QJsonObject answer = QJsonDocument::fromJson(scalar.out.toUtf8()).object();
    QCOMPARE(answer.value(QLatin1String("stream")).toString(), QStringLiteral("public.news"));
    QVERIFY(QTest::qWaitFor([&] { return client.eventsOf(QStringLiteral("message")).size() == 2; },
                            kRunTimeoutMs));
    QCOMPARE(client.eventsOf(QStringLiteral("message")).last().value(QLatin1String("data")),
             QJsonValue(-42));
}

void TstHeraldctl::publishWithUserReachesOnlyThatUser() {
    QProcessEnvironment env = cleanEnvironment();
    env.insert(QStringLiteral("HERALD_JWT_SECRET"), kJwtSecret);
    const CtlRun token =
        runCtl({QStringLiteral("token"), QStringLiteral("--user"), QStringLiteral("u42")}, env);
    QVERIFY2(token.exitCode == 0 && token.out.count(QLatin1Char('.')) == 2,
             qPrintable(token.describe()));
    const QString jwt = token.out.trimmed();

    WsClient owner;
    QVERIFY2(owner.open(server_->wsUrl(QStringLiteral("/private?token=") + jwt)),
             "the server refused the token printed by heraldctl token");
    QCOMPARE(owner.events().first().value(QLatin1String("user")).toString(), QStringLiteral("u42"));
    owner.subscribe({QStringLiteral("private.orders")});
    QCOMPARE(owner.waitFor(QStringLiteral("subscribed"))
                 .value(QLatin1String("streams"))
                 .toArray()
                 .first()
                 .toString(),
             QStringLiteral("private.u42.orders"));
    WsClient bystander; // anonymous, on the public stream of the same name
    QVERIFY(bystander.open(server_->wsUrl(QStringLiteral("/public"))));
    bystander.subscribe({QStringLiteral("orders")});
    QVERIFY(!bystander.waitFor(QStringLiteral("subscribed")).isEmpty());

    const QString data = QStringLiteral(R"({"order":42,"state":"shipped"})");
    CtlRun run = runCtl(ctl({QStringLiteral("publish"), QStringLiteral("orders"), data,
                             QStringLiteral("--user"), QStringLiteral("u42")}));
    QVERIFY2(run.exitCode == 0 && run.out.contains(QLatin1String("to private.u42.orders")),
             qPrintable(run.describe()));
    const QJsonObject message = owner.waitFor(QStringLiteral("message"));
    QCOMPARE(message.value(QLatin1String("stream")).toString(),
             QStringLiteral("private.u42.orders"));
    QCOMPARE(message.value(QLatin1String("data")), jsonValue(data));

    // The public stream "orders" must not have seen the private message: a marker published
    // after it is the first message there.
    run = runCtl(
        ctl({QStringLiteral("publish"), QStringLiteral("orders"), QStringLiteral("\"marker\"")}));
    QVERIFY2(run.exitCode == 0, qPrintable(run.describe()));
    QCOMPARE(bystander.waitFor(QStringLiteral("message")).value(QLatin1String("data")),
             QJsonValue(QStringLiteral("marker")));
    QCOMPARE(bystander.eventsOf(QStringLiteral("message")).size(), 1);
}

void TstHeraldctl::broadcastReachesPublicClient() {
    WsClient client;
    QVERIFY(client.open(server_->wsUrl(QStringLiteral("/public"))));
    const CtlRun run = runCtl(
        ctl({QStringLiteral("broadcast"), QStringLiteral("Disk is full"), QStringLiteral("--title"),
             QStringLiteral("Ops"), QStringLiteral("--level"), QStringLiteral("critical")}));
    QVERIFY2(run.exitCode == 0 && run.out.startsWith(QLatin1String("broadcast ")),
             qPrintable(run.describe()));
    const QJsonObject event = client.waitFor(QStringLiteral("system"));
    QVERIFY2(!event.isEmpty(), "no system event");
    QCOMPARE(event.value(QLatin1String("id")).toString(),
             run.out.section(QLatin1Char(' '), 1, 1).trimmed());
    const QJsonObject notice = event.value(QLatin1String("data")).toObject();
    QCOMPARE(notice.value(QLatin1String("title")).toString(), QStringLiteral("Ops"));
    QCOMPARE(notice.value(QLatin1String("body")).toString(), QStringLiteral("Disk is full"));
    QCOMPARE(notice.value(QLatin1String("level")).toString(), QStringLiteral("critical"));
}

// broadcast --ttl: a client that connects afterwards still gets it; sticky lists it; withdraw
// ends it (the open client is told) and a second withdraw is refused.
void TstHeraldctl::stickyBroadcastListAndWithdraw() {
    CtlRun run = runCtl(
        ctl({QStringLiteral("broadcast"), QStringLiteral("at 22:00"), QStringLiteral("--title"),
             QStringLiteral("Maintenance"), QStringLiteral("--ttl"), QStringLiteral("2h")}));
    QVERIFY2(run.exitCode == 0 && run.out.contains(QLatin1String("sticky until")),
             qPrintable(run.describe()));
    const QString id = run.out.section(QLatin1Char(' '), 1, 1).trimmed();
    WsClient later;
    QVERIFY(later.open(server_->wsUrl(QStringLiteral("/public"))));
    const QJsonObject event = later.waitFor(QStringLiteral("system"));
    QCOMPARE(event.value(QLatin1String("id")).toString(), id);
    QVERIFY(event.value(QLatin1String("expires_at")).toInteger() > 0);
    run = runCtl(ctl({QStringLiteral("sticky")}));
    QVERIFY2(run.exitCode == 0 && run.out.startsWith(id) &&
                 run.out.contains(QLatin1String("Maintenance")) &&
                 run.out.contains(QLatin1String("1h ")) && run.out.contains(QLatin1String(" left")),
             qPrintable(run.describe()));
    run = runCtl(ctl({QStringLiteral("withdraw"), id}));
    QVERIFY2(run.exitCode == 0 && run.out.trimmed() == QStringLiteral("withdrew ") + id,
             qPrintable(run.describe()));
    QCOMPARE(later.waitFor(QStringLiteral("withdrawn")).value(QLatin1String("id")).toString(), id);
    run = runCtl(ctl({QStringLiteral("sticky")}));
    QVERIFY2(run.exitCode == 0 && run.out.trimmed() == QLatin1String("no active sticky notices"),
             qPrintable(run.describe()));
    run = runCtl(ctl({QStringLiteral("withdraw"), id}));
    QVERIFY2(run.exitCode == 1 && run.err.contains(QLatin1String("not_found")),
             qPrintable(run.describe()));
    run = runCtl(ctl({QStringLiteral("broadcast"), QStringLiteral("x"), QStringLiteral("--ttl"),
                      QStringLiteral("2 hours")}));
    QVERIFY2(run.exitCode == 2 && run.err.contains(QLatin1String("--ttl must be")),
             qPrintable(run.describe()));
}

void TstHeraldctl::statsShowsConnections() {
    QVERIFY(waitForConnections(0)); // clients of earlier tests are gone
    WsClient a;
    WsClient b;
    QVERIFY(a.open(server_->wsUrl(QStringLiteral("/public"))));
    QVERIFY(b.open(server_->wsUrl(QStringLiteral("/public"))));
    QVERIFY(waitForConnections(2));

    CtlRun run = runCtl(ctl({QStringLiteral("stats")}));
    QVERIFY2(run.exitCode == 0, qPrintable(run.describe()));
    const QStringList lines = run.out.split(QLatin1Char('\n'));
    QVERIFY2(lines.contains(QLatin1String("connections: 2")), qPrintable(run.describe()));
    QVERIFY2(lines.contains(QLatin1String("state: serving")), qPrintable(run.describe()));
    QVERIFY2(run.out.contains(QLatin1String("cluster: 1 node, 2 connections")),
             qPrintable(run.describe()));

    run = runCtl(ctl({QStringLiteral("stats"), QStringLiteral("--json")}));
    QVERIFY2(run.exitCode == 0, qPrintable(run.describe()));
    const QJsonObject cluster = QJsonDocument::fromJson(run.out.toUtf8()).object();
    QCOMPARE(cluster.value(QLatin1String("totals"))
                 .toObject()
                 .value(QLatin1String("connections"))
                 .toInteger(),
             2);
}

void TstHeraldctl::tailPrintsMessagesInOrder() {
    CtlProcess tail;
    tail.start(ctl({QStringLiteral("tail"), QStringLiteral("tailed"), QStringLiteral("--count"),
                    QStringLiteral("2")},
                   QString()));
    QVERIFY2(tail.waitForErr("subscribed to public.tailed"), qPrintable(tail.describe()));
    for (const char* data : {R"({"seq":1,"text":"first"})", R"(["second",2])"}) {
        const CtlRun run = runCtl(
            ctl({QStringLiteral("publish"), QStringLiteral("tailed"), QString::fromUtf8(data)}));
        QVERIFY2(run.exitCode == 0, qPrintable(run.describe()));
    }
    QVERIFY2(tail.waitForExit(), qPrintable(tail.describe()));
    QCOMPARE(tail.process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(tail.process.exitCode(), 0);
    QCOMPARE(QString::fromUtf8(tail.out),
             QStringLiteral("{\"seq\":1,\"text\":\"first\"}\n[\"second\",2]\n"));
}

void TstHeraldctl::tailAdminSeesPrivateStream() {
    CtlProcess tail;
    tail.start(ctl({QStringLiteral("tail"), QStringLiteral("private.u7.inbox"),
                    QStringLiteral("--count"), QStringLiteral("1"), QStringLiteral("--json")},
                   kAdminToken));
    QVERIFY2(tail.waitForErr("subscribed to private.u7.inbox"), qPrintable(tail.describe()));
    const CtlRun run = runCtl(ctl({QStringLiteral("publish"), QStringLiteral("private.u7.inbox"),
                                   QStringLiteral("\"hello\"")}));
    QVERIFY2(run.exitCode == 0, qPrintable(run.describe()));
    QVERIFY2(tail.waitForExit() && tail.process.exitCode() == 0, qPrintable(tail.describe()));
    const QJsonObject event = QJsonDocument::fromJson(tail.out.trimmed()).object();
    QCOMPARE(event.value(QLatin1String("event")).toString(), QStringLiteral("message"));
    QCOMPARE(event.value(QLatin1String("stream")).toString(), QStringLiteral("private.u7.inbox"));
    QCOMPARE(event.value(QLatin1String("data")).toString(), QStringLiteral("hello"));
}

void TstHeraldctl::tailRefusedSubscription() {
    // Anonymous clients may not read private streams.
    CtlRun run =
        runCtl(ctl({QStringLiteral("tail"), QStringLiteral("private.u7.inbox")}, QString()));
    QVERIFY2(run.exitCode == 1 && run.err.contains(QLatin1String("forbidden")),
             qPrintable(run.describe()));
    // A JWT signed with another secret is refused at the handshake (error event, close 4001).
    const CtlRun forged =
        runCtl({QStringLiteral("token"), QStringLiteral("--user"), QStringLiteral("u7"),
                QStringLiteral("--secret"), QStringLiteral("not-the-secret")});
    QCOMPARE(forged.exitCode, 0);
    run = runCtl(ctl({QStringLiteral("tail"), QStringLiteral("private.inbox"),
                      QStringLiteral("--jwt"), forged.out.trimmed()},
                     QString()));
    QVERIFY2(run.exitCode == 1 && run.err.contains(QLatin1String("unauthorized")),
             qPrintable(run.describe()));
}

void TstHeraldctl::tailStopsOnSignalAndOnServerExit() {
    CtlProcess interrupted;
    interrupted.start(ctl({QStringLiteral("tail"), QStringLiteral("quiet")}, QString()));
    QVERIFY2(interrupted.waitForErr("subscribed to public.quiet"),
             qPrintable(interrupted.describe()));
    interrupted.process.terminate(); // SIGTERM
    QVERIFY2(interrupted.waitForExit(), qPrintable(interrupted.describe()));
    QCOMPARE(interrupted.process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(interrupted.process.exitCode(), 0);

    ServerProcess other;
    QString error;
    QVERIFY2(other.start(&error), qPrintable(error));
    CtlProcess orphan;
    orphan.start({QStringLiteral("--server"), other.httpUrl(QString()).toString(),
                  QStringLiteral("tail"), QStringLiteral("quiet")});
    QVERIFY2(orphan.waitForErr("subscribed to public.quiet"), qPrintable(orphan.describe()));
    other.stop();
    QVERIFY2(orphan.waitForExit(), qPrintable(orphan.describe()));
    QCOMPARE(orphan.process.exitCode(), 1);
    QVERIFY2(orphan.err.contains("closed the connection"), qPrintable(orphan.describe()));
}

void TstHeraldctl::wrongTokenIsUnauthorized() {
    for (const QStringList& args :
         {QStringList{QStringLiteral("publish"), QStringLiteral("news"), QStringLiteral("1")},
          QStringList{QStringLiteral("broadcast"), QStringLiteral("hi")},
          QStringList{QStringLiteral("stats")}}) {
        const CtlRun run = runCtl(ctl(args, QStringLiteral("not-a-token")));
        QVERIFY2(run.exitCode == 1 && run.err.contains(QLatin1String("unauthorized")) &&
                     run.err.contains(QLatin1String("401")) && run.out.isEmpty(),
                 qPrintable(run.describe()));
    }
    const CtlRun missing = runCtl(ctl({QStringLiteral("stats")}, QString()));
    QVERIFY2(missing.exitCode == 1 && missing.err.contains(QLatin1String("unauthorized")),
             qPrintable(missing.describe()));
}

void TstHeraldctl::unreachableServer() {
    QTcpServer probe; // a port that was free a moment ago and that nobody listens on now
    QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
    const quint16 port = probe.serverPort();
    const QString url = QStringLiteral("http://127.0.0.1:%1").arg(port);
    probe.close();
    for (const QStringList& args :
         {QStringList{QStringLiteral("stats")},
          QStringList{QStringLiteral("publish"), QStringLiteral("news"), QStringLiteral("1")},
          QStringList{QStringLiteral("tail"), QStringLiteral("news")}}) {
        const CtlRun run = runCtl(QStringList{QStringLiteral("--server"), url,
                                              QStringLiteral("--timeout"), QStringLiteral("5")} +
                                  args);
        QVERIFY2(run.exitCode == 3 && run.err.contains(QStringLiteral("127.0.0.1:%1").arg(port)),
                 qPrintable(run.describe()));
    }
}

QTEST_GUILESS_MAIN(TstHeraldctl)
#include "tst_heraldctl.moc"
