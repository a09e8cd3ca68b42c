// History: the retention rules, stream positions, and the embedded broker's ring (the same
// answers Redis's functions give; tst_resume checks those against a real redis-server).

#include "server/HistoryPolicy.h"
#include "server/LocalBroker.h"
#include "shared/Bus.h"
#include "shared/StreamIds.h"

#include <QSignalSpy>
#include <QTest>

using namespace herald;

class HistoryTest : public QObject {
    Q_OBJECT

    static HistoryRead read(LocalBroker& broker, const QString& key, const QString& after,
                            int limit = 1000) {
        HistoryRead out;
        bool answered = false;
        broker.readHistory(key, after, limit, [&](HistoryRead r) {
            out = std::move(r);
            answered = true;
        });
        // Never inside the call: a caller may still be setting itself up.
        if (answered)
            qFatal("readHistory answered inside the call");
        if (!QTest::qWaitFor([&] { return answered; }, 5000))
            qFatal("readHistory never answered");
        return out;
    }
    static QString publish(LocalBroker& broker, const QString& key, const Retention& retention,
                           const QByteArray& data) {
        QString id;
        broker.publishKept(key, retention, data, QStringLiteral("n1"),
                           [&](std::variant<QString, Error> r) { id = std::get<QString>(r); });
        if (!QTest::qWaitFor([&] { return !id.isEmpty(); }, 5000))
            qFatal("publishKept never answered");
        return id;
    }

private Q_SLOTS:
    void rulesParseAndTheMostSpecificWins() {
        auto parsed = HistoryPolicy::parse(QStringLiteral(
            " public.*:100:1h, private.*:50:24h,public.config:1:7d, public.noisy*:0:1s"));
        QVERIFY(std::holds_alternative<HistoryPolicy>(parsed));
        const HistoryPolicy& p = std::get<HistoryPolicy>(parsed);
        QCOMPARE(p.retentionFor(QStringLiteral("public.news")), (Retention{100, 3'600'000}));
        QCOMPARE(p.retentionFor(QStringLiteral("public.config")), (Retention{1, 7 * 86'400'000LL}));
        QCOMPARE(p.retentionFor(QStringLiteral("private.u1.orders")), (Retention{50, 86'400'000}));
        QCOMPARE(p.retentionFor(QStringLiteral("public.noisy-feed")), std::nullopt); // count 0
        QCOMPARE(p.retentionFor(QStringLiteral("system")), std::nullopt);
        QCOMPARE(p.describe(),
                 QStringLiteral("public.*:100:1h, private.*:50:1d, public.config:1:7d, "
                                "public.noisy*:0:1s"));
        QVERIFY(std::get<HistoryPolicy>(HistoryPolicy::parse(QString())).isEmpty());
    }

    void badRulesSayWhatIsWrong() {
        const QList<QPair<QString, QString>> cases{
            {QStringLiteral("public.*:100"), QStringLiteral("pattern:count:age")},
            {QStringLiteral("public.*:-1:1h"), QStringLiteral("count")},
            {QStringLiteral("public.*:10:forever"), QStringLiteral("age")},
            {QStringLiteral("public.*:10:60d"), QStringLiteral("at most 30d")},
            {QStringLiteral("pub*lic:10:1h"), QStringLiteral("prefix ending in *")},
            {QStringLiteral("news:10:1h"), QStringLiteral("routing key")},
            {QStringLiteral("system:10:1h"), QStringLiteral("routing key")},
            {QStringLiteral("public.*:1:1h,public.*:2:1h"), QStringLiteral("twice")},
        };
        for (const auto& [spec, words] : cases) {
            auto parsed = HistoryPolicy::parse(spec);
            QVERIFY2(std::holds_alternative<QString>(parsed), qPrintable(spec));
            QVERIFY2(std::get<QString>(parsed).contains(words),
                     qPrintable(spec + QStringLiteral(" -> ") + std::get<QString>(parsed)));
        }
    }

    void positionsCompareAsNumbers() {
        using streamid::parse;
        QVERIFY(*parse(u"9-0") < *parse(u"10-0"));
        QVERIFY(*parse(u"10-2") < *parse(u"10-10"));
        QCOMPARE(streamid::format(*parse(u"1732370000000-7")), QStringLiteral("1732370000000-7"));
        for (const char16_t* bad : {u"", u"-", u"1-", u"-1", u"1-x", u"+1-0", u" 1-0",
                                    u"lr4x9k-n1-1", u"123456789012345678901-0"})
            QVERIFY2(!parse(bad), qPrintable(QString::fromUtf16(bad)));
    }

    void embeddedRingKeepsOrderAndTellsWhatIsGone() {
        LocalBroker broker;
        const QString key = QStringLiteral("public.x");
        broker.subscribe(key);
        QSignalSpy arrived(&broker, &Broker::dataArrived);
        const Retention keep3{3, 3'600'000};
        QStringList ids;
        for (int i = 1; i <= 5; ++i)
            ids.append(publish(broker, key, keep3, QByteArray::number(i)));
        for (int i = 1; i < ids.size(); ++i)
            QVERIFY(*streamid::parse(ids[i - 1]) < *streamid::parse(ids[i]));
        // Each message went out with its id and the one before it.
        QTRY_COMPARE(arrived.size(), 5);
        for (int i = 0; i < 5; ++i) {
            const auto m = std::get<bus::Message>(bus::decode(arrived[i][1].toByteArray()));
            QCOMPARE(m.id, ids[i]);
            QVERIFY(m.hasPrev);
            QCOMPARE(m.prev, i == 0 ? QString() : ids[i - 1]);
        }
        // The position only.
        HistoryRead r = read(broker, key, QString());
        QVERIFY(r.complete);
        QCOMPARE(r.lastId, ids[4]);
        QVERIFY(r.entries.isEmpty());
        // From a kept position: complete.
        r = read(broker, key, ids[2]);
        QVERIFY(r.complete);
        QCOMPARE(r.entries.size(), 2);
        QCOMPARE(r.entries[0].id, ids[3]);
        QCOMPARE(r.entries[1].dataJson, QByteArray("5"));
        // From the newest trimmed one: nothing after it is gone.
        r = read(broker, key, ids[1]);
        QVERIFY(r.complete);
        QCOMPARE(r.entries.size(), 3);
        // From an older one: what is kept, and not complete.
        r = read(broker, key, ids[0]);
        QVERIFY(!r.complete);
        QCOMPARE(r.entries.size(), 3);
        r = read(broker, key, QStringLiteral("0-0"));
        QVERIFY(!r.complete);
        // A limit, then the rest from the last entry read.
        r = read(broker, key, ids[1], 2);
        QCOMPARE(r.entries.size(), 2);
        r = read(broker, key, r.entries.last().id, 2);
        QCOMPARE(r.entries.size(), 1);
        QCOMPARE(r.entries[0].id, ids[4]);
        // A stream never written: no position is complete, except asking for the position.
        QVERIFY(!read(broker, QStringLiteral("public.none"), ids[0]).complete);
        QVERIFY(read(broker, QStringLiteral("public.none"), QString()).complete);
    }

    void embeddedRingDropsWhatIsTooOld() {
        LocalBroker broker;
        const QString key = QStringLiteral("public.y");
        const QString first = publish(broker, key, {100, 1}, "1"); // kept for 1 ms
        // 10 ms later (the clock passed in; no waiting).
        broker.expire(key, QDateTime::currentMSecsSinceEpoch() + 10);
        const HistoryRead r = read(broker, key, first);
        QVERIFY(!r.complete); // gone with its stream, as a Redis key with an expiry
        QVERIFY(r.entries.isEmpty());
        QVERIFY(r.lastId.isEmpty());
        // The stream starts again.
        const QString next = publish(broker, key, {100, 3'600'000}, "2");
        QCOMPARE(read(broker, key, QString()).lastId, next);
    }
};

QTEST_MAIN(HistoryTest)
#include "tst_history.moc"
