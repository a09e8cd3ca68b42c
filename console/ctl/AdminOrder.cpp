#include "console/ctl/AdminOrder.h"

#include "console/ctl/Commands.h"
#include "console/ctl/Terminal.h"
#include "shared/Version.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace herald::ctl {
namespace {

QString secondsText(int ms) {
    return ms % 1000 == 0 ? QString::number(ms / 1000) : QString::number(ms / 1000.0, 'g', 4);
}

} // namespace

AdminOrder::AdminOrder(Options options, QObject* parent)
    : QObject(parent)
    , options_(std::move(options))
    , what_(commandName(options_.command)) {
    where_ = console::AdminClient::adminUrlFor(options_.server).toString();
    client_.setReconnecting(false);
    client_.setUserAgent(QStringLiteral("heraldctl/%1").arg(QLatin1String(kVersion)));
    timer_.setSingleShot(true);
    connect(&timer_, &QTimer::timeout, this, &AdminOrder::onTimeout);
    connect(&client_, &console::AdminClient::welcomed, this, &AdminOrder::onWelcomed);
    connect(&client_, &console::AdminClient::ackReceived, this, &AdminOrder::onAck);
    connect(&client_, &console::AdminClient::serverError, this, &AdminOrder::onServerError);
    connect(&client_, &console::AdminClient::connectionEnded, this, &AdminOrder::onEnded);
}

void AdminOrder::start() {
    timer_.start(options_.timeoutMs);
    open_ = true;
    client_.open(options_.server, options_.token);
}

void AdminOrder::onWelcomed(const QString& node) {
    if (finishing_ || sent_)
        return;
    via_ = node;
    const QString& target = options_.args[0];
    if (options_.command == Command::Drain)
        sent_ = client_.send(admin::DrainCommand{target});
    else
        sent_ = client_.send(admin::DisconnectCommand{target});
    if (!sent_)
        finish(kExitUnreachable,
               QStringLiteral("lost %1 before the %2 was sent").arg(where_, what_));
}

void AdminOrder::onAck(const admin::Ack& ack) {
    // Only the answer to this order counts (a broadcast's ack carries its request id).
    if (finishing_ || !sent_ || ack.requestId != what_)
        return;
    const QString& target = options_.args[0];
    if (options_.json) {
        printOut(QString::fromUtf8(
            QJsonDocument(QJsonObject{{QStringLiteral("command"), what_},
                                      {options_.command == Command::Drain ? QStringLiteral("node")
                                                                          : QStringLiteral("user"),
                                       target},
                                      {QStringLiteral("via"), via_}})
                .toJson(QJsonDocument::Compact)));
    } else if (options_.command == Command::Drain) {
        printOut(QStringLiteral("drain of %1 ordered (via %2): its clients move to other nodes "
                                "over its drain_period")
                     .arg(target, via_));
    } else {
        printOut(QStringLiteral("disconnect of user %1 ordered (via %2): every node closes the "
                                "user's connections")
                     .arg(target, via_));
    }
    finish(kExitOk);
}

void AdminOrder::onServerError(const QString& code, const QString& message) {
    if (finishing_)
        return;
    finish(kExitRefused, QStringLiteral("%1: %2").arg(code, message));
    if (code == QLatin1String("unauthorized"))
        printAdminTokenHint(options_);
    else if (code == QLatin1String("not_found") && options_.command == Command::Drain)
        printErrRaw(QStringLiteral("hint: \"heraldctl stats\" lists the cluster's live nodes"));
}

void AdminOrder::onEnded(const client::Ending& ending) {
    open_ = false;
    if (finishing_)
        return emitFinished();
    finish(exitCodeFor(ending), ending.describe(where_));
}

void AdminOrder::onTimeout() {
    if (!sent_)
        return finish(kExitUnreachable, QStringLiteral("no answer from %1 within %2 s")
                                            .arg(where_, secondsText(options_.timeoutMs)));
    finish(kExitUnreachable, QStringLiteral("%1 did not acknowledge the %2 within %3 s")
                                 .arg(where_, what_, secondsText(options_.timeoutMs)));
}

void AdminOrder::finish(int exitCode, const QString& message) {
    if (finishing_)
        return;
    finishing_ = true;
    exitCode_ = exitCode;
    timer_.stop();
    if (!message.isEmpty())
        printError(message);
    if (open_)
        return client_.closeGracefully(); // its connectionEnded (bounded) finishes
    // Queued: finish() may run inside a client signal, and the caller may end the loop at once.
    QTimer::singleShot(0, this, &AdminOrder::emitFinished);
}

void AdminOrder::emitFinished() {
    if (emitted_)
        return;
    emitted_ = true;
    Q_EMIT finished(exitCode_);
}

} // namespace herald::ctl
