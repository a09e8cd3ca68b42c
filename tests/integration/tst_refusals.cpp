// Refused WebSockets must cost nothing once they are gone: 20,000 refusals of each kind (a
// forged token, a wrong admin token, a full node, a draining node) leave the node's resident
// memory within 2 MB of where it was. Each refusal is also checked to be the right one (a 101,
// an error event and a close frame with the documented code) and counted by reason in /metrics.

#include "tests/common/RawWs.h"
#include "tests/common/ServerProcess.h"
#include "tests/common/WsClient.h"

#include <QFile>
#include <QJsonObject>
#include <QTest>

using namespace herald::test;

namespace {
// Under the sanitizer job (ASAN_OPTIONS set) the leak itself is LeakSanitizer's to find; the RSS
// check still runs, with ASan's quarantine off (it holds freed memory on purpose) and fewer
// refusals (every allocation is far slower there).
const bool kUnderAsan = qEnvironmentVariableIsSet("ASAN_OPTIONS");
const int kRefusals = kUnderAsan ? 4000 : 20000;
const int kWarmUp = kUnderAsan ? 1000 : 3000; // allocator pools and caches settle first

QStringList serverEnvironment() {
    if (!kUnderAsan)
        return {};
    return {QStringLiteral("ASAN_OPTIONS=") + qEnvironmentVariable("ASAN_OPTIONS") +
            QStringLiteral(":quarantine_size_mb=0:thread_local_quarantine_size_kb=0")};
}
constexpr qint64 kAllowedGrowthKb = 2048;
const QByteArray kAdminToken = "admin-token-for-tests";

qint64 metric(ServerProcess& node, const QByteArray& sample) {
    const QByteArray text = httpGet(node.httpUrl(QStringLiteral("/metrics"))).body;
    for (const QByteArray& line : text.split('\n'))
        if (line.startsWith(QByteArray(sample + ' ')))
            return line.mid(sample.size() + 1).toLongLong();
    return -1;
}
} // namespace

class TestRefusals : public QObject {
    Q_OBJECT

    // Refuses kWarmUp, then kRefusals connections; the RSS after must be within the allowance.
    void refuseAndMeasure(ServerProcess& node, const QByteArray& request, int closeCode,
                          const QByteArray& reason, qint64 held = 0) {
        QString problem;
        QCOMPARE(raw::refuseMany(node.port(), request, kWarmUp, closeCode, &problem), kWarmUp);
        const qint64 pid = node.process().processId();
        const qint64 before = ServerProcess::rssKb(pid);
        QVERIFY(before > 0);
        const qint64 countedBefore =
            metric(node, "herald_ws_refusals_total{reason=\"" + reason + "\"}");
        const int good = raw::refuseMany(node.port(), request, kRefusals, closeCode, &problem);
        QVERIFY2(good == kRefusals, qPrintable(problem));
        QCOMPARE(metric(node, "herald_ws_refusals_total{reason=\"" + reason + "\"}"),
                 countedBefore + kRefusals);
        // Every refused connection is gone from the node (lingering closes ended).
        QTRY_COMPARE_WITH_TIMEOUT(metric(node, "herald_connections"), held, 20000);
        const qint64 after = ServerProcess::rssKb(pid);
        qInfo("%s: RSS %lld kB before, %lld kB after %d refusals (%+lld kB)", reason.constData(),
              before, after, kRefusals, after - before);
        QVERIFY2(after - before <= kAllowedGrowthKb,
                 qPrintable(QStringLiteral("RSS grew by %1 kB").arg(after - before)));
    }

private Q_SLOTS:
    void forgedTokensAndWrongAdminTokens() {
        ServerProcess node({QStringLiteral("--jwt-secret"),
                            QStringLiteral("0123456789abcdef0123456789abcdef"),
                            QStringLiteral("--admin-tokens"), QString::fromLatin1(kAdminToken),
                            QStringLiteral("--auth-failure-limit"), QStringLiteral("0")},
                           serverEnvironment());
        QString error;
        QVERIFY2(node.start(&error), qPrintable(error));
        const QByteArray forged =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MSIsImV4cCI6OTk5OTk5OTk5OX0."
            "c2lnbmF0dXJlLXRoYXQtZG9lcy1ub3QtbWF0Y2g";
        refuseAndMeasure(node, raw::upgradeRequest("/private?token=" + forged), 4001,
                         "unauthorized");
        refuseAndMeasure(
            node, raw::upgradeRequest("/admin", "Authorization: Bearer wrong-admin-token\r\n"),
            4001, "unauthorized");
    }

    void fullNodeThenDrainingNode() {
        ServerProcess node({QStringLiteral("--max-connections"), QStringLiteral("1"),
                            QStringLiteral("--admin-tokens"), QString::fromLatin1(kAdminToken),
                            QStringLiteral("--drain-period"), QStringLiteral("100ms")},
                           serverEnvironment());
        QString error;
        QVERIFY2(node.start(&error), qPrintable(error));
        WsClient holder;
        QVERIFY(holder.open(node.wsUrl(QStringLiteral("/public"))));
        refuseAndMeasure(node, raw::upgradeRequest("/public"), 1013, "full", 1);

        // Drain with the console's command; the admin's own connection is closed with 1012.
        WsClient admin;
        holder.socket().close(); // the node is full: make room for the admin connection
        QVERIFY(holder.waitForClosed());
        QTRY_COMPARE_WITH_TIMEOUT(metric(node, "herald_connections"), 0, 10000);
        QUrl adminUrl =
            node.wsUrl(QStringLiteral("/admin?token=") + QString::fromLatin1(kAdminToken));
        QVERIFY(admin.open(adminUrl));
        const QString nodeId =
            admin.waitFor(QStringLiteral("welcome")).value(QLatin1String("node")).toString();
        admin.sendJson(
            {{QStringLiteral("event"), QStringLiteral("drain")}, {QStringLiteral("node"), nodeId}});
        QVERIFY(admin.waitForClosed(20000));
        refuseAndMeasure(node, raw::upgradeRequest("/public"), 1012, "draining");
    }
};

QTEST_GUILESS_MAIN(TestRefusals)
#include "tst_refusals.moc"
