// The sticky notice store of one node: expiry, withdrawals that a late copy cannot undo, the
// merge of a fresh read of the shared list (Redis) with what the node learned meanwhile, and the
// ttl syntax shared by the HTTP API, the admin protocol and heraldctl.

#include "server/StickyStore.h"
#include "shared/Codec.h"

#include <QTest>

using namespace herald;

namespace {
StickyNotice notice(const QString& id, qint64 expiresAtMs) {
    return {
        id, {QStringLiteral("title ") + id, QStringLiteral("body"), Level::Warning}, expiresAtMs};
}
QStringList ids(const QList<StickyNotice>& list) {
    QStringList out;
    for (const StickyNotice& n : list)
        out.append(n.id);
    return out;
}
} // namespace

class StickyStoreTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void addsOnceAndListsSoonestFirst() {
        StickyStore s;
        QVERIFY(s.add(notice(QStringLiteral("b"), 3000), 1000));
        QVERIFY(s.add(notice(QStringLiteral("a"), 5000), 1000));
        QVERIFY(s.add(notice(QStringLiteral("c"), 2000), 1000));
        QVERIFY(!s.add(notice(QStringLiteral("a"), 9000), 1000));   // known: not twice
        QVERIFY(!s.add(notice(QStringLiteral("old"), 1000), 1000)); // lapsed on arrival
        QCOMPARE(ids(s.active()), (QStringList{"c", "b", "a"}));
        QCOMPARE(s.find(QStringLiteral("a"))->expiresAtMs, 5000);
        QCOMPARE(s.nextExpiryMs(), std::optional<qint64>(2000));
    }

    void expiresOnTime() {
        StickyStore s;
        s.add(notice(QStringLiteral("a"), 2000), 0);
        s.add(notice(QStringLiteral("b"), 4000), 0);
        QVERIFY(s.takeExpired(1999).isEmpty());
        QCOMPARE(ids(s.takeExpired(2000)), QStringList{"a"});
        QCOMPARE(s.nextExpiryMs(), std::optional<qint64>(4000));
        QCOMPARE(ids(s.takeExpired(10'000)), QStringList{"b"});
        QCOMPARE(s.nextExpiryMs(), std::nullopt);
        QCOMPARE(s.size(), 0);
    }

    void aWithdrawalCannotBeUndoneByALateCopy() {
        StickyStore s;
        s.add(notice(QStringLiteral("a"), 60'000), 0);
        QCOMPARE(s.withdraw(QStringLiteral("a"), 1000)->id, QStringLiteral("a"));
        QVERIFY(!s.withdraw(QStringLiteral("a"), 1000)); // once
        QVERIFY(!s.add(notice(QStringLiteral("a"), 60'000), 2000));
        // Withdrawn before this node heard of it (the announcement is late): still refused.
        QVERIFY(!s.withdraw(QStringLiteral("z"), 1000));
        QVERIFY(!s.add(notice(QStringLiteral("z"), 60'000), 2000));
        // The memory of withdrawals ends: at the latest when the notice would have lapsed.
        s.takeExpired(24 * 3600 * 1000);
        QVERIFY(s.add(notice(QStringLiteral("a"), 25 * 3600 * 1000), 24 * 3600 * 1000));
    }

    void mergeKeepsWhatIsNewerThanTheRead() {
        StickyStore s;
        s.add(notice(QStringLiteral("kept"), 90'000), 0);
        s.add(notice(QStringLiteral("gone"), 90'000), 0); // withdrawn while this node was away
        const quint64 load = s.beginLoad();
        s.add(notice(QStringLiteral("newer"), 90'000), 10); // announced after the read began
        const auto merge =
            s.merge({notice(QStringLiteral("kept"), 90'000),
                     notice(QStringLiteral("missed"), 80'000), notice(QStringLiteral("lapsed"), 5)},
                    load, 10);
        QCOMPARE(ids(merge.added), QStringList{"missed"});
        QCOMPARE(ids(merge.gone), QStringList{"gone"});
        QCOMPARE(ids(s.active()), (QStringList{"missed", "kept", "newer"}));
        // What the next read does not have any more goes, including what the last one added.
        const auto next = s.merge({notice(QStringLiteral("kept"), 90'000)}, s.beginLoad(), 20);
        QCOMPARE(ids(next.gone).size(), 2);
        QCOMPARE(ids(s.active()), QStringList{"kept"});
        // A notice the read dropped does not come back through a late announcement.
        QVERIFY(!s.add(notice(QStringLiteral("gone"), 90'000), 30));
    }

    void ttlSyntax() {
        QCOMPARE(std::get<qint64>(codec::parseTtl(QStringLiteral("90s"))), 90'000);
        QCOMPARE(std::get<qint64>(codec::parseTtl(QStringLiteral("15m"))), 900'000);
        QCOMPARE(std::get<qint64>(codec::parseTtl(QStringLiteral("2h"))), 7'200'000);
        QCOMPARE(std::get<qint64>(codec::parseTtl(QStringLiteral("7d"))), codec::kMaxStickyTtlMs);
        for (const char* bad : {"", "2", "h", "0s", "8d", "169h", "1.5h", "-1h", "2 hours", "2H"}) {
            const auto parsed = codec::parseTtl(QString::fromLatin1(bad));
            QVERIFY2(std::holds_alternative<Error>(parsed), bad);
            QVERIFY(std::get<Error>(parsed).message.contains(QLatin1String("\"ttl\"")));
        }
        QCOMPARE(codec::formatTtl(7'200'000), QStringLiteral("2h"));
        QCOMPARE(codec::formatTtl(90'000), QStringLiteral("90s"));
        QCOMPARE(codec::formatTtl(86'400'000 * 3), QStringLiteral("3d"));
    }
};

QTEST_GUILESS_MAIN(StickyStoreTest)
#include "tst_sticky_store.moc"
