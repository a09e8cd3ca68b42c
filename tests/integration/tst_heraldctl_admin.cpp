// heraldctl's /admin orders (drain, disconnect) against real herald-server nodes, one alone and
// two sharing a real redis-server: the drained node really reports draining (/readyz 503, state
// "draining"), refusals and unknown targets say what is wrong with the documented exit codes,
// and the WebSocket failures read the same for tail and drain (one client underneath).

#include "shared/JwtVerifier.h"
#include "tests/common/RedisProcess.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"
#include "tests/integration/CtlRunner.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <memory>

using namespace herald::test;

namespace {

const QString kApiToken = QStringLiteral("api-secret");
const QString kAdminToken = QStringLiteral("admin-secret");
const QByteArray kJwtSecret = "jwt-secret";

QStringList nodeArgs(const QString& id, const QString& redisUrl = {}) {
    QStringList args{QStringLiteral("--node-id"),
                     id,
                     QStringLiteral("--api-tokens"),
                     kApiToken,
                     QStringLiteral("--admin-tokens"),
                     kAdminToken,
                     QStringLiteral("--jwt-secret"),
                     QString::fromLatin1(kJwtSecret),
                     QStringLiteral("--heartbeat-interval"),
                     QStringLiteral("300ms"),
                     QStringLiteral("--drain-period"),
                     QStringLiteral("1s")};
    if (!redisUrl.isEmpty())
        args += {QStringLiteral("--redis-url"), redisUrl};
    return args;
}

QStringList on(const ServerProcess& node, const QStringList& args,
               const QString& token = kAdminToken) {
    QStringList all{QStringLiteral("--server"), node.httpUrl(QString()).toString()};
    if (!token.isNull())
        all << QStringLiteral("--token") << token;
    return all + args;
}

int readyz(const ServerProcess& node) {
    return httpGet(node.httpUrl(QStringLiteral("/readyz")), {}, 5000).status;
}

QString nodeState(const ServerProcess& node) {
    return httpGet(node.httpUrl(QStringLiteral("/api/cluster")), kApiToken.toUtf8(), 5000)
        .json()
        .value(QLatin1String("node"))
        .toObject()
        .value(QLatin1String("state"))
        .toString();
}

} // namespace

class TstHeraldctlAdmin : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void helpAndUsage();
    void drainSingleNode();
    void drainAnotherNodeOfTheCluster();
    void refusedToken();
    void unknownNode();
    void disconnectClosesTheUsersConnections();
    void failuresReadTheSameForTailAndDrain();
};

void TstHeraldctlAdmin::helpAndUsage() {
    CtlRun run = runCtl({QStringLiteral("--help")});
    QVERIFY2(run.exitCode == 0 && run.out.contains(QLatin1String("drain NODE")) &&
                 run.out.contains(QLatin1String("disconnect USER")),
             qPrintable(run.describe()));
    run = runCtl({QStringLiteral("help"), QStringLiteral("drain")});
    QVERIFY2(run.exitCode == 0 && run.out.contains(QLatin1String("heraldctl drain NODE")) &&
                 run.out.contains(QLatin1String("HERALD_ADMIN_TOKEN")),
             qPrintable(run.describe()));
    run = runCtl({QStringLiteral("drain")});
    QVERIFY2(run.exitCode == 2 && run.err.contains(QLatin1String("drain needs NODE")),
             qPrintable(run.describe()));
    run = runCtl({QStringLiteral("disconnect"), QStringLiteral("two words")});
    QVERIFY2(run.exitCode == 2 && run.err.contains(QLatin1String("not a valid user id")),
             qPrintable(run.describe()));
    run = runCtl({QStringLiteral("drain"), QStringLiteral("n1"), QStringLiteral("--count"),
                  QStringLiteral("1")});
    QVERIFY2(run.exitCode == 2 && run.err.contains(QLatin1String("does not apply to drain")),
             qPrintable(run.describe()));
}

void TstHeraldctlAdmin::drainSingleNode() {
    ServerProcess node(nodeArgs(QStringLiteral("n1")));
    QString error;
    QVERIFY2(node.start(&error), qPrintable(error));
    WsClient client;
    QVERIFY(client.open(node.wsUrl(QStringLiteral("/public"))));
    CtlProcess tail; // a tail on the node is moved off too, and says what to do
    tail.start(on(node, {QStringLiteral("tail"), QStringLiteral("news")}, QString()));
    QVERIFY2(tail.waitForErr("subscribed to public.news"), qPrintable(tail.describe()));
    QCOMPARE(readyz(node), 200);

    // The admin token from the environment, as an operator would set it.
    QProcessEnvironment env = cleanEnvironment();
    env.insert(QStringLiteral("HERALD_ADMIN_TOKEN"), kAdminToken);
    const CtlRun run =
        runCtl(on(node, {QStringLiteral("drain"), QStringLiteral("n1")}, QString()), env);
    QVERIFY2(run.exitCode == 0 &&
                 run.out.startsWith(QLatin1String("drain of n1 ordered (via n1)")) &&
                 run.err.isEmpty(),
             qPrintable(run.describe()));
    QVERIFY2(QTest::qWaitFor([&] { return readyz(node) == 503; }, kRunTimeoutMs),
             "/readyz still answers 200 after the drain");
    QCOMPARE(nodeState(node), QStringLiteral("draining"));
    const CtlRun stats = runCtl(on(node, {QStringLiteral("stats")}, kApiToken));
    QVERIFY2(stats.exitCode == 0 && stats.out.contains(QLatin1String("state: draining")),
             qPrintable(stats.describe()));
    QVERIFY2(client.waitForClosed(kRunTimeoutMs), "the client was not moved off the node");
    QVERIFY2(tail.waitForExit() && tail.process.exitCode() == 1 &&
                 tail.err.contains("closed the connection") &&
                 tail.err.contains("try again or another node"),
             qPrintable(tail.describe()));
}

void TstHeraldctlAdmin::drainAnotherNodeOfTheCluster() {
    if (RedisProcess::binary().isEmpty())
        QFAIL("redis-server is not installed (packaging/bootstrap.sh installs it)");
    RedisProcess redis;
    QString error;
    QVERIFY2(redis.start(&error), qPrintable(error));
    ServerProcess n1(nodeArgs(QStringLiteral("n1"), redis.url()));
    ServerProcess n2(nodeArgs(QStringLiteral("n2"), redis.url()));
    QVERIFY2(n1.start(&error), qPrintable(error));
    QVERIFY2(n2.start(&error), qPrintable(error));
    // n1 must see n2 live before it accepts an order for it.
    QVERIFY2(QTest::qWaitFor(
                 [&] {
                     return runCtl(on(n1, {QStringLiteral("stats")}, kApiToken))
                         .out.contains(QLatin1String("cluster: 2 nodes"));
                 },
                 kRunTimeoutMs),
             "n1 never saw n2");

    const CtlRun run =
        runCtl(on(n1, {QStringLiteral("drain"), QStringLiteral("n2"), QStringLiteral("--json")}));
    QVERIFY2(run.exitCode == 0, qPrintable(run.describe()));
    const QJsonObject answer = QJsonDocument::fromJson(run.out.toUtf8()).object();
    QCOMPARE(answer.value(QLatin1String("command")).toString(), QStringLiteral("drain"));
    QCOMPARE(answer.value(QLatin1String("node")).toString(), QStringLiteral("n2"));
    QCOMPARE(answer.value(QLatin1String("via")).toString(), QStringLiteral("n1"));
    QVERIFY2(QTest::qWaitFor([&] { return readyz(n2) == 503; }, kRunTimeoutMs),
             "n2 did not start draining");
    QCOMPARE(nodeState(n2), QStringLiteral("draining"));
    QCOMPARE(readyz(n1), 200); // only the named node
    QCOMPARE(nodeState(n1), QStringLiteral("serving"));
}

void TstHeraldctlAdmin::refusedToken() {
    ServerProcess node(nodeArgs(QStringLiteral("n1")));
    QString error;
    QVERIFY2(node.start(&error), qPrintable(error));
    CtlRun run = runCtl(
        on(node, {QStringLiteral("drain"), QStringLiteral("n1")}, QStringLiteral("not-the-token")));
    QVERIFY2(run.exitCode == 1 &&
                 run.err.contains(QLatin1String("unauthorized: wrong admin token")) &&
                 run.err.contains(QLatin1String("admin_tokens")) && run.out.isEmpty(),
             qPrintable(run.describe()));
    // An API token is no admin token: the hint names where it came from.
    QProcessEnvironment env = cleanEnvironment();
    env.insert(QStringLiteral("HERALD_API_TOKEN"), kApiToken);
    run = runCtl(on(node, {QStringLiteral("drain"), QStringLiteral("n1")}, QString()), env);
    QVERIFY2(run.exitCode == 1 && run.err.contains(QLatin1String("unauthorized")) &&
                 run.err.contains(QLatin1String("came from $HERALD_API_TOKEN")),
             qPrintable(run.describe()));
    run = runCtl(on(node, {QStringLiteral("disconnect"), QStringLiteral("u1")}, QString()));
    QVERIFY2(run.exitCode == 1 && run.err.contains(QLatin1String("/admin needs an admin token")) &&
                 run.err.contains(QLatin1String("disconnect needs an admin token")),
             qPrintable(run.describe()));
    QCOMPARE(readyz(node), 200); // nothing was drained
    QCOMPARE(nodeState(node), QStringLiteral("serving"));
}

void TstHeraldctlAdmin::unknownNode() {
    ServerProcess node(nodeArgs(QStringLiteral("n1")));
    QString error;
    QVERIFY2(node.start(&error), qPrintable(error));
    const CtlRun run = runCtl(on(node, {QStringLiteral("drain"), QStringLiteral("n9")}));
    QVERIFY2(run.exitCode == 1 &&
                 run.err.contains(QLatin1String("not_found: no live node \"n9\"")) &&
                 run.err.contains(QLatin1String("heraldctl stats")) && run.out.isEmpty(),
             qPrintable(run.describe()));
    QCOMPARE(readyz(node), 200);
}

void TstHeraldctlAdmin::disconnectClosesTheUsersConnections() {
    ServerProcess node(nodeArgs(QStringLiteral("n1")));
    QString error;
    QVERIFY2(node.start(&error), qPrintable(error));
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    auto jwt = [&](const char* user) {
        return QString::fromLatin1(herald::mintHs256(
            {{QStringLiteral("sub"), QLatin1String(user)}, {QStringLiteral("exp"), now + 3600}},
            kJwtSecret));
    };
    WsClient target;
    WsClient other;
    QVERIFY(target.open(node.wsUrl(QStringLiteral("/private?token=") + jwt("u42"))));
    QVERIFY(other.open(node.wsUrl(QStringLiteral("/private?token=") + jwt("u7"))));
    const CtlRun run = runCtl(on(node, {QStringLiteral("disconnect"), QStringLiteral("u42")}));
    QVERIFY2(run.exitCode == 0 && run.out.startsWith(QLatin1String("disconnect of user u42")),
             qPrintable(run.describe()));
    QVERIFY2(target.waitForClosed(kRunTimeoutMs), "u42 is still connected");
    QCOMPARE(target.closeCode(), 4003);
    QVERIFY(other.isOpen());
}

void TstHeraldctlAdmin::failuresReadTheSameForTailAndDrain() {
    // Nobody listens: unreachable, exit 3, for both.
    QTcpServer probe;
    QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
    const QString freeUrl = QStringLiteral("http://127.0.0.1:%1").arg(probe.serverPort());
    probe.close();
    for (const QStringList& args : {QStringList{QStringLiteral("tail"), QStringLiteral("news")},
                                    QStringList{QStringLiteral("drain"), QStringLiteral("n1")}}) {
        const CtlRun run = runCtl(QStringList{QStringLiteral("--server"), freeUrl,
                                              QStringLiteral("--token"), kAdminToken} +
                                  args);
        QVERIFY2(run.exitCode == 3 && run.err.contains(QLatin1String("cannot reach ws://")),
                 qPrintable(run.describe()));
    }

    // A listener that accepts and never answers: no answer within --timeout, exit 3. It also
    // shows what both send: the credential in the header (never in the URL) and who is asking.
    QTcpServer silent;
    QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
    QByteArray request; // what the last client sent
    QObject::connect(&silent, &QTcpServer::newConnection, &silent, [&] {
        while (QTcpSocket* s = silent.nextPendingConnection()) { // owned by `silent`
            request.clear();
            QObject::connect(s, &QTcpSocket::readyRead, s,
                             [&request, s] { request += s->readAll(); });
        }
    });
    const QString silentUrl = QStringLiteral("http://127.0.0.1:%1").arg(silent.serverPort());
    for (const QStringList& args : {QStringList{QStringLiteral("tail"), QStringLiteral("news")},
                                    QStringList{QStringLiteral("drain"), QStringLiteral("n1")}}) {
        const CtlRun run =
            runCtl(QStringList{QStringLiteral("--server"), silentUrl, QStringLiteral("--token"),
                               kAdminToken, QStringLiteral("--timeout"), QStringLiteral("1")} +
                   args);
        QVERIFY2(run.exitCode == 3 && run.err.contains(QLatin1String("no answer from ws://")) &&
                     run.err.contains(QLatin1String("within 1 s")),
                 qPrintable(run.describe()));
        const QByteArray lower = request.toLower();
        const QByteArray bearer = "\r\nauthorization: bearer " + kAdminToken.toUtf8().toLower();
        QVERIFY2(request.startsWith("GET /admin HTTP/1.1\r\n") && lower.contains(bearer) &&
                     lower.contains("\r\nuser-agent: heraldctl/"),
                 request.constData());
    }

    // A node behind a path prefix it does not have: it answers the handshake with 404, which is
    // a refusal (exit 1), not an unreachable server.
    ServerProcess node(nodeArgs(QStringLiteral("n1")));
    QString error;
    QVERIFY2(node.start(&error), qPrintable(error));
    const QString wrongPrefix = node.httpUrl(QStringLiteral("/nope")).toString();
    for (const QStringList& args : {QStringList{QStringLiteral("tail"), QStringLiteral("news")},
                                    QStringList{QStringLiteral("drain"), QStringLiteral("n1")}}) {
        const CtlRun run = runCtl(QStringList{QStringLiteral("--server"), wrongPrefix,
                                              QStringLiteral("--token"), kAdminToken} +
                                  args);
        QVERIFY2(run.exitCode == 1 &&
                     run.err.contains(QLatin1String("refused the WebSocket connection")) &&
                     run.err.contains(QLatin1String("404")),
                 qPrintable(run.describe()));
    }
    QCOMPARE(readyz(node), 200);
}

QTEST_GUILESS_MAIN(TstHeraldctlAdmin)
#include "tst_heraldctl_admin.moc"
